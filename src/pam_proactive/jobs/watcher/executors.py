"""Where the watcher's settled batches are evaluated (``PAM_WATCH_EXECUTOR``).

- ``inprocess``: in the watcher's own process and engine, one batch after the other; the
  delivery of what they stored runs in the background, beside the next batches.
- ``celery``: each batch of at most ``PAM_BATCH_SIZE`` travelers is sent as one
  ``pam_proactive.evaluate_travelers`` task on the ``pam.events`` queue, for any worker; the
  watcher's call returns once the broker accepted every task (so its cursor only moves
  past changes a worker will see), and raises :class:`BrokerUnavailableError` when it did
  not (the watcher keeps the batch and sends it again after a backoff).

Both end in the same function, :func:`pam_proactive.jobs.pipeline.batches.evaluate_batch`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, get_args

from celery import Celery

from pam_proactive.config import WatchExecutor
from pam_proactive.engine import Engine
from pam_proactive.errors import BrokerUnavailableError
from pam_proactive.jobs.pipeline.batches import Batch, evaluate_batch
from pam_proactive.jobs.pipeline.delivery import deliver_outbox
from pam_proactive.jobs.scheduling.celery_tasks import EVALUATE_TASK, EVENT_QUEUE, create_app

log = logging.getLogger(__name__)

EXECUTORS: tuple[str, ...] = get_args(WatchExecutor)  # the names PAM_WATCH_EXECUTOR takes
# Kombu's own reconnection, per task, before the watcher's backoff takes over.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.0, "interval_step": 0.2,
                  "interval_max": 0.5}


class Executor(Protocol):
    """Evaluates (or has evaluated) the watcher's batches."""

    name: str
    max_batch: int | None  # travelers per batch (None: one batch, however large)

    async def submit(self, batches: Sequence[Batch]) -> Counter[str]:
        """Evaluate or enqueue ``batches`` in order; the travelers by reason."""

    async def close(self) -> None:
        """Finish what is in hand (the watcher is stopping)."""

    def deliver(self, now: datetime) -> None:
        """Start delivering the outbox rows due at ``now`` in the background, with no new
        batch: a failed notification's retry is due while nothing changes."""


class BackgroundDelivery:
    """One delivery drain at a time in the background; a request while one runs is kept
    (the latest ``now``) and drained right after it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._delivery: asyncio.Task[None] | None = None
        self._again: datetime | None = None  # a later `now` to drain for, once it ends

    def start(self, now: datetime) -> None:
        """Drain for ``now`` now, or right after the drain in hand."""
        if self._delivery is not None and not self._delivery.done():
            self._again = now if self._again is None else max(self._again, now)
            return
        self._delivery = asyncio.create_task(self._drain(now))

    async def _drain(self, now: datetime) -> None:
        moment: datetime | None = now
        while moment is not None:
            self._again = None
            try:
                await deliver_outbox(self.engine, moment)
            except Exception as exc:  # in the background: its rows wait in the outbox
                log.warning("watcher: delivery failed, retried at the next interval",
                            extra={"error": type(exc).__name__})
            moment = self._again

    async def close(self) -> None:
        """Wait for the drain in hand (and the one queued behind it)."""
        while self._delivery is not None and not self._delivery.done():
            await self._delivery


class InProcessExecutor:
    """Evaluates in the watcher's process, on its engine. Delivery runs beside the next
    batches rather than before them: the outbox is durable and claimed with SKIP LOCKED, so
    a write's suggestion need not wait for an earlier batch's sends."""

    name = "inprocess"
    max_batch: int | None = None  # the sweep pages its ids by PAM_BATCH_SIZE itself

    def __init__(self, engine: Engine, feed: str) -> None:
        self.engine = engine
        self.feed = feed  # the change feed (and scope) the batches are recorded in
        self._background = BackgroundDelivery(engine)

    async def submit(self, batches: Sequence[Batch]) -> Counter[str]:
        """Evaluate each batch now, then start delivering in the background; the travelers
        evaluated by reason."""
        counts: Counter[str] = Counter()
        for batch in batches:
            counts.update(await evaluate_batch(self.engine, batch, feed=self.feed,
                                               deliver=False))
        if counts and batches:
            self._background.start(max(b.now for b in batches))
        return counts

    def deliver(self, now: datetime) -> None:
        """Start delivering what is due at ``now`` in the background."""
        self._background.start(now)

    async def close(self) -> None:
        """Wait for the delivery in hand (and the one queued behind it)."""
        await self._background.close()


class CeleryExecutor:
    """Sends each batch as a Celery task; returns once the broker accepted them all."""

    name = "celery"

    def __init__(self, engine: Engine, app: Celery | None = None) -> None:
        self.app = app or create_app(engine.settings)
        self.max_batch: int | None = engine.settings.batch_size
        self.sent = 0
        # Workers deliver after their batches; retries due while nothing changes are
        # delivered here (a process without a channel's credentials leaves its rows).
        self._background = BackgroundDelivery(engine)

    def deliver(self, now: datetime) -> None:
        """Start delivering what is due at ``now`` in the background, in this process."""
        self._background.start(now)

    async def close(self) -> None:
        """Every task sent is the broker's; wait for a delivery in hand."""
        await self._background.close()

    async def submit(self, batches: Sequence[Batch]) -> Counter[str]:
        """Enqueue every batch (kombu's I/O is blocking: off the event loop); the travelers
        sent by reason. Raises BrokerUnavailableError when the broker refused one: the
        caller sends them all again later (evaluating a batch twice is harmless)."""
        await asyncio.to_thread(self._send, batches)
        counts: Counter[str] = Counter()
        for b in batches:
            counts[b.reason] += len(b.user_ids)
        return counts

    def _send(self, batches: Sequence[Batch]) -> None:
        from kombu.exceptions import KombuError

        for batch in batches:
            try:
                self.app.send_task(EVALUATE_TASK, kwargs=batch.to_kwargs(), queue=EVENT_QUEUE,
                                   retry=True, retry_policy=_PUBLISH_RETRY)
            except (KombuError, OSError, _redis_error()) as exc:
                raise BrokerUnavailableError(
                    f"the Celery broker did not accept a task ({type(exc).__name__}): "
                    "check REDIS_URL and that Redis is up; the watcher keeps the batch "
                    "and retries") from exc
            self.sent += 1


def _redis_error() -> type[Exception]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # another broker transport
        return OSError
    return RedisError


def executor_for(name: str, engine: Engine, feed: str, **kwargs: Any) -> Executor:
    """The executor called ``name`` (one of :data:`EXECUTORS`); ``feed`` names the change
    feed whose scope the batches are recorded in (the Celery task records in the watcher's
    own)."""
    if name == "celery":
        return CeleryExecutor(engine, **kwargs)
    return InProcessExecutor(engine, feed)
