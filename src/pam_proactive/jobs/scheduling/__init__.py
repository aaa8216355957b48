"""The scheduled jobs: their definitions, runs and ranges, the in-process runner, the
process runtime and the Celery application (which also carries the watcher's task)."""
