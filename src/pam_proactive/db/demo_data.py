"""Reproducible demo travelers for the seed preset's tables, loaded fast with COPY.

``seed_demo_data`` writes full-time RV travelers into ``public.profiles``, ``vehicles``,
``trips``, ``calendar_events``, ``fuel_log``, ``maintenance_records``, ``expenses`` and
``budgets`` (the tables must already exist). The same ``users``, ``seed`` and ``now`` always
give the same rows, so the engine's suggestions over them can be compared from run to run.

Units follow the seed schema: distances and odometers in miles, fuel in US gallons, money in
dollars (numeric with two decimals), dates as UTC calendar days relative to ``now``.

The data is shaped so that the suggestions computed from it make sense: fuel fills agree with
each vehicle's tank and fuel economy, trips chain real US towns, budgets sit near real spending
(some over, some on pace to overspend), maintenance is sometimes overdue. A small, deterministic
share of rows is deliberately malformed (negative amounts, unknown categories, odometers going
backwards, JSON strings in ``route_data``...) so that data-quality handling is exercised too;
``SeedReport.planted`` counts them.

Speed: users are generated in chunks, vectorised with numpy, formatted into one COPY text block
per table, and the next chunk is built in a worker process while the previous one is copied.
Row ids use the UUIDv7 layout with a sequential prefix: index inserts then append at the right
edge of each B-tree instead of touching random pages, which is what keeps 100,000 users (about
seven million rows) under a minute on a small machine.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql

__all__ = ["CHUNK_USERS", "SeedReport", "seed_demo_data"]

IntArr = npt.NDArray[np.int64]
FloatArr = npt.NDArray[np.float64]
BoolArr = npt.NDArray[np.bool_]
BytesArr = npt.NDArray[np.bytes_]
Rng = np.random.Generator

CHUNK_USERS = 5_000
"""Users generated and committed together; part of the data's identity (changing it changes
the generated rows for a given seed)."""

_NULL = b"\\N"
_DAY = 86_400
_ID_SLOTS = 256  # ids reserved per user and table; no user has that many rows in one table

# fmt: off
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "profiles": (
        "id", "email", "full_name", "nickname", "vehicle_type", "vehicle_make_model",
        "fuel_type", "towing", "region", "role", "status", "preferred_units", "created_at",
        "updated_at",
    ),
    "vehicles": (
        "id", "user_id", "name", "vehicle_type", "fuel_type", "fuel_capacity_gallons",
        "mileage_current", "registration_expires", "insurance_expires", "is_primary",
    ),
    "trips": (
        "id", "user_id", "origin", "destination", "start_date", "end_date", "distance_miles",
        "estimated_cost", "actual_cost", "status", "notes", "route_data", "created_at",
        "updated_at",
    ),
    "calendar_events": (
        "id", "user_id", "title", "description", "start_date", "end_date", "all_day",
        "event_type", "location_name", "reminder_minutes", "created_at", "updated_at",
    ),
    "fuel_log": (
        "id", "user_id", "date", "gallons", "cost", "location", "odometer", "mpg", "created_at",
    ),
    "maintenance_records": (
        "id", "user_id", "task", "date", "mileage", "cost", "location", "notes",
        "next_due_date", "next_due_mileage", "created_at", "updated_at",
    ),
    "expenses": (
        "id", "user_id", "amount", "category", "description", "date", "location",
        "receipt_url", "created_at", "updated_at",
    ),
    "budgets": (
        "id", "user_id", "category", "amount", "period", "start_date", "end_date",
        "created_at", "updated_at",
    ),
}
"""Tables in COPY order, with the columns written."""
# fmt: on


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What ``seed_demo_data`` wrote: rows per table, planted anomalies, wall time."""

    users: int
    profiles: int
    vehicles: int
    trips: int
    calendar_events: int
    fuel_log: int
    maintenance_records: int
    expenses: int
    budgets: int
    seconds: float
    planted: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    preferences: int = 0  # rows of the engine's user_preferences (with ``engine_schema``)

    def rows(self) -> dict[str, int]:
        """Rows written per table, in COPY order."""
        return {table: int(getattr(self, table)) for table in TABLE_COLUMNS}

    @property
    def total_rows(self) -> int:
        """Rows written across all tables."""
        return sum(self.rows().values())


# --------------------------------------------------------------------------------------------
# Reference data

# fmt: off
TOWNS: tuple[tuple[str, float, float], ...] = (
    ("Quartzsite, AZ", 33.6639, -114.23), ("Yuma, AZ", 32.7253, -114.6244),
    ("Tucson, AZ", 32.2217, -110.9265), ("Phoenix, AZ", 33.4484, -112.074),
    ("Flagstaff, AZ", 35.1981, -111.6513), ("Sedona, AZ", 34.8697, -111.761),
    ("Lake Havasu City, AZ", 34.4839, -114.3225), ("Page, AZ", 36.9147, -111.4558),
    ("Benson, AZ", 31.9679, -110.2945), ("Kingman, AZ", 35.1894, -114.053),
    ("Prescott, AZ", 34.54, -112.4685), ("Show Low, AZ", 34.2542, -110.0298),
    ("Ajo, AZ", 32.3717, -112.8607), ("Moab, UT", 38.5733, -109.5498),
    ("St. George, UT", 37.1041, -113.5841), ("Kanab, UT", 37.0475, -112.5263),
    ("Salt Lake City, UT", 40.7608, -111.8911), ("Park City, UT", 40.6461, -111.498),
    ("Cedar City, UT", 37.6775, -113.0619), ("Bend, OR", 44.0582, -121.3153),
    ("Portland, OR", 45.5234, -122.6762), ("Eugene, OR", 44.0521, -123.0867),
    ("Florence, OR", 43.9826, -124.0998), ("Newport, OR", 44.6368, -124.0534),
    ("Medford, OR", 42.3265, -122.8756), ("Astoria, OR", 46.1879, -123.8312),
    ("Brookings, OR", 42.0526, -124.284), ("Asheville, NC", 35.6009, -82.554),
    ("Boone, NC", 36.2168, -81.6745), ("Wilmington, NC", 34.2356, -77.946),
    ("Charlotte, NC", 35.2271, -80.8431), ("Santa Fe, NM", 35.687, -105.9378),
    ("Albuquerque, NM", 35.0845, -106.6511), ("Las Cruces, NM", 32.3123, -106.7783),
    ("Taos, NM", 36.4072, -105.5731), ("Truth or Consequences, NM", 33.1284, -107.2528),
    ("Deming, NM", 32.2687, -107.7586), ("Roswell, NM", 33.3944, -104.5249),
    ("Silver City, NM", 32.7701, -108.2803), ("Denver, CO", 39.7392, -104.9847),
    ("Durango, CO", 37.2753, -107.8801), ("Estes Park, CO", 40.3772, -105.5217),
    ("Grand Junction, CO", 39.0639, -108.5507), ("Colorado Springs, CO", 38.8339, -104.8214),
    ("Salida, CO", 38.5347, -105.9989), ("Pagosa Springs, CO", 37.2694, -107.0098),
    ("Fort Collins, CO", 40.5853, -105.0844), ("Gunnison, CO", 38.5458, -106.9253),
    ("Las Vegas, NV", 36.175, -115.1372), ("Reno, NV", 39.5296, -119.8138),
    ("Pahrump, NV", 36.2083, -115.9839), ("Elko, NV", 40.8324, -115.7631),
    ("Ely, NV", 39.2474, -114.8886), ("Palm Springs, CA", 33.8303, -116.5453),
    ("Indio, CA", 33.7207, -116.2168), ("San Diego, CA", 32.7157, -117.1647),
    ("Bakersfield, CA", 35.3733, -119.0187), ("Sacramento, CA", 38.5816, -121.4944),
    ("Redding, CA", 40.5865, -122.3917), ("Monterey, CA", 36.6002, -121.8947),
    ("Bishop, CA", 37.3635, -118.3951), ("Eureka, CA", 40.8021, -124.1637),
    ("Barstow, CA", 34.8986, -117.0228), ("Borrego Springs, CA", 33.2559, -116.375),
    ("Mammoth Lakes, CA", 37.6486, -118.9721), ("San Luis Obispo, CA", 35.2828, -120.6596),
    ("Missoula, MT", 46.8721, -113.994), ("Bozeman, MT", 45.6797, -111.0386),
    ("Kalispell, MT", 48.1958, -114.3129), ("Billings, MT", 45.7833, -108.5007),
    ("West Yellowstone, MT", 44.6621, -111.1041), ("Whitefish, MT", 48.4111, -114.3376),
    ("Jackson, WY", 43.4799, -110.7624), ("Cody, WY", 44.5263, -109.0565),
    ("Cheyenne, WY", 41.14, -104.8203), ("Casper, WY", 42.8666, -106.3131),
    ("Sheridan, WY", 44.7972, -106.9562), ("Coeur d'Alene, ID", 47.6777, -116.7805),
    ("Boise, ID", 43.6135, -116.2035), ("Idaho Falls, ID", 43.4666, -112.0341),
    ("Sandpoint, ID", 48.2766, -116.5533), ("Seattle, WA", 47.6062, -122.3321),
    ("Spokane, WA", 47.6597, -117.4291), ("Port Angeles, WA", 48.1181, -123.4307),
    ("Wenatchee, WA", 47.4235, -120.3103), ("Bellingham, WA", 48.7595, -122.4882),
    ("Yakima, WA", 46.6021, -120.5059), ("Rapid City, SD", 44.0805, -103.231),
    ("Custer, SD", 43.7666, -103.5988), ("Sioux Falls, SD", 43.5437, -96.728),
    ("Wall, SD", 43.9925, -102.2416), ("Medora, ND", 46.9139, -103.5243),
    ("Bismarck, ND", 46.8083, -100.7837), ("Austin, TX", 30.2672, -97.7431),
    ("San Antonio, TX", 29.4241, -98.4936), ("Fredericksburg, TX", 30.2752, -98.872),
    ("Rockport, TX", 28.0208, -97.056), ("Mission, TX", 26.2159, -98.3253),
    ("Big Spring, TX", 32.2504, -101.4787), ("Amarillo, TX", 35.222, -101.8313),
    ("El Paso, TX", 31.7587, -106.4869), ("Alpine, TX", 30.3586, -103.6621),
    ("Port Aransas, TX", 27.8339, -97.0611), ("Galveston, TX", 29.3013, -94.7977),
    ("Kerrville, TX", 30.0474, -99.1403), ("McAllen, TX", 26.2034, -98.23),
    ("Branson, MO", 36.6437, -93.2185), ("Springfield, MO", 37.2153, -93.2982),
    ("St. Louis, MO", 38.6273, -90.1979), ("Hot Springs, AR", 34.5037, -93.0552),
    ("Eureka Springs, AR", 36.4012, -93.738), ("Gatlinburg, TN", 35.7145, -83.5119),
    ("Nashville, TN", 36.1659, -86.7844), ("Pigeon Forge, TN", 35.7884, -83.5543),
    ("Chattanooga, TN", 35.0456, -85.3097), ("Memphis, TN", 35.1495, -90.049),
    ("Savannah, GA", 32.0835, -81.0998), ("Helen, GA", 34.7015, -83.7316),
    ("Atlanta, GA", 33.749, -84.388), ("Charleston, SC", 32.7763, -79.9327),
    ("Myrtle Beach, SC", 33.6891, -78.8867), ("Beaufort, SC", 32.4317, -80.6699),
    ("Key West, FL", 24.5552, -81.7816), ("Naples, FL", 26.1423, -81.796),
    ("Fort Myers, FL", 26.6217, -81.8406), ("St. Augustine, FL", 29.8947, -81.3145),
    ("Orlando, FL", 28.5383, -81.3792), ("Sarasota, FL", 27.3364, -82.5306),
    ("Pensacola, FL", 30.4213, -87.2169), ("Tampa, FL", 27.9475, -82.4584),
    ("Lakeland, FL", 28.0395, -81.9498), ("Ocala, FL", 29.1872, -82.1401),
    ("Panama City Beach, FL", 30.1766, -85.8055), ("Gulf Shores, AL", 30.246, -87.7008),
    ("Mobile, AL", 30.6944, -88.043), ("Huntsville, AL", 34.7304, -86.5859),
    ("Biloxi, MS", 30.396, -88.8853), ("Natchez, MS", 31.5602, -91.4033),
    ("New Orleans, LA", 29.9547, -90.0751), ("Lafayette, LA", 30.2241, -92.0198),
    ("Bar Harbor, ME", 44.3876, -68.2039), ("Portland, ME", 43.6574, -70.2589),
    ("Burlington, VT", 44.4759, -73.2121), ("Stowe, VT", 44.4653, -72.6846),
    ("Lake George, NY", 43.4262, -73.7123), ("Cooperstown, NY", 42.7005, -74.9243),
    ("Lancaster, PA", 40.0379, -76.3055), ("Gettysburg, PA", 39.8309, -77.2311),
    ("Hershey, PA", 40.2859, -76.6502), ("Elkhart, IN", 41.682, -85.9767),
    ("Nashville, IN", 39.2073, -86.2511), ("Traverse City, MI", 44.7631, -85.6206),
    ("Mackinaw City, MI", 45.7777, -84.7298), ("Marquette, MI", 46.5435, -87.3954),
    ("Duluth, MN", 46.7833, -92.1066), ("Ely, MN", 47.9032, -91.8671),
    ("Bemidji, MN", 47.4736, -94.8803), ("Wisconsin Dells, WI", 43.6275, -89.771),
    ("Eau Claire, WI", 44.8113, -91.4985), ("Williamsburg, VA", 37.2707, -76.7075),
    ("Luray, VA", 38.6654, -78.4595), ("Virginia Beach, VA", 36.8529, -75.978),
    ("Lexington, KY", 37.9887, -84.4777), ("Bowling Green, KY", 36.9903, -86.4436),
    ("Sandusky, OH", 41.4489, -82.708), ("Columbus, OH", 39.9612, -82.9988),
    ("Omaha, NE", 41.2563, -95.9404), ("North Platte, NE", 41.1239, -100.7654),
    ("Scottsbluff, NE", 41.8666, -103.6672), ("Dodge City, KS", 37.7528, -100.0171),
    ("Wichita, KS", 37.6922, -97.3375), ("Tulsa, OK", 36.154, -95.9928),
    ("Oklahoma City, OK", 35.4676, -97.5164), ("Des Moines, IA", 41.6005, -93.6091),
    ("Dubuque, IA", 42.5006, -90.6646), ("Hyannis, MA", 41.6529, -70.2828),
    ("Mystic, CT", 41.3543, -71.9665), ("Ocean City, MD", 38.3365, -75.0849),
    ("Rehoboth Beach, DE", 38.721, -75.076), ("Cape May, NJ", 38.9351, -74.906),
)
"""Real US towns travelers go to: ('City, ST', latitude, longitude), decimal degrees."""
# fmt: on

