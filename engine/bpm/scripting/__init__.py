"""What a diagram's own code may do: the restricted environment its scripts, conditions and timer
expressions run in (``sandbox``), the helpers and service-task operators they may call (``helpers``,
``operators``), and the budgets of CPU, size and steps no step may exceed (``budget``)."""
