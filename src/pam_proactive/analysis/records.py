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


def quick_init(cls: type[T]) -> type[T]:
    """``cls`` (a frozen, slotted dataclass) with an ``__init__`` storing its fields through
    their slots' setters. Refuses a class whose ``__init__`` does more than store its
    arguments in order (a ``__post_init__``, an init-less, keyword-only or factory-made
    field), which this ``__init__`` would silently skip."""
    params = getattr(cls, "__dataclass_params__", None)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if (params is None or not params.frozen or "__slots__" not in cls.__dict__
            or hasattr(cls, "__post_init__")
            or any(not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING
                   for f in fields)):
        raise TypeError(f"{cls.__name__} is not a plain frozen, slotted dataclass")
    names = [f.name for f in fields]
    # The setters and defaults reach the generated function as closure cells (the cheapest
    # variables to read), through a factory taking them as arguments.
    cells: dict[str, Any] = {f"_set_{n}": cls.__dict__[n].__set__ for n in names}
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
