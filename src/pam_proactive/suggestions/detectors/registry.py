"""The registry of detectors: validates the specs once and derives every list from them.

Nothing about a detector is kept by hand outside its module: the detector order, the types
each emits, the opt-out group of each type, the types of each scheduled job group, the
boundaries and the rules are all read from the :class:`DetectorSpec` objects given here.
A lookup of an unknown detector, type or job group raises :class:`UnknownName`: a missing
entry never silently means "all types".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from types import MappingProxyType

from pam_proactive.analysis.boundaries import RECHECK_REASONS
from pam_proactive.analysis.settings import DetectorSettings
from pam_proactive.context import UserContext
from pam_proactive.suggestions.detectors.spec import (
    JOB_GROUPS,
    Detector,
    DetectorSpec,
    SuggestionType,
)
from pam_proactive.suggestions.relations import Relation

_SETTINGS_FIELDS = frozenset(f.name for f in fields(DetectorSettings))


class RegistryError(ValueError):
    """The specs contradict each other or miss something (raised when the registry is
    built, so at import time for the real one)."""


class UnknownName(KeyError):
    """A detector, suggestion type or job group that no spec declares."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def _validate_own(own: tuple[SuggestionType, ...], owner: Mapping[str, str]) -> None:
    """Raise :class:`RegistryError` for an engine-written type that breaks a rule."""
    for kind in own:
        if not kind.name or kind.name in owner:
            raise RegistryError(f"engine type {kind.name!r} empty or also a detector's")
        if not kind.group or not kind.rule.strip():
            raise RegistryError(f"engine type {kind.name!r} needs a group and a rule sentence")
        if kind.job is not None:
            raise RegistryError(f"engine type {kind.name!r} is run by no job group: job=None")


def _validate(specs: tuple[DetectorSpec, ...]) -> dict[str, str]:
    """Raise :class:`RegistryError` naming the first spec that breaks a rule; each type's
    detector."""
    if not specs:
        raise RegistryError("no detector spec")
    names: set[str] = set()
    owner: dict[str, str] = {}
    for spec in specs:
        if not spec.name or spec.name in names:
            raise RegistryError(f"detector name {spec.name!r} empty or used twice")
        if spec.name in RECHECK_REASONS:
            raise RegistryError(f"detector name {spec.name!r} is a recheck reason of its own")
        names.add(spec.name)
        if not callable(spec.detect):
            raise RegistryError(f"detector {spec.name!r} has no detect function")
        if spec.boundary is None or not callable(spec.boundary):
            raise RegistryError(
                f"detector {spec.name!r} has no time boundary: incremental runs would "
                "never recheck it when only the clock moves")
        if not spec.types:
            raise RegistryError(f"detector {spec.name!r} emits no suggestion type")
        unknown = sorted(set(spec.settings) - _SETTINGS_FIELDS)
        if unknown:
            raise RegistryError(f"detector {spec.name!r} reads unknown settings {unknown}")
        for kind in spec.types:
            if not kind.name:
                raise RegistryError(f"detector {spec.name!r} emits a type with no name")
            if kind.name in owner:
                raise RegistryError(f"type {kind.name!r} claimed by detectors "
                                    f"{owner[kind.name]!r} and {spec.name!r}")
            owner[kind.name] = spec.name
            if not kind.group:
                raise RegistryError(f"type {kind.name!r} belongs to no group")
            if kind.job not in JOB_GROUPS:
                raise RegistryError(f"type {kind.name!r} names unknown job group "
                                    f"{kind.job!r}; use one of {list(JOB_GROUPS)}")
            if not kind.rule.strip():
                raise RegistryError(f"type {kind.name!r} has no rule sentence")
    return owner


