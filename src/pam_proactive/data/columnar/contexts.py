"""A batch's contexts from its frames: the one assembly, for a sweep's batch and for one
traveler alike (pure).

Each section (financial, travel, calendar, vehicle) is computed for the whole batch at once
from the frames; then one :class:`UserContext` per user is put together from its sections.
Texts are cut to ``TEXT_MAX_CHARS`` by each section before anything is built from them, and
every row skipped or repaired is counted in the user's ``DataQuality``.
"""

from __future__ import annotations

from uuid import UUID

from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.context import QualityBuilder, UserContext
from pam_proactive.data.assemble import _USER_TEXT, _completeness, build_profile
from pam_proactive.data.columnar._rows import cut_columns
from pam_proactive.data.columnar.financial import financial_section
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.travel import calendar_section, travel_section
from pam_proactive.data.columnar.vehicle import vehicle_section
from pam_proactive.data.rows import UserRow


def build_contexts(frames: BatchFrames, rule: OutlierRule) -> dict[UUID, UserContext]:
    """Every batch user's context as of ``frames.now``, by user id."""
    after: dict[int, dict[str, int]] = {}
    for i, source, rows in frames.after_now.iter_rows():
        after.setdefault(i, {})[source] = rows
    people = frames.people.select("i", "today", "zone", "zone_invalid").rows()
    quality = {i: QualityBuilder(recorded_after_now=after.get(i, {})) for i, *_ in people}
    users: dict[int, UserRow] = {}
    profiles = {}
    for (i, _today, zone, invalid), row in zip(people, frames.users, strict=True):
        q = quality[i]
        users[i] = user = UserRow._make(cut_columns(row, _USER_TEXT, q))
        if invalid:
            q.skip("timezone_invalid")
        if invalid or user.timezone is None:
            # Dates, budget periods and quiet hours then follow UTC: said, never silent.
            q.assume("timezone", "UTC (local dates, budget periods and quiet hours)")
        profiles[i] = build_profile(user, zone, q)
    financial = financial_section(frames, rule, quality)
    travel = travel_section(frames, profiles, quality)
    calendar = calendar_section(frames, quality)
    vehicle = vehicle_section(frames, profiles, quality)
    contexts = {}
    for i, today, _zone, invalid in people:
        q, profile, user = quality[i], profiles[i], users[i]
        fin, trv, cal, veh = financial[i], travel[i], calendar[i], vehicle[i]
        _completeness(q, {
            "profile": {"timezone": user.timezone is not None and not invalid,
                        "vehicle_type": profile.vehicle_class != "unknown"},
            "financial": {"expenses": bool(fin.categories), "budgets": bool(fin.budgets)},
            "travel": {"trips": bool(trv.trips), "location": trv.location is not None},
            "calendar": {"calendar_events": bool(cal.events)},
            "vehicle": {"vehicles": veh.primary is not None, "fuel_log": bool(veh.fills),
                        "maintenance_records": bool(veh.maintenance)},
        })
        contexts[profile.user_id] = UserContext(profile.user_id, frames.now, today, profile,
                                                fin, trv, cal, veh, q.freeze())
    return contexts
