-- Preset `seed`: the seed's reference schema (shared/schemas/seed-reference.md).
-- Installs the engine's views over the tables; creates and alters nothing in public (the
-- tables come from `migrate --create-reference-tables`, db/reference/seed.sql). Units are
-- already miles and US gallons.

CREATE VIEW @schema@.traveler_users AS
SELECT p.id AS user_id,
       coalesce(lower(p.status), 'active') AS status,
       CASE WHEN lower(p.preferred_units) = 'imperial' THEN 'imperial' ELSE 'metric' END AS units,
       pref.timezone AS timezone,
       coalesce(pref.currency, 'USD') AS currency,
       p.region,
       p.vehicle_type,
       p.fuel_type,
       p.towing,
       NULL::double precision AS latitude,
       NULL::double precision AS longitude,
       coalesce(pref.opted_out, false) AS opted_out,
       coalesce(pref.disabled_types, '{}'::text[]) AS disabled_types,
       pref.quiet_start,
       pref.quiet_end,
       pref.daily_cap,
       p.created_at,
       p.updated_at
FROM public.profiles p
LEFT JOIN @schema@.user_preferences pref ON pref.user_id = p.id;

CREATE VIEW @schema@.traveler_expenses AS
SELECT e.id::text AS expense_id, e.user_id, e.amount::double precision AS amount,
       lower(btrim(e.category)) AS category, e.date AS spent_on, e.created_at,
       e.updated_at, e.description
FROM public.expenses e;

CREATE VIEW @schema@.traveler_budgets AS
SELECT b.id::text AS budget_id, b.user_id,
       -- 'total' and 'all' mean every category (NULL); an empty or missing category is
       -- outside the schema's domain: passed on as '' for the engine to skip and count.
       CASE WHEN lower(btrim(b.category)) IN ('total', 'all') THEN NULL
            ELSE coalesce(lower(btrim(b.category)), '') END AS category,
       b.amount::double precision AS amount_limit,
       lower(b.period) AS period,
       b.start_date, b.end_date,
       80.0::double precision AS alert_threshold_pct,
       b.created_at,
       b.updated_at
FROM public.budgets b;

CREATE VIEW @schema@.traveler_trips AS
SELECT t.id::text AS trip_id, t.user_id, t.origin, t.destination, t.start_date, t.end_date,
       t.distance_miles::double precision AS distance_miles,
       t.estimated_cost::double precision AS estimated_cost,
       lower(t.status) AS status,
       t.route_data,
       t.created_at,
       t.updated_at
FROM public.trips t;

CREATE VIEW @schema@.traveler_events AS
SELECT c.id::text AS event_id, c.user_id, c.title, c.start_date AS starts_at, c.end_date AS ends_at,
       c.all_day, lower(c.event_type) AS event_type, c.location_name, c.created_at,
       c.updated_at
FROM public.calendar_events c;

CREATE VIEW @schema@.traveler_fuel_fills AS
SELECT f.id::text AS fill_id, f.user_id, f.date AS filled_on,
       f.odometer::double precision AS odometer_miles,
       f.gallons::double precision AS gallons,
       f.cost::double precision AS total_cost,
       true AS is_full,
       f.mpg::double precision AS mpg_entered,
       f.created_at,
       NULL::timestamptz AS updated_at
FROM public.fuel_log f;

CREATE VIEW @schema@.traveler_maintenance AS
SELECT m.id::text AS record_id, m.user_id, NULL::text AS vehicle_id, lower(btrim(m.task)) AS task,
       m.date AS performed_on,
       m.mileage::double precision AS mileage_miles,
       m.next_due_date,
       m.next_due_mileage::double precision AS next_due_mileage_miles,
       m.created_at,
       m.updated_at
FROM public.maintenance_records m;

CREATE VIEW @schema@.traveler_vehicles AS
SELECT v.id::text AS vehicle_id, v.user_id, v.name, lower(v.vehicle_type) AS vehicle_type,
       lower(v.fuel_type) AS fuel_type,
       v.fuel_capacity_gallons::double precision AS tank_gallons,
       NULL::double precision AS mpg,
       v.mileage_current::double precision AS odometer_miles,
       v.registration_expires, v.insurance_expires, coalesce(v.is_primary, false) AS is_primary,
       NULL::timestamptz AS created_at,
       NULL::timestamptz AS updated_at
FROM public.vehicles v;
