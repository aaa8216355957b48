"""Next fire times and latest slots of the jobs' crons: month boundary, DST in a non-UTC zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pam_proactive.errors import ConfigurationError
from pam_proactive.jobs.scheduling.schedule import JOBS, job_named, latest_slot, next_fire

NY = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
        ) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(cron: str, start: datetime, n: int, tz: str = "UTC") -> list[datetime]:
    out, t = [], start
    for _ in range(n):
        t = next_fire(cron, t, tz)
        out.append(t)
    return out


def test_the_five_jobs_and_their_groups() -> None:
    assert [j.name for j in JOBS] == [
        "monitor_user_context", "analyze_user_patterns", "generate_predictive_recommendations",
        "monitor_fleet_maintenance", "cleanup_and_health_check"]
    groups = [j.types for j in JOBS if j.types]
    every = set().union(*groups)
    assert sum(len(g) for g in groups) == len(every) == 11  # each type in exactly one group
    assert "budget_threshold" not in job_named("monitor_user_context").types  # type: ignore[operator]
    with pytest.raises(ConfigurationError, match="unknown job 'nope'"):
        job_named("nope")


@pytest.mark.parametrize(("name", "start", "expected"), [
    # */15 across the end of November into December
    ("monitor_user_context", utc(2026, 11, 30, 23, 40),
     [utc(2026, 11, 30, 23, 45), utc(2026, 12, 1, 0, 0), utc(2026, 12, 1, 0, 15)]),
    # every 2 hours on the hour: from an exact slot, the next one
    ("analyze_user_patterns", utc(2026, 11, 30, 22, 0),
     [utc(2026, 12, 1, 0, 0), utc(2026, 12, 1, 2, 0), utc(2026, 12, 1, 4, 0)]),
    ("generate_predictive_recommendations", utc(2026, 11, 30, 16, 30),
     [utc(2026, 11, 30, 20, 30), utc(2026, 12, 1, 8, 30), utc(2026, 12, 1, 12, 30)]),
    ("monitor_fleet_maintenance", utc(2026, 2, 28, 19, 0),
     [utc(2026, 3, 1, 0, 0), utc(2026, 3, 1, 6, 0)]),
    ("cleanup_and_health_check", utc(2026, 12, 31, 3, 0),
     [utc(2027, 1, 1, 2, 0), utc(2027, 1, 2, 2, 0)]),
])
def test_next_fire_across_a_month_boundary(name: str, start: datetime,
                                           expected: list[datetime]) -> None:
    job = job_named(name)
    assert fires(job.cron, start, len(expected)) == expected


def test_latest_slot_is_at_or_before_now() -> None:
    cron = job_named("monitor_user_context").cron
    assert latest_slot(cron, utc(2026, 12, 1, 0, 0)) == utc(2026, 12, 1, 0, 0)
    assert latest_slot(cron, utc(2026, 12, 1, 0, 14, 59) + timedelta(microseconds=9)) == utc(
        2026, 12, 1, 0, 0)
    assert latest_slot(cron, utc(2026, 12, 1, 0, 0) - timedelta(microseconds=1)) == utc(
        2026, 11, 30, 23, 45)
    predictive = job_named("generate_predictive_recommendations").cron
    assert latest_slot(predictive, utc(2026, 12, 1, 8, 29)) == utc(2026, 11, 30, 20, 30)
    assert job_named("generate_predictive_recommendations").period(
        utc(2026, 12, 1, 9, 0)) == timedelta(hours=4)


def test_dst_spring_forward_in_new_york() -> None:
    # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that night.
    got = fires("30 2 * * *", utc(2026, 3, 7, 12, 0), 3, NY)
    assert got == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]
    local = [t.astimezone(ZoneInfo(NY)).strftime("%m-%d %H:%M %Z") for t in got]
    assert local == ["03-08 03:00 EDT", "03-09 02:30 EDT", "03-10 02:30 EDT"]
    # The day before the change is EST (UTC-5), after it EDT (UTC-4).
    assert fires("0 9 * * *", utc(2026, 3, 7, 0, 0), 2, NY) == [
        utc(2026, 3, 7, 14, 0), utc(2026, 3, 8, 13, 0)]
    assert latest_slot("30 2 * * *", utc(2026, 3, 8, 7, 30), NY) == utc(2026, 3, 8, 7, 0)


def test_dst_fall_back_in_new_york() -> None:
    # 2026-11-01 01:00-02:00 happens twice: a daily 01:30 fires once, at its first occurrence.
    assert fires("30 1 * * *", utc(2026, 10, 31, 12, 0), 3, NY) == [
        utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]
    # */15 keeps counting real quarter hours through the repeated hour.
    got = fires("*/15 * * * *", utc(2026, 11, 1, 5, 0), 8, NY)
    assert got == [utc(2026, 11, 1, 5, 15) + timedelta(minutes=15 * i) for i in range(8)]
    assert latest_slot("30 1 * * *", utc(2026, 11, 1, 6, 45), NY) == utc(2026, 11, 1, 5, 30)


def test_dst_and_month_boundary_in_a_southern_zone() -> None:
    # Sydney leaves daylight time on 2026-04-05 (03:00 AEDT -> 02:00 AEST), near a month end.
    syd = "Australia/Sydney"
    assert fires("0 0 1 * *", utc(2026, 3, 15, 0, 0), 2, syd) == [
        utc(2026, 3, 31, 13, 0), utc(2026, 4, 30, 14, 0)]


def test_invalid_cron_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="invalid cron"):
        next_fire("61 * * * *", utc(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire("* * * * *", datetime(2026, 1, 1))
