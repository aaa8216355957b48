"""Reference data of the demo: real US towns, names, vehicles, expense descriptions, event
titles, service tasks, and the lookup tables derived from them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pam_proactive.demo.encoding import (
    BytesArr,
    FloatArr,
    IntArr,
    Rng,
    ascii_array,
)

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
ZONE_OF_STATE: dict[str, str] = {
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

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Barbara", "William", "Susan", "Richard", "Karen", "Joseph", "Nancy", "Thomas", "Lisa",
    "Charles", "Sandra", "Gary", "Donna", "Steven", "Carol", "Kenneth", "Sharon", "Dennis",
    "Debra", "Larry", "Cynthia", "Ronald", "Deborah", "Jeff", "Kathy", "Mark", "Pam", "Alex",
    "Maria", "Sam", "Jordan",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker",
    "Nelson", "Carter", "Mitchell", "Roberts",
)

# Vehicle classes (profile vehicle_type), with what drives their fuel use: the motorhome
# itself, or for trailers the truck that tows them.
CLASS_A, _CLASS_B, CLASS_C, FIFTH, TRAILER, _TRUCK, _VAN = range(7)
CLASS_NAMES = ("class_a", "class_b", "class_c", "fifth_wheel", "travel_trailer", "truck", "van")
CLASS_SHARE = (0.16, 0.10, 0.22, 0.16, 0.18, 0.08, 0.10)
MPG_RANGE = ((7, 10), (16, 20), (10, 14), (9, 12), (9, 12), (11, 15), (16, 20))
"""Miles per US gallon of the fuel-burning vehicle, by class."""
TANK_RANGE = ((80, 100), (20, 28), (40, 60), (26, 36), (26, 36), (26, 36), (20, 28))
"""Fuel tank, US gallons, of the fuel-burning vehicle, by class."""
DIESEL_SHARE = (0.6, 0.3, 0.05, 0.45, 0.45, 0.35, 0.2)
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
TOW_TRUCKS = (
    "Ford F-250 Super Duty", "Ford F-350 Super Duty", "Ram 2500", "Ram 3500",
    "Chevrolet Silverado 2500HD", "GMC Sierra 3500HD",
)
TOADS = ("Jeep Wrangler", "Honda CR-V", "Chevrolet Equinox", "Ford Bronco", "Honda Fit")
_VEHICLE_ROW_TYPES: tuple[tuple[str, ...], ...] = (
    ("motorhome", "rv"), ("rv", "motorhome"), ("motorhome", "rv"), ("truck",), ("truck",),
    ("truck",), ("rv",),
)
"""vehicles.vehicle_type spellings per class (the tow truck for trailers)."""

FUEL, CAMPING, FOOD, MAINT, FUN, SHOPPING, UTILITIES, INSURANCE, MISC = range(9)
CATEGORIES = (
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

TASKS = ("oil change", "tire rotation", "generator service", "roof reseal", "brake inspection")
TASK_DAYS = np.array([183, 365, 365, 365, 365], dtype=np.int64)
"""Service interval per task, days."""
TASK_MILES = np.array([5_000, 7_500, 0, 0, 12_000], dtype=np.int64)
"""Service interval per task, miles (0: time-based only)."""
TASK_COST = np.array([[80, 350], [40, 150], [150, 450], [250, 1200], [60, 250]], np.float64)
"""Cost range per task, dollars."""
TASK_NOTES = ("Synthetic 15W-40", "Rotated and balanced", "Oil and filters", "Dicor lap sealant",
               "Pads at 60%")

PERSONAL, TRIP_EVENT, MAINT_EVENT, MEETING, _REMINDER, BIRTHDAY, HOLIDAY = range(7)
EVENT_TYPES = ("personal", "trip", "maintenance", "meeting", "reminder", "birthday", "holiday")
EVENT_SHARE = (0.25, 0.2, 0.1, 0.15, 0.15, 0.1, 0.05)
EVENT_LOCATED = (0.5, 0.95, 0.9, 0.6, 0.0, 0.2, 0.8)
"""Probability that an event of each type has a location_name. To-dos (reminders) never do:
paying a bill or renewing a registration happens wherever the traveler is."""
_EVENT_TITLES: tuple[tuple[str, ...], ...] = (
    ("Dentist appointment", "Farmers market", "Visit family", "Hike with friends", "Haircut"),
    ("Escapees rally", "Xscapers convergence", "FMCA convention", "Campground check-in",
     "Boondocking meetup", "Music festival"),
    ("RV service appointment", "Tire shop", "Oil change appointment", "Roof inspection"),
    ("Doctor appointment", "Bank appointment", "Vet appointment", "Mobile RV tech visit"),
    ("Renew registration", "Pay insurance", "Refill prescriptions", "Book next campground"),
    ("Mom's birthday", "Dad's birthday", "Grandkid's birthday", "Anniversary dinner"),
    ("Campground potluck", "Rally social hour", "Community dinner"),
)
"""Titles per event type. The holiday type's are generic: an event named after a holiday is
dated on that holiday (see ``HOLIDAYS``)."""
REMOTE_SHARE = 0.45  # meetings held by phone or video: no location, or just "Zoom"
REMOTE_TITLES = ("Call with accountant", "Video call with team", "Zoom with the grandkids",
                  "Webinar: RV solar basics")
HOLIDAYS: tuple[tuple[str, int, int, int], ...] = (
    # (title, month, day, n): a fixed date when n == 0, else the n-th (-1: last) weekday
    # `day` (Monday = 0) of the month.
    ("New Year's Day brunch", 1, 1, 0),
    ("Memorial Day cookout", 5, 0, -1),
    ("Fourth of July fireworks", 7, 4, 0),
    ("Labor Day barbecue", 9, 0, 1),
    ("Halloween at the campground", 10, 31, 0),
    ("Thanksgiving with family", 11, 3, 4),
    ("Christmas with family", 12, 25, 0),
    ("New Year's Eve party", 12, 31, 0),
)
"""US holidays the demo's holiday events are named after, each on its real date."""
REMINDERS = (b"{60}", b"{60,1440}", b"{30}", b"{1440}")

