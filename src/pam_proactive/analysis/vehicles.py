"""Normalising free-text vehicle descriptions into the classes the detectors know.

Classes: class_a, class_b, class_c, trailer (a travel trailer or fifth wheel: the user drives a
tow vehicle, a truck, and is towing), truck, van, car, unknown. The data layer stores the result
in ``Profile.vehicle_class``; the detectors run it again on ``Vehicle.vehicle_class`` (it is
idempotent on class names).
"""

from __future__ import annotations

import re
from functools import lru_cache

VEHICLE_CLASSES = ("class_a", "class_b", "class_c", "trailer", "truck", "van", "car", "unknown")

# Ordered: the first pattern that matches wins, so specific phrases ("truck camper",
# "camper van", "super c") come before the generic words they contain.
_TYPE_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        r"\bclass[ _-]?a\b|\bdiesel[ _-]?pusher\b|\bpusher\b|\bbus\b|\bskoolie\b|\bcoach\b",
        "class_a",
    ),
    (r"\bsuper[ _-]?c\b|\bclass[ _-]?c\b|\bc[ _-]?class\b", "class_c"),
    (
        r"\bclass[ _-]?b\b|\bb[ _-]?class\b|\bcamper[ _-]?van\b|\bcampervan\b|\bvan[ _-]?life\b",
        "class_b",
    ),
    (
        r"\btravel[ _-]?trailer\b|\bfifth[ _-]?wheel\b|\b5th[ _-]?wheel\b|\btoy[ _-]?hauler\b"
        r"|\bpop[ _-]?up\b|\btent[ _-]?trailer\b|\bteardrop\b|\btrailer\b|\bcaravan\b"
        r"|\bhybrid[ _-]?camper\b|\bcamper[ _-]?trailer\b",
        "trailer",
    ),
    (r"\btruck[ _-]?camper\b|\btruck\b|\bpick[ _-]?up\b|\bute\b", "truck"),
    (r"\bvan\b|\bminivan\b", "van"),
    (r"\bcar\b|\bsedan\b|\bsuv\b|\bhatchback\b|\bwagon\b|\bcoupe\b|\bcrossover\b", "car"),
)

# Well-known models, used only when the type text says nothing usable. Lower-case substrings.
_MODEL_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (
            "travato",
            "revel",
            "roadtrek",
            "solis",
            "boldt",
            "interstate",
            "era ",
            "tellaro",
            "sprinter camper",
            "storyteller",
            "grand design lineage",
        ),
        "class_b",
    ),
    (
        (
            "minnie winnie",
            "four winds",
            "greyhawk",
            "freelander",
            "leprechaun",
            "sunseeker",
            "jayco redhawk",
            "entegra odyssey",
            "thor chateau",
            "winnebago view",
            "navion",
        ),
        "class_c",
    ),
    (
        (
            "allegro bus",
            "newmar",
            "entegra",
            "tiffin",
            "bounder",
            "tuscany",
            "holiday rambler",
            "american coach",
            "prevost",
            "monaco",
            "beaver",
            "fleetwood discovery",
            "journey",
            "winnebago adventurer",
            "forest river fr3",
            "georgetown",
        ),
        "class_a",
    ),
    (
        (
            "airstream",
            "jayco jay flight",
            "keystone",
            "grand design",
            "lance",
            "casita",
            "scamp",
            "forest river rockwood",
            "heartland",
            "alliance",
            "brinkley",
        ),
        "trailer",
    ),
    (
        (
            "f-150",
            "f150",
            "f-250",
            "f250",
            "f-350",
            "f350",
            "silverado",
            "sierra",
            "ram 1500",
            "ram 2500",
            "ram 3500",
            "tundra",
            "tacoma",
            "titan",
            "gmc sierra",
            "hilux",
        ),
        "truck",
    ),
    (("transit", "promaster", "sprinter", "express", "savana"), "van"),
)

_NO_TOWING = {
    "",
    "no",
    "none",
    "n/a",
    "na",
    "false",
    "0",
    "nothing",
    "not towing",
    "no tow",
    "-",
    "null",
}


def _clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", (text or "").strip().lower())


def _class_from_text(text: str) -> str | None:
    if not text:
        return None
    canonical = text.replace(" ", "_")
    if canonical in VEHICLE_CLASSES and canonical != "unknown":
        return canonical
    if canonical in {"travel_trailer", "fifth_wheel", "5th_wheel"}:
        return "trailer"
    if canonical in {"motorhome_a", "a"}:
        return "class_a"
    for pattern, vehicle_class in _TYPE_PATTERNS:
        if re.search(pattern, text):
            return vehicle_class
    return None


def _class_from_model(model: str) -> str | None:
    padded = f"{model} "
    for names, vehicle_class in _MODEL_HINTS:
        if any(name in padded for name in names):
            return vehicle_class
    return None


# Memoised: a fleet repeats a few dozen spellings, and the regexes run once per spelling.
@lru_cache(maxsize=4096)
def normalize_vehicle_class(vehicle_type: str | None, make_model: str | None = None) -> str:
    """The vehicle class of a free-text type ('Class A diesel pusher', 'fifth_wheel',
    '5th Wheel', 'Pickup'), helped by the make/model when the type says nothing usable.

    Returns one of :data:`VEHICLE_CLASSES`; 'unknown' rather than a guess (a generic
    'motorhome' or 'RV' could be A, B or C, whose tanks differ fourfold).
    """
    found = _class_from_text(_clean(vehicle_type))
    if found is not None:
        return found
    model = _clean(make_model)
    found = _class_from_text(model) or _class_from_model(model)
    return found or "unknown"


@lru_cache(maxsize=4096)
def is_towing(towing_text: str | None, vehicle_type: str | None) -> bool:
    """Whether the user's driven vehicle is towing something.

    True when the rig is a trailer (the user drives a tow vehicle), or when ``towing_text``
    names something towed ('Jeep Wrangler', 'yes', 'boat'); False for empty or negative text.
    """
    if normalize_vehicle_class(vehicle_type) == "trailer":
        return True
    text = _clean(towing_text)
    return text not in _NO_TOWING and not re.match(r"(no|not|none)\b", text)
