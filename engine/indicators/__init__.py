"""The figures the office is judged by (issue 19): read from roll-ups kept as cases move."""
