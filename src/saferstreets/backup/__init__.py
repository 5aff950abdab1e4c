"""Backup and restore of the whole store in an open format (a zip of JSON Lines per table)."""
