"""Printing suggestions and sweep reports."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from pam_proactive.cli.render import dumps
from pam_proactive.jobs.sweep import SweepReport, SweptSuggestion

_PRIORITY_COLOR = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def suggestion_json(item: SweptSuggestion) -> str:
    """One suggestion as a JSON line."""
    c = item.candidate
    return dumps({"user_id": c.user_id, "type": c.type, "priority": c.priority.label,
                  "title": c.title, "message": c.message, "data": c.data,
                  "dedup_key": c.dedup_key, "status": item.status,
                  "computed_for": c.computed_for, "expires_at": c.expires_at})


class SuggestionPrinter:
    """Streams jsonl as batches finish, or collects rows for a table."""

    def __init__(self, console: Console, output: str, *, limit: int = 50) -> None:
        self.console = console
        self.output = output
        self.limit = limit
        self.rows: list[SweptSuggestion] = []
        self.total = 0

    def batch(self, items: Sequence[SweptSuggestion], users: int) -> None:
        """Called by the sweep after each batch."""
        self.total += len(items)
        if self.output == "jsonl":
            for item in items:
                sys.stdout.write(suggestion_json(item) + "\n")
            sys.stdout.flush()
        elif len(self.rows) < self.limit:
            self.rows.extend(items[: self.limit - len(self.rows)])

    def finish(self) -> None:
        """Print the collected table (table format)."""
        if self.output != "table":
            return
        table = Table(title=f"Suggestions of this sweep ({self.total})", show_lines=True)
        for col in ("user", "priority", "type", "status", "message"):
            table.add_column(col, overflow="fold")
        for item in self.rows:
            c = item.candidate
            color = _PRIORITY_COLOR.get(c.priority.label, "")
            table.add_row("…" + c.user_id[-8:], f"[{color}]{c.priority.label}[/]", c.type,
                          item.status, f"[bold]{c.title}[/]\n{c.message}")
        self.console.print(table)
        if self.total > len(self.rows):
            self.console.print(f"... and {self.total - len(self.rows)} more "
                               "(use --format jsonl for all)")


class ExampleCollector:
    """Keeps the most urgent example of each suggestion type seen in a sweep."""

    def __init__(self) -> None:
        self.best: dict[str, SweptSuggestion] = {}

    def batch(self, items: Sequence[SweptSuggestion], users: int) -> None:
        """Called by the sweep after each batch."""
        for item in items:
            kept = self.best.get(item.candidate.type)
            if kept is None or item.candidate.priority > kept.candidate.priority:
                self.best[item.candidate.type] = item

    def print(self, console: Console) -> None:
        """One panel per type, most urgent first, with the numbers behind it."""
        ordered = sorted(self.best.values(),
                         key=lambda i: (-i.candidate.priority, i.candidate.type))
        for item in ordered:
            c = item.candidate
            color = _PRIORITY_COLOR.get(c.priority.label, "")
            facts = ", ".join(f"{k}={v}" for k, v in c.data.items()
                              if isinstance(v, (int, float, str)) and k != "currency")
            console.print(Panel(f"{c.message}\n\n[dim]{facts}[/]",
                                title=f"[{color}]{c.priority.label}[/] {c.type}: {c.title}",
                                title_align="left"))


def print_sweep_report(console: Console, report: SweepReport) -> None:
    """Counts by type and priority, lifecycle counts and speed."""
    table = Table(title="Sweep")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("users", str(report.users))
    table.add_row("seconds", f"{report.seconds:.2f}")
    table.add_row("users/s", f"{report.users_per_second:,.0f}")
    for label in ("critical", "high", "medium", "low"):
        if report.by_priority[label]:
            table.add_row(f"priority {label}", str(report.by_priority[label]))
    for kind, count in report.by_type.most_common():
        table.add_row(f"type {kind}", str(count))
    for step, count in sorted(report.lifecycle.items()):
        table.add_row(f"stored: {step}", str(count))
    if report.delivery is not None:
        table.add_row("delivered", str(report.delivery.delivered))
        table.add_row("delivery failures", str(report.delivery.failed))
    for detector, count in report.silent_notes.most_common(8):
        table.add_row(f"silent (thin data): {detector}", str(count))
    table.add_row("rows skipped as malformed", str(report.rows_skipped))
    if report.detector_errors:
        table.add_row("[red]users skipped: detector error[/]", str(report.detector_errors))
    if report.store_retries:
        table.add_row("batches retried (transient errors)", str(report.store_retries))
    console.print(table)
