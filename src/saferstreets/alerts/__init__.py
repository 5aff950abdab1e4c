"""Danger-now alerts: a transactional outbox delivered by email (SMTP) and a signed webhook."""
