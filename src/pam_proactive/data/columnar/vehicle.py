"""The vehicle section of a batch's contexts: primary vehicle, cleaned fill-ups, the latest
maintenance per task and the best odometer (pure).

Column-wise over the whole batch, with the rules of the per-object builder
(``data/assemble.build_vehicle``, ``clean_fills``, ``_vehicle``, the oracle) and the same
skip and repair counts per user. Two rules are sequential and stay loops over plain values,
run only for the users they can change: the odometer's last-kept-reading rule (a reading
below the last kept one, or a jump from it, is dropped) and the outlier rule
(:func:`pam_proactive.analysis.limits.odometer_outliers`, called as is). The objects are
built last, a column at a time (:func:`pam_proactive.data.columnar.objects.instances`).

Units as the frames': miles, US gallons, the user's currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.analysis.limits import (
    MAX_FILL_GALLONS,
    MAX_MPG,
    MAX_ODOMETER_MILES,
    MAX_TANK_GALLONS,
    MIN_MPG,
    MIN_TANK_GALLONS,
    ODOMETER_JUMP_MILES,
    ODOMETER_OUTLIER_MILES,
    odometer_outliers,
)
from pam_proactive.analysis.vehicles import normalize_vehicle_class
from pam_proactive.context import (
    FuelFill,
    MaintenanceItem,
    Profile,
    QualityBuilder,
    Vehicle,
    VehicleContext,
)
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.objects import instances, per_user

Quality = Mapping[int, QualityBuilder]
# (column of booleans, reason, QualityBuilder method name): one count per true row.
Tally = tuple[tuple[str, str, str], ...]

_READING = "reading"  # an odometer reading (miles) in the readings frame
# Dates are made once per day of the batch's span when it spans at most this many days.
_DATE_SPAN = 4_000
# Below this many values a column is checked in Python rather than with a Polars step.
_SMALL = 256
_VEHICLE_TEXT = ("name", "vehicle_type", "fuel_type")
_MAINTENANCE_TEXT = ("task",)


def vehicle_section(frames: BatchFrames, profiles: Mapping[int, Profile],
                    quality: Quality) -> dict[int, VehicleContext]:
    """Every batch user's :class:`VehicleContext`, by position ``i``."""
    fills, unusable = _fills(_by_user(frames.fuel), frames.people, quality)
    items = _maintenance(_by_user(frames.maintenance), quality)
    vehicles = _vehicles(frames.vehicles, profiles, quality)
    fills, items, vehicles, best = _drop_outliers(fills, items, vehicles, quality)
    return _contexts(frames.people["i"].to_list(), fills, items, vehicles, best, unusable)


