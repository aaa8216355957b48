"""The vehicle section of a batch's contexts: primary vehicle, cleaned fill-ups, the latest
maintenance per task and the best odometer (pure).

Column-wise over the whole batch, with the rules of the pre-columnar per-object builder
(``build_vehicle``, ``clean_fills``, ``_vehicle`` of ``tests/oracle/per_object.py``, the
tests' oracle) and the same
skip and repair counts per user. Each frame's columns are taken out once, as numpy arrays
(numbers, dates as days) or Python lists (texts, ids); every rule is then a numpy step over
those arrays, which costs microseconds for one traveler's few rows and stays array-level for
a sweep's batch (a Polars query cost a fixed ~0.1-0.4 ms per step). Three rules are
sequential and stay loops over plain values, run only for the rows they can change: the
duplicate fill-ups (rows sharing their user and day), the odometer's last-kept-reading rule
(a reading below the last kept one, or a jump from it, is dropped) and the outlier rule
(:func:`pam_proactive.analysis.limits.odometer_outliers`, called as is). The objects are
built last, a column at a time (:func:`pam_proactive.data.columnar.objects.instances`).

Units as the frames': miles, US gallons, the user's currency; dates as days since
1970-01-01 while they are arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import compress
from typing import Any, cast

import numpy as np
import pyarrow.compute as pc
from numpy.typing import NDArray

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
from pam_proactive.data.columnar.columns import Column, Frame
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.objects import instances, per_user

Quality = Mapping[int, QualityBuilder]
Flags = NDArray[np.bool_]
Floats = NDArray[np.float64]
# (rows flagged, the rows among which they count or None for all, reason, QualityBuilder
# method name): one count per row flagged and counted.
Tally = tuple[tuple[Flags, Flags | None, str, str], ...]

# Dates are made once per day of a column's span when it spans at most this many days.
_DATE_SPAN = 4_000
# Below this many values a column is checked in Python rather than with a pyarrow or a
# numpy step of a higher fixed cost.
_SMALL = 256
_EPOCH = date(1970, 1, 1)
# Flags of no row: what a rule's step gives when it flags none (a traveler's usual case),
# where an array of falses would cost a step to make and one per use. Only a tally takes
# it (its count is zero): no step combines it with other rows' flags.
_NONE: Flags = np.zeros(0, dtype=np.bool_)
_NONE.flags.writeable = False
# Any finite amount: the upper bound of a range open above (an infinity fails it).
_LARGEST = float(np.finfo(np.float64).max)


@dataclass(slots=True)
class _Kept:
    """One source's kept rows: each row's user ``i`` (a user's rows together, in their
    order), its odometer reading (miles; NaN when none is kept: the outlier rule may still
    drop one) and the object's other fields, one list each in ``cls``'s field order with
    ``None`` at ``reading_at``."""

    cls: type[Any]
    users: NDArray[Any]
    readings: Floats
    fields: list[Sequence[Any]]
    reading_at: int

    def objects(self) -> list[Any]:
        """One ``cls`` per row."""
        columns = list(self.fields)
        columns[self.reading_at] = _optional(self.readings)
        return instances(self.cls, columns)


def vehicle_section(frames: BatchFrames, profiles: Mapping[int, Profile],
                    quality: Quality) -> dict[int, VehicleContext]:
    """Every batch user's :class:`VehicleContext`, by position ``i``."""
    today = _today_by_user(frames.people)
    fills, unusable = _fills(frames.fuel, today, quality)
    items = _maintenance(frames.maintenance, quality)
    vehicles = _vehicles(frames.vehicles, profiles, quality)
    best = _drop_outliers((fills, items, vehicles), len(today), quality)
    return _contexts(frames.people.get_column("i").to_list(), fills, items, vehicles, best,
                     unusable)


def _by_user(frame: Frame) -> tuple[Frame, NDArray[Any]]:
    """``frame`` with each user's rows together, in their order (the statements return them
    so: then nothing is moved), and its ``i``."""
    users = frame.get_column("i").to_numpy()
    if np.count_nonzero(users[1:] < users[:-1]):  # np.any: a Python wrapper, ~1.5 us
        frame = frame.gather(np.argsort(users, kind="stable"))
        users = frame.get_column("i").to_numpy()
    return frame, users