# fmt: off
_REGION_OF_STATE: dict[str, str] = {
    **dict.fromkeys(("AZ", "NM", "NV", "UT", "TX", "OK"), "Southwest"),
    **dict.fromkeys(("CA", "OR", "WA"), "West Coast"),
    **dict.fromkeys(("CO", "MT", "WY", "ID"), "Mountain West"),
    **dict.fromkeys(("ND", "SD", "NE", "KS", "IA", "MN", "WI", "MI", "IN", "OH", "MO"), "Midwest"),
    **dict.fromkeys(("AR", "LA", "MS", "AL", "TN", "KY"), "South"),
    **dict.fromkeys(("FL", "GA", "SC", "NC", "VA"), "Southeast"),
    **dict.fromkeys(("ME", "VT", "NY", "PA", "MA", "CT", "MD", "DE", "NJ"), "Northeast"),
}

# The seed schema has no time zone: an operator records it in the engine's own
# user_preferences. The demo sets each traveler's to the main zone of the state they are in.
_ZONE_OF_STATE: dict[str, str] = {
    **dict.fromkeys(("CA", "OR", "WA", "NV"), "America/Los_Angeles"),
    "AZ": "America/Phoenix",
    **dict.fromkeys(("NM", "UT", "CO", "MT", "WY"), "America/Denver"),
    "ID": "America/Boise",
    **dict.fromkeys(("TX", "OK", "ND", "SD", "NE", "KS", "IA", "MN", "WI", "MO", "AR", "LA",
                     "MS", "AL", "TN"), "America/Chicago"),
    "MI": "America/Detroit",
    "IN": "America/Indiana/Indianapolis",
    "KY": "America/Kentucky/Louisville",
    **dict.fromkeys(("OH", "FL", "GA", "SC", "NC", "VA", "ME", "VT", "NY", "PA", "MA", "CT",
                     "MD", "DE", "NJ"), "America/New_York"),
}

_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Barbara", "William", "Susan", "Richard", "Karen", "Joseph", "Nancy", "Thomas", "Lisa",
    "Charles", "Sandra", "Gary", "Donna", "Steven", "Carol", "Kenneth", "Sharon", "Dennis",
    "Debra", "Larry", "Cynthia", "Ronald", "Deborah", "Jeff", "Kathy", "Mark", "Pam", "Alex",
    "Maria", "Sam", "Jordan",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker",
    "Nelson", "Carter", "Mitchell", "Roberts",
)

# Vehicle classes (profile vehicle_type), with what drives their fuel use: the motorhome
# itself, or for trailers the truck that tows them.
_CLASS_A, _CLASS_B, _CLASS_C, _FIFTH, _TRAILER, _TRUCK, _VAN = range(7)
_CLASS_NAMES = ("class_a", "class_b", "class_c", "fifth_wheel", "travel_trailer", "truck", "van")
_CLASS_SHARE = (0.16, 0.10, 0.22, 0.16, 0.18, 0.08, 0.10)
_MPG_RANGE = ((7, 10), (16, 20), (10, 14), (9, 12), (9, 12), (11, 15), (16, 20))
"""Miles per US gallon of the fuel-burning vehicle, by class."""
_TANK_RANGE = ((80, 100), (20, 28), (40, 60), (26, 36), (26, 36), (26, 36), (20, 28))
"""Fuel tank, US gallons, of the fuel-burning vehicle, by class."""
_DIESEL_SHARE = (0.6, 0.3, 0.05, 0.45, 0.45, 0.35, 0.2)
_MAKE_MODELS: tuple[tuple[str, ...], ...] = (
    ("Tiffin Allegro Bus", "Newmar Dutch Star", "Winnebago Forza", "Thor Palazzo",
     "Fleetwood Bounder", "Entegra Cornerstone"),
    ("Winnebago Revel", "Airstream Interstate", "Thor Sequence", "Coachmen Beyond",
     "Pleasure-Way Ascent"),
    ("Thor Four Winds", "Jayco Greyhawk", "Winnebago Minnie Winnie", "Coachmen Freelander",
     "Forest River Sunseeker"),
    ("Grand Design Solitude", "Keystone Montana", "Jayco Pinnacle", "Alliance Paradigm"),
    ("Airstream Flying Cloud", "Jayco Jay Flight", "Grand Design Imagine", "Keystone Cougar"),
    ("Ford F-350 with Lance 1172 camper", "Ram 3500 with Northern Lite camper",
     "Chevrolet Silverado 2500 with Four Wheel Camper"),
    ("Ford Transit camper van", "Ram ProMaster conversion", "Mercedes Sprinter conversion"),
)
_TOW_TRUCKS = (
    "Ford F-250 Super Duty", "Ford F-350 Super Duty", "Ram 2500", "Ram 3500",
    "Chevrolet Silverado 2500HD", "GMC Sierra 3500HD",
)
_TOADS = ("Jeep Wrangler", "Honda CR-V", "Chevrolet Equinox", "Ford Bronco", "Honda Fit")
_VEHICLE_ROW_TYPES: tuple[tuple[str, ...], ...] = (
    ("motorhome", "rv"), ("rv", "motorhome"), ("motorhome", "rv"), ("truck",), ("truck",),
    ("truck",), ("rv",),
)
"""vehicles.vehicle_type spellings per class (the tow truck for trailers)."""

_FUEL, _CAMPING, _FOOD, _MAINT, _FUN, _SHOPPING, _UTILITIES, _INSURANCE, _MISC = range(9)
_CATEGORIES = (
    "fuel", "camping", "food", "maintenance", "entertainment", "shopping", "utilities",
    "insurance", "misc stuff",
)
_DESCRIPTIONS: tuple[tuple[str, ...], ...] = (
    ("Fuel",),
    ("Campground", "RV park", "State park site", "KOA", "Thousand Trails", "Harvest Host fee"),
    ("Groceries - Walmart", "Groceries - Safeway", "Trader Joe's", "Diner", "Taco truck",
     "Farmers market", "Pizza night", "Coffee"),
    ("Service",),
    ("National park entry", "Museum", "Movie tickets", "Hot springs", "Kayak rental",
     "Brewery tour"),
    ("Camping World", "Amazon order", "Hardware store", "Outdoor gear", "Laundromat"),
    ("Verizon hotspot", "Starlink", "Phone bill", "Propane refill"),
    ("RV insurance", "Health insurance"),
    ("Misc",),
)

