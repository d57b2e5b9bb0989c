"""Revisions of the backend schema, oldest first."""
