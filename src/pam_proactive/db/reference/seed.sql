-- The seed preset's reference tables (shared/schemas/seed-reference.md) and the indexes its
-- reads need. Applied only on request: `migrate --create-reference-tables`, `demo`, `seed`
-- (never by any other command: the engine does not create or alter traveler tables).
-- IF NOT EXISTS throughout, so applying it again changes nothing.

CREATE TABLE IF NOT EXISTS public.profiles (
    id uuid PRIMARY KEY,
    email text UNIQUE NOT NULL,
    full_name text,
    nickname text,
    vehicle_type text,
    vehicle_make_model text,
    fuel_type text,
    towing text,
    region text,
    role text DEFAULT 'user',
    status text DEFAULT 'active',
    preferred_units text DEFAULT 'metric',
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.expenses (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    amount numeric(10,2) NOT NULL,
    category text NOT NULL,
    description text,
    date date NOT NULL,
    location text,
    receipt_url text,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.budgets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    category text NOT NULL,
    amount numeric(10,2) NOT NULL,
    period text NOT NULL,
    start_date date NOT NULL,
    end_date date,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.trips (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    origin text NOT NULL,
    destination text NOT NULL,
    start_date date,
    end_date date,
    distance_miles numeric(10,2),
    estimated_cost numeric(10,2),
    actual_cost numeric(10,2),
    status text DEFAULT 'planned',
    notes text,
    route_data jsonb,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.calendar_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    title text NOT NULL,
    description text,
    start_date timestamptz NOT NULL,
    end_date timestamptz NOT NULL,
    all_day boolean NOT NULL DEFAULT false,
    event_type text NOT NULL DEFAULT 'personal',
    location_name text,
    reminder_minutes integer[],
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.fuel_log (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    date date NOT NULL,
    gallons numeric(10,2) NOT NULL,
    cost numeric(10,2) NOT NULL,
    location text,
    odometer integer,
    mpg numeric(5,2),
    created_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.maintenance_records (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    task text NOT NULL,
    date date NOT NULL,
    mileage integer,
    cost numeric(10,2),
    location text,
    notes text,
    next_due_date date,
    next_due_mileage integer,
    created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.vehicles (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid,
    name text NOT NULL,
    vehicle_type text,
    fuel_type text,
    fuel_capacity_gallons numeric(6,2),
    mileage_current integer,
    registration_expires date,
    insurance_expires date,
    is_primary boolean
);

-- The sweep reads every table by user; without these it scans whole tables.
CREATE INDEX IF NOT EXISTS expenses_user_date_idx ON public.expenses (user_id, date);
CREATE INDEX IF NOT EXISTS budgets_user_idx ON public.budgets (user_id);
CREATE INDEX IF NOT EXISTS trips_user_idx ON public.trips (user_id);
CREATE INDEX IF NOT EXISTS calendar_events_user_start_idx ON public.calendar_events (user_id, start_date);
CREATE INDEX IF NOT EXISTS fuel_log_user_date_idx ON public.fuel_log (user_id, date);
CREATE INDEX IF NOT EXISTS maintenance_records_user_idx ON public.maintenance_records (user_id);
CREATE INDEX IF NOT EXISTS vehicles_user_idx ON public.vehicles (user_id);

-- The change feed finds rows inserted or updated since its last poll by range scans of these
-- (see data/changes.py; `doctor` prints the same list as CREATE INDEX statements).
CREATE INDEX IF NOT EXISTS profiles_created_at_idx ON public.profiles (created_at);
CREATE INDEX IF NOT EXISTS profiles_updated_at_idx ON public.profiles (updated_at);
CREATE INDEX IF NOT EXISTS expenses_created_at_idx ON public.expenses (created_at);
CREATE INDEX IF NOT EXISTS expenses_updated_at_idx ON public.expenses (updated_at);
CREATE INDEX IF NOT EXISTS budgets_created_at_idx ON public.budgets (created_at);
CREATE INDEX IF NOT EXISTS budgets_updated_at_idx ON public.budgets (updated_at);
CREATE INDEX IF NOT EXISTS trips_created_at_idx ON public.trips (created_at);
CREATE INDEX IF NOT EXISTS trips_updated_at_idx ON public.trips (updated_at);
CREATE INDEX IF NOT EXISTS calendar_events_created_at_idx ON public.calendar_events (created_at);
CREATE INDEX IF NOT EXISTS calendar_events_updated_at_idx ON public.calendar_events (updated_at);
CREATE INDEX IF NOT EXISTS fuel_log_created_at_idx ON public.fuel_log (created_at);
CREATE INDEX IF NOT EXISTS maintenance_records_created_at_idx ON public.maintenance_records (created_at);
CREATE INDEX IF NOT EXISTS maintenance_records_updated_at_idx ON public.maintenance_records (updated_at);
