"""HTTP serving code for the synthetic tabular classifier."""
