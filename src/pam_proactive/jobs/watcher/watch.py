"""The watcher: event-driven detection within seconds of a traveler's write.

Every ``PAM_WATCH_INTERVAL`` seconds (or as soon as a NOTIFY arrives, when the operator
installed the optional triggers) it reads the change feed, waits ``PAM_WATCH_DEBOUNCE``
seconds of quiet per traveler, and evaluates every settled traveler, plus those due by
their ``recheck_at``, in one batch: contexts, detectors, store, delivery, evaluation state
(jobs/pipeline/batches.py). ``PAM_WATCH_EXECUTOR`` says where: in this process, or as Celery
tasks of at most ``PAM_BATCH_SIZE`` travelers (jobs/watcher/executors.py); either way the cursor
moves past a change only once its batch was evaluated or accepted by the broker, and a
broker that refuses is waited out like the database. A full pass runs every
``PAM_FULL_SWEEP_HOURS``.

Its cursor lives in the engine's schema, so a watcher that was away (process stopped,
database restarted) catches up on everything changed meanwhile; database errors are logged
by type, waited out with backoff, and the loop goes on.

The lag of each changed row (its earliest timestamp in the window to its suggestions stored;
an inserted row stamped by ``created_at`` and ``updated_at`` is one row) is handed to every
function registered with ``jobs.pipeline.batches.add_lag_observer``, in the process that
stored it (the metrics code observes ``pam_event_lag_seconds`` there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from pam_proactive.analysis.geo import gazetteer
from pam_proactive.data.changes import Change
from pam_proactive.db.connection import TRANSIENT_ERRORS, Listener, backoff
from pam_proactive.engine import Engine
from pam_proactive.errors import (
    BrokerUnavailableError,
    DatabaseUnreachableError,
    PamError,
    TransientDataSourceError,
)
from pam_proactive.jobs.pipeline.batches import Batch, split
from pam_proactive.jobs.pipeline.state import WATCH_FEED, feed_for, full_pass_due
from pam_proactive.jobs.watcher.executors import Executor, executor_for

log = logging.getLogger(__name__)

FEED = WATCH_FEED


def channel_name(schema: str) -> str:
    """The LISTEN/NOTIFY channel the optional triggers notify (one per engine schema)."""
    return f"{schema}_changes"


@dataclass(slots=True)
class _Pending:
    first: datetime  # the traveler's first pending write (watcher's clock)
    last: datetime  # and their latest
    changes: list[Change] = field(default_factory=list)


@dataclass(slots=True)
class _Flight:
    """A batch being evaluated (or sent) while the watcher goes on reading."""

    task: asyncio.Task[dict[str, int]]
    users: set[UUID]  # every traveler in it: none of them goes in another flight meanwhile
    handed: list[Change]  # the changed rows it covers
    last: dict[UUID, datetime]  # each changed traveler's latest write when handed


@dataclass(slots=True)
class TickReport:
    """What one watcher tick did."""

    changes: int = 0
    evaluated: dict[str, int] = field(default_factory=dict)  # reason -> travelers
    full: bool = False


async def _until_stopped(stop: asyncio.Event, tasks: Sequence[asyncio.Future[Any]],
                         timeout: float | None = None) -> None:
    """Wait until one of ``tasks`` is done, ``stop`` is set or ``timeout`` seconds pass
    (the tasks are left running)."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([stopping, *tasks], timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()


def _parse_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


