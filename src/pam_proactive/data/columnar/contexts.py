"""A batch's contexts from its frames: the one assembly, for a sweep's batch and for one
traveler alike (pure).

Each section (financial, travel, calendar, vehicle) is computed for the whole batch at once
from the frames; then one :class:`UserContext` per user is put together from its sections.
Texts are cut to ``TEXT_MAX_CHARS`` by each section before anything is built from them, and
every row skipped or repaired is counted in the user's ``DataQuality``.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS
from pam_proactive.analysis.outliers import OutlierRule
from pam_proactive.context import DataQuality, Profile, QualityBuilder, UserContext
from pam_proactive.data.assemble import USER_TEXT, build_profile, completeness
from pam_proactive.data.columnar._rows import cut_columns
from pam_proactive.data.columnar.financial import financial_section
from pam_proactive.data.columnar.frames import BatchFrames
from pam_proactive.data.columnar.objects import collector_paused, instances
from pam_proactive.data.columnar.travel import calendar_section, travel_section
from pam_proactive.data.columnar.vehicle import vehicle_section
from pam_proactive.data.rows import UserRow


class Findings(dict[int, QualityBuilder]):
    """Each batch user's :class:`QualityBuilder` by position ``i``, made when a section first
    records something for them: ``quality[i]`` creates it. Most travelers never need one
    (about three in four of the demo population): they share a frozen ``DataQuality``
    (:func:`_plain_quality`) instead of building and freezing their own. Sections must
    therefore write through ``quality[i]`` and never look a builder up otherwise (``get``,
    ``in``): a user absent here is one with nothing recorded."""

    __slots__ = ()

    def __missing__(self, i: int) -> QualityBuilder:
        self[i] = q = QualityBuilder()
        return q


def profile_section(frames: BatchFrames) -> tuple[Findings, dict[int, UserRow],
                                                   dict[int, Profile]]:
    """The batch's :class:`Findings` (with the rows recorded after ``now``), and every user's
    profile row (texts cut) and :class:`Profile`, by position ``i`` (as the
    oracle's ``build_context``)."""
    quality = Findings()
    if frames.after_now.height:  # mostly none (a replay's moment in the past has some)
        for i, source, rows in frames.after_now.iter_rows():
            quality[i].recorded_after_now[source] = rows
    people = frames.people.get_column
    users: dict[int, UserRow] = {}
    profiles: dict[int, Profile] = {}
    # build_profile records rarely (a currency defaulted): it writes into this spare builder,
    # which becomes the user's only if it then holds something.
    spare = QualityBuilder()
    for i, zone, invalid, user in zip(people("i").to_list(), people("zone").to_list(),
                                      people("zone_invalid").to_list(), frames.users,
                                      strict=True):
        if _long_text(user):
            user = UserRow._make(cut_columns(user, USER_TEXT, quality[i]))
        users[i] = user
        if invalid:
            quality[i].skip("timezone_invalid")
        if invalid or user.timezone is None:
            # Dates, budget periods and quiet hours then follow UTC: said, never silent.
            quality[i].assume("timezone", "UTC (local dates, budget periods and quiet hours)")
        q = quality.get(i, spare)
        profiles[i] = build_profile(user, zone, q)
        if q is spare and (spare.repaired or spare.skipped or spare.assumed):
            quality[i] = spare
            spare = QualityBuilder()
    return quality, users, profiles


def _long_text(user: UserRow) -> bool:
    """Whether one of the profile's texts (``USER_TEXT``: region, vehicle and fuel type) is
    to be cut (a quick test: the cut itself is ``cut_columns``)."""
    region, vehicle, fuel = user.region, user.vehicle_type, user.fuel_type
    return ((region is not None and len(region) > TEXT_MAX_CHARS)
            or (vehicle is not None and len(vehicle) > TEXT_MAX_CHARS)
            or (fuel is not None and len(fuel) > TEXT_MAX_CHARS))


@lru_cache(maxsize=4096)
def _shares(present: tuple[bool, ...], after_now: frozenset[str], skipped: frozenset[str],
            ) -> tuple[tuple[tuple[str, float], ...], tuple[str, ...]]:
    """``assemble.completeness`` of the sources ``present`` (flags in
    ``COMPLETENESS_SOURCES`` order) for a user whose rows recorded after ``now`` and skips
    are of these names: the sections' shares and the missing sources. A few hundred
    combinations cover a batch, so the rule runs once for each, not once per user."""
    scratch = QualityBuilder(recorded_after_now=dict.fromkeys(after_now, 0),
                             skipped=dict.fromkeys(skipped, 1))
    completeness(scratch, present)
    return tuple(scratch.sections.items()), tuple(scratch.missing_sources)


@lru_cache(maxsize=1024)  # one entry per combination of the 10 sources: all of them fit
def _plain_quality(present: tuple[bool, ...]) -> DataQuality:
    """The ``DataQuality`` of a user with nothing recorded (no skip, repair, assumption or
    row after ``now``) and the sources ``present`` (flags in ``COMPLETENESS_SOURCES``
    order): the completeness alone. One frozen instance, shared by all such users of every
    batch."""
    return _completed(QualityBuilder(), present)


def data_quality(quality: Findings, i: int, present: tuple[bool, ...]) -> DataQuality:
    """User ``i``'s ``DataQuality``: what the sections recorded in ``quality`` and the
    completeness of the sources ``present`` (flags in ``COMPLETENESS_SOURCES`` order); the
    shared :func:`_plain_quality` when nothing was recorded for them."""
    q = quality.get(i)
    return _plain_quality(present) if q is None else _completed(q, present)


def _completed(q: QualityBuilder, present: tuple[bool, ...]) -> DataQuality:
    """``q`` frozen with the completeness of the sources ``present`` (:func:`_shares`)."""
    sections, missing = _shares(present, frozenset(q.recorded_after_now),
                                frozenset(q.skipped))
    q.sections.update(sections)
    q.missing_sources.extend(missing)
    return q.freeze()


def build_contexts(frames: BatchFrames, rule: OutlierRule) -> dict[UUID, UserContext]:
    """Every batch user's context as of ``frames.now``, by user id."""
    with collector_paused():
        return _build_contexts(frames, rule)


def _build_contexts(frames: BatchFrames, rule: OutlierRule) -> dict[UUID, UserContext]:
    quality, users, profiles = profile_section(frames)
    financial = financial_section(frames, rule, quality)
    travel = travel_section(frames, profiles, quality)
    calendar = calendar_section(frames, quality)
    vehicle = vehicle_section(frames, profiles, quality)
    people = frames.people.get_column
    order, todays, invalids = (people(name).to_list() for name in ("i", "today", "zone_invalid"))
    qualities = []
    for i, invalid in zip(order, invalids, strict=True):
        profile, fin, trv, veh = profiles[i], financial[i], travel[i], vehicle[i]
        present = (users[i].timezone is not None and not invalid,
                   profile.vehicle_class != "unknown", bool(fin.categories),
                   bool(fin.budgets), bool(trv.trips), trv.location is not None,
                   bool(calendar[i].events), veh.primary is not None, bool(veh.fills),
                   bool(veh.maintenance))
        qualities.append(data_quality(quality, i, present))
    # Made a field at a time (objects.instances): a frozen dataclass' own __init__ costs
    # about as much as the rest of this loop.
    mine = [profiles[i] for i in order]
    ids = [profile.user_id for profile in mine]
    made = instances(UserContext, (
        ids, [frames.now] * len(order), todays, mine,
        *(list(map(section.__getitem__, order))
          for section in (financial, travel, calendar, vehicle)),
        qualities))
    return dict(zip(ids, made, strict=True))
