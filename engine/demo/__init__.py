"""Demo data for a first look: users, procedures deployed and a case of each."""
