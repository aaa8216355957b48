"""One engine per process for synchronous callers, such as Celery tasks (Celery 5 has no
asyncio pool: tasks are plain functions).

The process keeps one event loop and one connection pool for its whole life, opened on first
use (or in Celery's ``worker_process_init``) and closed at exit; nothing creates a loop or a
pool per call.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TypeVar

from pam_proactive.config import Settings
from pam_proactive.engine import Engine, open_engine

T = TypeVar("T")


class ProcessRuntime:
    """Runs async engine work from synchronous code on the process's one loop and pool."""

    def __init__(self, settings: Settings, *, conninfo: str | None = None) -> None:
        self.settings = settings
        self.conninfo = conninfo
        self._runner = asyncio.Runner()
        self._stack = AsyncExitStack()
        self._engine: Engine | None = None
        self._closed = False
        self.calls = 0
        atexit.register(self.close)

    def run(self, work: Callable[[Engine], Awaitable[T]]) -> T:
        """Run ``work(engine)`` to completion and return its result."""
        self.calls += 1
        return self._runner.run(self._call(work))

    def engine(self) -> Engine:
        """The process's engine, opened if needed (e.g. in ``worker_process_init``)."""
        return self._runner.run(self._open())

    async def _open(self) -> Engine:
        if self._engine is None:
            self._engine = await self._stack.enter_async_context(
                open_engine(self.settings, conninfo=self.conninfo))
        return self._engine

    async def _call(self, work: Callable[[Engine], Awaitable[T]]) -> T:
        return await work(await self._open())

    def close(self) -> None:
        """Close the pool (and the embedded server handle) and the loop; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._runner.run(self._stack.aclose())
        self._engine = None
        self._runner.close()
        atexit.unregister(self.close)
