"""Every threshold, window and default the detectors use, in one frozen dataclass.

It sits at the bottom layer (with the analyses, which read it) and imports nothing of the
engine. Plausibility limits that are facts, not tunable thresholds, live in
:mod:`pam_proactive.analysis.limits`.

Units: miles, US gallons, mpg, percent 0-100, days, hours. Override with
``dataclasses.replace(DetectorSettings(), fuel_high_pct=10.0)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Detector parameters; every field has the production default."""

    # --- fuel: tank size defaults by class, US gallons -----------------------------------
    tank_gallons_class_a_gas: float = 80.0
    tank_gallons_class_a_diesel: float = 100.0  # diesel pushers carry bigger tanks
    tank_gallons_class_c: float = 50.0
    tank_gallons_class_b: float = 25.0
    tank_gallons_truck: float = 30.0  # also the tow vehicle of a trailer
    tank_gallons_van: float = 25.0
    tank_gallons_car: float = 14.0
    tank_from_fills_min_fills: int = 3  # fills needed before the largest one sizes the tank
    tank_from_fills_factor: float = 1.05  # nobody fills from bone dry

    # --- fuel: economy defaults by class, mpg --------------------------------------------
    mpg_class_a: float = 8.0
    mpg_class_c: float = 12.0
    mpg_class_b: float = 18.0
    mpg_truck: float = 15.0  # a pickup not towing
    mpg_truck_towing: float = 10.0  # a pickup towing (trailer rigs); not lowered again
    mpg_van: float = 18.0
    mpg_car: float = 25.0
    towing_mpg_factor: float = 0.65  # towing lowers a class default by 35%
    economy_window_intervals: int = 5  # median of the last N full-to-full intervals
    mpg_min_plausible: float = 3.0
    mpg_max_plausible: float = 40.0

    # --- fuel_low ------------------------------------------------------------------------
    fuel_medium_pct: float = 25.0
    fuel_high_pct: float = 15.0
    fuel_reserve_miles: float = 50.0  # never plan to arrive on fumes
    fuel_trip_window_days: int = 2  # planned trips starting in [today, today + N]
    fuel_trip_max_level_pct: float = 90.0  # above this, "refuel before you leave" is moot
    fuel_min_confidence: float = 0.2  # below: too many assumptions to alert
    fuel_expiry_hours: float = 24.0

    # --- budgets -------------------------------------------------------------------------
    budget_default_threshold_pct: float = 80.0
    budget_forecast_pct: float = 110.0  # projected total vs limit
    budget_forecast_min_days: int = 5  # days elapsed in the period
    budget_forecast_min_spent_pct: float = 40.0

    # --- spending_anomaly ----------------------------------------------------------------
    anomaly_window_days: int = 7
    anomaly_median_factor: float = 3.0
    anomaly_mad_factor: float = 5.0
    anomaly_min_count: int = 5

    # --- event_travel_planning -----------------------------------------------------------
    event_window_days: int = 14
    event_min_distance_miles: float = 100.0
    event_trip_radius_miles: float = 50.0
    event_high_days: float = 3.0
    event_medium_days: float = 7.0
    # A trip to the event area that starts by the event date but ends after it counts as
    # planned (its end date may be the return home); False = only trips ending by then.
    event_trip_spanning_covers: bool = True

    # --- departure_reminder --------------------------------------------------------------
    departure_window_hours: float = 48.0
    departure_high_hours: float = 24.0

    # --- maintenance and documents -------------------------------------------------------
    maintenance_soon_days: int = 30
    maintenance_soon_miles: float = 500.0
    maintenance_trip_window_days: int = 30  # planned trips whose miles count toward a due
    # Overdue by more than this = a record nobody updates (done but not logged): stay silent.
    maintenance_stale_days: int = 730
    maintenance_stale_miles: float = 25_000.0
    document_window_days: int = 30
    document_expired_max_days: int = 90  # expired longer ago = stale record, stay silent

    # --- fuel_economy_drop ---------------------------------------------------------------
    economy_recent_intervals: int = 3
    economy_baseline_days: int = 180
    economy_baseline_min_intervals: int = 6
    economy_drop_pct: float = 15.0
    economy_recent_max_age_days: int = 60  # latest interval must end this recently

    def default_tank_gallons(self, vehicle_class: str, fuel_type: str | None) -> float | None:
        """Typical tank size in US gallons of a class (a trailer rig's truck for 'trailer'),
        or None for an unknown class. A Class A of unknown fuel counts as gas."""
        if vehicle_class == "class_a":
            diesel = (fuel_type or "").lower() == "diesel"
            return self.tank_gallons_class_a_diesel if diesel else self.tank_gallons_class_a_gas
        return {
            "class_c": self.tank_gallons_class_c,
            "class_b": self.tank_gallons_class_b,
            "truck": self.tank_gallons_truck,
            "trailer": self.tank_gallons_truck,
            "van": self.tank_gallons_van,
            "car": self.tank_gallons_car,
        }.get(vehicle_class)

    def default_mpg(self, vehicle_class: str, towing: bool) -> float | None:
        """Typical mpg of a class, lowered by ``towing_mpg_factor`` when towing (a truck
        towing, which trailer rigs are, has its own figure), or None for an unknown class."""
        if vehicle_class in ("truck", "trailer"):
            return self.mpg_truck_towing if towing or vehicle_class == "trailer" else self.mpg_truck
        base = {
            "class_a": self.mpg_class_a,
            "class_c": self.mpg_class_c,
            "class_b": self.mpg_class_b,
            "van": self.mpg_van,
            "car": self.mpg_car,
        }.get(vehicle_class)
        if base is None:
            return None
        return base * self.towing_mpg_factor if towing else base