_TASKS = ("oil change", "tire rotation", "generator service", "roof reseal", "brake inspection")
_TASK_DAYS = np.array([183, 365, 365, 365, 365], dtype=np.int64)
"""Service interval per task, days."""
_TASK_MILES = np.array([5_000, 7_500, 0, 0, 12_000], dtype=np.int64)
"""Service interval per task, miles (0: time-based only)."""
_TASK_COST = np.array([[80, 350], [40, 150], [150, 450], [250, 1200], [60, 250]], np.float64)
"""Cost range per task, dollars."""
_TASK_NOTES = ("Synthetic 15W-40", "Rotated and balanced", "Oil and filters", "Dicor lap sealant",
               "Pads at 60%")

_EVENT_TYPES = ("personal", "trip", "maintenance", "meeting", "reminder", "birthday", "holiday")
_EVENT_SHARE = (0.25, 0.2, 0.1, 0.15, 0.15, 0.1, 0.05)
_EVENT_LOCATED = (0.5, 0.95, 0.9, 0.4, 0.05, 0.2, 0.8)
"""Probability that an event of each type has a location_name."""
_EVENT_TITLES: tuple[tuple[str, ...], ...] = (
    ("Dentist appointment", "Farmers market", "Visit family", "Hike with friends", "Haircut"),
    ("Escapees rally", "Xscapers convergence", "FMCA convention", "Campground check-in",
     "Boondocking meetup", "Balloon fiesta"),
    ("RV service appointment", "Tire shop", "Oil change appointment", "Roof inspection"),
    ("Call with accountant", "Doctor appointment", "Video call with team", "Bank appointment"),
    ("Renew registration", "Pay insurance", "Refill prescriptions", "Book next campground"),
    ("Mom's birthday", "Dad's birthday", "Grandkid's birthday", "Anniversary dinner"),
    ("Thanksgiving with family", "Fourth of July", "Holiday potluck", "New Year's party"),
)
_REMINDERS = (b"{60}", b"{60,1440}", b"{30}", b"{1440}")

_TRIP_NOTES = (
    "Dump station at the Flying J", "Check low clearance on route", "Avoid the interstate",
    "Stop at the outlet mall", "Reservation confirmed", "Windy pass, drive early",
)
_BUDGET_CATS = (_FOOD, _CAMPING, _FUEL, _FUN)
_TOTAL = len(_CATEGORIES)  # budget category index standing for all spending
# fmt: on


def _s(values: Sequence[str]) -> BytesArr:
    """ASCII text values as a numpy bytes array, for vectorised lookup."""
    return np.array([v.encode("ascii") for v in values], dtype=np.bytes_)


_NEIGHBOURS = 14  # next stop is one of the nearest towns: 40-500 mile hops, like real RVers


def _town_tables() -> tuple[BytesArr, FloatArr, IntArr]:
    """Town names, great-circle distances (miles) and each town's nearest neighbours."""
    names = _s([t[0] for t in TOWNS])
    lat = np.radians(np.array([t[1] for t in TOWNS]))
    lng = np.radians(np.array([t[2] for t in TOWNS]))
    dlat = lat[:, None] - lat[None, :]
    dlng = lng[:, None] - lng[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlng / 2) ** 2
    great_circle = 2 * 3958.8 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    order = np.argsort(great_circle + np.eye(len(TOWNS)) * 1e9, axis=1)
    return names, great_circle, order[:, :_NEIGHBOURS]


_TOWN_NAMES, _GREAT_CIRCLE, _NEAREST = _town_tables()
_TOWN_POINT = _s([f'{{"lat": {t[1]}, "lng": {t[2]}}}' for t in TOWNS])
_TOWN_REGION = _s([_REGION_OF_STATE[t[0][-2:]] for t in TOWNS])
_TOWN_ZONE = _s([_ZONE_OF_STATE[t[0][-2:]] for t in TOWNS])


class _Grouped:
    """Text choices grouped by an index (e.g. make/models per vehicle class)."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.flat = _s([v for g in groups for v in g])
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        self.sizes = sizes
        self.offsets = np.cumsum(sizes) - sizes

    def pick(self, rng: Rng, group: IntArr) -> BytesArr:
        """One random value of each row's group."""
        r = rng.integers(0, 1 << 30, len(group))
        return self.flat[self.offsets[group] + r % self.sizes[group]]


_MAKES = _Grouped(_MAKE_MODELS)
_VEHICLE_ROW_TYPE = _Grouped(_VEHICLE_ROW_TYPES)
_EXPENSE_TEXT = _Grouped(_DESCRIPTIONS)
_EVENT_TITLE = _Grouped(_EVENT_TITLES)

# --------------------------------------------------------------------------------------------
# COPY text formatting, vectorised: every column becomes a numpy bytes array.

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_TWO_DIGITS = _s([f"{i:02d}" for i in range(100)])
_CLOCK_TIMES = (
    np.arange(_DAY).astype("datetime64[s]").astype("S19").view(np.uint8).reshape(_DAY, 19)[:, 11:]
)
"""'HH:MM:SS' for every second of a day, as an (86400, 8) byte matrix."""
_DAYS_BACK = 4_000  # oldest day the date lookup covers, relative to now
_DAYS_AHEAD = 2_000  # latest day covered (planted expenses sit three years ahead)


@dataclass(frozen=True, eq=False)
class _Clock:
    """`now` as integers: UTC seconds and UTC day numbers (days since 1970-01-01)."""

    now_s: int
    today: int
    dates: BytesArr  # 'YYYY-MM-DD' of day today - _DAYS_BACK + i

    @classmethod
    def of(cls, now: datetime) -> _Clock:
        """Clock of an aware datetime (a naive one is taken as UTC)."""
        aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        now_s = math.floor(aware.timestamp())
        today = now_s // _DAY
        days = np.arange(today - _DAYS_BACK, today + _DAYS_AHEAD + 1).astype("datetime64[D]")
        return cls(now_s=now_s, today=today, dates=days.astype("S10"))

    def day_index(self, days: IntArr) -> IntArr:
        """Positions of day numbers in the date lookup; fails on days it does not cover."""
        idx = days - (self.today - _DAYS_BACK)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(self.dates)):
            raise ValueError("generated day outside the supported date range")
        return idx


def _uuids(rng: Rng, prefix: IntArr) -> BytesArr:
    """UUIDv7-layout ids whose 48-bit time field is `prefix` (increasing => B-tree appends)."""
    n = len(prefix)
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, :6] = prefix.astype(">u8").view(np.uint8).reshape(n, 8)[:, 2:]
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    digits = _HEX[nibbles]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    for dst, src, width in ((0, 0, 8), (9, 8, 4), (14, 12, 4), (19, 16, 4), (24, 20, 12)):
        text[:, dst : dst + width] = digits[:, src : src + width]
    return text.view("S36").ravel()


def _ints(values: IntArr) -> BytesArr:
    """Integers as text."""
    return values.astype(np.int64).astype(np.bytes_)


