"""Benchmark: the column-wise profile, travel and calendar sections vs the per-object builders
over the same rows (CPU seconds, this process only; alternated A/B runs).

The rows of every demo traveler are fetched once (``ContextLoader.fetch_rows``, batches of
``--batch-size``) and turned into frames once; then each path assembles the profile, travel
and calendar parts and the completeness of every user, keeping each batch's results alive as
a sweep does (the garbage collector sees them). Old: ``cut_texts``' cuts of the user, trip
and event rows, ``build_profile``, ``build_travel``, ``build_calendar``, ``_completeness``
and ``freeze``. New: ``profile_section``, ``travel_section``, ``calendar_section`` and the
cached completeness of ``build_contexts``. The other sections (financial, vehicle) are left
out of both.

    python bench/travel_sections.py --users 5000 --rounds 9
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from _common import NOW, parser, run, seeded_engine
from pam_proactive.context import QualityBuilder
from pam_proactive.data.assemble import (
    _ROW_TEXT,
    _USER_TEXT,
    _completeness,
    _cut_row,
    build_calendar,
    build_profile,
    build_travel,
    group_by_user,
)
from pam_proactive.data.columnar.contexts import data_quality, profile_section
from pam_proactive.data.columnar.frames import BatchFrames, frames_from_rows
from pam_proactive.data.columnar.travel import calendar_section, travel_section
from pam_proactive.data.loader import BatchRows, ContextLoader
from pam_proactive.data.queries import BatchStatements


def per_object(batches: list[BatchRows]) -> list[dict[int, Any]]:
    """The per-object builders, user by user (as ``assemble.build_context`` calls them)."""
    kept = []
    for rows in batches:
        trips, events = group_by_user(rows.fetched["trips"]), group_by_user(rows.fetched["events"])
        out = {}
        for i, (user, (today, zone, invalid)) in enumerate(
                zip(rows.users, rows.todays, strict=True), start=1):
            q = QualityBuilder()
            cut = [0]
            user = _cut_row(user, _USER_TEXT, cut)
            mine_trips = [_cut_row(r, _ROW_TEXT["trips"], cut) for r in trips.get(i, ())]
            mine_events = [_cut_row(r, _ROW_TEXT["events"], cut) for r in events.get(i, ())]
            q.repair("text_cut", cut[0])
            if invalid:
                q.skip("timezone_invalid")
            if invalid or user.timezone is None:
                q.assume("timezone", "UTC")
            profile = build_profile(user, zone, q)
            travel = build_travel(mine_trips, profile, today, q)  # type: ignore[arg-type]
            calendar = build_calendar(mine_events, zone, q)
            _completeness(q, (  # COMPLETENESS_SOURCES order, as the new side's flags
                user.timezone is not None and not invalid, profile.vehicle_class != "unknown",
                True, False, bool(travel.trips), travel.location is not None,
                bool(calendar.events), True, True, False))
            out[i] = (profile, travel, calendar, q.freeze())
        kept.append(out)
    return kept


def column_wise(batches: list[BatchFrames]) -> list[dict[int, Any]]:
    """The column-wise sections, batch by batch (as ``build_contexts`` calls them)."""
    kept = []
    for frames in batches:
        quality, users, profiles = profile_section(frames)
        travel = travel_section(frames, profiles, quality)
        calendar = calendar_section(frames, quality)
        out = {}
        people = frames.people.get_column
        invalid_zones = zip(people("i").to_list(), people("zone_invalid").to_list(),
                            strict=True)
        for i, invalid in invalid_zones:
            profile, trv, cal = profiles[i], travel[i], calendar[i]
            quality_of_user = data_quality(quality, i, (
                users[i].timezone is not None and not invalid,
                profile.vehicle_class != "unknown", True, False, bool(trv.trips),
                trv.location is not None, bool(cal.events), True, True, False))
            out[i] = (profile, trv, cal, quality_of_user)
        kept.append(out)
    return kept


def cpu(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


async def main(args: argparse.Namespace) -> None:
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        loader = ContextLoader(engine.db,
                               BatchStatements.for_schema(engine.settings.engine_schema))
        ids = await engine.data.get_all_active_users()
        batches = []
        for start in range(0, len(ids), args.batch_size):
            rows = await loader.fetch_rows(ids[start:start + args.batch_size], NOW)
            if rows is not None:
                batches.append(rows)
    frames = [frames_from_rows(r.users, r.todays, NOW, r.fetched) for r in batches]
    users = sum(len(r.users) for r in batches)
    trips = sum(len(r.fetched["trips"]) for r in batches)
    events = sum(len(r.fetched["events"]) for r in batches)
    # The fetched rows stay alive all along: out of the collector's sight, as in a sweep
    # (where they are garbage after their batch, not a growing heap to traverse).
    gc.collect()
    gc.freeze()
    old, new = [], []
    for _ in range(args.rounds):
        old.append(cpu(lambda: per_object(batches)))
        new.append(cpu(lambda: column_wise(frames)))
    print(f"{users:,} users, {trips:,} trips, {events:,} events; {args.rounds} rounds, "
          f"CPU seconds (median / min)")
    print(f"per-object:  {statistics.median(old):.4f} / {min(old):.4f}")
    print(f"column-wise: {statistics.median(new):.4f} / {min(new):.4f}")
    print(f"ratio:       {statistics.median(old) / statistics.median(new):.2f}x (median)")


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.set_defaults(users=5_000)
    cli.add_argument("--rounds", type=int, default=9, help="alternated A/B rounds")
    run(main(cli.parse_args()))
