"""Fixtures of the Celery tests: a real redis-server (the broker) per module, and the real
`celery worker` processes a test starts, stopped after it whatever happened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from celery_harness import Worker, redis_server


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Append the workers a test starts: each is stopped (its process group killed) after."""
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()
