"""Numpy generators of the demo's rows, one module per concern."""
