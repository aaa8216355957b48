"""Stored reports: per-user pattern insights and the operator's fleet reports (above data/db,
like ``suggestions``)."""
