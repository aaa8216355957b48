"""The data-integration API, with the seed's names (async).

Every function has a batch form (``*_batch``, many user ids, one statement per entity for the
whole batch) and a per-user form that calls the batch form with one id: one code path. Every
function takes the clock (``now``, timezone-aware); data after ``now`` is ignored.

The facade stays in ``data``: the derived views it serves (fuel state, maintenance due status,
events seen from the traveler, outlier rule) are the shared analyses of ``analysis/``, which
the detectors use too, so it imports nothing from ``suggestions`` (the import contract in
pyproject.toml enforces it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from pam_proactive.analysis.dates import require_aware, zone
from pam_proactive.analysis.events import EventAnalysis, analyze_events, event_start
from pam_proactive.analysis.fuel import FuelResult, analyze_fuel
from pam_proactive.analysis.maintenance import DueStatus, due_statuses, is_due_soon
from pam_proactive.analysis.outliers import outlier_rule
from pam_proactive.analysis.patterns import (
    ExpensePatterns,
    TravelPatterns,
    expense_patterns,
    travel_patterns,
)
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.config import Settings
from pam_proactive.context import BudgetStatus, CalendarEvent, Location, Profile, UserContext
from pam_proactive.data.cache import ContextCache
from pam_proactive.data.loader import ContextLoader
from pam_proactive.data.queries import BatchStatements
from pam_proactive.data.users import parse_user_id
from pam_proactive.db.connection import Database
from pam_proactive.db.migrate import VIEW_NAMES
from pam_proactive.errors import (
    DatabaseUnavailableError,
    PamError,
    TransientDataSourceError,
    UnknownUserError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MaintenanceStatus:
    """One maintenance task of a vehicle and where it stands."""

    state: str  # 'overdue', 'due_soon' or 'ok'
    due: DueStatus  # days and miles left (negative when overdue), odometer estimate, trip


@dataclass(frozen=True, slots=True)
class SpendingData:
    """One user's money picture: month to date, budgets and 30-day patterns."""

    month_spent: float  # user's currency, calendar month to date
    budgets: tuple[BudgetStatus, ...]
    patterns: ExpensePatterns


@dataclass(frozen=True, slots=True)
class MonitoredUser:
    """A traveler with recent activity, as the seed's monitoring loop reads one (``user.id``
    where the seed wrote ``user["id"]``)."""

    id: UUID