def _money(cents: IntArr) -> BytesArr:
    """Hundredths (cents, centi-gallons) as exact two-decimal text, e.g. -12.05."""
    whole = np.abs(cents)
    text = np.strings.add(np.strings.add(_ints(whole // 100), b"."), _TWO_DIGITS[whole % 100])
    return np.where(cents < 0, np.strings.add(b"-", text), text)


def _dates(clock: _Clock, days: IntArr) -> BytesArr:
    """Day numbers as 'YYYY-MM-DD'."""
    return clock.dates[clock.day_index(days)]


def _stamps(clock: _Clock, seconds: IntArr) -> BytesArr:
    """UTC unix seconds as timestamptz text 'YYYY-MM-DD HH:MM:SS+00'."""
    n = len(seconds)
    text = np.empty((n, 22), dtype=np.uint8)
    text[:, :10] = _dates(clock, seconds // _DAY).view(np.uint8).reshape(n, 10)
    text[:, 10] = ord(" ")
    text[:, 11:19] = _CLOCK_TIMES[seconds % _DAY]
    text[:, 19:] = np.frombuffer(b"+00", dtype=np.uint8)
    return text.view("S22").ravel()


def _or_null(values: BytesArr, null: BoolArr) -> BytesArr:
    """`values`, with NULL where `null`."""
    return np.where(null, _NULL, values)


def _glue(*parts: BytesArr) -> BytesArr:
    """Adjacent columns pre-joined into one, which halves the per-value work of `_block`.

    Only for fixed-width text (ids, dates, timestamps, constants) whose every value fills its
    array's width: shorter values would leave NUL padding inside the row."""
    n = len(parts[0])
    widths = [p.dtype.itemsize for p in parts]
    glued = np.full((n, sum(widths) + len(parts) - 1), ord("\t"), dtype=np.uint8)
    offset = 0
    for part, width in zip(parts, widths, strict=True):
        glued[:, offset : offset + width] = part.view(np.uint8).reshape(n, width)
        offset += width + 1
    return glued.view(f"S{glued.shape[1]}").ravel()


def _const(value: bytes, n: int) -> list[bytes]:
    """A column holding one value."""
    return [value] * n


def _block(columns: Sequence[BytesArr | list[bytes]]) -> bytes:
    """COPY text of rows made of `columns` (all the same length, already escaped)."""
    lists = [c.tolist() if isinstance(c, np.ndarray) else c for c in columns]
    if not lists[0]:
        return b""
    return b"\n".join(map(b"\t".join, zip(*lists, strict=True))) + b"\n"


def _segments(counts: IntArr) -> tuple[IntArr, IntArr]:
    """For per-user row counts: each row's user (owner) and its position within the user."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


def _segment_cumsum(values: FloatArr, pos: IntArr) -> FloatArr:
    """Running sum of `values` restarting at each user's first row."""
    total: FloatArr = np.cumsum(values)
    first = np.arange(len(values)) - pos
    restarted: FloatArr = total - (total[first] - values[first])
    return restarted


def _lognormal_cents(rng: Rng, median: FloatArr, sigma: float) -> IntArr:
    """Amounts in cents, log-normal around `median` dollars."""
    dollars = median * np.exp(sigma * rng.standard_normal(len(median)))
    return np.maximum(np.rint(dollars * 100), 50).astype(np.int64)


def _created(rng: Rng, clock: _Clock, days: IntArr) -> IntArr:
    """created_at (unix seconds) of rows dated `days`: a few hours into the day, never after now."""
    seconds = days * _DAY + rng.integers(7 * 3600, 22 * 3600, len(days))
    created: IntArr = np.minimum(seconds, clock.now_s - rng.integers(60, 3600, len(days)))
    return created


# --------------------------------------------------------------------------------------------
# The travelers of one chunk: numeric facts first, text last.


def _id_base(clock: _Clock) -> int:
    """Start of the ids' 48-bit sequence (a millisecond time, as in UUIDv7)."""
    return (clock.now_s - 30 * _DAY) * 1000


def _row_ids(rng: Rng, clock: _Clock, first_user: int, n_users: int, n_rows: int) -> BytesArr:
    """Ids of one table's rows for the chunk starting at `first_user`, increasing across chunks."""
    if n_rows > n_users * _ID_SLOTS:
        raise ValueError("more rows than reserved ids")
    prefix = _id_base(clock) + first_user * _ID_SLOTS + np.arange(n_rows, dtype=np.int64)
    return _uuids(rng, prefix)


@dataclass(frozen=True, eq=False)
class _Users:
    """Per-user facts of one chunk (arrays of length n)."""

    first: int  # global number of the chunk's first user
    ids: BytesArr
    vclass: IntArr  # index into _CLASS_NAMES
    diesel: BoolArr
    mpg: FloatArr  # real miles per US gallon of the fuel-burning vehicle
    tank: FloatArr  # its tank, US gallons
    toad: BoolArr  # motorhome towing a car
    spend_scale: FloatArr  # how freely the user spends, 1 = typical
    make_model: BytesArr  # the RV (motorhome, van or trailer)
    tow_truck: BytesArr  # the truck pulling a trailer (unused for motorhomes)

    @property
    def n(self) -> int:
        """Users in the chunk."""
        return len(self.ids)


def _make_users(rng: Rng, clock: _Clock, first: int, n: int) -> _Users:
    """Vehicle class, fuel and spending habits of `n` users."""
    prefix = _id_base(clock) + (first + np.arange(n, dtype=np.int64)) * _ID_SLOTS
    vclass = rng.choice(len(_CLASS_NAMES), n, p=_CLASS_SHARE).astype(np.int64)
    mpg_lo, mpg_hi = np.array(_MPG_RANGE, dtype=np.float64).T
    tank_lo, tank_hi = np.array(_TANK_RANGE, dtype=np.float64).T
    # Class A and C motorhomes often tow a car ("toad"); camper vans practically never do.
    toad = ((vclass == _CLASS_A) | (vclass == _CLASS_C)) & (rng.random(n) < 0.35)
    # A towed car costs a motorhome about a tenth of its fuel economy.
    mpg = rng.uniform(mpg_lo[vclass], mpg_hi[vclass]) * np.where(toad, 0.9, 1.0)
    tank = np.rint(rng.uniform(tank_lo[vclass], tank_hi[vclass]) * 2) / 2
    diesel = rng.random(n) < np.array(_DIESEL_SHARE)[vclass]
    scale = np.exp(0.3 * rng.standard_normal(n))
    make_model = _MAKES.pick(rng, vclass)
    tow_truck = _s(_TOW_TRUCKS)[rng.integers(0, len(_TOW_TRUCKS), n)]
    return _Users(
        first, _uuids(rng, prefix), vclass, diesel, mpg, tank, toad, scale, make_model, tow_truck
    )


_DONE, _ACTIVE, _PLANNED, _CANCELLED, _NO_TRIP = 0, 1, 2, 3, -1
_STATUS_TEXT = _s(("completed", "active", "planned", "cancelled"))
_MAX_TRIPS = 6


@dataclass(frozen=True, eq=False)
class _Trips:
    """Each user's trips as (n, 6) slot matrices in chronological order."""

    places: IntArr  # (n, 7) towns; trip j goes from places[:, j] to places[:, j + 1]
    status: IntArr  # status code per slot, _NO_TRIP past the user's last trip
    start: IntArr  # day numbers
    end: IntArr
    miles: FloatArr  # road distance, miles
    count: IntArr  # trips per user
    completed: IntArr  # slots [0, completed) lie in the past
    active: BoolArr
    here: IntArr  # town the user is at, or leaving from, now
    next_stop: IntArr  # destination of the first planned trip, -1 when none


def _walk(rng: Rng, n: int) -> IntArr:
    """Towns visited in order: each stop is one of the previous stop's nearest towns."""
    places = np.empty((n, _MAX_TRIPS + 1), dtype=np.int64)
    places[:, 0] = rng.integers(0, len(TOWNS), n)
    for j in range(1, _MAX_TRIPS + 1):
        places[:, j] = _NEAREST[places[:, j - 1], rng.integers(0, _NEAREST.shape[1], n)]
    return places


def _put(matrix: IntArr, users: BoolArr, slots: IntArr, values: IntArr) -> None:
    """matrix[u, slots[u]] = values[u] for the selected users."""
    rows = np.flatnonzero(users)
    matrix[rows, slots[rows]] = values[rows]


def _make_trips(rng: Rng, clock: _Clock, n: int) -> _Trips:
    """2-6 chained trips per user: past ones, ~15% under way now, ~40% departing within 10 days."""
    today = clock.today
    rows = np.arange(n)
    active = rng.random(n) < 0.15
    soon = rng.random(n) < 0.40
    later = rng.random(n) < 0.25
    future = active.astype(np.int64) + soon + later
    completed = np.maximum(np.minimum(rng.integers(1, 5, n), _MAX_TRIPS - future), 2 - future)
    places = _walk(rng, n)
    miles = _GREAT_CIRCLE[places[:, :-1], places[:, 1:]] * 1.2 * rng.uniform(0.95, 1.08, (n, 6))
    drive_days = np.floor(miles / rng.uniform(250, 400, (n, 6))).astype(np.int64)
    start = np.zeros((n, _MAX_TRIPS), dtype=np.int64)
    end = np.zeros((n, _MAX_TRIPS), dtype=np.int64)
    status = np.full((n, _MAX_TRIPS), _NO_TRIP, dtype=np.int64)

    active_slot = np.minimum(completed, _MAX_TRIPS - 1)
    a_start = today - rng.integers(0, 4, n)
    a_end = np.maximum(a_start + drive_days[rows, active_slot], today + rng.integers(0, 3, n))
    # Past trips, walking back in time from the active trip (or from today).
    cursor = np.where(active, a_start - rng.integers(1, 15, n), today - rng.integers(0, 21, n))
    for j in range(_MAX_TRIPS - 1, -1, -1):
        past = j < completed
        end[:, j] = np.where(past, cursor, end[:, j])
        start[:, j] = np.where(past, cursor - drive_days[:, j], start[:, j])
        status[:, j] = np.where(past, _DONE, status[:, j])
        cursor = np.where(past, start[:, j] - rng.integers(3, 26, n), cursor)
    status[(status == _DONE) & (rng.random((n, _MAX_TRIPS)) < 0.03)] = _CANCELLED
    _put(status, active, active_slot, np.full(n, _ACTIVE))
    _put(start, active, active_slot, a_start)
    _put(end, active, active_slot, a_end)

    free_from = np.where(active, a_end + 1, today)
    soon_slot = np.minimum(completed + active, _MAX_TRIPS - 1)
    soon_start = np.maximum(today + rng.integers(0, 11, n), free_from)
    soon_end = soon_start + drive_days[rows, soon_slot]
    later_slot = np.minimum(soon_slot + soon, _MAX_TRIPS - 1)
    later_start = np.where(
        soon,
        soon_end + rng.integers(5, 31, n),
        np.maximum(today + rng.integers(12, 61, n), free_from),
    )
    for chosen, slot, begin in ((soon, soon_slot, soon_start), (later, later_slot, later_start)):
        _put(status, chosen, slot, np.full(n, _PLANNED))
        _put(start, chosen, slot, begin)
        _put(end, chosen, slot, begin + drive_days[rows, slot])

    planned = soon | later
    next_stop = np.where(planned, places[rows, np.minimum(soon_slot + 1, _MAX_TRIPS)], -1)
    count = completed + future
    return _Trips(
        places,
        status,
        start,
        end,
        miles,
        count,
        completed,
        active,
        places[rows, completed],
        next_stop,
    )


@dataclass(frozen=True, eq=False)
class _Fuel:
    """Fuel fills (flat rows, grouped by user) and each user's odometer story."""

    owner: IntArr
    day: IntArr
    centigallons: IntArr  # gallons x 100
    cost_cents: IntArr
    odometer: IntArr  # miles, as logged (planted errors included)
    mpg_centi: IntArr  # entered mpg x 100, -1 when not entered
    place: IntArr  # town, -1 when not entered
    first_day: IntArr  # per user
    first_odo: FloatArr
    last_day: IntArr
    last_odo: FloatArr  # odometer at the last fill, miles
    odo_now: FloatArr  # true odometer now: last fill plus the trips driven since
    today: int
    backwards: int  # planted rows whose odometer goes back
    jumps: int  # planted rows whose odometer jumps 15,000 miles

    def odometer_at(self, users: IntArr, days: IntArr) -> FloatArr:
        """True odometer (miles) of each user's vehicle on each day."""
        rate = (self.last_odo - self.first_odo) / np.maximum(1, self.last_day - self.first_day)
        back = self.last_odo[users] - rate[users] * (self.last_day[users] - days)
        share = (days - self.last_day[users]) / np.maximum(1, self.today - self.last_day[users])
        ahead = self.last_odo[users] + (self.odo_now[users] - self.last_odo[users]) * np.clip(
            share, 0.0, 1.0
        )
        return np.rint(np.maximum(np.where(days <= self.last_day[users], back, ahead), 10.0))

    def day_at(self, users: IntArr, miles: FloatArr) -> IntArr:
        """Day each user's odometer read `miles` (the inverse of `odometer_at`)."""
        rate = (self.last_odo - self.first_odo) / np.maximum(1, self.last_day - self.first_day)
        back = self.last_day[users] - (self.last_odo[users] - miles) / rate[users]
        driven = np.maximum(self.odo_now[users] - self.last_odo[users], 1.0)
        share = np.clip((miles - self.last_odo[users]) / driven, 0.0, 1.0)
        ahead = self.last_day[users] + share * (self.today - self.last_day[users])
        return np.rint(np.where(miles <= self.last_odo[users], back, ahead)).astype(np.int64)


def _before_last_trips(rng: Rng, users: _Users, trips: _Trips) -> IntArr:
    """A day just before the latest past trips that add up to 50-105% of the tank's range.

    Filling up there leaves the tank much emptier than the fill's date suggests (at least
    the latest trip is always included, even when it alone is longer than the range)."""
    n = users.n
    slots = np.arange(_MAX_TRIPS)[None, :]
    past = slots < trips.completed[:, None]
    driven = np.where(past & (trips.status == _DONE), trips.miles, 0.0)
    from_latest = np.cumsum(driven[:, ::-1], axis=1)[:, ::-1]  # miles of trip j and all later
    budget = users.tank * users.mpg * rng.uniform(0.5, 1.05, n)
    fits = past & (from_latest <= budget[:, None])
    first = np.where(fits.any(axis=1), fits.argmax(axis=1), trips.completed - 1)
    before: IntArr = trips.start[np.arange(n), first] - rng.integers(0, 3, n)
    return before


def _last_fill_day(rng: Rng, clock: _Clock, users: _Users, trips: _Trips) -> IntArr:
    """Day of each user's last fill: recent (60%), before the last trips (25%), stale (15%)."""
    n = users.n
    mode = rng.random(n)
    days = np.where(
        mode < 0.25,
        _before_last_trips(rng, users, trips),
        np.where(
            mode < 0.40, clock.today - rng.integers(7, 41, n), clock.today - rng.integers(0, 7, n)
        ),
    )
    last: IntArr = np.minimum(days, clock.today)
    return last


def _make_fuel(rng: Rng, clock: _Clock, users: _Users, trips: _Trips) -> _Fuel:
    """8-25 fills over 200-300 days, each of 40-90% of the tank, odometers following the mpg."""
    n = users.n
    rows = np.arange(n)
    last_day = _last_fill_day(rng, clock, users, trips)
    span = rng.integers(200, 301, n)
    counts = rng.integers(8, 26, n)
    owner, pos = _segments(counts)
    m = len(owner)
    first_idx = np.cumsum(counts) - counts
    last_idx = first_idx + counts - 1

    weight = np.where(pos == 0, 0.0, rng.uniform(0.5, 1.5, m))
    elapsed = _segment_cumsum(weight, pos)
    day = last_day[owner] - span[owner] + np.rint(elapsed / elapsed[last_idx][owner] * span[owner])
    day = day.astype(np.int64)

    centigallons = np.rint(users.tank[owner] * rng.uniform(0.4, 0.9, m) * 100).astype(np.int64)
    gallons = centigallons / 100
    # Every fill is to full, so the miles since the previous fill burned this fill's gallons.
    miles = np.where(pos == 0, 0.0, gallons * users.mpg[owner] * rng.uniform(0.93, 1.07, m))
    first_odo = rng.integers(3_000, 90_000, n).astype(np.float64)
    odometer = (first_odo[owner] + np.rint(_segment_cumsum(miles, pos))).astype(np.int64)
    price = np.minimum(rng.uniform(3.2, 5.0, m) + np.where(users.diesel[owner], 0.25, 0.0), 5.0)
    cost = np.rint(gallons * price * 100).astype(np.int64)
    mpg_centi = np.where(
        (pos == 0) | (rng.random(m) < 0.35), -1, np.rint(miles / gallons * 100)
    ).astype(np.int64)
    place = trips.places[owner, rng.integers(0, trips.completed[owner] + 1)]
    place = np.where(rng.random(m) < 0.1, -1, place)

    last_odo = odometer[last_idx].astype(np.float64)
    since = (trips.status == _DONE) & (trips.start >= last_day[:, None])
    driven = np.where(since, trips.miles, 0.0).sum(axis=1)
    slot = np.minimum(trips.completed, _MAX_TRIPS - 1)
    a_start, a_end = trips.start[rows, slot], trips.end[rows, slot]
    progress = np.clip((clock.today - a_start) / (a_end - a_start + 1), 0.0, 1.0)
    driven += np.where(trips.active, trips.miles[rows, slot] * progress, 0.0)

    backwards, jumps = _plant_odometer_errors(rng, odometer, counts, first_idx)
    return _Fuel(
        owner,
        day,
        centigallons,
        cost,
        odometer,
        mpg_centi,
        place,
        day[first_idx],
        first_odo,
        last_day,
        last_odo,
        last_odo + driven,
        clock.today,
        backwards,
        jumps,
    )


def _plant_odometer_errors(
    rng: Rng, odometer: IntArr, counts: IntArr, first_idx: IntArr
) -> tuple[int, int]:
    """Corrupt one middle fill of ~0.3% of users: back 500-8,000 miles, or 15,000 ahead."""
    n = len(counts)
    users = np.flatnonzero(rng.random(n) < 0.003)
    rows = first_idx[users] + rng.integers(1, counts[users] - 1)
    back = rng.random(len(users)) < 0.5
    odometer[rows[back]] = np.maximum(
        odometer[rows[back] - 1] - rng.integers(500, 8_001, int(back.sum())), 0
    )
    odometer[rows[~back]] += 15_000
    return int(back.sum()), int((~back).sum())


@dataclass(frozen=True, eq=False)
class _Service:
    """Maintenance records (flat rows)."""

    owner: IntArr
    task: IntArr  # index into _TASKS
    day: IntArr
    mileage: IntArr  # odometer at the service, miles
    cost_cents: IntArr
    place: IntArr  # town, -1 when not entered
    note: IntArr  # index into _TASK_NOTES, -1 when none
    due_day: IntArr
    due_miles: IntArr  # odometer the next service is due at, -1 when not set


_OVERDUE, _DUE_SOON, _FINE = 0, 1, 2


def _latest_services(
    rng: Rng, clock: _Clock, fuel: _Fuel, owner: IntArr, task: IntArr
) -> tuple[IntArr, IntArr, IntArr, IntArr]:
    """Latest record of each (user, task): day, mileage, due day, due mileage (-1: none).

    ~10% are overdue and ~15% due within 30 days or 500 miles, by date or by mileage."""
    m = len(owner)
    state = rng.choice(3, m, p=(0.10, 0.15, 0.75))
    interval_days, interval_miles = _TASK_DAYS[task], _TASK_MILES[task]
    odo_now = np.rint(fuel.odo_now[owner])
    offset = np.select(
        [state == _OVERDUE, state == _DUE_SOON],
        [-rng.integers(1, 91, m), rng.integers(0, 31, m)],
        rng.integers(31, interval_days - 6),
    )
    day = clock.today + offset - interval_days
    mileage = fuel.odometer_at(owner, day)
    due_miles = mileage + interval_miles

    miles_due = odo_now + np.where(
        state == _OVERDUE, -rng.integers(50, 2_001, m), rng.integers(0, 501, m)
    )
    day_m = np.minimum(fuel.day_at(owner, miles_due - interval_miles), clock.today - 3)
    # Due by mileage only for users who drive enough to get there within the interval.
    by_miles = (interval_miles > 0) & (state != _FINE) & (rng.random(m) < 0.5)
    by_miles &= day_m >= clock.today - interval_days - 90
    day = np.where(by_miles, day_m, day)
    mileage = np.where(by_miles, miles_due - interval_miles, mileage)
    due_miles = np.where(by_miles, miles_due, due_miles)
    # A date-driven record must not be silently overdue by mileage: users often log no
    # due mileage at all, so drop it when it would contradict the intended state.
    contradicts = (~by_miles) & (
        ((state == _FINE) & (due_miles < odo_now + 501))
        | ((state == _DUE_SOON) & (due_miles < odo_now))
    )
    due_miles = np.where(contradicts | (interval_miles == 0), -1, due_miles)
    mileage = np.maximum(mileage, 10)
    return (
        day.astype(np.int64),
        mileage.astype(np.int64),
        (day + interval_days).astype(np.int64),
        due_miles.astype(np.int64),
    )


def _make_maintenance(rng: Rng, clock: _Clock, trips: _Trips, fuel: _Fuel) -> _Service:
    """2-3 tasks per user, each with 1-3 records (older ones superseded by the newest)."""
    n = len(trips.count)
    tasks = np.where(rng.random(n) < 0.5, 2, 3)
    keys = rng.random((n, len(_TASKS)))
    keys[:, 0] -= 0.6  # nearly everyone logs oil changes
    order = np.argsort(keys, axis=1)
    owner, pos = _segments(tasks)
    task = order[owner, pos]
    m = len(owner)
    records = np.where(tasks[owner] == 2, rng.integers(1, 4, m), rng.integers(1, 3, m))

    day, mileage, due_day, due_miles = _latest_services(rng, clock, fuel, owner, task)
    parts = [(owner, task, day, mileage, due_day, due_miles)]
    for k in (1, 2):
        keep = records > k
        owner, task, day = owner[keep], task[keep], day[keep]
        records = records[keep]
        day = day - np.rint(_TASK_DAYS[task] * rng.uniform(0.85, 1.2, len(day))).astype(np.int64)
        mileage = fuel.odometer_at(owner, day).astype(np.int64)
        due_miles = np.where(_TASK_MILES[task] > 0, mileage + _TASK_MILES[task], -1)
        parts.append((owner, task, day, mileage, day + _TASK_DAYS[task], due_miles))
    owner, task, day, mileage, due_day, due_miles = (
        np.concatenate(c) for c in zip(*parts, strict=True)
    )

    order = np.lexsort((day, owner))
    owner, task, day, mileage, due_day, due_miles = (
        a[order] for a in (owner, task, day, mileage, due_day, due_miles)
    )
    m = len(owner)
    lo, hi = _TASK_COST[task, 0], _TASK_COST[task, 1]
    cost = np.rint(rng.uniform(lo, hi) * 100).astype(np.int64)
    place = trips.places[owner, rng.integers(0, trips.completed[owner] + 1)]
    place = np.where(rng.random(m) < 0.2, -1, place)
    note = np.where(rng.random(m) < 0.3, task, -1)
    return _Service(owner, task, day, mileage, cost, place, note, due_day, due_miles)


@dataclass(frozen=True, eq=False)
class _Events:
    """Upcoming calendar events (flat rows)."""

    owner: IntArr
    kind: IntArr  # index into _EVENT_TYPES
    title: BytesArr
    start_s: IntArr
    end_s: IntArr
    all_day: BoolArr
    place: IntArr  # town, -1 when none
    reminder: BytesArr
    created_s: IntArr


def _event_places(rng: Rng, trips: _Trips, owner: IntArr, kind: IntArr) -> IntArr:
    """Where events happen: trip events often at the next planned stop, others near or far."""
    m = len(owner)
    located = rng.random(m) < np.array(_EVENT_LOCATED)[kind]
    next_stop = trips.next_stop[owner]
    at_next_stop = (kind == 1) & (next_stop >= 0) & (rng.random(m) < 0.5)
    nearby = _NEAREST[trips.here[owner], rng.integers(0, 4, m)]
    nearby = np.where(rng.random(m) < 0.4, trips.here[owner], nearby)
    anywhere = rng.integers(0, len(TOWNS), m)  # usually far from the traveler
    local = np.isin(kind, (0, 2, 3)) & (rng.random(m) < 0.7)
    place = np.where(at_next_stop, next_stop, np.where(local, nearby, anywhere))
    return np.where(located, place, -1)


def _make_events(rng: Rng, clock: _Clock, trips: _Trips) -> _Events:
    """1-5 events per user in the 30 days after now."""
    n = len(trips.count)
    owner, _ = _segments(rng.integers(1, 6, n))
    m = len(owner)
    kind = rng.choice(len(_EVENT_TYPES), m, p=_EVENT_SHARE).astype(np.int64)
    all_day_share = np.array((0.05, 0.6, 0.05, 0.0, 0.2, 0.9, 0.9))[kind]
    all_day = rng.random(m) < all_day_share
    timed_start = (clock.now_s + rng.integers(1_800, 30 * _DAY, m)) // 900 * 900
    day_start = (clock.today + rng.integers(1, 31, m)) * _DAY
    start = np.where(all_day, day_start, timed_start)
    rally_days = np.where(kind == 1, rng.integers(1, 5, m), 1)
    end = np.where(all_day, start + rally_days * _DAY, start + 900 * rng.integers(2, 17, m))
    reminder = np.array(_REMINDERS, dtype=np.bytes_)[rng.integers(0, len(_REMINDERS), m)]
    reminder = _or_null(reminder, rng.random(m) < 0.4)
    created = clock.now_s - rng.integers(3_600, 45 * _DAY, m)
    order = np.lexsort((start, owner))
    place = _event_places(rng, trips, owner, kind)
    title = _EVENT_TITLE.pick(rng, kind)
    return _Events(
        owner[order],
        kind[order],
        title[order],
        start[order],
        end[order],
        all_day[order],
        place[order],
        reminder[order],
        created[order],
    )


@dataclass(frozen=True, eq=False)
class _Spending:
    """Expenses (flat rows)."""

    owner: IntArr
    category: IntArr  # index into _CATEGORIES
    day: IntArr
    cents: IntArr
    text: BytesArr  # description
    place: IntArr  # town, -1 when not entered

    @staticmethod
    def join(parts: Sequence[_Spending]) -> _Spending:
        """All rows of `parts`, in order."""
        return _Spending(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _SPENDING_FIELDS)
        )

    def take(self, index: IntArr) -> _Spending:
        """The rows at `index`."""
        return _Spending(*(getattr(self, f)[index] for f in _SPENDING_FIELDS))


_SPENDING_FIELDS = ("owner", "category", "day", "cents", "text", "place")
_HISTORY_DAYS = 120  # expenses cover the 120 days up to now


def _spending(
    rng: Rng,
    owner: IntArr,
    category: int,
    day: IntArr,
    cents: IntArr,
    trips: _Trips,
    text: BytesArr | None = None,
) -> _Spending:
    """Expense rows of one category, located in a town the user visited (or not located)."""
    m = len(owner)
    cat = np.full(m, category, dtype=np.int64)
    if text is None:
        text = _EXPENSE_TEXT.pick(rng, cat)
    place = trips.places[owner, rng.integers(0, trips.completed[owner] + 1)]
    place = np.where(rng.random(m) < 0.3, -1, place)
    return _Spending(owner, cat, day, cents, text, place)


def _monthly_bills(
    rng: Rng, clock: _Clock, trips: _Trips, category: int, share: float, median: float
) -> _Spending:
    """A bill on the same day every month (insurance, phone...) for `share` of the users."""
    users = np.flatnonzero(rng.random(len(trips.count)) < share)
    amount = median * np.exp(0.3 * rng.standard_normal(len(users)))
    day_of_month = rng.integers(0, 28, len(users))
    month = np.datetime64(clock.today, "D").astype("datetime64[M]")
    owners, days, cents = [], [], []
    for back in range(5):
        first = (month - back).astype("datetime64[D]").astype(np.int64)
        day = first + day_of_month
        keep = (day <= clock.today) & (day > clock.today - _HISTORY_DAYS)
        owners.append(users[keep])
        days.append(day[keep])
        wobble = rng.uniform(0.97, 1.03, int(keep.sum()))
        cents.append(np.rint(amount[keep] * wobble * 100).astype(np.int64))
    return _spending(
        rng, np.concatenate(owners), category, np.concatenate(days), np.concatenate(cents), trips
    )


def _camping(rng: Rng, clock: _Clock, users: _Users, trips: _Trips) -> _Spending:
    """Campground stays of 1-10 nights paid on arrival; ~30% of stays are free boondocking."""
    n = users.n
    stays = 40
    nights = rng.integers(1, 11, (n, stays))
    arrival = clock.today - _HISTORY_DAYS + 1 - rng.integers(0, 10, (n, 1)) + np.cumsum(nights, 1)
    paid = (arrival > clock.today - _HISTORY_DAYS) & (arrival <= clock.today)
    paid &= rng.random((n, stays)) >= 0.3
    owner, slot = np.nonzero(paid)
    nightly = 38.0 * users.spend_scale[owner] * np.exp(0.4 * rng.standard_normal(len(owner)))
    cents = np.rint(nightly * nights[owner, slot] * 100).astype(np.int64)
    return _spending(rng, owner, _CAMPING, arrival[owner, slot], cents, trips)


def _purchases(
    rng: Rng,
    clock: _Clock,
    users: _Users,
    trips: _Trips,
    category: int,
    count: tuple[int, int],
    median: float,
    sigma: float,
) -> _Spending:
    """`count` (inclusive range) one-off purchases per user, log-normal around `median` dollars."""
    owner, _ = _segments(rng.integers(count[0], count[1] + 1, users.n))
    day = clock.today - rng.integers(0, _HISTORY_DAYS, len(owner))
    cents = _lognormal_cents(rng, median * users.spend_scale[owner], sigma)
    return _spending(rng, owner, category, day, cents, trips)


def _outliers(rng: Rng, clock: _Clock, users: _Users, trips: _Trips) -> _Spending:
    """For ~1% of users, one food expense of 8-12x their usual in the last 7 days."""
    owner = np.flatnonzero(rng.random(users.n) < 0.01)
    day = clock.today - rng.integers(0, 7, len(owner))
    dollars = _FOOD_MEDIAN * users.spend_scale[owner] * rng.uniform(8, 12, len(owner))
    text = np.full(len(owner), b"Catering for the campground potluck")
    return _spending(rng, owner, _FOOD, day, np.rint(dollars * 100).astype(np.int64), trips, text)


_FOOD_MEDIAN = 42.0  # dollars per food expense


def _make_expenses(
    rng: Rng, clock: _Clock, users: _Users, trips: _Trips, fuel: _Fuel, service: _Service
) -> tuple[_Spending, Counter[str]]:
    """30-60 expenses per user over 120 days, sorted by user and day, with planted errors."""
    window = clock.today - _HISTORY_DAYS
    fills = np.flatnonzero(fuel.day > window)
    services = np.flatnonzero(service.day > window)
    outliers = _outliers(rng, clock, users, trips)
    parts = [
        _monthly_bills(rng, clock, trips, _INSURANCE, 0.7, 160.0),
        _monthly_bills(rng, clock, trips, _UTILITIES, 0.85, 110.0),
        _camping(rng, clock, users, trips),
        _purchases(rng, clock, users, trips, _FOOD, (8, 16), _FOOD_MEDIAN, 0.6),
        _purchases(rng, clock, users, trips, _FUN, (1, 4), 35.0, 0.7),
        _purchases(rng, clock, users, trips, _SHOPPING, (1, 4), 55.0, 0.8),
        _spending(rng, fuel.owner[fills], _FUEL, fuel.day[fills], fuel.cost_cents[fills], trips),
        _spending(
            rng,
            service.owner[services],
            _MAINT,
            service.day[services],
            service.cost_cents[services],
            trips,
            _s(_TASKS)[service.task[services]],
        ),
        outliers,
    ]
    spent = _Spending.join(parts)
    spent = spent.take(np.lexsort((spent.day, spent.owner)))
    planted: Counter[str] = Counter(expense_outliers=len(outliers.owner))
    _plant_expense_errors(rng, clock, spent, planted)
    return spent, planted


def _plant_expense_errors(rng: Rng, clock: _Clock, spent: _Spending, planted: Counter[str]) -> None:
    """Negative amounts (~0.2%), unknown categories (~0.1%), dates 3 years ahead (~0.05%)."""
    draw = rng.random(len(spent.owner))
    negative = draw < 0.002
    unknown = (draw >= 0.002) & (draw < 0.003)
    future = (draw >= 0.003) & (draw < 0.0035)
    spent.cents[negative] *= -1
    spent.category[unknown] = _MISC
    spent.text[unknown] = b"Misc"
    spent.day[future] = clock.today + 3 * 365 + rng.integers(0, 30, int(future.sum()))
    planted.update(
        negative_expenses=int(negative.sum()),
        unknown_category_expenses=int(unknown.sum()),
        future_expenses=int(future.sum()),
    )


@dataclass(frozen=True, eq=False)
class _Budgets:
    """Budgets (flat rows)."""

    owner: IntArr
    category: IntArr  # index into _CATEGORIES, _TOTAL for all spending
    cents: IntArr  # limit per period
    period: IntArr  # index into _PERIODS
    start_day: IntArr
    end_day: IntArr  # -1: open-ended


_MONTHLY, _WEEKLY, _YEARLY = 0, 1, 2
_PERIODS = _s(("monthly", "weekly", "yearly"))
_BUDGET_CATEGORY = _s((*_CATEGORIES, "total"))


def _spend_matrix(spent: _Spending, n: int, first_day: int, last_day: int) -> FloatArr:
    """Cents spent per (user, category) in [first_day, last_day]; last column: all categories."""
    ok = (spent.day >= first_day) & (spent.day <= last_day) & (spent.cents > 0)
    width = len(_CATEGORIES) + 1
    key = spent.owner[ok] * width + spent.category[ok]
    sums = np.bincount(key, weights=spent.cents[ok], minlength=n * width).astype(np.float64)
    sums = sums.reshape(n, width)
    sums[:, _TOTAL] = sums[:, :_TOTAL].sum(axis=1)
    return sums


def _limits(rng: Rng, spent: FloatArr, typical: FloatArr, elapsed: FloatArr) -> IntArr:
    """Budget limits (cents): ~10% already over, ~10% past 80%, ~10% on pace to overspend.

    `spent` is the current period's spending so far, `typical` a usual full period's, and
    `elapsed` the share of the period gone by."""
    m = len(spent)
    # Skewed above 10% each: budgets on categories with little spending stay healthy.
    state = rng.choice(4, m, p=(0.13, 0.13, 0.13, 0.61))
    projected = spent / elapsed
    healthy = np.maximum(typical * rng.uniform(1.1, 1.5, m), projected * rng.uniform(1.15, 1.5, m))
    healthy = np.ceil(np.maximum(healthy, 2_500) / 2_500) * 2_500  # people pick round numbers
    over = np.floor(spent * rng.uniform(0.6, 0.95, m) / 100) * 100
    past_80 = np.ceil(spent / rng.uniform(0.82, 0.97, m))
    # On pace: under 80% today, but today's rate would cross the limit before the period ends.
    on_pace = rng.uniform(spent / 0.78, np.maximum(projected * 0.95, spent / 0.78))
    meaningful = spent >= 2_000
    can_pace = meaningful & (elapsed < 0.74)
    limit = np.select(
        [
            meaningful & (state == 0),
            meaningful & (state == 1),
            can_pace & (state == 2),
            meaningful & (state == 2),
        ],
        [over, past_80, np.ceil(on_pace), past_80],
        healthy,
    )
    cents: IntArr = np.maximum(limit, 100).astype(np.int64)
    return cents


def _make_budgets(rng: Rng, clock: _Clock, n: int, spent: _Spending) -> _Budgets:
    """1-4 budgets per user on food, camping, fuel, entertainment; 20% keep a total budget."""
    today = clock.today
    per_user = rng.integers(1, 5, n)
    order = np.argsort(rng.random((n, len(_BUDGET_CATS))), axis=1)
    owner, pos = _segments(per_user)
    m = len(owner)
    category = np.array(_BUDGET_CATS)[order[owner, pos]]
    total = (rng.random(n) < 0.2)[owner] & (pos == per_user[owner] - 1)
    category = np.where(total, _TOTAL, category)
    draw = rng.random(m)
    period = np.where(draw < 0.05, _WEEKLY, np.where(draw < 0.08, _YEARLY, _MONTHLY))

    month = np.datetime64(today, "D").astype("datetime64[M]")
    month_start = int(month.astype("datetime64[D]").astype(np.int64))
    month_days = int((month + 1).astype("datetime64[D]").astype(np.int64)) - month_start
    week_start = today - (today + 3) % 7  # day 0 (1970-01-01) was a Thursday
    year_start = int(month.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64))
    baseline = _spend_matrix(spent, n, today - 90, today)[owner, category] / 90  # cents per day

    limits = np.empty(m, dtype=np.int64)
    for code, begin, length in (
        (_MONTHLY, month_start, month_days),
        (_WEEKLY, week_start, 7),
        (_YEARLY, year_start, 365),
    ):
        rows = period == code
        so_far = _spend_matrix(spent, n, begin, today)[owner[rows], category[rows]]
        elapsed = np.full(int(rows.sum()), (today - begin + 1) / length)
        limits[rows] = _limits(rng, so_far, baseline[rows] * length, elapsed)

    start_day = np.minimum(month_start, week_start) - rng.integers(0, 366, m)
    end_day = np.where(rng.random(m) < 0.15, today + rng.integers(20, 366, m), -1)
    return _Budgets(owner, category, limits, period, start_day, end_day)


# --------------------------------------------------------------------------------------------
# Text of each table


def _town(place: IntArr) -> BytesArr:
    """'City, ST' of town indices, NULL where -1."""
    return _or_null(_TOWN_NAMES[np.maximum(place, 0)], place < 0)


def _profiles_text(rng: Rng, clock: _Clock, seed: int, users: _Users, trips: _Trips) -> bytes:
    """profiles: ~95% active, mostly imperial units, towing text for toads and trailers."""
    n = users.n
    number = _ints(users.first + np.arange(n, dtype=np.int64))
    email = np.strings.add(np.strings.add(b"user", number), f"-{seed}@example.com".encode())
    first = _s(_FIRST_NAMES)[rng.integers(0, len(_FIRST_NAMES), n)]
    full_name = np.strings.add(
        np.strings.add(first, b" "), _s(_LAST_NAMES)[rng.integers(0, len(_LAST_NAMES), n)]
    )
    trailer = (users.vclass == _FIFTH) | (users.vclass == _TRAILER)
    toad = _s(_TOADS)[rng.integers(0, len(_TOADS), n)]
    # Trailers are always towed by a truck; an empty string also means "not towing".
    towing = np.where(trailer, users.tow_truck, np.where(users.toad, toad, b""))
    towing = _or_null(towing, (towing == b"") & (rng.random(n) < 0.8))
    created = clock.now_s - rng.integers(460 * _DAY, 1_500 * _DAY, n)
    updated = clock.now_s - rng.integers(0, 30 * _DAY, n)
    return _block(
        [
            users.ids,
            email,
            full_name,
            _or_null(first, rng.random(n) < 0.5),
            _s(_CLASS_NAMES)[users.vclass],
            users.make_model,
            np.where(users.diesel, b"diesel", b"gasoline"),
            towing,
            _TOWN_REGION[trips.here],
            _const(b"user", n),
            np.where(rng.random(n) < 0.95, b"active", b"inactive"),
            np.where(rng.random(n) < 0.88, b"imperial", b"metric"),
            _stamps(clock, created),
            _stamps(clock, updated),
        ]
    )


def _expiry(rng: Rng, clock: _Clock, n: int) -> BytesArr:
    """Registration/insurance expiry: ~3% lapsed, ~8% within 30 days, ~8% unknown."""
    draw = rng.random(n)
    offset = np.where(
        draw < 0.03,
        -rng.integers(1, 61, n),
        np.where(draw < 0.11, rng.integers(0, 31, n), rng.integers(31, 366, n)),
    )
    return _or_null(_dates(clock, clock.today + offset), rng.random(n) < 0.08)


def _vehicles_text(rng: Rng, clock: _Clock, users: _Users, fuel: _Fuel) -> tuple[bytes, int, int]:
    """One primary vehicle for ~90% of users; text, rows, rows without a known tank."""
    n = users.n
    has = np.flatnonzero(rng.random(n) < 0.9)
    k = len(has)
    vclass = users.vclass[has]
    trailer = (vclass == _FIFTH) | (vclass == _TRAILER)
    # Some trailer owners register the trailer itself: no engine, no tank, no odometer.
    the_trailer = trailer & (rng.random(k) < 0.2)
    kind = np.where(the_trailer, _s(_CLASS_NAMES)[vclass], _VEHICLE_ROW_TYPE.pick(rng, vclass))
    name = np.where(trailer & ~the_trailer, users.tow_truck[has], users.make_model[has])
    fuel_type = _or_null(np.where(users.diesel[has], b"diesel", b"gasoline"), the_trailer)
    no_tank = the_trailer | (rng.random(k) < 0.25)
    tank = _or_null(_money(np.rint(users.tank[has] * 100).astype(np.int64)), no_tank)
    # Often the odometer was last typed in at the last fill-up, before the latest trips.
    stale = rng.random(k) < 0.4
    odometer = np.rint(np.where(stale, fuel.last_odo[has], fuel.odo_now[has])).astype(np.int64)
    text = _block(
        [
            _row_ids(rng, clock, users.first, n, k),
            users.ids[has],
            name,
            kind,
            fuel_type,
            tank,
            _or_null(_ints(odometer), the_trailer),
            _expiry(rng, clock, k),
            _expiry(rng, clock, k),
            _const(b"t", k),
        ]
    )
    return text, k, int(no_tank.sum())


def _route_data(rng: Rng, origin: IntArr, destination: IntArr) -> tuple[BytesArr, Counter[str]]:
    """route_data: coordinates (~85%), NULL (~14%), JSON-in-a-string (~0.5%), junk (~0.2%)."""
    m = len(origin)
    good = np.strings.add(
        np.strings.add(np.strings.add(b'{"origin": ', _TOWN_POINT[origin]), b', "destination": '),
        np.strings.add(_TOWN_POINT[destination], b"}"),
    )
    draw = rng.random(m)
    route = _or_null(good, draw < 0.14).astype(object)
    as_string = np.flatnonzero((draw >= 0.14) & (draw < 0.145))
    junk = np.flatnonzero((draw >= 0.145) & (draw < 0.147))
    for i in as_string:
        # A jsonb string holding JSON text; COPY text needs its backslashes doubled.
        inner = bytes(good[i]).replace(b'"', b'\\"')
        route[i] = (b'"' + inner + b'"').replace(b"\\", b"\\\\")
    for i in junk:
        route[i] = (b'"not json"', b'"{origin: Moab"', b'"null"')[i % 3]
    planted = Counter(route_data_json_strings=len(as_string), route_data_garbage=len(junk))
    return route.astype(np.bytes_), planted


def _trips_text(
    rng: Rng, clock: _Clock, users: _Users, trips: _Trips
) -> tuple[bytes, int, Counter[str]]:
    """trips: one row per used slot; costs in dollars, distances in miles."""
    owner, slot = np.nonzero(trips.status != _NO_TRIP)
    m = len(owner)
    status = trips.status[owner, slot]
    origin, destination = trips.places[owner, slot], trips.places[owner, slot + 1]
    miles = trips.miles[owner, slot]
    start, end = trips.start[owner, slot], trips.end[owner, slot]
    fuel_cost = miles / users.mpg[owner] * rng.uniform(3.6, 4.4, m)
    estimated = np.rint(fuel_cost * rng.uniform(1.0, 1.3, m) * 100).astype(np.int64)
    actual = np.rint(estimated * rng.uniform(0.85, 1.25, m)).astype(np.int64)
    notes = _s(_TRIP_NOTES)[rng.integers(0, len(_TRIP_NOTES), m)]
    route, planted = _route_data(rng, origin, destination)
    planned = status == _PLANNED
    created = np.where(
        planned,
        clock.now_s - rng.integers(3_600, 40 * _DAY, m),
        start * _DAY - rng.integers(_DAY, 30 * _DAY, m),
    )
    updated = np.where(
        status == _DONE,
        np.minimum(end * _DAY + rng.integers(12 * 3600, 30 * 3600, m), clock.now_s - 60),
        created,
    )
    text = _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[owner]),
            _TOWN_NAMES[origin],
            _TOWN_NAMES[destination],
            _glue(_dates(clock, start), _dates(clock, end)),
            _money(np.rint(miles * 100).astype(np.int64)),
            _money(estimated),
            _or_null(_money(actual), status != _DONE),
            _STATUS_TEXT[status],
            _or_null(notes, rng.random(m) < 0.8),
            route,
            _glue(_stamps(clock, created), _stamps(clock, np.maximum(updated, created))),
        ]
    )
    return text, m, planted


