//! Datasets, features and hypotheses of the documented experiments, and the `scrub` CLI.