TRIP_NOTES = (
    "Dump station at the Flying J", "Check low clearance on route", "Avoid the interstate",
    "Stop at the outlet mall", "Reservation confirmed", "Windy pass, drive early",
)
BUDGET_CATS = (FOOD, CAMPING, FUEL, FUN)
TOTAL = len(CATEGORIES)  # budget category index standing for all spending
# fmt: on


_NEIGHBOURS = 14  # next stop is one of the nearest towns: 40-500 mile hops, like real RVers


def _town_tables() -> tuple[BytesArr, FloatArr, IntArr]:
    """Town names, great-circle distances (miles) and each town's nearest neighbours."""
    names = ascii_array([t[0] for t in TOWNS])
    lat = np.radians(np.array([t[1] for t in TOWNS]))
    lng = np.radians(np.array([t[2] for t in TOWNS]))
    dlat = lat[:, None] - lat[None, :]
    dlng = lng[:, None] - lng[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlng / 2) ** 2
    great_circle = 2 * 3958.8 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    order = np.argsort(great_circle + np.eye(len(TOWNS)) * 1e9, axis=1)
    return names, great_circle, order[:, :_NEIGHBOURS]


TOWN_NAMES, GREAT_CIRCLE, NEAREST = _town_tables()
TOWN_POINT = ascii_array([f'{{"lat": {t[1]}, "lng": {t[2]}}}' for t in TOWNS])
TOWN_REGION = ascii_array([_REGION_OF_STATE[t[0][-2:]] for t in TOWNS])
TOWN_ZONE = ascii_array([ZONE_OF_STATE[t[0][-2:]] for t in TOWNS])


class _Grouped:
    """Text choices grouped by an index (e.g. make/models per vehicle class)."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.flat = ascii_array([v for g in groups for v in g])
        sizes = np.array([len(g) for g in groups], dtype=np.int64)
        self.sizes = sizes
        self.offsets = np.cumsum(sizes) - sizes

    def pick(self, rng: Rng, group: IntArr) -> BytesArr:
        """One random value of each row's group."""
        r = rng.integers(0, 1 << 30, len(group))
        return self.flat[self.offsets[group] + r % self.sizes[group]]


MAKES = _Grouped(_MAKE_MODELS)
VEHICLE_ROW_TYPE = _Grouped(_VEHICLE_ROW_TYPES)
EXPENSE_TEXT = _Grouped(_DESCRIPTIONS)
EVENT_TITLE = _Grouped(_EVENT_TITLES)
