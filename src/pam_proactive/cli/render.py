"""Turning results into readable terminal output (and JSON)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time
from enum import Enum
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table

from pam_proactive.context import UserContext


def to_jsonable(value: Any) -> Any:
    """Dataclasses, UUIDs, dates, sets and enums as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (UUID, date, datetime, time)):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    if isinstance(value, Enum):
        return value.name.lower()
    return value


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON of ``value``."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"))


@dataclasses.dataclass(slots=True)
class QualitySummary:
    """Data quality over many contexts."""

    users: int = 0
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)
    repaired: Counter[str] = dataclasses.field(default_factory=Counter)
    missing: Counter[str] = dataclasses.field(default_factory=Counter)
    completeness_sum: Counter[str] = dataclasses.field(default_factory=Counter)
    stale: int = 0

    def add(self, contexts: Iterable[UserContext]) -> None:
        """Fold more contexts in."""
        for ctx in contexts:
            q = ctx.data_quality
            self.users += 1
            self.skipped.update(q.skipped_rows)
            self.repaired.update(q.repaired_rows)
            self.missing.update(q.missing_sources)
            for section, value in q.sections:
                self.completeness_sum[section] += value  # type: ignore[assignment]
            self.stale += q.stale


def print_quality(console: Console, summary: QualitySummary) -> None:
    """Completeness per section and counts of skipped and repaired rows."""
    table = Table(title="Data quality", show_lines=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    n = max(summary.users, 1)
    for section, total in sorted(summary.completeness_sum.items()):
        table.add_row(f"completeness: {section}", f"{100 * total / n:.1f} %")
    for reason, count in summary.missing.most_common():
        table.add_row(f"users missing {reason}", str(count))
    for reason, count in summary.skipped.most_common():
        table.add_row(f"rows skipped: {reason}", str(count))
    for reason, count in summary.repaired.most_common():
        table.add_row(f"rows repaired: {reason}", str(count))
    table.add_row("contexts served stale", str(summary.stale))
    console.print(table)


def print_metrics(console: Console, metrics: dict[str, Any]) -> None:
    """Query and cache figures."""
    table = Table(title="Queries (per statement)")
    for col in ("statement", "count", "mean ms", "p95 ms", "slow", "errors"):
        table.add_column(col, justify="left" if col == "statement" else "right")
    for name, s in metrics["statements"].items():
        table.add_row(name, str(s["count"]), f"{s['mean_ms']:.2f}", f"{s['p95_ms']:.2f}",
                      str(s["slow"]), str(s["errors"]))
    console.print(table)
    console.print(
        f"queries: {metrics['queries_executed']}  mean {metrics['average_query_ms']:.2f} ms  "
        f"p95 {metrics['p95_query_ms']:.2f} ms  slow {metrics['slow_queries']}  |  cache: "
        f"{metrics['cache_size']} entries, hit rate {100 * metrics['cache_hit_rate']:.1f} %, "
        f"{metrics['cache_evictions']} evictions"
    )