def _by_user(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each user's rows together, in their order (the statements return them
    so: then nothing is moved)."""
    return frame if frame["i"].is_sorted() else frame.sort("i", maintain_order=True)


def _tally(frame: pl.DataFrame, tally: Tally, quality: Quality) -> None:
    """Count, per user, the rows of ``frame`` true in each column of ``tally``."""
    if frame.is_empty():
        return
    users = frame["i"].to_numpy()
    for column, reason, kind in tally:
        _count(users[frame[column].to_numpy()], reason, kind, quality)


def _count(flagged: np.ndarray[Any, Any], reason: str, kind: str, quality: Quality) -> None:
    """Count ``reason`` once per entry of ``flagged`` (users' positions) with the
    QualityBuilder method ``kind``."""
    if len(flagged):
        for i, n in zip(*np.unique(flagged, return_counts=True), strict=True):
            getattr(quality[int(i)], kind)(reason, int(n))


def _cut(frame: pl.DataFrame, columns: Iterable[str], quality: Quality) -> pl.DataFrame:
    """``frame`` with its text in ``columns`` cut to ``TEXT_MAX_CHARS`` (``cut_text``), each
    value cut counted as repaired (``text_cut``)."""
    for name in columns:
        if not _any_long(frame[name]):
            continue
        long = (frame[name].str.len_chars() > TEXT_MAX_CHARS).fill_null(False)
        values = frame[name].to_list()
        users = frame["i"].to_list()
        for k in long.arg_true().to_list():
            values[k] = cut_text(values[k])
            quality[users[k]].repair("text_cut")
        frame = frame.with_columns(pl.Series(name, values, dtype=pl.String()))
    return frame


def _any_long(texts: pl.Series) -> bool:
    """Whether a text of ``texts`` is longer than ``TEXT_MAX_CHARS`` (characters, as Python
    counts them). A small batch's few values are checked in Python: a Polars string step
    costs a fixed ~0.05 ms, more than the check itself."""
    if texts.len() < _SMALL:
        return any(len(t) > TEXT_MAX_CHARS for t in texts.to_list() if t is not None)
    longest = texts.str.len_chars().max()
    return isinstance(longest, int) and longest > TEXT_MAX_CHARS


@cache
def _odometer(column: str, prefix: str) -> Mapping[str, pl.Expr]:
    """A reading's validity as ``_within_odometer_range`` judges it: ``{prefix}_implausible``
    (finite, above ``MAX_ODOMETER_MILES``: dropped), ``{prefix}_negative`` (finite, below 0:
    the caller repairs it) and ``column`` kept only when finite and in [0, max]. Made once
    per column (read-only: shared by every call)."""
    value = pl.col(column)
    finite = value.is_finite().fill_null(False)
    return {
        f"{prefix}_implausible": finite & (value > MAX_ODOMETER_MILES),
        f"{prefix}_negative": finite & (value < 0),
        column: pl.when(finite & (value >= 0) & (value <= MAX_ODOMETER_MILES)).then(value),
    }


def _fills(fuel: pl.DataFrame, people: pl.DataFrame,
           quality: Quality) -> tuple[pl.DataFrame, dict[int, tuple[date, ...]]]:
    """The fill-ups ``clean_fills`` keeps (columns of :class:`FuelFill` plus ``i``), and each
    user's days of fill-ups skipped for their volume with no kept fill-up that day."""
    gallons, cost = pl.col("gallons"), pl.col("total_cost")
    past = ~pl.col("fuel_date_future")
    # Two eager steps (each costs a fixed ~0.1 ms on a small batch, a lazy chain more): the
    # duplicates are judged between them.
    rows = fuel.with_columns(
        fuel_date_future=pl.col("filled_on") > today_of_rows(fuel["i"], people),
        usable=(gallons.is_not_nan() & (gallons > 0) & (gallons <= MAX_FILL_GALLONS))
        .fill_null(False),
    )
    duplicate = pl.Series("fuel_fill_duplicate", _duplicates(rows))
    keep = past & pl.col("usable") & ~pl.lit(duplicate)
    odometer = _odometer("odometer_miles", "odometer")
    rows = rows.with_columns(
        duplicate, keep=keep, fuel_volume_invalid=past & ~pl.col("usable"),
        **{name: keep & flag for name, flag in odometer.items() if name != "odometer_miles"},
        odometer_miles=odometer["odometer_miles"],
        fuel_cost_invalid=keep & (cost.is_finite() & (cost < 0)).fill_null(False),
        total_cost=pl.when(cost.is_finite() & (cost >= 0)).then(cost),
        is_full=pl.col("is_full").fill_null(False))
    kept, backwards, jumps = _last_kept_readings(rows.filter(pl.col("keep")))
    _tally(rows, (("fuel_date_future", "fuel_date_future", "skip"),
                  ("fuel_volume_invalid", "fuel_volume_invalid", "skip"),
                  ("fuel_fill_duplicate", "fuel_fill_duplicate", "skip"),
                  ("odometer_implausible", "odometer_implausible", "skip"),
                  ("odometer_negative", "odometer_negative", "repair"),
                  ("fuel_cost_invalid", "fuel_cost_invalid", "skip")), quality)
    users = kept["i"].to_numpy()
    _count(users[backwards], "odometer_backwards", "repair", quality)
    _count(users[jumps], "odometer_jump", "repair", quality)
    # A day with a usable fill too is read as one fill-up typed twice, once wrongly: only
    # the other days are gaps (see build_vehicle).
    unusable: dict[int, list[date]] = {}
    if rows["fuel_volume_invalid"].any():
        skipped = rows.filter(pl.col("fuel_volume_invalid"))
        gaps = (skipped.select("i", "filled_on")
                .join(kept.select("i", "filled_on"), on=["i", "filled_on"], how="anti")
                .unique().sort("i", "filled_on"))
        for i, day in gaps.iter_rows():
            unusable.setdefault(i, []).append(day)
    return kept, {i: tuple(days) for i, days in unusable.items()}


def today_of_rows(users: pl.Series, people: pl.DataFrame) -> pl.Series:
    """Each row's user's local date (``today``), by the user's position ``i``."""
    positions = people["i"].to_numpy()
    days = np.zeros(int(positions.max(initial=0)) + 1, dtype=np.int32)
    days[positions] = people["today"].to_physical().to_numpy()
    return pl.Series("today", days[users.to_numpy()], dtype=pl.Int32()).cast(pl.Date())


def _duplicates(rows: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """The rows that repeat an earlier usable, past fill-up of their user: the same date,
    volume and odometer (a NaN odometer equals nothing, as in Python).

    Only rows sharing their user and date with another can be one: in the statement's order
    (user, date) those are neighbours, and the full comparison runs on them alone."""
    candidate = (~rows["fuel_date_future"] & rows["usable"]).to_numpy()
    duplicate = np.zeros(rows.height, dtype=np.bool_)
    if not candidate.any():
        return duplicate
    users, days = rows["i"].to_numpy(), rows["filled_on"].to_physical().to_numpy()
    same = (users[1:] == users[:-1]) & (days[1:] == days[:-1])
    ordered = bool(np.all((users[1:] > users[:-1]) | same | (
        (users[1:] == users[:-1]) & (days[1:] > days[:-1]))))
    near = candidate.copy()
    if ordered:
        shared = np.zeros(rows.height, dtype=np.bool_)
        shared[1:] |= same
        shared[:-1] |= same
        near &= shared
    if not near.any():
        return duplicate
    positions = np.flatnonzero(near)
    odometer = pl.col("odometer_miles")
    first = rows.filter(pl.Series(near)).select(pl.struct(
        "i", "filled_on", "gallons", "odometer_miles",
        pl.when(odometer.is_nan()).then(pl.int_range(pl.len())).alias("own"),
    ).is_first_distinct())
    duplicate[positions[~first.to_series().to_numpy()]] = True
    return duplicate


Flags = np.ndarray[Any, np.dtype[np.bool_]]


def _last_kept_readings(kept: pl.DataFrame) -> tuple[pl.DataFrame, Flags, Flags]:
    """``kept`` with the odometer rule of ``clean_fills`` applied: in each user's order, a
    reading below the last kept reading is dropped (``odometer_backwards``), one at least
    ``ODOMETER_JUMP_MILES`` above it too (``odometer_jump``); with the rows of each.

    Sequential (a dropped reading does not move the last kept one), so it runs as a loop,
    but only over the users whose readings step backwards or jump somewhere: for the others
    every reading is kept."""
    odometer = kept["odometer_miles"]
    positions = np.flatnonzero(odometer.is_not_null().to_numpy())
    users = kept["i"].to_numpy()[positions]
    readings = odometer.fill_null(0.0).to_numpy()[positions]
    step = readings[1:] - readings[:-1]
    strange = (users[1:] == users[:-1]) & ((step < 0) | (step >= ODOMETER_JUMP_MILES))
    backwards = np.zeros(kept.height, dtype=np.bool_)
    jumps = np.zeros(kept.height, dtype=np.bool_)
    if strange.any():
        mine = np.isin(users, users[1:][strange])
        last: dict[int, float] = {}
        for row, i, reading in zip(positions[mine].tolist(), users[mine].tolist(),
                                   readings[mine].tolist(), strict=True):
            previous = last.get(i)
            if previous is not None and reading < previous:
                backwards[row] = True
            elif previous is not None and reading - previous >= ODOMETER_JUMP_MILES:
                jumps[row] = True
            else:
                last[i] = reading
    dropped = backwards | jumps
    if dropped.any():
        kept = kept.with_columns(pl.when(pl.Series(dropped)).then(None)
                                 .otherwise(pl.col("odometer_miles")).alias("odometer_miles"))
    return kept, backwards, jumps


def _maintenance(records: pl.DataFrame, quality: Quality) -> pl.DataFrame:
    """The service records as ``build_vehicle`` repairs them (columns of
    :class:`MaintenanceItem` plus ``i``)."""
    records = _cut(records, _MAINTENANCE_TEXT, quality)
    items = records.with_columns(**_maintenance_expressions())
    _tally(items, (("done_implausible", "odometer_implausible", "skip"),
                   ("due_implausible", "odometer_implausible", "skip"),
                   ("done_negative", "maintenance_mileage_negative", "repair"),
                   ("due_negative", "maintenance_mileage_negative", "repair"),
                   ("due_date_early", "maintenance_due_before_service", "skip"),
                   ("due_early", "maintenance_due_before_service", "skip")), quality)
    return items


@cache
def _maintenance_expressions() -> dict[str, pl.Expr]:
    """The repaired columns of :func:`_maintenance` and their flags, as one step over the
    stored columns (each step costs a fixed ~0.1 ms on a small batch), made once."""
    done = _odometer("mileage_miles", "done")
    due = _odometer("next_due_mileage_miles", "due")
    mileage, due_mileage = done["mileage_miles"], due["next_due_mileage_miles"]
    # A service cannot fall due before it was done: a typo, skipped; the record stands.
    due_date_early = (pl.col("next_due_date") < pl.col("performed_on")).fill_null(False)
    due_early = (due_mileage < mileage).fill_null(False)
    return {
        **done, **due, "next_due_mileage_miles": pl.when(~due_early).then(due_mileage),
        "due_date_early": due_date_early,
        "next_due_date": pl.when(~due_date_early).then(pl.col("next_due_date")),
        "due_early": due_early,
        "record_id": pl.col("record_id").fill_null("None"),  # str(None), as the oracle has it
    }


def _vehicles(vehicles: pl.DataFrame, profiles: Mapping[int, Profile],
              quality: Quality) -> pl.DataFrame:
    """The users' primary vehicles as ``_vehicle`` repairs them (columns of
    :class:`Vehicle` plus ``i``); the class and fuel type fall back to the profile's."""
    # One row per user (the statement's DISTINCT ON); were there more, the last would stand,
    # as in the per-object path's lookup.
    positions = vehicles["i"].to_numpy()
    if np.any(positions[1:] <= positions[:-1]):
        vehicles = vehicles.unique("i", keep="last", maintain_order=True)
    vehicles = _cut(vehicles, _VEHICLE_TEXT, quality)
    # The class and fuel type from the texts as cut (the step below leaves them).
    users = vehicles["i"].to_list()
    classes = {t: normalize_vehicle_class(t) for t in vehicles["vehicle_type"].unique().to_list()}
    vclass = [profiles[i].vehicle_class if classes[t] == "unknown" else classes[t]
              for i, t in zip(users, vehicles["vehicle_type"].to_list(), strict=True)]
    fuel = [f or profiles[i].fuel_type
            for i, f in zip(users, vehicles["fuel_type"].to_list(), strict=True)]
    out = vehicles.with_columns(
        pl.Series("vehicle_class", vclass, dtype=pl.String()),
        pl.Series("fuel_type", fuel, dtype=pl.String()),
        **_vehicle_expressions(),
    )
    _tally(out, (("odometer_implausible", "odometer_implausible", "skip"),
                 ("tank_size_implausible", "tank_size_implausible", "repair"),
                 ("vehicle_mpg_implausible", "vehicle_mpg_implausible", "repair"),
                 ("odometer_negative", "odometer_negative", "repair")), quality)
    return out


@cache
def _vehicle_expressions() -> dict[str, pl.Expr]:
    """The repaired columns of :func:`_vehicles` and their flags, made once."""
    tank, mpg = pl.col("tank_gallons"), pl.col("mpg")
    tank_ok = tank.is_finite().fill_null(False)
    mpg_ok = mpg.is_finite().fill_null(False)
    tank_in = (tank >= MIN_TANK_GALLONS) & (tank <= MAX_TANK_GALLONS)
    mpg_in = (mpg >= MIN_MPG) & (mpg <= MAX_MPG)
    return {
        **_odometer("odometer_miles", "odometer"),
        "tank_size_implausible": tank_ok & ~tank_in,
        "vehicle_mpg_implausible": mpg_ok & ~mpg_in,
        "tank_gallons": pl.when(tank_ok & tank_in).then(tank),
        "mpg": pl.when(mpg_ok & mpg_in).then(mpg),
        "vehicle_id": pl.col("vehicle_id").fill_null("None"),  # str(None), as the oracle has it
    }


def _drop_outliers(
    fills: pl.DataFrame, items: pl.DataFrame, vehicles: pl.DataFrame, quality: Quality,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[int, float]]:
    """The odometer outlier rule over each user's readings (fills, service records, the
    vehicle): the outliers dropped from where they were read and counted as skipped
    (``odometer_outlier``), with each user's highest reading kept (miles)."""
    # Plain arrays, not a frame: a few small steps, each far cheaper than a query. A kept
    # reading is finite, so NaN here is a null.
    sources = ((fills, "odometer_miles"), (items, "mileage_miles"),
               (vehicles, "odometer_miles"))
    users = np.concatenate([f["i"].to_numpy() for f, _c in sources])
    values = np.concatenate([f[c].cast(pl.Float64()).to_numpy() for f, c in sources])
    present = ~np.isnan(values)
    users, values = users[present], values[present]
    size = int(users.max()) + 1 if len(users) else 1
    # Only a user whose highest reading is more than the rule's gap above the next lower
    # one can have an outlier: the rule itself runs for those users alone.
    top = np.full(size, -np.inf)
    np.maximum.at(top, users, values)
    lower = values < top[users]
    below = np.full(size, -np.inf)
    np.maximum.at(below, users[lower], values[lower])
    some_lower = np.flatnonzero(below > -np.inf)
    suspects = some_lower[top[some_lower] - below[some_lower] > ODOMETER_OUTLIER_MILES]
    best = {i: v for i, v in zip(np.flatnonzero(top > -np.inf).tolist(),
                                   top[top > -np.inf].tolist(), strict=True)}
    rejected: list[tuple[int, float]] = []
    if len(suspects):
        mine = np.isin(users, suspects)
        found: dict[int, list[float]] = {}
        for i, reading in zip(users[mine].tolist(), values[mine].tolist(), strict=True):
            found.setdefault(i, []).append(reading)
        for i, read in found.items():
            outliers = odometer_outliers(read)
            quality[i].skip("odometer_outlier", sum(1 for r in read if r in outliers))
            rejected += [(i, r) for r in outliers]
            best[i] = max(r for r in read if r not in outliers)  # never empty: the lowest stays
    if rejected:
        out = pl.DataFrame(rejected, schema={"i": pl.Int32(), _READING: pl.Float64()},
                           orient="row").with_columns(outlier=pl.lit(True))
        fills = _without(fills, "odometer_miles", out)
        items = _without(items, "mileage_miles", out)
        vehicles = _without(vehicles, "odometer_miles", out)
    return fills, items, vehicles, best


def _without(frame: pl.DataFrame, column: str, outliers: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its ``column`` readings that are the user's outliers set to null."""
    marked = frame.join(outliers.rename({_READING: column}), on=["i", column], how="left",
                        maintain_order="left")
    return marked.with_columns(
        pl.when(pl.col("outlier").fill_null(False)).then(None).otherwise(pl.col(column))
        .alias(column)).drop("outlier")


def _objects(frame: pl.DataFrame, cls: type[Any], names: Iterable[str]) -> list[Any]:
    """One ``cls`` per row of ``frame`` from its ``names`` columns (in ``cls``'s field
    order)."""
    return instances(cls, [_values(frame[name]) for name in names])


def _values(column: pl.Series) -> list[Any]:
    """``column``'s values as Python objects. A batch's dates span few days: each is made
    once and shared (a date is immutable), far cheaper than one object per row."""
    if column.dtype != pl.Date() or column.null_count() or column.len() < 64:
        return column.to_list()
    days = column.to_physical().to_numpy()  # days since 1970-01-01
    first, last = int(days.min()), int(days.max())
    if last - first > _DATE_SPAN:
        return column.to_list()
    epoch = date(1970, 1, 1)
    made = [epoch + timedelta(days=d) for d in range(first, last + 1)]
    return list(map(made.__getitem__, (days - first).tolist()))


def _contexts(users: list[int], fills: pl.DataFrame, items: pl.DataFrame,
              vehicles: pl.DataFrame, best: Mapping[int, float],
              unusable: Mapping[int, tuple[date, ...]]) -> dict[int, VehicleContext]:
    """Each user's :class:`VehicleContext` from the section's frames, the objects built a
    column at a time."""
    fill_objects = _objects(fills, FuelFill, ("fill_id", "filled_on", "odometer_miles",
                                              "gallons", "total_cost", "is_full"))
    item_objects = _objects(items, MaintenanceItem, (
        "record_id", "vehicle_id", "task", "performed_on", "mileage_miles", "next_due_date",
        "next_due_mileage_miles"))
    vehicle_objects = _objects(vehicles, Vehicle, (
        "vehicle_id", "name", "vehicle_class", "fuel_type", "tank_gallons", "mpg",
        "odometer_miles", "registration_expires", "insurance_expires"))
    by_user_fills = per_user(fills["i"].to_numpy(), fill_objects)
    by_user_items = per_user(items["i"].to_numpy(), item_objects)
    primary = dict(zip(vehicles["i"].to_list(), vehicle_objects, strict=True))
    sources: tuple[tuple[Mapping[int, Any], Any], ...] = (
        (primary, None), (by_user_fills, ()), (by_user_items, ()), (best, None), (unusable, ()))
    columns = [[source.get(i, default) for i in users] for source, default in sources]
    return dict(zip(users, instances(VehicleContext, columns), strict=True))
