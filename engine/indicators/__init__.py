"""The figures the office is judged by: read from roll-ups kept as cases move."""
