"""Code shared by the workspace's models: feature engineering used at training and at serving time."""