def _days(column: Column) -> NDArray[Any]:
    """A date column as days since 1970-01-01 (integers; floats with NaN for nulls, which
    then compare false with everything, as the oracle's ``is not None`` tests do)."""
    values = column.to_numpy()  # datetime64[D], NaT for a null
    if column.null_count():
        return np.where(np.isnat(values), np.nan, values.view(np.int64))
    return values.view(np.int64)


def _today_by_user(people: Frame) -> NDArray[np.int32]:
    """Each user's local date (days since 1970-01-01), indexed by position ``i`` (1 to the
    batch's size: ``BatchFrames``)."""
    positions = people.get_column("i").to_numpy()
    days = np.zeros(people.height + 1, dtype=np.int32)
    days[positions] = _days(people.get_column("today"))
    return days


def _tally(users: NDArray[Any], tally: Tally, quality: Quality) -> None:
    """Count, per user, the rows flagged in each entry of ``tally`` among the rows of its
    mask, if it has one (``users``: each row's user). The flags are tested first: most are
    none, and the mask is then never applied (a step saved each)."""
    for flags, among, reason, kind in tally:
        if np.count_nonzero(flags):  # cheaper than ndarray.any (a Python wrapper)
            _count(users[flags if among is None else flags & among], reason, kind, quality)


def _count(flagged: NDArray[Any], reason: str, kind: str, quality: Quality) -> None:
    """Count ``reason`` once per entry of ``flagged`` (users' positions) with the
    QualityBuilder method ``kind``."""
    if len(flagged):
        for i, n in zip(*np.unique(flagged, return_counts=True), strict=True):
            getattr(quality[int(i)], kind)(reason, int(n))


def _odometer(values: Floats) -> tuple[Floats, Flags, Flags]:
    """Readings (miles) as ``_within_odometer_range`` and its callers judge them: the
    readings kept (finite, in [0, ``MAX_ODOMETER_MILES``]; NaN otherwise), the implausible
    ones (finite, above the maximum: dropped, skipped) and the negative ones (repaired);
    ``_NONE`` for both when no reading is either."""
    kept, outside = _within(values, 0.0, MAX_ODOMETER_MILES)
    if not np.count_nonzero(outside):
        return kept, _NONE, _NONE
    return kept, outside & (values > 0), outside & (values < 0)


def _within(values: Floats, low: float, high: float) -> tuple[Floats, Flags]:
    """The ``values`` in [low, high] (finite bounds; NaN otherwise, in a new array) and the
    finite ones outside (repaired to None, counted; ``_NONE`` when none is)."""
    inside = (values >= low) & (values <= high)  # NaN and the infinities fail
    if np.count_nonzero(inside) == len(inside):  # the usual case: two steps instead of four
        return values.copy(), _NONE
    return np.where(inside, values, np.nan), ~inside & np.isfinite(values)


def _optional(values: Floats) -> list[float | None]:
    """``values`` as Python floats, NaN as None (a kept value is never NaN). A comprehension
    costs as much per value as a Polars round trip and nothing fixed."""
    return [None if v != v else v for v in values.tolist()]


def _dates(column: Column, days: NDArray[Any] | None = None) -> list[date | None]:
    """A date column's values (``days``: its days since 1970-01-01, NaN for a null, when
    known). A batch's dates span few days: each is made once and shared (a date is
    immutable), far cheaper than one object per row."""
    if len(column) < 64:
        return column.to_list()
    if days is None:
        days = _days(column)
    missing = np.isnan(days) if days.dtype.kind == "f" else None
    known = days if missing is None else days[~missing]
    if not len(known):
        return [None] * len(days)
    first, last = int(known.min()), int(known.max())
    if last - first > _DATE_SPAN:
        return column.to_list()
    made: list[date | None] = [_EPOCH + timedelta(days=d) for d in range(first, last + 1)]
    made.append(None)  # at index -1: a null's
    index = (days - first if missing is None else np.where(missing, -1, days - first)
             ).astype(np.int64)
    return list(map(made.__getitem__, index.tolist()))