def _events_text(rng: Rng, clock: _Clock, users: _Users, events: _Events) -> bytes:
    """calendar_events."""
    m = len(events.owner)
    description = _or_null(np.full(m, b"Added from the trip planner"), rng.random(m) < 0.85)
    created = _stamps(clock, events.created_s)
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[events.owner]),
            events.title,
            description,
            _glue(_stamps(clock, events.start_s), _stamps(clock, events.end_s)),
            np.where(events.all_day, b"t", b"f"),
            _s(_EVENT_TYPES)[events.kind],
            _town(events.place),
            events.reminder,
            _glue(created, created),
        ]
    )


def _fuel_text(rng: Rng, clock: _Clock, users: _Users, fuel: _Fuel) -> bytes:
    """fuel_log: gallons (US), cost (dollars), odometer (miles), mpg as entered."""
    m = len(fuel.owner)
    return _block(
        [
            _glue(
                _row_ids(rng, clock, users.first, users.n, m),
                users.ids[fuel.owner],
                _dates(clock, fuel.day),
            ),
            _money(fuel.centigallons),
            _money(fuel.cost_cents),
            _town(fuel.place),
            _ints(fuel.odometer),
            _or_null(_money(fuel.mpg_centi), fuel.mpg_centi < 0),
            _stamps(clock, _created(rng, clock, fuel.day)),
        ]
    )


