"""Continual (life-long) learning: a sequence of tasks, the R(i, j) matrix and its transfer metrics."""