def _texts(column: Column, users: NDArray[Any], quality: Quality) -> list[str | None]:
    """A text column's values cut to ``TEXT_MAX_CHARS`` (``cut_text``), each value cut
    counted as repaired (``text_cut``) for its row's user."""
    values: list[str | None] = column.to_list()
    if not _any_long(column, values):
        return values
    for k, text in enumerate(values):
        if text is not None and len(text) > TEXT_MAX_CHARS:
            values[k] = cut_text(text)
            quality[int(users[k])].repair("text_cut")
    return values


def _any_long(column: Column, values: list[str | None]) -> bool:
    """Whether a text of ``column`` (``values``) is longer than ``TEXT_MAX_CHARS``
    (characters, as Python counts them: code points). A small batch's few values are
    checked in Python, a batch's by pyarrow on its Arrow column, at C speed."""
    if len(values) < _SMALL:
        return any(len(t) > TEXT_MAX_CHARS for t in values if t is not None)
    longest = pc.max(pc.utf8_length(column.to_arrow())).as_py()
    return longest is not None and longest > TEXT_MAX_CHARS


def _ids(column: Column) -> list[str]:
    """An id column's values, a missing id as ``str(None)`` (as the oracle has it)."""
    if column.null_count():
        return ["None" if v is None else v for v in column.to_list()]
    return cast(list[str], column.to_list())


def _fills(fuel: Frame, today: NDArray[np.int32],
           quality: Quality) -> tuple[_Kept, dict[int, tuple[date, ...]]]:
    """The fill-ups ``clean_fills`` keeps, and each user's days of fill-ups skipped for
    their volume with no kept fill-up that day (``today``: each user's date, by ``i``)."""
    if not fuel.height:
        return _no_rows(FuelFill, 2), {}
    fuel, users = _by_user(fuel)
    days = _days(fuel.get_column("filled_on"))
    gallons = fuel.get_column("gallons").to_numpy()
    future = days > today[users]  # a null day (NaN) is none
    not_future = ~future
    # NaN and null (NaN here) fail both tests.
    candidate = not_future & (gallons > 0) & (gallons <= MAX_FILL_GALLONS)
    volume_invalid = not_future ^ candidate  # not future, not usable
    odometer = fuel.get_column("odometer_miles")
    stored = odometer.to_numpy()  # NaN for a null
    keep, duplicate = _duplicates(candidate, users, days, gallons, stored, odometer)
    readings, implausible, negative = _odometer(stored)
    # A negative cost is skipped (the fill stands, its cost unknown); a non-finite one is
    # unknown without a count, as ``_finite`` reads it.
    paid, cost_invalid = _within(fuel.get_column("total_cost").to_numpy(), 0.0, _LARGEST)
    rows = keep.nonzero()[0]
    every = len(rows) == len(keep)  # the usual case: no gather (~0.2 us each)
    kept_users = users if every else users[rows]
    kept_readings = readings if every else readings[rows]  # a new array either way
    backwards, jumps = _last_kept_readings(kept_users, kept_readings)
    _tally(users, ((future, None, "fuel_date_future", "skip"),
                   (volume_invalid, None, "fuel_volume_invalid", "skip"),
                   (duplicate, None, "fuel_fill_duplicate", "skip"),
                   (implausible, keep, "odometer_implausible", "skip"),
                   (negative, keep, "odometer_negative", "repair"),
                   (cost_invalid, keep, "fuel_cost_invalid", "skip")), quality)
    _tally(kept_users, ((backwards, None, "odometer_backwards", "repair"),
                        (jumps, None, "odometer_jump", "repair")), quality)
    unusable = (_unusable_days(users[volume_invalid], days[volume_invalid], kept_users,
                               days[rows]) if np.count_nonzero(volume_invalid) else {})
    kept = None if every else keep.tolist()
    full = fuel.get_column("is_full").to_numpy() == True  # noqa: E712  # null: not full
    if not every:
        gallons, paid, full = gallons[rows], paid[rows], full[rows]
    fields: list[Sequence[Any]] = [
        _take(fuel.get_column("fill_id").to_list(), kept),
        _take(_dates(fuel.get_column("filled_on"), days), kept),
        (), gallons.tolist(), _optional(paid), full.tolist()]
    return _Kept(FuelFill, kept_users, kept_readings, fields, 2), unusable


