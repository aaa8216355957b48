"""Prometheus metrics, alert rules and the dashboard's data (see docs/metrics.md)."""
