"""Background jobs: long work on a queue (huey), its state in the store."""