def _no_rows(cls: type[Any], reading_at: int) -> _Kept:
    """The kept rows of a source with none (its steps skipped: each costs as much for no
    row as for a few)."""
    fields: list[Sequence[Any]] = [()] * len(dataclasses.fields(cls))
    return _Kept(cls, np.zeros(0, dtype=np.int32), np.zeros(0), fields, reading_at)


def _take(values: list[Any], kept: list[bool] | None) -> list[Any]:
    """The ``values`` of the rows ``kept`` (all of them when None)."""
    return values if kept is None else list(compress(values, kept))


def _duplicates(candidate: Flags, users: NDArray[Any], days: NDArray[Any],
                gallons: Floats, stored: Floats, odometer: Column) -> tuple[Flags, Flags]:
    """The ``candidate`` rows (usable, past fill-ups) kept, and those that repeat an earlier
    one of their user (``_NONE`` when none does): the same date, volume and odometer,
    compared as Python compares the oracle's keys (a missing odometer equals a missing one,
    a NaN equals nothing). ``users``: ascending (``_by_user``); ``stored``: the
    ``odometer`` column's readings, NaN for a null too.

    Only rows sharing their user and date with another can be one: in the statement's order
    (user, date) those are neighbours, and the comparison runs on them alone."""
    if len(candidate) < 2 or not np.count_nonzero(candidate):
        return candidate, _NONE
    same_user = users[1:] == users[:-1]
    near = candidate
    if not np.count_nonzero(same_user & ~(days[1:] >= days[:-1])):  # by date (no NaN)
        same = same_user & (days[1:] == days[:-1])
        if not np.count_nonzero(same):
            return candidate, _NONE
        shared = np.zeros(len(candidate), dtype=np.bool_)
        shared[1:] |= same
        shared[:-1] |= same
        near = candidate & shared
    positions = near.nonzero()[0]
    if not len(positions):
        return candidate, _NONE
    readings: list[float | None] = stored[positions].tolist()
    if odometer.null_count() and any(r != r for r in readings):
        # Which NaN is a null: from the column's values, only when both can be there.
        values = odometer.to_list()
        readings = [values[k] for k in positions.tolist()]
    duplicate = np.zeros(len(candidate), dtype=np.bool_)
    seen: set[tuple[Any, ...]] = set()
    for k, i, day, volume, reading in zip(
            positions.tolist(), users[positions].tolist(), days[positions].tolist(),
            gallons[positions].tolist(), readings, strict=True):
        # A NaN is its own key: each read from the database is its own float object.
        key = (i, day, volume, object() if reading is not None and reading != reading
               else reading)
        if key in seen:
            duplicate[k] = True
        else:
            seen.add(key)
    return candidate & ~duplicate, duplicate


def _last_kept_readings(users: NDArray[Any], readings: Floats) -> tuple[Flags, Flags]:
    """The odometer rule of ``clean_fills`` over the kept fill-ups (``users``, ``readings``
    in miles, NaN for none): in each user's order, a reading below the last kept reading is
    dropped (``odometer_backwards``), one at least ``ODOMETER_JUMP_MILES`` above it too
    (``odometer_jump``). Sets the dropped readings to NaN; returns the rows of each
    (``_NONE`` for both when none is dropped).

    Sequential (a dropped reading does not move the last kept one), so it runs as a loop,
    but only over the users whose readings step backwards or jump somewhere: for the others
    every reading is kept."""
    positions = (readings == readings).nonzero()[0]  # not NaN, in one step
    owners, values = users[positions], readings[positions]
    step = values[1:] - values[:-1]
    strange = (owners[1:] == owners[:-1]) & ((step < 0) | (step >= ODOMETER_JUMP_MILES))
    if not np.count_nonzero(strange):
        return _NONE, _NONE
    backwards = np.zeros(len(readings), dtype=np.bool_)
    jumps = np.zeros(len(readings), dtype=np.bool_)
    mine = np.isin(owners, owners[1:][strange])
    last: dict[int, float] = {}
    for row, i, reading in zip(positions[mine].tolist(), owners[mine].tolist(),
                               values[mine].tolist(), strict=True):
        previous = last.get(i)
        if previous is not None and reading < previous:
            backwards[row] = True
        elif previous is not None and reading - previous >= ODOMETER_JUMP_MILES:
            jumps[row] = True
        else:
            last[i] = reading
    readings[backwards | jumps] = np.nan
    return backwards, jumps


