"""People and what they may do: accounts, roles, permissions, sign-in, rate limits, administration."""
