"""The sorting helpers against the numpy calls they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pam_proactive.data.columnar.sorting import among, stable_order

_keys = st.lists(st.integers(min_value=0, max_value=(1 << 33)), max_size=40)


@settings(max_examples=200)
@given(_keys, st.sampled_from([1, 3, 1 << 12, 1 << 20, 1 << 34]), st.integers(0, 3000))
def test_stable_order_is_argsorts_stable_order(keys: list[int], span: int, size: int
                                               ) -> None:
    # Long arrays (the radix passes: 16-bit, 32-bit, wider) and short ones.
    rng = np.random.default_rng(size)
    for array in (np.array(keys, dtype=np.int64), rng.integers(0, span, size)):
        assert np.array_equal(stable_order(array), np.argsort(array, kind="stable"))


@settings(max_examples=200)
@given(st.lists(st.integers(-50, 50), max_size=60), st.lists(st.integers(-50, 50),
                                                              max_size=20))
def test_among_is_isin(values: list[int], found: list[int]) -> None:
    v, f = np.array(values, dtype=np.int64), np.array(found, dtype=np.int64)
    assert np.array_equal(among(v, f), np.isin(v, f))
