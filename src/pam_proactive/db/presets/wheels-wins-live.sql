-- Preset `wheels-wins-live`: a production deployment's schema (shared/schemas/wheels-wins-live.md),
-- read as it is. Creates and alters nothing in public: views in the engine schema only.
-- Units are converted here: km -> miles, litres -> US gallons, L/100 km -> mpg.

CREATE VIEW @schema@.traveler_users AS
SELECT p.id AS user_id,
       coalesce(lower(p.status), 'active') AS status,
       CASE WHEN lower(us.regional_preferences ->> 'units') IN ('imperial', 'metric')
                THEN lower(us.regional_preferences ->> 'units')
            WHEN p.region = 'United States' THEN 'imperial'
            ELSE 'metric' END AS units,
       coalesce(pref.timezone, us.regional_preferences ->> 'timezone') AS timezone,
       coalesce(pref.currency, us.regional_preferences ->> 'currency',
                CASE p.region WHEN 'Australia' THEN 'AUD' WHEN 'United Kingdom' THEN 'GBP'
                              WHEN 'Canada' THEN 'CAD' WHEN 'New Zealand' THEN 'NZD'
                              ELSE 'USD' END) AS currency,
       p.region,
       p.vehicle_type,
       p.fuel_type,
       p.towing,
       p.current_latitude AS latitude,
       p.current_longitude AS longitude,
       (coalesce(pref.opted_out, false)
        OR lower(us.pam_preferences ->> 'proactive_suggestions') IN ('false', '0', 'no', 'off'))
           AS opted_out,
       array_remove(ARRAY[
           CASE WHEN lower(us.notification_preferences ->> 'trip_reminders') = 'false'
                THEN 'group:trip' END,
           CASE WHEN lower(us.notification_preferences ->> 'maintenance_alerts') = 'false'
                THEN 'group:maintenance' END,
           CASE WHEN lower(us.notification_preferences ->> 'budget_alerts') = 'false'
                THEN 'group:budget' END
       ], NULL) || coalesce(pref.disabled_types, '{}'::text[]) AS disabled_types,
       pref.quiet_start,
       pref.quiet_end,
       pref.daily_cap,
       p.created_at,
       p.updated_at
FROM public.profiles p
LEFT JOIN public.user_settings us ON us.user_id = p.id
LEFT JOIN @schema@.user_preferences pref ON pref.user_id = p.id;

CREATE VIEW @schema@.traveler_expenses AS
SELECT e.id::text AS expense_id, e.user_id, e.amount::double precision AS amount,
       lower(btrim(e.category)) AS category,
       coalesce(e.expense_date, e.date) AS spent_on,
       e.created_at,
       NULL::timestamptz AS updated_at,
       e.description
FROM public.expenses e;

CREATE VIEW @schema@.traveler_budgets AS
SELECT b.id::text AS budget_id, b.user_id,
       -- 'total' and 'all' mean every category (NULL); an empty or missing category is
       -- outside the schema's domain: passed on as '' for the engine to skip and count.
       CASE WHEN lower(btrim(b.category)) IN ('total', 'all') THEN NULL
            ELSE coalesce(lower(btrim(b.category)), '') END AS category,
       coalesce(b.monthly_limit, b.budgeted_amount)::double precision AS amount_limit,
       'monthly'::text AS period,
       b.start_date, b.end_date,
       coalesce(b.alert_threshold, 80)::double precision AS alert_threshold_pct,
       NULL::timestamptz AS created_at,
       NULL::timestamptz AS updated_at
FROM public.budgets b;

-- A trip is the user's trip with its legs: distance is the sum of the legs, origin the start
-- of the first leg, destination the end of the last one.
CREATE VIEW @schema@.traveler_trips AS
SELECT t.id::text AS trip_id, t.user_id,
       legs.origin, legs.destination, t.start_date, t.end_date,
       legs.distance_km * 0.621371 AS distance_miles,
       t.total_budget::double precision AS estimated_cost,
       CASE lower(t.status) WHEN 'planning' THEN 'planned' ELSE lower(t.status) END AS status,
       jsonb_strip_nulls(jsonb_build_object(
           'origin', CASE WHEN jsonb_typeof(legs.first_route) = 'object'
                          THEN legs.first_route -> 'origin' END,
           'destination', CASE WHEN jsonb_typeof(legs.last_route) = 'object'
                               THEN legs.last_route -> 'destination' END)) AS route_data,
       t.created_at,
       t.updated_at