def _maintenance_text(rng: Rng, clock: _Clock, users: _Users, service: _Service) -> bytes:
    """maintenance_records: mileage and next_due_mileage are odometers in miles."""
    m = len(service.owner)
    created = _stamps(clock, _created(rng, clock, service.day))
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[service.owner]),
            _s(_TASKS)[service.task],
            _dates(clock, service.day),
            _ints(service.mileage),
            _money(service.cost_cents),
            _town(service.place),
            _or_null(_s(_TASK_NOTES)[np.maximum(service.note, 0)], service.note < 0),
            _dates(clock, service.due_day),
            _or_null(_ints(service.due_miles), service.due_miles < 0),
            _glue(created, created),
        ]
    )


def _expenses_text(rng: Rng, clock: _Clock, users: _Users, spent: _Spending) -> bytes:
    """expenses: amounts in dollars."""
    m = len(spent.owner)
    # Rows dated ahead (planted) were still typed in before now.
    created = _created(rng, clock, np.minimum(spent.day, clock.today))
    stamp = _stamps(clock, created)
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[spent.owner]),
            _money(spent.cents),
            _s(_CATEGORIES)[spent.category],
            spent.text,
            _dates(clock, spent.day),
            _town(spent.place),
            _glue(np.full(m, _NULL), stamp, stamp),
        ]
    )


