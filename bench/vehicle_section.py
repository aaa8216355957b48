"""Benchmark: the column-wise vehicle section vs the per-object ``build_vehicle``.

Seeds demo travelers (as every benchmark does), reads their batches once with
``ContextLoader.fetch_rows``, then times, in CPU seconds (``time.process_time``), over the
same rows: the per-object path (``build_vehicle`` per user, rows already grouped, texts cut),
the section as it was before it went column-wise (rows of the frames grouped per user, then
``build_vehicle``) and ``vehicle_section`` over the batch's frames (frames built beforehand,
not timed). The runs alternate ``--rounds`` times; the best round of each is reported. The
prepared inputs are moved out of the garbage collector's sight (``gc.freeze``) so that its
passes cost what a sweep's would, not a scan of every benchmark's input.

    python bench/vehicle_section.py --users 5000
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from _common import NOW, parser, run, seeded_engine
from pam_proactive.context import QualityBuilder
from pam_proactive.data.assemble import _VEHICLE_TEXT, _cut_row, build_profile, build_vehicle
from pam_proactive.data.columnar._rows import cut_columns, rows_by_user
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
    kept = []  # a batch's contexts live on, as in assemble_rows (the collector sees them)
    started = time.process_time()
    for (_rows, _frames, profiles, per_user), q in zip(prepared, quality, strict=True):
        kept.append({i: build_vehicle(vehicle, fuel, maint, profiles[i], q[i], today)
                     for i, vehicle, fuel, maint, today in per_user})
    return time.process_time() - started


def columnar(prepared: list[Prepared]) -> float:
    """CPU seconds of ``vehicle_section`` for every batch."""
    quality = [{i: QualityBuilder() for i in profiles} for _r, _f, profiles, _p in prepared]
    kept: list[dict[int, Any]] = []
    started = time.process_time()
    for (_rows, frames, profiles, _per_user), q in zip(prepared, quality, strict=True):
        kept.append(vehicle_section(frames, profiles, q))
    return time.process_time() - started


def transitional(prepared: list[Prepared]) -> float:
    """CPU seconds of the section as of commit 2437540 (per-object, over the frames)."""
    quality = [{i: QualityBuilder() for i in profiles} for _r, _f, profiles, _p in prepared]
    kept: list[dict[int, Any]] = []
    started = time.process_time()
    for (_rows, frames, profiles, _per_user), qs in zip(prepared, quality, strict=True):
        out = {}
        fuel = rows_by_user(frames.fuel)
        maintenance = rows_by_user(frames.maintenance)
        vehicles = {r[0]: r for r in frames.vehicles.iter_rows()}
        people = frames.people.get_column
        for i, today in zip(people("i").to_list(), people("today").to_list(), strict=True):
            q = qs[i]
            vehicle = vehicles.get(i)
            if vehicle is not None:
                vehicle = cut_columns(vehicle, (2, 3, 4), q)
            out[i] = build_vehicle(vehicle, fuel.get(i, ()),
                                   [cut_columns(r, (3,), q) for r in maintenance.get(i, ())],
                                   profiles[i], q, today)
        kept.append(out)
    return time.process_time() - started


async def main(args: argparse.Namespace) -> None:
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        fetched = await batches(engine, args.batch_size)
    prepared = [prepare(r) for r in fetched]
    users = sum(len(r.users) for r in fetched)
    fills = sum(len(r.fetched["fuel"]) for r in fetched)
    items = sum(len(r.fetched["maintenance"]) for r in fetched)
    print(f"{users:,} users, {fills:,} fills, {items:,} maintenance rows")
    gc.collect()
    gc.freeze()
    if args.no_gc:
        gc.disable()
    runs: dict[str, list[float]] = {"build_vehicle": [], "transitional": [], "columnar": []}
    for _ in range(args.rounds):
        for name, timed in (("build_vehicle", per_object), ("transitional", transitional),
                            ("columnar", columnar)):
            gc.collect()
            runs[name].append(timed(prepared))
    best = {name: min(times) for name, times in runs.items()}
    for name, times in runs.items():
        print(f"{name:>14}: {best[name]:.3f} CPU s best of "
              f"{', '.join(f'{t:.3f}' for t in times)}")
    print(f"vehicle_section vs build_vehicle: {best['build_vehicle'] / best['columnar']:.1f}x, "
          f"vs the transitional section: {best['transitional'] / best['columnar']:.1f}x")


if __name__ == "__main__":
    cli = parser(__doc__ or "")
    cli.add_argument("--rounds", type=int, default=5)
    cli.add_argument("--no-gc", action="store_true",
                     help="garbage collector off while timing (the compute alone)")
    cli.set_defaults(users=5_000)
    run(main(cli.parse_args()))
