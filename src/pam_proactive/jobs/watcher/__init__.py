"""The watcher: the change feed read, debounced and handed to the pipeline in batches, here
or through Celery; it owns its feed, debounce, flights and cursor only."""