def _budgets_text(rng: Rng, clock: _Clock, users: _Users, budgets: _Budgets) -> bytes:
    """budgets: limits in dollars per period."""
    m = len(budgets.owner)
    created = _stamps(
        clock, np.minimum(budgets.start_day * _DAY + rng.integers(0, _DAY, m), clock.now_s - 60)
    )
    return _block(
        [
            _glue(_row_ids(rng, clock, users.first, users.n, m), users.ids[budgets.owner]),
            _BUDGET_CATEGORY[budgets.category],
            _money(budgets.cents),
            _PERIODS[budgets.period],
            _dates(clock, budgets.start_day),
            _or_null(_dates(clock, np.maximum(budgets.end_day, clock.today)), budgets.end_day < 0),
            _glue(created, created),
        ]
    )


# --------------------------------------------------------------------------------------------
# Chunks and the public entry point


@dataclass(frozen=True, eq=False)
class _Chunk:
    """COPY text of one chunk of users, per table."""

    users: int
    blocks: dict[str, bytes]
    rows: Counter[str]
    planted: Counter[str]
    preferences: bytes  # rows of the engine's user_preferences (PREFERENCE_COLUMNS)


PREFERENCE_COLUMNS = ("user_id", "opted_out", "disabled_types", "timezone", "quiet_start",
                      "quiet_end", "daily_cap")
