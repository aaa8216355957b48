"""Suggestions: detectors (pure), their lifecycle in the database, and delivery channels."""
