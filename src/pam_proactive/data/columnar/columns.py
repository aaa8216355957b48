"""The column container of a batch's sources: :class:`Frame` (named columns of one height)
and :class:`Column` (one dtype's values), pure.

A column holds its values as they came (a Python sequence from the psycopg rows, a pyarrow
array from ADBC) and converts them once, when a section first asks: to numpy
(:meth:`Column.to_numpy`, cached), to Python objects (:meth:`Column.to_list`), to Arrow
(:meth:`Column.to_arrow`, cached). The values the sections get are those Polars gave before
this container replaced it (tests/data/test_columnar_columns.py), null included:

=============  =========================================  ===============================
dtype          ``to_numpy()``, null as                    ``to_list()``, null as None
=============  =========================================  ===============================
INT32, INT64   int32 / int64; float64 with NaN if nulls   int
FLOAT64        float64, NaN (a stored NaN is NaN too)     float
STRING         object (str), None                         str
BOOLEAN        bool; object (bool, None) if nulls         bool
DATE           datetime64[D], NaT                         datetime.date
DATETIME_UTC   datetime64[us] (UTC, naive), NaT           datetime, aware, ZoneInfo('UTC')
=============  =========================================  ===============================

Why not Polars: the sections only take columns out (no query runs on a frame), and making a
Polars frame costs 35-60 us (an empty one ~80 us), ~0.43 ms of one traveler's 1.40 ms of
read CPU (measured), where a numpy array from a short list costs 1-3 us.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

UTC = ZoneInfo("UTC")  # the tzinfo Polars and pyarrow give a UTC timestamp's values


@dataclass(frozen=True, slots=True, eq=False)
class Dtype:
    """A column's type: its ``name``, its Arrow type and the Python type of its values. One
    instance per type (the constants below): compared and hashed by identity, which costs
    a tenth of a field-wise hash (a dict lookup per column made)."""

    name: str
    arrow: pa.DataType
    python: type

    def __repr__(self) -> str:
        return self.name


INT32 = Dtype("INT32", pa.int32(), int)
INT64 = Dtype("INT64", pa.int64(), int)
FLOAT64 = Dtype("FLOAT64", pa.float64(), float)
STRING = Dtype("STRING", pa.string(), str)
BOOLEAN = Dtype("BOOLEAN", pa.bool_(), bool)
DATE = Dtype("DATE", pa.date32(), date)
DATETIME_UTC = Dtype("DATETIME_UTC", pa.timestamp("us", "UTC"), datetime)

_INTEGERS = {INT32: np.int32, INT64: np.int64}
# The days since 1970-01-01 Python's dates can hold: beyond (PostgreSQL's 'infinity' as ADBC
# reads it), a date cannot be listed (an error, as Polars and pyarrow refused it).
_DAYS = (-719_162, 2_932_896)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORDINAL_1970 = _EPOCH.toordinal()
_MICROSECOND = timedelta(microseconds=1)
_NAT = np.iinfo(np.int64).min  # numpy's NaT, as an integer


class Column:
    """One column: ``dtype``'s values (see the module's table for what each accessor gives),
    from a Python sequence (each value of ``dtype.python`` or None; a datetime aware, in
    UTC) or a pyarrow array of ``dtype.arrow``. Immutable: the arrays it gives are
    read-only, its lists new ones."""

    __slots__ = ("_arrow", "_nulls", "_numpy", "_values", "dtype")

    def __init__(self, dtype: Dtype, values: Sequence[Any] | None = None,
                 arrow: pa.Array | pa.ChunkedArray | None = None) -> None:
        self.dtype = dtype
        self._values = values
        # pyarrow has no type hints: Any (an Array or ChunkedArray; None only with values).
        self._arrow: Any = arrow
        self._numpy: NDArray[Any] | None = None
        self._nulls: int | None = None

    def __len__(self) -> int:
        return len(self._values) if self._values is not None else len(self._arrow)

    def null_count(self) -> int:
        """How many values are null (None; a stored NaN is no null)."""
        if self._nulls is None:
            self._nulls = (self._values.count(None) if self._values is not None
                           else self._arrow.null_count)
        return self._nulls

    def to_numpy(self) -> NDArray[Any]:
        """The values as a read-only numpy array (the module's table), made once."""
        if self._numpy is None:
            if self._values is not None:
                made = _numpy_of_values(self.dtype, self._values, self.null_count())
            else:
                made = self._arrow.to_numpy(zero_copy_only=False)
            made.flags.writeable = False
            self._numpy = made
        return self._numpy

    def to_list(self) -> list[Any]:
        """The values as Python objects (None for null), in a new list."""
        if self._values is not None:
            return list(self._values)
        dtype = self.dtype
        if dtype is DATE or dtype is DATETIME_UTC:
            return self._moments()
        listed: list[Any] = self._arrow.to_pylist()
        return listed

    def _moments(self) -> list[Any]:
        """An Arrow column of dates or timestamps listed through numpy, per 100,000 values:
        dates by ``tolist`` (3 ms), timestamps as their microseconds added to the epoch in
        UTC (36 ms; numpy's naive datetimes given a zone by ``replace``: 67 ms), where
        pyarrow's ``to_pylist`` took 63 and 256 ms, and Polars' ``to_list`` 10 and 45 ms.
        A value beyond Python's (PostgreSQL's 'infinity') is an OverflowError, as it was."""
        values = self.to_numpy()
        missing = np.isnat(values)
        if self.dtype is DATE:
            days = values[~missing].view(np.int64)
            if len(days) and (days.min() < _DAYS[0] or days.max() > _DAYS[1]):
                raise OverflowError("a date beyond Python's")  # numpy would give a number
            listed: list[Any] = values.tolist()  # NaT: None
            return listed
        micros = np.where(missing, 0, values.view(np.int64)).tolist()
        listed = list(map(_EPOCH.__add__, map(timedelta, repeat(0), repeat(0), micros)))
        for k in missing.nonzero()[0].tolist():
            listed[k] = None
        return listed

    def to_arrow(self) -> pa.Array:
        """The values as a pyarrow array of ``dtype.arrow``, made once."""
        if self._arrow is None:
            self._arrow = pa.array(self._values, type=self.dtype.arrow)
        elif isinstance(self._arrow, pa.ChunkedArray):
            self._arrow = self._arrow.combine_chunks()
        return self._arrow

    def gather(self, rows: NDArray[np.integer[Any]]) -> Column:
        """The column of the values at ``rows`` (positions), in that order."""
        if self._values is not None:
            values = self._values
            return Column(self.dtype, [values[r] for r in rows.tolist()])
        return Column(self.dtype, arrow=self._arrow.take(rows))


def _numpy_of_values(dtype: Dtype, values: Sequence[Any], nulls: int) -> NDArray[Any]:
    """``values`` (of ``dtype``, ``nulls`` of them None) as the module's table has them."""
    if dtype is FLOAT64 or (nulls and dtype in _INTEGERS):
        return np.array(values, dtype=np.float64)  # None: NaN
    if dtype in _INTEGERS:
        return np.array(values, dtype=_INTEGERS[dtype])
    if dtype is BOOLEAN and not nulls:
        return np.array(values, dtype=np.bool_)
    # Dates and datetimes as their integers, then viewed: numpy's own conversion of Python
    # dates costs ~0.9 us per value and of datetimes ~1.8 us (15 and 35 us for a traveler's
    # 17 fill-ups: most of what a one-traveler build pays on first touch), these ~0.06 and
    # ~0.2 us. The integers are exact: a day's ordinal, a timedelta's microseconds.
    if dtype is DATE:
        return np.array([_NAT if v is None else v.toordinal() - _ORDINAL_1970
                         for v in values], dtype=np.int64).view("datetime64[D]")
    if dtype is DATETIME_UTC:  # the values are in UTC (as _EPOCH): a plain difference
        return np.array([_NAT if v is None else (v - _EPOCH) // _MICROSECOND
                         for v in values], dtype=np.int64).view("datetime64[us]")
    objects = np.empty(len(values), dtype=object)  # STRING, BOOLEAN with nulls
    objects[:] = values
    return objects


@dataclass(frozen=True, slots=True)
class Frame:
    """Named columns of ``height`` values each (a source's rows), in their schema's order."""

    columns: Mapping[str, Column]
    height: int

    def get_column(self, name: str) -> Column:
        """The column ``name``."""
        return self.columns[name]

    def gather(self, rows: NDArray[np.integer[Any]]) -> Frame:
        """The frame of the rows at ``rows`` (positions), in that order."""
        return Frame({name: c.gather(rows) for name, c in self.columns.items()}, len(rows))

    def iter_rows(self) -> Iterator[tuple[Any, ...]]:
        """Each row as a tuple of Python objects (:meth:`Column.to_list`), in column
        order."""
        return zip(*(c.to_list() for c in self.columns.values()), strict=True)


__all__ = ["BOOLEAN", "DATE", "DATETIME_UTC", "FLOAT64", "INT32", "INT64", "STRING", "UTC",
           "Column", "Dtype", "Frame"]
