"""A cheaper ``__init__`` for the frozen, slotted dataclasses the detectors make per traveler.

A frozen dataclass's generated ``__init__`` stores each field with
``object.__setattr__(self, name, value)``: an attribute lookup, a generic setattr and a
lookup of the name in the class for every field. The analyses and the detectors make about
25 such objects (about 100 fields) per traveler in a sweep (fuel estimates, due statuses,
budget figures, event analyses, results), about 10 % of the detect phase's CPU.
:func:`quick_init` gives the class an ``__init__`` with the same signature that stores each
field with its slot's own setter instead: 440 ns instead of 750 ns for seven fields
(Python 3.11). The objects are the same (same type, fields, equality, hash, immutability).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def plain_fields(cls: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of ``cls``, a frozen, slotted dataclass whose ``__init__`` only stores its
    arguments; raises TypeError for any other class (a ``__post_init__``, an init-less
    field), whose objects a field-by-field store would silently make wrong. The one check
    of both shortcuts: :func:`quick_init` and ``data/columnar/objects.instances``."""
    params = getattr(cls, "__dataclass_params__", None)
    if (params is None or not params.frozen or "__slots__" not in cls.__dict__
            or hasattr(cls, "__post_init__")):
        raise TypeError(f"{cls.__name__} is not a plain frozen, slotted dataclass")
    fields = dataclasses.fields(cls)
    if not all(f.init for f in fields):
        raise TypeError(f"{cls.__name__} is not a plain frozen, slotted dataclass")
    return fields


def slot_setters(cls: type[Any]) -> tuple[Any, ...]:
    """The slot setters of :func:`plain_fields` of ``cls``, in field order: each stores one
    field of an object of ``cls`` (``setter(obj, value)``), as its ``__init__`` would."""
    return tuple(cls.__dict__[f.name].__set__ for f in plain_fields(cls))


def quick_init(cls: type[T]) -> type[T]:
    """``cls`` (a frozen, slotted dataclass) with an ``__init__`` storing its fields through
    their slots' setters. Refuses a class whose ``__init__`` does more than store its
    arguments in order (a ``__post_init__``, an init-less, keyword-only or factory-made
    field), which this ``__init__`` would silently skip."""
    fields = plain_fields(cls)
    if any(f.kw_only or f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"{cls.__name__} has a keyword-only or factory-made field")
    names = [f.name for f in fields]
    # The setters and defaults reach the generated function as closure cells (the cheapest
    # variables to read), through a factory taking them as arguments.
    cells: dict[str, Any] = {f"_set_{n}": setter
                             for n, setter in zip(names, slot_setters(cls), strict=True)}
    params_text = []
    for f in fields:
        if f.default is dataclasses.MISSING:
            params_text.append(f.name)
        else:
            cells[f"_default_{f.name}"] = f.default
            params_text.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"        _set_{n}(self, {n})\n" for n in names) or "        pass\n"
    source = (f"def _factory({', '.join(cells)}):\n"
              f"    def __init__(self, {', '.join(params_text)}):\n{body}"
              f"    return __init__\n")
    scope: dict[str, Any] = {}
    exec(source, {}, scope)
    init = scope["_factory"](**cells)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - mypy refuses assigning a method
    return cls