def _unusable_days(users: NDArray[Any], days: NDArray[Any], kept_users: NDArray[Any],
                   kept_days: NDArray[Any]) -> dict[int, tuple[date, ...]]:
    """Each user's days (ascending) of the fill-ups skipped for their volume (``users``,
    ``days``) on which none of theirs was kept. A day with a usable fill too is read as one
    fill-up typed twice, once wrongly: only the other days are gaps (see build_vehicle)."""
    if not len(users):
        return {}
    if len(kept_users) >= _SMALL:  # a batch's: only its users' kept days (np.isin: ~10 µs)
        mine = np.isin(kept_users, users)
        kept_users, kept_days = kept_users[mine], kept_days[mine]
    logged = set(zip(kept_users.tolist(), kept_days.tolist(), strict=True))
    gaps: dict[int, set[int]] = {}
    for pair in zip(users.tolist(), days.tolist(), strict=True):
        if pair not in logged:
            gaps.setdefault(pair[0], set()).add(pair[1])
    return {i: tuple(_EPOCH + timedelta(days=d) for d in sorted(found))
            for i, found in gaps.items()}


def _maintenance(records: Frame, quality: Quality) -> _Kept:
    """The service records as ``build_vehicle`` repairs them."""
    if not records.height:
        return _no_rows(MaintenanceItem, 4)
    records, users = _by_user(records)
    task = _texts(records.get_column("task"), users, quality)
    mileage, done_implausible, done_negative = _odometer(
        records.get_column("mileage_miles").to_numpy())
    due, due_implausible, due_negative = _odometer(
        records.get_column("next_due_mileage_miles").to_numpy())
    performed = _days(records.get_column("performed_on"))
    due_days = _days(records.get_column("next_due_date"))
    # A service cannot fall due before it was done: a typo, skipped; the record stands.
    due_date_early = due_days < performed
    due_early = due < mileage  # NaN (none kept) compares false
    _tally(users, ((done_implausible, None, "odometer_implausible", "skip"),
                   (due_implausible, None, "odometer_implausible", "skip"),
                   (done_negative, None, "maintenance_mileage_negative", "repair"),
                   (due_negative, None, "maintenance_mileage_negative", "repair"),
                   (due_date_early, None, "maintenance_due_before_service", "skip"),
                   (due_early, None, "maintenance_due_before_service", "skip")), quality)
    due_dates = _dates(records.get_column("next_due_date"), due_days)
    if np.count_nonzero(due_date_early):
        due_dates = [None if early else d
                     for d, early in zip(due_dates, due_date_early.tolist(), strict=True)]
    if np.count_nonzero(due_early):
        due[due_early] = np.nan
    fields: list[Sequence[Any]] = [
        _ids(records.get_column("record_id")), records.get_column("vehicle_id").to_list(),
        task, _dates(records.get_column("performed_on"), performed), (), due_dates,
        _optional(due)]
    return _Kept(MaintenanceItem, users, mileage, fields, 4)


