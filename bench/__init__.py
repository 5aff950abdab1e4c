"""Benchmarks: saferstreets beside the peer a user would otherwise pick, same input, one run."""
