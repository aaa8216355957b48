"""``round_cents`` against Python's ``round(x, 2)``, value by value (bit for bit)."""

from __future__ import annotations

import math
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pam_proactive.data.columnar.cents import round_cents


def _bits(values: list[float]) -> list[bytes]:
    """Each float's bytes: equal floats of another sign of zero differ, NaN equals NaN."""
    return [struct.pack("<d", v) for v in values]


def _same_as_round(values: list[float]) -> None:
    got = round_cents(np.array(values, dtype=np.float64))
    assert all(isinstance(v, float) for v in got)
    assert _bits(got) == _bits([round(v, 2) for v in values])


@settings(max_examples=300)
@given(st.lists(st.floats(), min_size=0, max_size=64))
def test_any_float(values: list[float]) -> None:
    _same_as_round(values)


@settings(max_examples=300)
@given(st.lists(st.floats(), min_size=16, max_size=64))
def test_any_float_array_path(values: list[float]) -> None:
    # At least _SHORT values: the numpy path, with its fallbacks.
    _same_as_round(values)


@settings(max_examples=300)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=16, max_size=64))
def test_money_sized_floats(values: list[float]) -> None:
    _same_as_round(values)


@settings(max_examples=100)
@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=16, max_value=200))
def test_every_thousandth(start: int, count: int) -> None:
    # Thousandths: a third of them are (near) half cents, the rounding's hard case.
    _same_as_round([(start + k) / 1000 for k in range(count)])


def test_thousandths_up_to_a_thousand() -> None:
    _same_as_round([k / 1000 for k in range(-10**6, 10**6)])


def test_near_half_cents() -> None:
    # Each half cent and its neighbours one and two ulps away.
    halves = [(2 * k + 1) / 200 for k in range(-5000, 5000)]
    near = [n for h in halves for n in (h, math.nextafter(h, math.inf),
                                        math.nextafter(h, -math.inf),
                                        math.nextafter(math.nextafter(h, 0), 0))]
    _same_as_round(near)


def test_edges() -> None:
    _same_as_round([0.0, -0.0, -0.001, 0.001, math.inf, -math.inf, math.nan, 1e300,
                    -1e300, 2.0 ** 51 / 100, 2.0 ** 52 / 100, 5e-324, 0.005, 0.015,
                    0.025, 2.675, 1.005, 123456789.125, -2.5e-3, 1e16, 0.125])


def test_short_arrays() -> None:
    _same_as_round([])
    _same_as_round([2.675])
    _same_as_round([0.125, 1.005, 7.0])