_DISABLED_CHOICES = _s(("{spending_anomaly}", "{group:budget}", "{fuel_economy_drop}",
                        "{spending_anomaly,fuel_economy_drop}"))
_QUIET_STARTS = _s(("22:00:00", "21:00:00", "23:00:00"))
_QUIET_ENDS = _s(("07:00:00", "06:30:00", "08:00:00"))


def _preferences_text(rng: Rng, users: _Users, trips: _Trips) -> tuple[bytes, int]:
    """Engine preferences of the travelers who set any: ~90% a time zone (that of the state
    they are in), ~30% quiet hours, ~4% some types switched off, ~5% their own daily cap, ~2%
    opted out of suggestions altogether. Returns the COPY text and its row count."""
    n = users.n
    zone = _or_null(_TOWN_ZONE[trips.here], rng.random(n) >= 0.9)
    quiet = rng.random(n) < 0.3
    window = rng.integers(0, len(_QUIET_STARTS), n)
    disabled = np.where(rng.random(n) < 0.04,
                        _DISABLED_CHOICES[rng.integers(0, len(_DISABLED_CHOICES), n)], b"{}")
    cap = _or_null(np.where(rng.random(n) < 0.5, b"1", b"5"), rng.random(n) >= 0.05)
    opted_out = rng.random(n) < 0.02
    keep = (zone != _NULL) | quiet | (disabled != b"{}") | (cap != _NULL) | opted_out
    columns = [
        users.ids,
        np.where(opted_out, b"t", b"f"),
        disabled,
        zone,
        _or_null(_QUIET_STARTS[window], ~quiet),
        _or_null(_QUIET_ENDS[window], ~quiet),
        cap,
    ]
    return _block([c[keep] for c in columns]), int(keep.sum())


def _build_chunk(seed: int, index: int, first: int, n: int, clock: _Clock) -> _Chunk:
    """Generate users [first, first + n): chunk `index` of `seed` (independent of other chunks)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))
    users = _make_users(rng, clock, first, n)
    trips = _make_trips(rng, clock, n)
    fuel = _make_fuel(rng, clock, users, trips)
    service = _make_maintenance(rng, clock, trips, fuel)
    events = _make_events(rng, clock, trips)
    spent, planted = _make_expenses(rng, clock, users, trips, fuel, service)
    budgets = _make_budgets(rng, clock, n, spent)

    vehicles, n_vehicles, no_tank = _vehicles_text(rng, clock, users, fuel)
    trips_block, n_trips, route_planted = _trips_text(rng, clock, users, trips)
    planted.update(route_planted)
    planted.update(
        fuel_odometer_backwards=fuel.backwards,
        fuel_odometer_jumps=fuel.jumps,
        users_without_vehicle=n - n_vehicles,
        vehicles_without_tank=no_tank,
    )
    blocks = {
        "profiles": _profiles_text(rng, clock, seed, users, trips),
        "vehicles": vehicles,
        "trips": trips_block,
        "calendar_events": _events_text(rng, clock, users, events),
        "fuel_log": _fuel_text(rng, clock, users, fuel),
        "maintenance_records": _maintenance_text(rng, clock, users, service),
        "expenses": _expenses_text(rng, clock, users, spent),
        "budgets": _budgets_text(rng, clock, users, budgets),
    }
    # Drawn last, so that every other table's rows are what they were without it.
    preferences, n_preferences = _preferences_text(rng, users, trips)
    rows = Counter(
        profiles=n,
        vehicles=n_vehicles,
        trips=n_trips,
        calendar_events=len(events.owner),
        fuel_log=len(fuel.owner),
        maintenance_records=len(service.owner),
        expenses=len(spent.owner),
        budgets=len(budgets.owner),
    )
    rows["user_preferences"] = n_preferences
    return _Chunk(n, blocks, rows, planted, preferences)


async def _copy_chunk(conn: psycopg.AsyncConnection[Any], chunk: _Chunk,
                      engine_schema: str | None) -> None:
    """Write one chunk in its own transaction (a savepoint if one is already open); its
    preferences too when ``engine_schema`` is given."""
    async with conn.transaction():
        # Losing the last chunks of a crash is fine for demo data; waiting on fsync is not.
        await conn.execute("SET LOCAL synchronous_commit = off")
        async with conn.cursor() as cur:
            for table, block in chunk.blocks.items():
                if not block:
                    continue
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier("public", table),
                    sql.SQL(", ").join(map(sql.Identifier, TABLE_COLUMNS[table])),
                )
                async with cur.copy(statement) as copy:
                    await copy.write(block)
            if engine_schema is not None and chunk.preferences:
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(engine_schema, "user_preferences"),
                    sql.SQL(", ").join(map(sql.Identifier, PREFERENCE_COLUMNS)),
                )
                async with cur.copy(statement) as copy:
                    await copy.write(chunk.preferences)


async def seed_demo_data(
    conn: psycopg.AsyncConnection[Any],
    *,
    users: int,
    seed: int,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    engine_schema: str | None = None,
) -> SeedReport:
    """Insert `users` demo travelers into the seed preset's tables, which must exist.

    With ``engine_schema`` (a migrated engine schema), their preferences (time zone, quiet
    hours, switched-off types, daily cap, opt-out) go into its ``user_preferences`` too:
    the seed schema itself has no time zone.

    The same `users`, `seed` (>= 0) and `now` always produce the same rows. Everything is
    dated relative to `now` (a naive datetime is taken as UTC): history before it, planned
    trips and calendar events after it, and every ``created_at`` at or before it. Each chunk
    of ``CHUNK_USERS`` users is committed in its own transaction; `progress` receives the
    number of users written so far after each one.

    With more than one chunk, chunks are built ahead in a spawned worker process, so a script
    calling this must guard its entry point with ``if __name__ == "__main__":``.
    """
    if users < 0 or seed < 0:
        raise ValueError("users and seed must be >= 0")
    started = time.perf_counter()
    clock = _Clock.of(now)
    plan = [
        (i, first, min(CHUNK_USERS, users - first))
        for i, first in enumerate(range(0, users, CHUNK_USERS))
    ]
    rows: Counter[str] = Counter()
    planted: Counter[str] = Counter()
    written = 0

    # Chunk k+1 is built while chunk k is being copied. In a worker process, not a thread:
    # a thread holding the GIL starves the event loop that feeds COPY, and the server idles.
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))

    def build(step: int) -> asyncio.Future[_Chunk]:
        if len(plan) == 1:  # not worth starting a process for
            return asyncio.ensure_future(asyncio.to_thread(_build_chunk, seed, *plan[0], clock))
        return loop.run_in_executor(pool, _build_chunk, seed, *plan[step], clock)

    pending = build(0) if plan else None
    try:
        for step in range(len(plan)):
            assert pending is not None
            chunk = await pending
            pending = build(step + 1) if step + 1 < len(plan) else None
            await _copy_chunk(conn, chunk, engine_schema)
            rows.update(chunk.rows)
            planted.update(chunk.planted)
            written += chunk.users
            if progress is not None:
                progress(written)
    finally:
        if pending is not None:
            pending.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
    return SeedReport(
        users=written,
        seconds=time.perf_counter() - started,
        planted=dict(planted),
        preferences=rows["user_preferences"] if engine_schema is not None else 0,
        **{table: rows[table] for table in TABLE_COLUMNS},
    )
