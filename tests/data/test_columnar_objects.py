"""The column-at-a-time object builder and the collector pause of a batch's build."""

from __future__ import annotations

import gc

import pytest

from pam_proactive.context import Coordinates
from pam_proactive.data.columnar.objects import collector_paused, instances


def test_instances_equal_the_constructor() -> None:
    made = instances(Coordinates, [[1.5, -2.0], [3.25, 4.0]])
    assert made == [Coordinates(1.5, 3.25), Coordinates(-2.0, 4.0)]
    assert all(type(m) is Coordinates for m in made)


def test_instances_refuses_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError):
        instances(Coordinates, [[1.0], [2.0, 3.0]])


def test_collector_paused_inside_and_resumed_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_resumed_after_an_error_and_left_off_if_it_was() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
