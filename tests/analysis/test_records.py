"""quick_init: the same objects as a frozen dataclass's own ``__init__``, made cheaper."""

from __future__ import annotations

import dataclasses
from dataclasses import FrozenInstanceError, dataclass, field

import pytest

from pam_proactive.analysis import boundaries, budget, events, fuel, maintenance, outliers
from pam_proactive.analysis.records import quick_init
from pam_proactive.suggestions import models


@dataclass(frozen=True, slots=True)
class Plain:
    a: int
    b: str
    c: tuple[int, ...] = ()
    d: float = 1.5


@quick_init
@dataclass(frozen=True, slots=True)
class Quick:
    a: int
    b: str
    c: tuple[int, ...] = ()
    d: float = 1.5


SHARED = ("shared",)


@quick_init
@dataclass(frozen=True, slots=True)
class Shared:
    t: tuple[str, ...] = SHARED


def _values(obj: object) -> tuple[object, ...]:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "kwargs"), [
    ((1, "x"), {}),
    ((1, "x", (2,)), {}),
    ((1, "x", (2,), 3.0), {}),
    ((), {"a": 1, "b": "x", "d": 0.0}),
    ((1,), {"b": "x", "c": (4, 5)}),
])
def test_same_fields_as_the_dataclass_init(args: tuple[object, ...],
                                           kwargs: dict[str, object]) -> None:
    made = Quick(*args, **kwargs)  # type: ignore[arg-type]
    assert _values(made) == _values(Plain(*args, **kwargs))  # type: ignore[arg-type]
    assert made == Quick(*args, **kwargs)  # type: ignore[arg-type]
    assert hash(made) == hash(Quick(*args, **kwargs))  # type: ignore[arg-type]


def test_defaults_are_the_declared_objects() -> None:
    assert Shared().t is SHARED


def test_still_frozen_and_still_checks_arguments() -> None:
    made = Quick(1, "x")
    with pytest.raises(FrozenInstanceError):
        made.a = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        Quick(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick(1, "x", e=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick(1, "x", (), 1.0, 5)  # type: ignore[call-arg]


def test_refuses_what_it_would_skip() -> None:
    @dataclass(frozen=True, slots=True)
    class Posted:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class Factory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class Hidden:
        a: int = field(init=False, default=0)

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    @dataclass(slots=True)
    class Mutable:
        a: int

    for cls in (Posted, Factory, Hidden, Unslotted, Mutable):
        with pytest.raises(TypeError):
            quick_init(cls)


@pytest.mark.parametrize("cls", [
    fuel.Estimate, fuel.Interval, fuel.FuelState, fuel.FuelResult, fuel.EconomyWindows,
    maintenance.DueStatus, budget.BudgetFigures, events.UserPoint, events.EventAnalysis,
    events.EventsView, boundaries.Recheck, outliers.OutlierRule, models.Candidate,
    models.Note, models.DetectorResult, models.Detection,
])
def test_the_project_classes_take_their_fields_in_order(cls: type) -> None:
    """Each decorated class stores every field it is given, by position and by keyword."""
    names = [f.name for f in dataclasses.fields(cls)]
    by_position = cls(*(object() for _ in names))
    values = _values(by_position)
    assert _values(cls(*values)) == values
    assert _values(cls(**dict(zip(names, values, strict=True)))) == values
