"""COPY text encoding, vectorised: every column becomes a numpy bytes array, plus the
clock (`now` as day numbers) and the row ids that the text is made of."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]
BoolArr = npt.NDArray[np.bool_]
BytesArr = npt.NDArray[np.bytes_]
Rng = np.random.Generator

REFERENCE_ZONE = "America/Chicago"
"""The time zone whose date is the demo's "today": the middle of the travelers' zones."""
NULL = b"\\N"
DAY = 86_400
ID_SLOTS = 256  # ids reserved per user and table; no user has that many rows in one table


def ascii_array(values: Sequence[str]) -> BytesArr:
    """ASCII text values as a numpy bytes array, for vectorised lookup."""
    return np.array([v.encode("ascii") for v in values], dtype=np.bytes_)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_TWO_DIGITS = ascii_array([f"{i:02d}" for i in range(100)])
_CLOCK_TIMES = (
    np.arange(DAY).astype("datetime64[s]").astype("S19").view(np.uint8).reshape(DAY, 19)[:, 11:]
)
"""'HH:MM:SS' for every second of a day, as an (86400, 8) byte matrix."""
_DAYS_BACK = 4_000  # oldest day the date lookup covers, relative to now
_DAYS_AHEAD = 2_000  # latest day covered (planted expenses sit three years ahead)


@dataclass(frozen=True, eq=False)
class Clock:
    """`now` as integers: UTC seconds, and today's day number (days since 1970-01-01) as the
    date in ``REFERENCE_ZONE``: the rows are dated by the travelers' own calendar (the
    engine judges each on their local date), which in the evening across the US is still
    the day before the UTC date."""

    now_s: int
    today: int
    dates: BytesArr  # 'YYYY-MM-DD' of day today - _DAYS_BACK + i

    @classmethod
    def of(cls, now: datetime) -> Clock:
        """Clock of an aware datetime (a naive one is taken as UTC)."""
        aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        now_s = math.floor(aware.timestamp())
        today = (aware.astimezone(ZoneInfo(REFERENCE_ZONE)).date() - date(1970, 1, 1)).days
        days = np.arange(today - _DAYS_BACK, today + _DAYS_AHEAD + 1).astype("datetime64[D]")
        return cls(now_s=now_s, today=today, dates=days.astype("S10"))

    def day_index(self, days: IntArr) -> IntArr:
        """Positions of day numbers in the date lookup; fails on days it does not cover."""
        idx = days - (self.today - _DAYS_BACK)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(self.dates)):
            raise ValueError("generated day outside the supported date range")
        return idx


def uuids(rng: Rng, prefix: IntArr) -> BytesArr:
    """UUIDv7-layout ids whose 48-bit time field is `prefix` (increasing => B-tree appends)."""
    n = len(prefix)
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, :6] = prefix.astype(">u8").view(np.uint8).reshape(n, 8)[:, 2:]
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    digits = _HEX[nibbles]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for dst, src, width in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        text[:, dst : dst + width] = digits[:, src : src + width]
    return text.view("S36").ravel()


def ints(values: IntArr) -> BytesArr:
    """Integers as text."""
    return values.astype(np.int64).astype(np.bytes_)


def money(cents: IntArr) -> BytesArr:
    """Hundredths (cents, centi-gallons) as exact two-decimal text, e.g. -12.05."""
    whole = np.abs(cents)
    text = np.strings.add(np.strings.add(ints(whole // 100), b"."), _TWO_DIGITS[whole % 100])
    return np.where(cents < 0, np.strings.add(b"-", text), text)


def date_texts(clock: Clock, days: IntArr) -> BytesArr:
    """Day numbers as 'YYYY-MM-DD'."""
    return clock.dates[clock.day_index(days)]


def stamps(clock: Clock, seconds: IntArr) -> BytesArr:
    """UTC unix seconds as timestamptz text 'YYYY-MM-DD HH:MM:SS+00'."""
    n = len(seconds)
    text = np.empty((n, 22), dtype=np.uint8)
    text[:, :10] = date_texts(clock, seconds // DAY).view(np.uint8).reshape(n, 10)
    text[:, 10] = ord(" ")
    text[:, 11:19] = _CLOCK_TIMES[seconds % DAY]
    text[:, 19:] = np.frombuffer(b"+00", dtype=np.uint8)
    return text.view("S22").ravel()


def or_null(values: BytesArr, null: BoolArr) -> BytesArr:
    """`values`, with NULL where `null`."""
    return np.where(null, NULL, values)


def glue(*parts: BytesArr) -> BytesArr:
    """Adjacent columns pre-joined into one, which halves the per-value work of `block`.

    Only for fixed-width text (ids, dates, timestamps, constants) whose every value fills its
    array's width: shorter values would leave NUL padding inside the row."""
    n = len(parts[0])
    widths = [p.dtype.itemsize for p in parts]
    glued = np.full((n, sum(widths) + len(parts) - 1), ord("\t"), dtype=np.uint8)
    offset = 0
    for part, width in zip(parts, widths, strict=True):
        glued[:, offset : offset + width] = part.view(np.uint8).reshape(n, width)
        offset += width + 1
    return glued.view(f"S{glued.shape[1]}").ravel()


def const(value: bytes, n: int) -> list[bytes]:
    """A column holding one value."""
    return [value] * n


def block(columns: Sequence[BytesArr | list[bytes]]) -> bytes:
    """COPY text of rows made of `columns` (all the same length, already escaped)."""
    lists = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns]
    if not lists[0]:
        return b""
    return b"\n".join(map(b"\t".join, zip(*lists, strict=True))) + b"\n"



def id_base(clock: Clock) -> int:
    """Start of the ids' 48-bit sequence (a millisecond time, as in UUIDv7)."""
    return (clock.now_s - 30 * DAY) * 1000


def row_ids(rng: Rng, clock: Clock, first_user: int, n_users: int, n_rows: int) -> BytesArr:
    """Ids of one table's rows for the chunk starting at `first_user`, increasing across chunks."""
    if n_rows > n_users * ID_SLOTS:
        raise ValueError("more rows than reserved ids")
    prefix = id_base(clock) + first_user * ID_SLOTS + np.arange(n_rows, dtype=np.int64)
    return uuids(rng, prefix)

