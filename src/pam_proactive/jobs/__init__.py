"""Running the engine: ``pipeline`` (the one evaluation path: selection → contexts →
detectors → store → evaluation state → delivery), ``scheduling`` (the scheduled jobs, their
runs and ranges, the in-process runner and Celery) and ``watcher`` (the change feed watched,
debounced and handed to the pipeline). Watcher and scheduling import the pipeline, never the
reverse; the watcher sends its batches through scheduling's Celery app (contracts in
pyproject.toml)."""
