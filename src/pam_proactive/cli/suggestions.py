"""Printing suggestions and sweep reports: tables and panels on a terminal, plain blocks
(every value whole, full user ids) when piped or redirected."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from pam_proactive.cli.render import dumps, plain, print_blocks, print_measures
from pam_proactive.jobs.pipeline.evaluate import SweepReport, SweptSuggestion

_PRIORITY_COLOR = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}

# What each lifecycle count of a sweep means, in the report.
_LIFECYCLE = {
    "created": "new suggestions stored",
    "updated": "live suggestions updated",
    "escalated": "live suggestions whose priority rose",
    "resolved": "suggestions resolved (condition gone, or the user opted out)",
    "expired": "suggestions expired",
    "suppressed_cooldown": "not stored: dismissed within the cooldown",
    "suppressed_preferences": "not stored: the user switched the type off",
    "notified": "notifications queued in the outbox",
    "held_quiet_hours": "of those, held until the user's quiet hours end",
    "digest_items": "of those, waiting for the user's daily digest",
    "held_too_early": "of those, held longer: the user said this type came too early",
    "suppressed_wrong": "not stored: the user said this subject was wrong, its numbers "
                        "unchanged since",
    "adapted": "adaptations brought up to date from the users' dismissal reasons",
    "capped": "stored, not notified: over the user's daily cap",
    "held_back": "stored as part of another suggestion about the same cause, not notified",
    "released": "no longer part of another suggestion (notified if never notified)",
    "snooze_resumed": "snoozes ended: the subject notified again",
    "snooze_broken": "snoozes broken by a higher priority",
}


def suggestion_json(item: SweptSuggestion) -> str:
    """One suggestion as a JSON line."""
    return dumps(_suggestion_fields(item))


def _suggestion_fields(item: SweptSuggestion) -> dict[str, object]:
    c = item.candidate
    return ({"user_id": c.user_id, "type": c.type, "priority": c.priority.label,
                  "title": c.title, "message": c.message, "data": c.data,
                  "dedup_key": c.dedup_key, "status": item.status,
                  "computed_for": c.computed_for, "expires_at": c.expires_at})


def _facts(item: SweptSuggestion) -> str:
    return ", ".join(f"{k}={v}" for k, v in item.candidate.data.items()
                     if isinstance(v, (int, float, str)) and k != "currency")


class SuggestionPrinter:
    """Streams jsonl as batches finish, or collects every suggestion for json (one array)
    or the first ``limit`` for a table."""

    def __init__(self, console: Console, output: str, *, limit: int = 50) -> None:
        self.console = console
        self.output = output
        self.limit = limit
        self.rows: list[SweptSuggestion] = []
        self.total = 0
        self.documents: list[dict[str, object]] = []

    def batch(self, items: Sequence[SweptSuggestion], users: int) -> None:
        """Called with each batch of the evaluation as soon as it is stored."""
        self.total += len(items)
        if self.output == "jsonl":
            for item in items:
                sys.stdout.write(suggestion_json(item) + "\n")
            sys.stdout.flush()
        elif self.output == "json":
            self.documents.extend(_suggestion_fields(item) for item in items)
        elif len(self.rows) < self.limit:
            self.rows.extend(items[: self.limit - len(self.rows)])

    def finish(self) -> None:
        """Print the collected suggestions (table or json format)."""
        if self.output == "json":
            sys.stdout.write(dumps(self.documents) + "\n")
            return
        if self.output != "table":
            return
        title = f"Suggestions of this sweep ({self.total})"
        if self.console.is_terminal:
            table = Table(title=title, show_lines=True)
            table.add_column("user", no_wrap=True)
            table.add_column("priority, type, status", no_wrap=True)
            table.add_column("message")
            for item in self.rows:
                c = item.candidate
                color = _PRIORITY_COLOR.get(c.priority.label, "")
                table.add_row(c.user_id, f"[{color}]{c.priority.label}[/]\n{c.type}\n{item.status}",
                              f"[bold]{escape(c.title)}[/]\n{escape(c.message)}")
            self.console.print(table)
        else:
            plain(self.console, title)
            plain(self.console)
            print_blocks(self.console, [[
                ("user", i.candidate.user_id), ("priority", i.candidate.priority.label),
                ("type", i.candidate.type), ("status", i.status),
                ("title", i.candidate.title), ("message", i.candidate.message)]
                for i in self.rows])
        if self.total > len(self.rows):
            plain(self.console, f"... and {self.total - len(self.rows)} more "
                                "(use --format jsonl for all)")


class ExampleCollector:
    """Keeps the most urgent example of each suggestion type seen in a sweep."""

    def __init__(self) -> None:
        self.best: dict[str, SweptSuggestion] = {}

    def batch(self, items: Sequence[SweptSuggestion], users: int) -> None:
        """Called with each batch of the evaluation as soon as it is stored."""
        for item in items:
            kept = self.best.get(item.candidate.type)
            if kept is None or item.candidate.priority > kept.candidate.priority:
                self.best[item.candidate.type] = item

    def print(self, console: Console, now: datetime) -> None:
        """One panel (or plain block) per type, most urgent first: the traveler's id, the
        message, the numbers behind it; then how to look a traveler up."""
        ordered = sorted(self.best.values(),
                         key=lambda i: (-i.candidate.priority, i.candidate.type))
        for item in ordered:
            c = item.candidate
            heading = f"{c.priority.label} {c.type}: {c.title}"
            if console.is_terminal:
                color = _PRIORITY_COLOR.get(c.priority.label, "")
                console.print(Panel(
                    f"user {c.user_id}\n{escape(c.message)}\n\n[dim]{escape(_facts(item))}[/]",
                    title=f"[{color}]{c.priority.label}[/] {escape(c.type)}: {escape(c.title)}",
                    title_align="left"))
            else:
                print_blocks(console, [[("", heading), ("user", c.user_id),
                                        ("message", c.message), ("data", _facts(item))]])
        if ordered:
            plain(console, "\nLook up the traveler behind an example (profile, money, trips, "
                           "events, vehicle) with `pam-proactive context <user id> --now "
                           f"{now.isoformat()}` (add --format json for every field).")


def print_sweep_report(console: Console, report: SweepReport) -> None:
    """Counts by type and priority, lifecycle counts (each labelled with what it means) and
    speed."""
    rows = [("users swept", f"{report.users:,}"),
            ("seconds", f"{report.seconds:.2f}"),
            ("users/s", f"{report.users_per_second:,.0f}")]
    found = sum(report.by_type.values())
    rows.append(("suggestions found", f"{found:,}"))
    rows += [(f"priority {label}", f"{report.by_priority[label]:,}")
             for label in ("critical", "high", "medium", "low") if report.by_priority[label]]
    rows += [(f"type {kind}", f"{count:,}") for kind, count in report.by_type.most_common()]
    rows += [(f"{_LIFECYCLE.get(step, step)} ({step})", f"{count:,}")
             for step, count in sorted(report.lifecycle.items(),
                                       key=lambda kv: list(_LIFECYCLE).index(kv[0])
                                       if kv[0] in _LIFECYCLE else 99)]
    if report.delivery is not None:
        rows.append(("delivered (outbox rows due now, sent or released)",
                     f"{report.delivery.delivered:,}"))
        rows.append(("delivery failures (retried on the schedule)",
                     f"{report.delivery.failed:,}"))
        if report.delivery.dead:
            rows.append(("dead after their last attempt (deliveries list --dead)",
                         f"{report.delivery.dead:,}"))
    rows += [(f"silent, data too thin: {detector}", f"{count:,}")
             for detector, count in report.silent_notes.most_common(8)]
    rows.append(("rows skipped as malformed (swept users' data)", f"{report.rows_skipped:,}"))
    if report.detector_errors:
        rows.append(("users skipped: detector error", str(report.detector_errors)))
    if report.store_retries:
        rows.append(("batches retried (transient errors)", str(report.store_retries)))
    print_measures(console, "Sweep" + (" (dry run: nothing stored)" if report.dry_run else ""),
                   rows)