class Registry:
    """Validated detector specs (in run order) and the lists derived from them."""

    __slots__ = ("_by_name", "_by_type", "_job_types", "_timed", "detector_types", "own",
                 "rules", "specs", "type_groups", "types")

    def __init__(self, specs: Iterable[DetectorSpec], own: Iterable[SuggestionType] = ()
                 ) -> None:
        """``own``: the types the engine writes itself (no detector, no job group, no
        boundary), known to the opt-out groups and the rules all the same."""
        self.specs: tuple[DetectorSpec, ...] = tuple(specs)
        self.own: tuple[SuggestionType, ...] = tuple(own)
        _validate_own(self.own, _validate(self.specs))
        self._by_name = {s.name: s for s in self.specs}
        self._by_type = {t.name: s for s in self.specs for t in s.types}
        #: Detector name -> the suggestion types it emits.
        self.detector_types: Mapping[str, frozenset[str]] = MappingProxyType(
            {s.name: s.type_names for s in self.specs})
        #: Suggestion type -> its opt-out group.
        self.type_groups: Mapping[str, str] = MappingProxyType(
            {t.name: t.group for t in self._all_types()})
        #: Suggestion type -> its rule in one sentence.
        self.rules: Mapping[str, str] = MappingProxyType(
            {t.name: t.rule for t in self._all_types()})
        #: The types the detectors emit (the engine's own, ``own``, are not: no job computes
        #: them and no sweep is scoped to them).
        self.types: frozenset[str] = frozenset(self._by_type)
        # Sub-day boundaries first, then the daily ones, each in run order: on a tie the
        # recheck is credited to an exact crossing rather than to a midnight.
        self._timed = (*(s for s in self.specs if s.sub_day),
                       *(s for s in self.specs if not s.sub_day))
        self._job_types: dict[str, frozenset[str]] = {
            job: frozenset(t.name for s in self.specs for t in s.types if t.job == job)
            for job in JOB_GROUPS}
        for job, types in self._job_types.items():
            if not types:
                raise RegistryError(f"job group {job!r} runs no suggestion type")

    def _all_types(self) -> tuple[SuggestionType, ...]:
        return (*(t for s in self.specs for t in s.types), *self.own)

    @property
    def detectors(self) -> tuple[Detector, ...]:
        """The detect functions, in run order."""
        return tuple(s.detect for s in self.specs)

    def spec(self, name: str) -> DetectorSpec:
        """The spec of detector ``name``; :class:`UnknownName` for an unknown one."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownName(f"unknown detector {name!r}; known: {sorted(self._by_name)}"
                              ) from None

    def spec_of_type(self, suggestion_type: str) -> DetectorSpec:
        """The spec of the detector emitting ``suggestion_type``."""
        try:
            return self._by_type[suggestion_type]
        except KeyError:
            raise UnknownName(f"unknown suggestion type {suggestion_type!r}") from None

    def group_of(self, suggestion_type: str) -> str:
        """The opt-out group of ``suggestion_type``; :class:`UnknownName` for an unknown
        type."""
        try:
            return self.type_groups[suggestion_type]
        except KeyError:
            raise UnknownName(f"unknown suggestion type {suggestion_type!r}") from None

    def job_types(self, job: str) -> frozenset[str]:
        """The suggestion types the scheduled job group ``job`` computes."""
        try:
            return self._job_types[job]
        except KeyError:
            raise UnknownName(f"unknown job group {job!r}; use one of {list(JOB_GROUPS)}"
                              ) from None

    def check_types(self, types: Collection[str]) -> frozenset[str]:
        """``types`` as a frozenset, each known; :class:`UnknownName` names the others."""
        wanted = frozenset(types)
        unknown = wanted - self.types
        if unknown:
            raise UnknownName(f"unknown suggestion types {sorted(unknown)}")
        return wanted

    def producing(self, types: Collection[str] | None) -> tuple[DetectorSpec, ...]:
        """The specs emitting at least one of ``types`` (all of them for None), in run
        order; unknown types raise."""
        if types is None:
            return self.specs
        wanted = self.check_types(types)
        return tuple(s for s in self.specs
                     if not self.detector_types[s.name].isdisjoint(wanted))

    def boundaries(self, ctx: UserContext, now: datetime, settings: DetectorSettings,
                   keys: Collection[str], types: Collection[str] | None = None,
                   until: datetime | None = None) -> dict[str, datetime]:
        """Each detector's boundary (those with one), by detector name; with ``types``, only
        the detectors emitting one of them. Sub-day ones come first (see ``_timed``).

        With ``until`` (the user's next local midnight), the daily boundaries stop at the
        first one at or before it: each daily one is the local midnight of a date after
        today, so none starts before the next local midnight, and a tie goes to the first
        (see ``_timed``). The earliest of the result, and who is credited with it, are the
        same; only the daily boundaries that could never be the earliest are left out."""
        wanted = None if types is None else self.check_types(types)
        limit = None if until is None else until.astimezone(UTC)
        found: dict[str, datetime] = {}
        for spec in self._timed:
            if wanted is not None and self.detector_types[spec.name].isdisjoint(wanted):
                continue
            assert spec.boundary is not None  # validated
            moment = spec.boundary(ctx, now, settings, keys)
            if moment is not None:
                found[spec.name] = moment
                if limit is not None and not spec.sub_day and moment.astimezone(UTC) <= limit:
                    break
        return found

    def check_relations(self, relations: Iterable[Relation]) -> None:
        """Raise :class:`RegistryError` when a relation names a type no spec emits (it
        would silently never apply)."""
        for relation in relations:
            unknown = sorted(({relation.holder} | relation.held) - self.types)
            if unknown:
                raise RegistryError(f"relation {relation.why!r} names unknown types {unknown}")