FROM public.user_trips t
LEFT JOIN LATERAL (
    SELECT (array_agg(r.start_location ORDER BY r.route_order))[1] AS origin,
           (array_agg(r.end_location ORDER BY r.route_order DESC))[1] AS destination,
           sum(r.distance_km)::double precision AS distance_km,
           (array_agg(r.route_data ORDER BY r.route_order))[1] AS first_route,
           (array_agg(r.route_data ORDER BY r.route_order DESC))[1] AS last_route
    FROM public.trip_routes r
    WHERE r.trip_id = t.id
) legs ON true;

CREATE VIEW @schema@.traveler_events AS
SELECT c.id::text AS event_id, c.user_id, c.title, c.start_date AS starts_at, c.end_date AS ends_at,
       coalesce(c.all_day, false) AS all_day, lower(c.event_type) AS event_type, c.location_name,
       c.created_at,
       c.updated_at
FROM public.calendar_events c;

-- fuel_log is in the user's units: km and litres for metric users, miles and US gallons for
-- imperial ones; consumption is L/100 km or mpg the same way.
CREATE VIEW @schema@.traveler_fuel_fills AS
SELECT f.id::text AS fill_id, f.user_id, f.date AS filled_on,
       CASE WHEN u.units = 'metric' THEN f.odometer * 0.621371
            ELSE f.odometer END::double precision AS odometer_miles,
       CASE WHEN u.units = 'metric' THEN f.volume * 0.264172
            ELSE f.volume END::double precision AS gallons,
       f.total::double precision AS total_cost,
       coalesce(f.filled_to_top, true) AS is_full,
       CASE WHEN u.units = 'metric' THEN 235.215 / nullif(f.consumption, 0)
            ELSE f.consumption END::double precision AS mpg_entered,
       f.created_at,
       NULL::timestamptz AS updated_at
FROM public.fuel_log f
LEFT JOIN @schema@.traveler_users u ON u.user_id = f.user_id;

-- Rows created in the app's UI with a status other than 'completed' are scheduled services:
-- their `date` is the due date, not a service date, and their mileage is not a reading.
CREATE VIEW @schema@.traveler_maintenance AS
SELECT m.id::text AS record_id, m.user_id, NULL::text AS vehicle_id, lower(btrim(m.task)) AS task,
       CASE WHEN m.status IS NULL OR lower(m.status) = 'completed' THEN m.date END AS performed_on,
       CASE WHEN m.status IS NULL OR lower(m.status) = 'completed'
            THEN CASE WHEN u.units = 'metric' THEN m.mileage * 0.621371 ELSE m.mileage END
       END::double precision AS mileage_miles,
       CASE WHEN m.status IS NULL OR lower(m.status) = 'completed' THEN m.next_due_date
            ELSE coalesce(m.next_due_date, m.date) END AS next_due_date,
       CASE WHEN u.units = 'metric' THEN m.next_due_mileage * 0.621371
            ELSE m.next_due_mileage END::double precision AS next_due_mileage_miles,
       NULL::timestamptz AS created_at,
       NULL::timestamptz AS updated_at
FROM public.maintenance_records m
LEFT JOIN @schema@.traveler_users u ON u.user_id = m.user_id;

CREATE VIEW @schema@.traveler_vehicles AS
SELECT v.id::text AS vehicle_id, v.user_id, v.name, lower(v.vehicle_type) AS vehicle_type,
       lower(v.fuel_type) AS fuel_type,
       v.fuel_capacity_gallons::double precision AS tank_gallons,
       coalesce(v.fuel_consumption_mpg,
                235.215 / nullif(v.fuel_consumption_l_per_100km, 0))::double precision AS mpg,
       v.mileage_current::double precision AS odometer_miles,
       v.registration_expires, v.insurance_expires, coalesce(v.is_primary, false) AS is_primary,
       NULL::timestamptz AS created_at,
       NULL::timestamptz AS updated_at
FROM public.vehicles v;
