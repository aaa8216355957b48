"""`pam-proactive fleet`: the latest fleet report (computed when none is stored yet)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

import typer

from pam_proactive.cli.options import (
    Command,
    DatabaseUrl,
    DataDir,
    Format,
    Now,
    Preset,
    parse_now,
    run_guarded,
    settings_from,
)
from pam_proactive.cli.render import print_data

if TYPE_CHECKING:
    from pam_proactive.reports.fleet import FleetReport


def fleet(now: Now = None, output: Format = "table", database_url: DatabaseUrl = None,
          preset: Preset = None, data_dir: DataDir = None) -> None:
    """Print the latest fleet report at or before --now, computing it if none is stored."""
    from pam_proactive.engine import open_engine
    from pam_proactive.reports.fleet import build_fleet_report, latest_fleet_report

    settings = settings_from(database_url, preset, data_dir)
    moment = parse_now(now)

    async def go() -> FleetReport:
        async with open_engine(settings, migrate_first=True) as engine:
            stored = await latest_fleet_report(engine, moment)
            return stored or await build_fleet_report(engine, moment)

    report: Any = run_guarded(go())
    if output != "table":
        print_data(report.to_json(), output)
    else:
        print_report(report, sys.stdout)


def _item_text(item: dict[str, Any]) -> str:
    """'oil_change overdue (days left -39, miles left 3185, -25)'."""
    kind = item["kind"].replace("document_", "").replace("_", " ")
    facts = [f"{label} {item[key]:g}" for key, label in (
        ("days_left", "days left"), ("miles_left", "miles left"), ("drop_pct", "drop %"))
        if key in item]
    return f"{item['subject']} {kind} (" + ", ".join([*facts, f"-{item['penalty']}"]) + ")"


def print_report(report: FleetReport, out: TextIO, *, limit: int = 50) -> None:
    """Plain lines, one fact or vehicle each, never wrapped (safe to pipe and grep)."""
    data = report.to_json()
    score = "n/a" if data["fleet_score"] is None else f"{data['fleet_score']:g}"
    lines = [
        f"fleet report {data['report_id']} for {data['computed_for']}",
        f"fleet score: {score} over {len(data['vehicles'])} vehicles "
        f"({data['skipped_no_vehicle']} travelers without vehicle data, "
        f"{data['errors']} errors)",
        f"critical (score below {data['threshold']:g}): {len(data['critical'])}",
        "overdue by task: " + (", ".join(f"{task} {n}" for task, n in
                                         data["overdue_by_task"].items()) or "none"),
    ]
    if data["alert"]:
        a = data["alert"]
        lines.append(f"operator alert: critical {a['previous_critical']} -> {a['critical']}, "
                     + (f"sent {a['sent_at']}" if a["sent_at"] else "not sent"))
    for v in data["critical"][:limit]:
        items = "; ".join(_item_text(i) for i in v["items"]) or "no findings"
        lines.append(f"  {v['health_score']:>3}  {v['user_id']}  "
                     f"vehicle {v['vehicle_id'] or '-'}  {items}")
    if len(data["critical"]) > limit:
        lines.append(f"  ... and {len(data['critical']) - limit} more (use --format json)")
    out.write("\n".join(lines) + "\n")


def register(app: typer.Typer) -> None:
    """Add `fleet` to the ``pam-proactive`` application."""
    app.command(cls=Command)(fleet)
