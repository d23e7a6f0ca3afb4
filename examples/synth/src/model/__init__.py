"""Training code for the synthetic tabular classifier."""
