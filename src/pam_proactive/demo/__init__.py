"""Reproducible demo travelers for the seed preset's tables, loaded fast with COPY.

``seed_demo_data`` writes full-time RV travelers into ``public.profiles``, ``vehicles``,
``trips``, ``calendar_events``, ``fuel_log``, ``maintenance_records``, ``expenses`` and
``budgets`` (the tables must already exist). The same ``users``, ``seed`` and ``now`` always
give the same rows, so the engine's suggestions over them can be compared from run to run.

Units follow the seed schema: distances and odometers in miles, fuel in US gallons, money in
dollars (numeric with two decimals), dates as the travelers' calendar days relative to
``now`` (the date in US Central time), timed events at daytime hours of each traveler's zone.

The data is shaped like a real population, so that the suggestions computed from it make
sense and, on a given day, most travelers have nothing to be told: fuel fills agree with each
vehicle's tank and fuel economy, trips chain real US towns, budgets sit near real spending (a
few over, close, or on pace to overspend, where the detector's rules allow it on that date:
``ruled_out``), maintenance is now and then due or overdue, events are where the traveler is
or can drive to in time. A small, deterministic
share of rows is deliberately malformed (negative amounts, unknown categories, odometers going
backwards, JSON strings in ``route_data``...) so that data-quality handling is exercised too;
``SeedReport.planted`` counts them.

Speed: users are generated in chunks, vectorised with numpy, formatted into one COPY text block
per table, and the next chunk is built in a worker process while the previous one is copied.
Row ids use the UUIDv7 layout with a sequential prefix: index inserts then append at the right
edge of each B-tree instead of touching random pages, which is what keeps 100,000 users (about
seven million rows) under a minute on a small machine.
"""

from pam_proactive.demo.load import CHUNK_USERS, SeedReport, seed_demo_data

__all__ = ["CHUNK_USERS", "SeedReport", "seed_demo_data"]
