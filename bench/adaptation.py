"""Figures: how the notification count and the relevance rate move as the engine adapts.

One demo population (``--users`` travelers, ``--seed``, dated at ``_common.NOW``) is seeded
twice on throwaway embedded PostgreSQL servers, once per side: adaptation on (the defaults)
and off (``PAM_ADAPTATION=false``). Each side steps a simulated clock over ``--days`` days,
a full sweep every 12 hours (stored and delivered, outbox only), and after each sweep a
scripted traveler model answers the notifications delivered since the previous one: per
suggestion type, a share acted on, dismissed as not_useful, too_early or wrong, snoozed a
day, and the rest left unanswered (``MODEL``; each draw is seeded by the traveler, subject,
event and day, so both sides answer the same notification alike). The answers go through
the engine's own functions (``answers.dismiss``/``snooze``, ``store.mark_acted``), as the API
and Supabase call them.

Printed per side and ISO week of the period: notifications delivered per traveler (all
seeded travelers), the answers, and the relevance rate (acted / answered; the model rates
nothing useful), plus the adaptations in force at the end.

    python bench/adaptation.py --users 200 --days 28
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from pam_proactive.jobs.sweep import sweep

from _common import NOW, run, seeded_engine
from pam_proactive.engine import Engine
from pam_proactive.suggestions import answers, store
from pam_proactive.suggestions.delivery import set_channels

STEP = timedelta(hours=12)

# Per type: shares of (acted, not_useful, too_early, wrong, snoozed); the rest is unanswered.
# A scripted model, not measured behaviour: budget notes and unusual expenses are often
# judged not useful, trip planning too early, fuel and service acted on.
MODEL: dict[str, tuple[float, float, float, float, float]] = {
    "fuel_low": (0.55, 0.10, 0.05, 0.05, 0.05),
    "fuel_economy_drop": (0.20, 0.35, 0.05, 0.10, 0.05),
    "budget_exceeded": (0.40, 0.20, 0.00, 0.05, 0.05),
    "budget_forecast_overspend": (0.25, 0.35, 0.10, 0.05, 0.05),
    "budget_threshold": (0.15, 0.50, 0.05, 0.05, 0.05),
    "spending_anomaly": (0.10, 0.45, 0.00, 0.20, 0.00),
    "event_travel_planning": (0.30, 0.10, 0.35, 0.05, 0.10),
    "departure_reminder": (0.60, 0.10, 0.00, 0.05, 0.00),
    "maintenance_overdue": (0.45, 0.15, 0.00, 0.05, 0.10),
    "maintenance_due_soon": (0.25, 0.15, 0.30, 0.05, 0.10),
    "document_expiring": (0.50, 0.10, 0.15, 0.05, 0.05),
    "adaptation_offer": (0.50, 0.00, 0.00, 0.00, 0.00),  # accepted half the time
}
DEFAULT = (0.30, 0.20, 0.10, 0.05, 0.05)
ANSWERS = ("acted", "not_useful", "too_early", "wrong", "snoozed")

DELIVERED = (
    "SELECT o.suggestion_id, o.user_id, s.type, s.dedup_key, o.event"
    " FROM {s}.outbox AS o JOIN {s}.suggestions AS s ON s.id = o.suggestion_id"
    " WHERE o.delivered_at > %(since)s AND o.delivered_at <= %(now)s AND o.cancelled_at IS NULL"
    " ORDER BY o.id"
)
IN_FORCE = "SELECT kind, level, count(*) FROM {s}.adaptations WHERE level > 0 GROUP BY 1, 2"


def choose(user: Any, key: str, event: str, day: int, type_: str) -> str | None:
    """The model's answer to one notification (None: unanswered)."""
    draw = random.Random(f"{user}:{key}:{event}:{day}").random()
    for name, share in zip(ANSWERS, MODEL.get(type_, DEFAULT), strict=True):
        if draw < share:
            return name
        draw -= share
    return None


async def answer(engine: Engine, sid: Any, choice: str, now: datetime) -> bool:
    """Apply one answer through the engine's own functions; False if nothing changed."""
    db, schema = engine.db, engine.settings.engine_schema
    if choice == "acted":
        return await store.mark_acted(db, schema, sid, now)
    if choice == "snoozed":
        return await answers.snooze(db, schema, sid, now, now + timedelta(days=1)) is not None
    return await answers.dismiss(db, schema, sid, now, choice)


async def side(args: argparse.Namespace, adapt: bool) -> dict[str, Any]:
    os.environ["PAM_ADAPTATION"] = "true" if adapt else "false"
    weeks: dict[int, Counter[str]] = defaultdict(Counter)
    started = time.perf_counter()
    async with seeded_engine(args.users, args.seed, args.batch_size) as engine:
        schema = engine.settings.engine_schema
        await set_channels(engine.db, schema, [])  # outbox only: a due row is delivered
        since = NOW - timedelta(days=1)
        now = NOW
        step = 0
        while now < NOW + timedelta(days=args.days):
            await sweep(engine, now)
            week = (now - NOW).days // 7 + 1
            rows = await engine.db.fetch("bench.delivered", DELIVERED.format(s=schema),
                                         {"since": since, "now": now})
            weeks[week]["notifications"] += len(rows)
            for sid, user, type_, key, event in rows:
                choice = choose(user, key, event, (now - NOW).days, type_)
                if choice is not None and await answer(engine, sid, choice, now):
                    weeks[week][choice] += 1
            since, now, step = now, now + STEP, step + 1
        adapted = await engine.db.fetch("bench.in_force", IN_FORCE.format(s=schema))
    return {"weeks": weeks, "adapted": sorted(adapted), "seconds": time.perf_counter() - started}


def report(name: str, result: dict[str, Any], users: int) -> None:
    print(f"\nadaptation {name} ({result['seconds']:.0f} s)")
    print("week  notif/traveler  acted  not_useful  too_early  wrong  snoozed  relevance")
    for week, c in sorted(result["weeks"].items()):
        answered = c["acted"] + c["not_useful"] + c["too_early"] + c["wrong"]
        rate = f"{c['acted'] / answered:.0%}" if answered else "-"
        print(f"{week:>4}  {c['notifications'] / users:>14.2f}  {c['acted']:>5}  "
              f"{c['not_useful']:>10}  {c['too_early']:>9}  {c['wrong']:>5}  "
              f"{c['snoozed']:>7}  {rate:>9}")
    print("adaptations in force at the end (kind, level, travelers x types): "
          + (", ".join(f"{k} {lv}: {n}" for k, lv, n in result["adapted"]) or "none"))


async def main(args: argparse.Namespace) -> None:
    results = {name: await side(args, name == "on") for name in ("off", "on")}
    for name, result in results.items():
        report(name, result, args.users)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--users", type=int, default=200)
    p.add_argument("--days", type=int, default=28)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch-size", type=int, default=1000)
    run(main(p.parse_args()))
