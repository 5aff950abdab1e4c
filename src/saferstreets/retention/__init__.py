"""Retention: reporters' words and exact points kept no longer than the configured periods."""