class Watcher:
    """Polls (or listens), debounces, evaluates; one per process."""

    def __init__(self, engine: Engine, *, listen: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 executor: Executor | None = None, max_flights: int | None = None) -> None:
        self.engine = engine
        self.listen = listen
        self.clock = clock
        self.feed = feed_for(engine, FEED)
        # PAM_WATCH_EXECUTOR: here, or Celery workers.
        self.executor = executor or executor_for(engine.settings.watch_executor, engine,
                                                 FEED)
        self.pending: dict[UUID, _Pending] = {}
        self._pending_keys: set[tuple[str, str, datetime]] = set()
        # The LISTEN connection (Database.listen), kept open across ticks, reopened if lost.
        self._listener: Listener | None = None
        self._listening_scope: contextlib.AsyncExitStack | None = None
        self.ticks = 0
        self.errors = 0
        self._due_checked = float("-inf")
        self._delivered = float("-inf")  # monotonic time of the last idle delivery start
        self._handed: set[UUID] = set()  # the travelers the last tick handed over
        self._flights: list[_Flight] = []
        self._advanced = float("-inf")  # when the cursor last moved (monotonic)
        self._taken = time.time()
        # Two batches in flight in-process: one's database reads overlap the other's Python
        # (detectors) and store; sending to Celery is quick, one at a time keeps it ordered.
        self.max_flights = max_flights or (2 if self.executor.name == "inprocess" else 1)
        if listen and engine.settings.uses_transaction_pooler:
            raise PamError("LISTEN/NOTIFY does not work behind a transaction pooler: watch "
                           "by polling, or connect directly (port 5432)")

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set, surviving database outages."""
        # The offline gazetteer takes seconds to load: load it before the first write waits.
        await asyncio.to_thread(gazetteer)
        failures = 0
        while not stop.is_set():
            try:
                await self.tick()
                failures = 0
                await self._wait(stop)
            # A refused reconnection (DatabaseUnreachableError) mid-run is an outage too.
            except (*TRANSIENT_ERRORS, TransientDataSourceError, DatabaseUnreachableError
                    ) as exc:
                failures += 1
                self.errors += 1
                log.warning("watcher: database unavailable, retrying",
                            extra={"error": type(exc).__name__})
                await self._close_listener()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.5, backoff(failures)))
            except BrokerUnavailableError as exc:
                # Nothing was handed over: the batch stays pending, the cursor where it was.
                failures += 1
                self.errors += 1
                cause = exc.__cause__ if exc.__cause__ is not None else exc
                log.warning("watcher: broker unavailable, retrying",
                            extra={"error": type(cause).__name__})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(0.5, backoff(failures)))
        with contextlib.suppress(Exception):  # stopping: what failed is redone next start
            await self._land()
        await self.executor.close()
        await self._close_listener()

    async def tick(self) -> TickReport:
        """One poll: take the finished batches, read changes, start evaluating the settled
        and the due travelers (not waiting for it: see :meth:`_reap`)."""
        self.ticks += 1
        self._handed = set()
        now = self.clock()
        self._taken = time.time()  # the wall-clock moment of `now`: lags count from here
        if self.listen:
            # Listening before the feed is read: a write is then either read now or notified.
            await self._listening()
        report = TickReport()
        done = self._reap(report)
        cursor = await self.feed.cursor()
        if full_pass_due(now, cursor.position, cursor.full_sweep_at,
                         self.engine.settings.full_sweep_hours):
            await self._land(report)
            return await self._full(now, report)
        changes = await self.feed.changes(cursor.position or now, now)
        fresh = [c for c in changes if (c.source, c.row_id, c.at) not in self._pending_keys]
        fresh += await self.feed.take_deletions()
        report.changes = len(fresh)
        self._add(fresh)
        busy = self._busy()
        ready = [u for u in self._settled() if u not in busy]
        # The due travelers (their recheck_at has passed) once per interval: a write's
        # suggestion must not wait behind them at every tick of a busy listener.
        due: set[UUID] = set()
        if (len(self._flights) < self.max_flights
                and time.monotonic() - self._due_checked >= self.engine.settings.watch_interval):
            due = await self.feed.due(now, self._cooldown()) - busy
            self._due_checked = time.monotonic()
        if (ready or due) and len(self._flights) < self.max_flights:
            self._handed = set(ready)
            self._launch(now, ready, due)
        elif time.monotonic() - self._delivered >= self.engine.settings.watch_interval:
            # Nothing to evaluate: the outbox's retries still come due (a receiver that was
            # down for a while must not wait for the next traveler's change).
            self.executor.deliver(now)
            self._delivered = time.monotonic()
        # Each read re-reads the overlap window anyway: with nothing handed over, moving the
        # cursor once per interval is enough (a busy listener ticks many times a second).
        if done or time.monotonic() - self._advanced >= self.engine.settings.watch_interval:
            waiting = [c.at for p in self.pending.values() for c in p.changes]
            await self.feed.advance(done, min([now, *waiting]))
            self._advanced = time.monotonic()
        for c in done:
            self._pending_keys.discard((c.source, c.row_id, c.at))
        return report

    def _busy(self) -> set[UUID]:
        return {u for f in self._flights for u in f.users}

    def _launch(self, now: datetime, ready: list[UUID], due: set[UUID]) -> None:
        handed = [c for u in ready for c in self.pending[u].changes]
        task = asyncio.create_task(self._evaluate(now, ready, due, handed, self._taken))
        self._flights.append(_Flight(task, set(ready) | due, handed,
                                     {u: self.pending[u].last for u in ready}))

    def _reap(self, report: TickReport) -> list[Change]:
        """The finished flights: their travelers leave the pending set (unless they wrote
        again meanwhile) and their rows are returned, to be marked handed over. A flight
        that failed is raised after the others are taken: its travelers stay pending."""
        handed: list[Change] = []
        failed: BaseException | None = None
        for flight in [f for f in self._flights if f.task.done()]:
            self._flights.remove(flight)
            error = flight.task.exception()
            if error is not None:
                failed = failed or error
                continue
            for reason, n in flight.task.result().items():
                report.evaluated[reason] = report.evaluated.get(reason, 0) + n
            keys = {(c.source, c.row_id, c.at) for c in flight.handed}
            for u, last in flight.last.items():
                entry = self.pending.get(u)
                if entry is None:
                    continue
                entry.changes = [c for c in entry.changes
                                 if (c.source, c.row_id, c.at) not in keys]
                if entry.last <= last and not entry.changes:
                    del self.pending[u]
                else:  # wrote again while evaluated: pending from that write on
                    entry.first = min([c.at for c in entry.changes], default=entry.last)
            handed += flight.handed
        if failed is not None:
            raise failed
        return handed

    async def _land(self, report: TickReport | None = None) -> None:
        """Wait for every flight and take them (errors raised, as by :meth:`_reap`)."""
        if self._flights:
            await asyncio.wait([f.task for f in self._flights])
            done = self._reap(report or TickReport())
            if done:
                await self.feed.mark_seen(done, self.clock() - 2 * self.feed.overlap)
                for c in done:
                    self._pending_keys.discard((c.source, c.row_id, c.at))

    def _cooldown(self) -> timedelta:
        return timedelta(days=self.engine.settings.cooldown_days)

    def _add(self, changes: list[Change]) -> None:
        """Pending travelers, with the first and last time they wrote (their rows'
        timestamps, or a notification's arrival): debounced on the writes, not on when the
        poll happened to see them."""
        for c in changes:
            entry = self.pending.get(c.user_id)
            if entry is None:
                entry = self.pending[c.user_id] = _Pending(c.at, c.at)
            entry.first, entry.last = min(entry.first, c.at), max(entry.last, c.at)
            if c.row_id:
                entry.changes.append(c)
                self._pending_keys.add((c.source, c.row_id, c.at))

    def _settle_in(self) -> float | None:
        """Seconds until the next pending traveler settles (0: some already did)."""
        busy = self._busy()
        waiting = [p for u, p in self.pending.items() if u not in busy]
        if not waiting:
            return None
        debounce = self.engine.settings.watch_debounce
        now = self.clock()
        return max(0.0, min(min(debounce - (now - p.last).total_seconds(),
                                5 * debounce - (now - p.first).total_seconds())
                            for p in waiting))

    def _settled(self) -> list[UUID]:
        """Travelers quiet for the debounce, or writing for five debounces already."""
        debounce = self.engine.settings.watch_debounce
        now = self.clock()
        return sorted(u for u, p in self.pending.items()
                      if (now - p.last).total_seconds() >= debounce
                      or (now - p.first).total_seconds() >= 5 * debounce)

    async def _evaluate(self, now: datetime, ready: list[UUID], due: set[UUID],
                        handed: list[Change], taken: float) -> dict[str, int]:
        """The changed travelers first (someone is waiting for them), then the due ones:
        travelers who share a time zone reach their boundaries together, and such a batch
        must not delay a write's suggestion."""
        batches = (self._split(now, "changed", ready, handed, taken)
                   + self._split(now, "due", sorted(due - set(ready)), (), taken))
        return dict(await self.executor.submit(batches))

    def _split(self, now: datetime, reason: str, ids: Sequence[UUID],
               changes: Sequence[Change], taken: float) -> list[Batch]:
        size = self.executor.max_batch or max(1, len(ids))
        return split(now, reason, ids, changes, size, taken)

    async def _full(self, now: datetime, report: TickReport) -> TickReport:
        log.info("watcher: full pass", extra={"executor": self.executor.name})
        # What the window holds now is covered by the pass: hand it over with it.
        cursor = await self.feed.cursor()
        covered = await self.feed.changes(cursor.position or now, now)
        ids = [u async for page in self.engine.data.iter_sweep_user_batches() for u in page]
        report.evaluated = dict(await self.executor.submit(
            self._split(now, "full", ids, covered, self._taken)))
        await self.feed.advance(covered, now, full_sweep_at=now)
        report.full = True
        return report

    async def _wait(self, stop: asyncio.Event) -> None:
        """Sleep until the next tick: the interval, or until the next pending traveler
        settles. In listen mode it listens all the while: with nobody pending, it sleeps
        until the first notification; then, until the first pending traveler settles, each
        notification adds its traveler (or keeps them pending), so the next tick finds
        them settled rather than a tick per notification re-reading the feed."""
        settle = self._settle_in()
        interval = self.engine.settings.watch_interval
        # Every slot taken: nothing can start before a flight lands, settled or not.
        full = len(self._flights) >= self.max_flights
        if not self.listen:  # also woken by a flight landing: it frees a slot
            await self._landing(stop, interval if settle is None or full else settle)
            return
        conn = await self._listening()
        # Queued while the tick ran: the tick's feed read saw the writes of the travelers it
        # handed over (a delete is queued in `deletions` besides, taken at every tick).
        self._take(await self._notes(conn, 0.001), skip=self._handed)
        if full:
            # Nothing can start before a flight lands: wait for that, not for notifications
            # (ticking at each one would re-read the feed many times a second while both
            # flights run, and slow them). Notifications wait in the connection meanwhile.
            await self._landing(stop, interval)
            self._take(await self._notes(conn, 0.001))
            return
        settle = self._settle_in()
        if settle is None:
            self._take(await self._notes(conn, interval, 1, stop))
            settle = self._settle_in()
        if settle:
            self._take(await self._notes(conn, settle, None, stop))

    async def _landing(self, stop: asyncio.Event, timeout: float) -> None:
        """Sleep until a flight lands, ``stop`` is set or ``timeout`` seconds pass."""
        await _until_stopped(stop, [f.task for f in self._flights], timeout)

    async def _notes(self, conn: Listener, timeout: float,
                     stop_after: int | None = None, stop: asyncio.Event | None = None
                     ) -> list[Change]:
        """The notifications of the next ``timeout`` seconds (at most ``stop_after``); with
        ``stop``, none once it is set (a stopping watcher does not sit out the interval:
        what it drops is still in the feed, past its cursor)."""
        async def collect() -> list[Change]:
            return [self._notified(payload)
                    async for payload in conn.payloads(timeout=timeout, stop_after=stop_after)]

        if stop is None:
            return await collect()
        listening = asyncio.ensure_future(collect())
        await _until_stopped(stop, [listening])
        if not listening.done():
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
            return []
        return listening.result()

    def _take(self, notified: list[Change], skip: set[UUID] | frozenset[UUID] = frozenset()
              ) -> None:
        # A delete is only ever seen this way; writes are read from the feed as well.
        self._add([c for c in notified if c.user_id.int and c.user_id not in skip])

    def _notified(self, payload: str) -> Change:
        return Change("notify", "", _parse_uuid(payload) or UUID(int=0), self.clock())

    async def _listening(self) -> Listener:
        if self._listener is None or self._listener.closed:
            await self._close_listener()
            scope = contextlib.AsyncExitStack()
            channel = channel_name(self.engine.settings.engine_schema)
            self._listener = await scope.enter_async_context(self.engine.db.listen(channel))
            self._listening_scope = scope
        return self._listener

    async def _close_listener(self) -> None:
        scope, self._listening_scope, self._listener = self._listening_scope, None, None
        if scope is not None:
            with contextlib.suppress(PamError, psycopg.Error):  # a lost connection: closed
                await scope.aclose()
