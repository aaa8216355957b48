"""Prometheus metrics, alert rules and the dashboard's data (see README: Metrics, Alerting)."""
