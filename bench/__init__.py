"""Benchmarks: saferstreets beside the peer a user would otherwise pick, on the same input, in one run."""
