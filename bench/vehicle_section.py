"""Benchmark: the column-wise vehicle section vs the per-object ``build_vehicle``.

Seeds demo travelers (as every benchmark does), reads their batches once with
``ContextLoader.fetch_rows``, then times, in CPU seconds (``time.process_time``), over the
same rows: the per-object path (``build_vehicle`` per user, rows already grouped, texts cut)
and ``vehicle_section`` over the batch's frames (frames built beforehand, not timed). Runs
alternate A/B ``--rounds`` times; the best round of each is reported.

    python bench/vehicle_section.py --users 5000
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _common import NOW, parser, run, seeded_engine
from pam_proactive.context import QualityBuilder
from pam_proactive.data.assemble import _VEHICLE_TEXT, _cut_row, build_profile, build_vehicle
from pam_proactive.data.columnar.frames import BatchFrames, frames_from_rows
from pam_proactive.data.columnar.vehicle import vehicle_section
from pam_proactive.data.loader import BatchRows
from pam_proactive.engine import Engine

Prepared = tuple[BatchRows, BatchFrames, dict[int, Any], list[Any]]


async def batches(engine: Engine, batch_size: int) -> list[BatchRows]:
    """Every active user's batch rows at NOW."""
    ids = await engine.data.get_all_active_users()
    out = []
    for start in range(0, len(ids), batch_size):
        rows = await engine.data.loader.fetch_rows(ids[start : start + batch_size], NOW)
        assert rows is not None
        out.append(rows)
    return out


def prepare(rows: BatchRows) -> Prepared:
    """The frames and the per-object inputs (grouped, texts cut) of one batch, untimed."""
    frames = frames_from_rows(rows.users, rows.todays, NOW, rows.fetched)
    profiles = {i: build_profile(u, t[1], QualityBuilder())
                for i, (u, t) in enumerate(zip(rows.users, rows.todays, strict=True), 1)}
    per_user: list[Any] = []
    fuel: dict[int, list[Any]] = {}
    maint: dict[int, list[Any]] = {}
    for r in rows.fetched["fuel"]:
        fuel.setdefault(r[0], []).append(r)
    for r in rows.fetched["maintenance"]:
        maint.setdefault(r[0], []).append(_cut_row(r, (3,), [0]))
    vehicles = {r[0]: _cut_row(r, _VEHICLE_TEXT, [0]) for r in rows.fetched["vehicles"]}
    for i, (_u, today) in enumerate(zip(rows.users, rows.todays, strict=True), 1):
        per_user.append((i, vehicles.get(i), fuel.get(i, ()), maint.get(i, ()), today[0]))
    return rows, frames, profiles, per_user


def per_object(prepared: list[Prepared]) -> float:
    """CPU seconds of ``build_vehicle`` for every user of every batch."""
    quality = [{i: QualityBuilder() for i in profiles} for _r, _f, profiles, _p in prepared]
    started = time.process_time()
    for (_rows, _frames, profiles, per_user), q in zip(prepared, quality, strict=True):
        for i, vehicle, fuel, maint, today in per_user:
            build_vehicle(vehicle, fuel, maint, profiles[i], q[i], today)
    return time.process_time() - started


def columnar(prepared: list[Prepared]) -> float:
    """CPU seconds of ``vehicle_section`` for every batch."""
    quality = [{i: QualityBuilder() for i in profiles} for _r, _f, profiles, _p in prepared]
    started = time.process_time()
    for (_rows, frames, profiles, _per_user), q in zip(prepared, quality, strict=True):
        vehicle_section(frames, profiles, q)
    return time.process_time() - started


async def main(args: argparse.Namespace) -> None:
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        fetched = await batches(engine, args.batch_size)
    prepared = [prepare(r) for r in fetched]
    users = sum(len(r.users) for r in fetched)
    fills = sum(len(r.fetched["fuel"]) for r in fetched)
    items = sum(len(r.fetched["maintenance"]) for r in fetched)
    print(f"{users:,} users, {fills:,} fills, {items:,} maintenance rows")
    old: list[float] = []
    new: list[float] = []
    for _ in range(args.rounds):
        old.append(per_object(prepared))
        new.append(columnar(prepared))
    print(f"per-object build_vehicle: {min(old):.3f} CPU s (rounds {old})")
    print(f"vehicle_section:          {min(new):.3f} CPU s (rounds {new})")
    print(f"speed-up: {min(old) / min(new):.1f}x")


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.add_argument("--rounds", type=int, default=5)
    cli.set_defaults(users=5_000)
    run(main(cli.parse_args()))