def _vehicles(vehicles: Frame, profiles: Mapping[int, Profile],
              quality: Quality) -> _Kept:
    """The users' primary vehicles as ``_vehicle`` repairs them; the class and fuel type
    fall back to the profile's."""
    if not vehicles.height:
        return _no_rows(Vehicle, 6)
    users = vehicles.get_column("i").to_numpy()
    # One row per user (the statement's DISTINCT ON); were there more, the last would stand,
    # as in the per-object path's lookup.
    if np.count_nonzero(users[1:] <= users[:-1]):
        last = {i: k for k, i in enumerate(users.tolist())}
        vehicles = vehicles.gather(np.array(sorted(last.values()), dtype=np.int64))
        users = vehicles.get_column("i").to_numpy()
    name = _texts(vehicles.get_column("name"), users, quality)
    kinds = _texts(vehicles.get_column("vehicle_type"), users, quality)
    fuels = _texts(vehicles.get_column("fuel_type"), users, quality)
    # The class and fuel type from the texts as cut.
    owners = users.tolist()
    classes = {t: normalize_vehicle_class(t) for t in set(kinds)}
    vclass = [profiles[i].vehicle_class if classes[t] == "unknown" else classes[t]
              for i, t in zip(owners, kinds, strict=True)]
    fuel = [f or profiles[i].fuel_type for i, f in zip(owners, fuels, strict=True)]
    tank, tank_implausible = _within(vehicles.get_column("tank_gallons").to_numpy(),
                                     MIN_TANK_GALLONS, MAX_TANK_GALLONS)
    mpg, mpg_implausible = _within(vehicles.get_column("mpg").to_numpy(), MIN_MPG, MAX_MPG)
    odometer, implausible, negative = _odometer(
        vehicles.get_column("odometer_miles").to_numpy())
    _tally(users, ((implausible, None, "odometer_implausible", "skip"),
                   (tank_implausible, None, "tank_size_implausible", "repair"),
                   (mpg_implausible, None, "vehicle_mpg_implausible", "repair"),
                   (negative, None, "odometer_negative", "repair")), quality)
    fields: list[Sequence[Any]] = [
        _ids(vehicles.get_column("vehicle_id")), name, vclass, fuel, _optional(tank),
        _optional(mpg), (), _dates(vehicles.get_column("registration_expires")),
        _dates(vehicles.get_column("insurance_expires"))]
    return _Kept(Vehicle, users, odometer, fields, 6)


def _drop_outliers(sources: Sequence[_Kept], size: int, quality: Quality
                   ) -> dict[int, float]:
    """The odometer outlier rule over each user's readings (fills, service records, the
    vehicle): the outliers dropped from where they were read (set to NaN) and counted as
    skipped (``odometer_outlier``); each user's highest reading kept (miles). ``size``:
    more than the highest position ``i``."""
    users = np.concatenate([s.users for s in sources])
    values = np.concatenate([s.readings for s in sources])
    # Only a user whose highest reading is more than the rule's gap above the next lower
    # one can have an outlier: the rule itself runs for those users alone. fmax passes
    # over a NaN (no reading), which compares false below; a user with no lower reading
    # keeps a NaN one, so that their gap is NaN (not suspect) with no step of its own.
    top = np.full(size, -np.inf)
    np.fmax.at(top, users, values)
    lower = values < top[users]
    below = np.full(size, np.nan)
    np.fmax.at(below, users[lower], values[lower])
    known = (top > -np.inf).nonzero()[0]
    best = dict(zip(known.tolist(), top[known].tolist(), strict=True))
    suspect = top - below > ODOMETER_OUTLIER_MILES
    if not np.count_nonzero(suspect):
        return best
    suspects = suspect.nonzero()[0]
    mine = np.isin(users, suspects) & (values == values)  # a NaN is no reading
    found: dict[int, list[float]] = {}
    for i, reading in zip(users[mine].tolist(), values[mine].tolist(), strict=True):
        found.setdefault(i, []).append(reading)
    rejected: dict[int, frozenset[float]] = {}
    for i, read in found.items():
        outliers = odometer_outliers(read)
        quality[i].skip("odometer_outlier", sum(1 for r in read if r in outliers))
        rejected[i] = outliers
        best[i] = max(r for r in read if r not in outliers)  # never empty: the lowest stays
    for source in sources:
        for row in np.isin(source.users, suspects).nonzero()[0].tolist():
            if float(source.readings[row]) in rejected[int(source.users[row])]:
                source.readings[row] = np.nan
    return best


def _contexts(users: list[int], fills: _Kept, items: _Kept, vehicles: _Kept,
              best: Mapping[int, float],
              unusable: Mapping[int, tuple[date, ...]]) -> dict[int, VehicleContext]:
    """Each user's :class:`VehicleContext` from the section's kept rows, the objects built a
    column at a time."""
    by_user_fills = per_user(fills.users, fills.objects())
    by_user_items = per_user(items.users, items.objects())
    primary = dict(zip(vehicles.users.tolist(), vehicles.objects(), strict=True))
    sources: tuple[tuple[Mapping[int, Any], Any], ...] = (
        (primary, None), (by_user_fills, ()), (by_user_items, ()), (best, None), (unusable, ()))
    columns = [[source.get(i, default) for i in users] for source, default in sources]
    return dict(zip(users, instances(VehicleContext, columns), strict=True))