class ProactiveDataIntegrator:
    """Reads traveler data for the engine. One per process (it owns the cache)."""

    def __init__(self, db: Database, settings: Settings,
                 detector_settings: DetectorSettings | None = None) -> None:
        self.db = db
        self.settings = settings
        self.detector_settings = detector_settings or DetectorSettings()
        self.statements = BatchStatements.for_schema(settings.engine_schema)
        # Outliers are kept out of budget projections by the anomaly detector's own rule.
        self.loader = ContextLoader(db, self.statements, outlier_rule(self.detector_settings))
        self.cache = ContextCache(settings.cache_ttl, settings.cache_max_entries)

    # -- contexts ---------------------------------------------------------------------------

    async def get_contexts(
        self, user_ids: Iterable[object], now: datetime, *, use_cache: bool = True
    ) -> dict[UUID, UserContext]:
        """Contexts of many users as of ``now``; ids not found are absent from the result.

        Cached contexts fresh at ``now`` are reused; the rest are loaded in batches of
        ``PAM_BATCH_SIZE``. If the database is unreachable, each missing user's last cached
        context is served marked stale; without one, :class:`DatabaseUnavailableError`.
        """
        require_aware(now)
        ids = list(dict.fromkeys(parse_user_id(u) for u in user_ids))
        found: dict[UUID, UserContext] = {}
        missing = ids
        if use_cache:
            missing = []
            for uid in ids:
                hit = self.cache.get(uid, now)
                if hit is None:
                    missing.append(uid)
                else:
                    found[uid] = hit
        size = self.settings.batch_size
        for start in range(0, len(missing), size):
            part = missing[start : start + size]
            try:
                loaded = await self.loader.load(part, now)
            except TransientDataSourceError:
                if not use_cache:
                    raise
                loaded = self._stale(part)
            for uid, ctx in loaded.items():
                found[uid] = ctx
                if use_cache and not ctx.data_quality.stale:
                    self.cache.put(ctx)
        return {uid: found[uid] for uid in ids if uid in found}

    def _stale(self, user_ids: list[UUID]) -> dict[UUID, UserContext]:
        stale = {uid: self.cache.get_stale(uid) for uid in user_ids}
        if any(ctx is None for ctx in stale.values()):
            raise DatabaseUnavailableError(
                "the database is unreachable and no cached context exists for some users; "
                "check DATABASE_URL and the server, then retry"
            )
        log.warning("serving stale contexts", extra={"users": len(stale)})
        return {uid: ctx for uid, ctx in stale.items() if ctx is not None}

    async def get_comprehensive_user_context(self, user_id: object, now: datetime) -> UserContext:
        """One user's full context (profile, financial, travel, calendar, vehicle, quality)."""
        ctx: UserContext = await self._one(self.get_contexts, user_id, now)
        return ctx

    def invalidate_user(self, user_id: object) -> bool:
        """Drop a user's cached context (call after their data changed)."""
        return self.cache.invalidate(parse_user_id(user_id))

    async def _one(self, batch: Callable[..., Any], user_id: object, now: datetime) -> Any:
        uid = parse_user_id(user_id)
        result = await batch([uid], now)
        if uid not in result:
            raise UnknownUserError(f"no traveler with id {uid}; check the id and the preset")
        return result[uid]

    async def _derive(
        self, user_ids: Iterable[object], now: datetime, fn: Callable[[UserContext], T]
    ) -> dict[UUID, T]:
        return {uid: fn(ctx) for uid, ctx in (await self.get_contexts(user_ids, now)).items()}

    # -- users ------------------------------------------------------------------------------

    async def iter_active_user_batches(
        self, batch_size: int | None = None
    ) -> AsyncIterator[list[UUID]]:
        """Pages of active, not opted-out user ids (keyset pagination)."""
        async for page in self.loader.active_user_ids(batch_size or self.settings.batch_size):
            yield page

    def iter_sweep_user_batches(self, batch_size: int | None = None, *,
                                user_range: tuple[UUID, UUID] | None = None
                                ) -> AsyncIterator[list[UUID]]:
        """Pages of every active user id, opted-out ones included (their open suggestions
        must be resolved), by keyset pagination; with ``user_range=(lo, hi)`` only the ids
        with lo < id <= hi (a scheduled job's range)."""
        lo, hi = user_range or (UUID(int=0), UUID(int=(1 << 128) - 1))
        return self.loader.ids_page(self.statements.sweep_user_page,
                                    {"upto": hi}, batch_size or self.settings.batch_size,
                                    after=lo)

    async def get_all_active_users(self) -> list[UUID]:
        """Every active, not opted-out user id, in id order."""
        return [uid async for page in self.iter_active_user_batches() for uid in page]

    async def get_users_batch(self, user_ids: Iterable[object], now: datetime
                              ) -> dict[UUID, Profile]:
        """Profiles of many users."""
        return await self._derive(user_ids, now, lambda c: c.profile)

    async def get_user_profile(self, user_id: object, now: datetime) -> Profile:
        """One user's profile."""
        return await self._one(self.get_users_batch, user_id, now)  # type: ignore[no-any-return]

    async def get_user_location_batch(self, user_ids: Iterable[object], now: datetime
                                      ) -> dict[UUID, Location | None]:
        """Where each user is believed to be (profile coordinates, else current or last trip)."""
        return await self._derive(user_ids, now, lambda c: c.travel.location)

    async def get_user_location(self, user_id: object, now: datetime) -> Location | None:
        """Where one user is believed to be; None when nothing says."""
        return await self._one(self.get_user_location_batch, user_id, now)  # type: ignore[no-any-return]

    async def get_users_for_monitoring(
        self, now: datetime, *, activity_days: int = 30, limit: int | None = None
    ) -> list[UUID]:
        """Active, not opted-out users with spending in the last ``activity_days`` days, a
        planned or active trip, or an event in the next 30 days; in id order."""
        require_aware(now)
        today = now.date()
        params = {"now": now, "today": today, "since": today - timedelta(days=activity_days)}
        out: list[UUID] = []
        async for page in self.loader.ids_page(
            self.statements.monitored_users, params, self.settings.batch_size
        ):
            out.extend(page)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    async def get_active_users_for_monitoring(
        self, now: datetime, *, limit: int | None = 100, activity_days: int = 30
    ) -> list[MonitoredUser]:
        """Users with recent activity for monitoring (the seed's name): active, not opted out,
        with spending in the last ``activity_days`` days, a planned or active trip, or an event
        in the next 30 days; in id order, at most ``limit`` (None: all)."""
        ids = await self.get_users_for_monitoring(now, activity_days=activity_days, limit=limit)
        return [MonitoredUser(uid) for uid in ids]

    # -- money ------------------------------------------------------------------------------

    async def get_monthly_spending_batch(self, user_ids: Iterable[object], now: datetime
                                         ) -> dict[UUID, float]:
        """Spending of the calendar month to date (user's timezone), user's currency."""
        return await self._derive(user_ids, now, lambda c: round(c.financial.month_spent, 2))

    async def get_monthly_spending(self, user_id: object, now: datetime) -> float:
        """One user's spending of the calendar month to date, user's currency."""
        return await self._one(self.get_monthly_spending_batch, user_id, now)  # type: ignore[no-any-return]

    async def get_expense_patterns_batch(self, user_ids: Iterable[object], now: datetime
                                         ) -> dict[UUID, ExpensePatterns]:
        """30-day spending patterns of many users."""
        return await self._derive(user_ids, now, expense_patterns)

    async def get_expense_patterns(self, user_id: object, now: datetime) -> ExpensePatterns:
        """One user's 30-day spending patterns."""
        return await self._one(self.get_expense_patterns_batch, user_id, now)  # type: ignore[no-any-return]

    async def get_users_spending_data_batch(self, user_ids: Iterable[object], now: datetime
                                            ) -> dict[UUID, SpendingData]:
        """Month-to-date spending, budgets and patterns of many users."""
        return await self._derive(user_ids, now, lambda c: SpendingData(
            round(c.financial.month_spent, 2), c.financial.budgets, expense_patterns(c)))

    # -- travel -----------------------------------------------------------------------------

    async def get_travel_patterns_batch(self, user_ids: Iterable[object], now: datetime
                                        ) -> dict[UUID, TravelPatterns]:
        """Trip counts and miles of many users."""
        return await self._derive(user_ids, now, travel_patterns)

    async def get_travel_patterns(self, user_id: object, now: datetime) -> TravelPatterns:
        """One user's trip counts and miles."""
        return await self._one(self.get_travel_patterns_batch, user_id, now)  # type: ignore[no-any-return]

    async def get_users_with_planned_trips(self, now: datetime, *, within_days: int = 14
                                           ) -> list[UUID]:
        """Users with a planned or active trip starting within ``within_days`` days (UTC
        dates), in id order."""
        require_aware(now)
        today = now.date()
        rows = await self.db.fetch(*self.statements.planned_trip_users, {
            "now": now, "today": today, "until": today + timedelta(days=within_days)})
        return [r[0] for r in rows]

    async def get_fuel_level_batch(self, user_ids: Iterable[object], now: datetime
                                   ) -> dict[UUID, FuelResult]:
        """Estimated fuel state of each user's primary vehicle (level %, gallons, range in
        miles, each input with its source), or the reason it cannot be estimated. Never a
        made-up level."""
        return await self._derive(user_ids, now, lambda c: analyze_fuel(c, self.detector_settings))

    async def get_fuel_level(self, user_id: object, now: datetime) -> FuelResult:
        """One user's estimated fuel state, or why there is none."""
        return await self._one(self.get_fuel_level_batch, user_id, now)  # type: ignore[no-any-return]

    async def get_vehicle_maintenance_status_batch(
        self, user_ids: Iterable[object], now: datetime
    ) -> dict[UUID, tuple[MaintenanceStatus, ...]]:
        """Each user's maintenance tasks (latest record per task), most urgent first."""
        return await self._derive(user_ids, now, self._maintenance)

    async def get_vehicle_maintenance_status(
        self, user_id: object, now: datetime
    ) -> tuple[MaintenanceStatus, ...]:
        """One user's maintenance tasks, most urgent first."""
        return await self._one(self.get_vehicle_maintenance_status_batch, user_id, now)  # type: ignore[no-any-return]

    def _maintenance(self, ctx: UserContext) -> tuple[MaintenanceStatus, ...]:
        found = []
        for due in due_statuses(ctx, self.detector_settings):
            state = ("overdue" if due.overdue else
                     "due_soon" if is_due_soon(due, self.detector_settings) else "ok")
            found.append(MaintenanceStatus(state, due))
        rank = {"overdue": 0, "due_soon": 1, "ok": 2}
        return tuple(sorted(found, key=lambda m: (rank[m.state], m.due.item.task)))

    # -- calendar ---------------------------------------------------------------------------

    async def get_travel_events_analysis_batch(
        self, user_ids: Iterable[object], now: datetime
    ) -> dict[UUID, tuple[EventAnalysis, ...]]:
        """Each user's events of the next 14 days: resolved place, distance from the user
        (miles), the trip that already gets them there, and whether travel must be planned."""
        return await self._derive(
            user_ids, now, lambda c: analyze_events(c, now, self.detector_settings).events)

    async def get_travel_events_analysis(self, user_id: object, now: datetime
                                         ) -> tuple[EventAnalysis, ...]:
        """One user's events of the next 14 days seen from where they are."""
        return await self._one(self.get_travel_events_analysis_batch, user_id, now)  # type: ignore[no-any-return]

    async def get_upcoming_events_batch(
        self, user_ids: Iterable[object], now: datetime, *, days: int = 14
    ) -> dict[UUID, tuple[CalendarEvent, ...]]:
        """Events starting in ``[now, now + days]`` for many users, by start time (an
        all-day event starts at the traveler's local midnight of its date)."""
        until = now + timedelta(days=days)

        def starting(c: UserContext) -> tuple[CalendarEvent, ...]:
            tz = zone(c.profile.timezone)
            return tuple(e for e in c.calendar.events
                         if (s := event_start(e, tz)) is not None and now <= s <= until)

        return await self._derive(user_ids, now, starting)

    async def get_upcoming_events(self, user_id: object, now: datetime, *, days: int = 14
                                  ) -> tuple[CalendarEvent, ...]:
        """One user's events starting in ``[now, now + days]``."""
        result = await self.get_upcoming_events_batch([user_id], now, days=days)
        uid = parse_user_id(user_id)
        if uid not in result:
            raise UnknownUserError(f"no traveler with id {uid}; check the id and the preset")
        return result[uid]

    # -- operations -------------------------------------------------------------------------

    async def health_check(self) -> dict[str, Any]:
        """Database reachability, installed views, pool and cache figures. Never raises."""
        report: dict[str, Any] = {"database": "down", "views": {}, "healthy": False}
        try:
            rows = await self.db.fetch(*self.statements.health_views, {
                "schema": self.settings.engine_schema, "views": list(VIEW_NAMES)})
            present = {r[0] for r in rows}
            report["database"] = "up"
            report["views"] = {v: v in present for v in VIEW_NAMES}
            report["healthy"] = all(report["views"].values())
            if not report["healthy"]:
                report["hint"] = "run `pam-proactive migrate`"
        except PamError as exc:
            report["error"] = str(exc)
        report["pool"] = self.db.pool_stats()
        report["cache"] = self.cache.stats()
        return report

    async def get_performance_metrics(self) -> dict[str, Any]:
        """Query metrics (count, mean and p95 ms, slow queries), cache and pool figures."""
        return {**self.db.metrics.snapshot(), **self.cache.stats(),
                "connection_pool_status": self.db.pool_stats()}
