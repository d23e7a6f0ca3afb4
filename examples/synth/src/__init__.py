"""Synthetic tabular classification example."""
