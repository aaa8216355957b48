"""The named evaluations: a sweep (everyone, a range or given travelers), the incremental
sweep (``sweep --incremental``) and one range of a scheduled traveler job; each is one
:func:`~pam_proactive.jobs.pipeline.evaluate.evaluate` call with its selection.

Incremental runs give the same stored suggestions as a full sweep (the simulation test
proves it): see :mod:`pam_proactive.jobs.pipeline.state` for who is changed or due.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.data.changes import Cursor
from pam_proactive.engine import Engine
from pam_proactive.jobs.pipeline.evaluate import SweepReport, evaluate
from pam_proactive.jobs.pipeline.selection import (
    ChangedOrDue,
    Everyone,
    Given,
    Selection,
    UserRange,
)
from pam_proactive.jobs.pipeline.state import FEED


def selection_of(user_ids: Sequence[object] | None = None,
                 user_range: UserRange | None = None) -> Selection:
    """The travelers named (when ``user_ids`` is given), else every active traveler (of
    ``user_range``, lo < id <= hi)."""
    return Given(user_ids) if user_ids is not None else Everyone(user_range)


async def sweep(engine: Engine, now: datetime, *, user_ids: Sequence[object] | None = None,
                dry_run: bool = False, detector_settings: DetectorSettings | None = None,
                deliver: bool = True, types: Collection[str] | None = None,
                user_range: UserRange | None = None) -> SweepReport:
    """Run every detector (of ``types``) for the users (default: every active user, or those
    of ``user_range``) as of ``now``; stores and delivers unless ``dry_run``."""
    return await evaluate(engine, now, selection_of(user_ids, user_range), types=types,
                          dry_run=dry_run, deliver=deliver,
                          detector_settings=detector_settings)


async def incremental_sweep(engine: Engine, now: datetime, *, full: bool | None = None,
                            deliver: bool = True) -> SweepReport:
    """Evaluate the changed and due travelers as of ``now`` (everyone when a full pass is due,
    or ``full=True``), store, deliver, record their evaluation state and advance the feed.
    The report counts them by reason."""
    return await evaluate(engine, now, ChangedOrDue(FEED, full=full), deliver=deliver)


async def incremental_range(engine: Engine, scope: str, types: Collection[str], now: datetime,
                            user_range: UserRange, cursor: Cursor, *,
                            insights: bool = False) -> SweepReport:
    """One range (lo < id <= hi) of a scheduled traveler job, incremental in ``scope`` (the
    job's name) with its detector group ``types``: everyone in the range when the scope's
    full-sweep interval has elapsed since ``cursor.full_sweep_at``, else only those who
    changed since ``cursor.position`` or are due in the scope. Only those evaluated are
    stored, so the others keep their suggestions. The report counts them by reason."""
    return await evaluate(engine, now, ChangedOrDue(scope, scope, user_range, cursor),
                          types=types, insights=insights)
