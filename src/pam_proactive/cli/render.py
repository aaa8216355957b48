"""Turning results into readable terminal output (and JSON)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Sequence
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
    n = max(summary.users, 1)
    rows = [(f"completeness: {section}", f"{100 * total / n:.1f} %")
            for section, total in sorted(summary.completeness_sum.items())]
    rows += [(f"users missing {reason}", str(count))
             for reason, count in summary.missing.most_common()]
    rows += [(f"rows skipped: {reason}", str(count))
             for reason, count in summary.skipped.most_common()]
    rows += [(f"rows repaired: {reason}", str(count))
             for reason, count in summary.repaired.most_common()]
    rows.append(("contexts served stale", str(summary.stale)))
    print_measures(console, f"Data quality ({summary.users:,} contexts)", rows)


def print_metrics(console: Console, metrics: dict[str, Any], *,
                  title: str = "Queries (per statement)") -> None:
    """Query figures per statement, then the totals; the cache only when it was used (a
    hit rate of contexts built with ``use_cache=False`` means nothing)."""
    rows = [(name, str(s["count"]), f"{s['mean_ms']:.2f}", f"{s['p95_ms']:.2f}",
             str(s["slow"]), str(s["errors"])) for name, s in metrics["statements"].items()]
    print_columns(console, title,
                  ("statement", "count", "mean ms", "p95 ms", "slow", "errors"), rows)
    line = (f"queries: {metrics['queries_executed']}  mean {metrics['average_query_ms']:.2f} ms"
            f"  p95 {metrics['p95_query_ms']:.2f} ms  slow {metrics['slow_queries']}")
    if metrics.get("cache_hits", 0) + metrics.get("cache_misses", 0):
        line += (f"  |  cache: {metrics['cache_size']} entries, hit rate "
                 f"{100 * metrics['cache_hit_rate']:.1f} %, {metrics['cache_evictions']} evictions")
    plain(console, line)


def plain(console: Console, text: str = "") -> None:
    """``text`` as it is, no markup or highlighting; wrapped at spaces on a terminal, never
    wrapped when piped (a pipe keeps whole lines, so whole words and ids)."""
    console.print(text, markup=False, highlight=False, soft_wrap=not console.is_terminal)


def print_measures(console: Console, title: str, rows: Sequence[tuple[str, str]]) -> None:
    """A two-column measure/value table on a terminal; aligned ``measure  value`` lines
    otherwise."""
    if console.is_terminal:
        table = Table(title=title)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    plain(console, title)
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        plain(console, f"  {key:<{width}}  {value}")


def print_columns(console: Console, title: str, columns: Sequence[str],
                  rows: Sequence[Sequence[str]]) -> None:
    """A table of short values: rich on a terminal, space-aligned plain columns otherwise."""
    if console.is_terminal:
        table = Table(title=title)
        for i, col in enumerate(columns):
            table.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    plain(console, title)
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    for row in (tuple(columns), *rows):
        cells = [row[0].ljust(widths[0])] + [v.rjust(w) for v, w in zip(row[1:], widths[1:],
                                                                          strict=True)]
        plain(console, "  " + "  ".join(cells).rstrip())


def print_blocks(console: Console, records: Sequence[Sequence[tuple[str, str]]]) -> None:
    """Records of long text, one block of ``field: value`` lines per record, a blank line
    between blocks: each value whole on one line (piped output)."""
    for record in records:
        for key, value in record:
            plain(console, f"{key}: {value}" if key else value)
        plain(console)
