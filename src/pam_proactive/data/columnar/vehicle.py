"""The vehicle section of a batch's contexts: primary vehicle, cleaned fill-ups, the latest
maintenance per task and the best odometer (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from pam_proactive.context import Profile, QualityBuilder, VehicleContext
from pam_proactive.data.assemble import build_vehicle
from pam_proactive.data.columnar._rows import cut_columns, rows_by_user
from pam_proactive.data.columnar.frames import BatchFrames


def vehicle_section(frames: BatchFrames, profiles: Mapping[int, Profile],
                    quality: Mapping[int, QualityBuilder]) -> dict[int, VehicleContext]:
    """Every batch user's :class:`VehicleContext`, by position ``i``."""
    fuel = rows_by_user(frames.fuel)
    maintenance = rows_by_user(frames.maintenance)
    vehicles = {r[0]: r for r in frames.vehicles.iter_rows()}
    out = {}
    for i, today in frames.people.select("i", "today").iter_rows():
        q = quality[i]
        vehicle = vehicles.get(i)
        if vehicle is not None:
            vehicle = cut_columns(vehicle, (2, 3, 4), q)
        out[i] = build_vehicle(vehicle, fuel.get(i, ()),
                               [cut_columns(r, (3,), q) for r in maintenance.get(i, ())],
                               profiles[i], q, today)
    return out
