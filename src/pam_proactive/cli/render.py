"""Turning results into readable terminal output (and JSON).

Every command that prints data takes ``--format table|json|jsonl``: ``table`` is for a
person (a rich table on a terminal, fitted to its width; plain aligned text with a header
row when piped), ``json`` one JSON document, ``jsonl`` one JSON object a line (a list's
records, or the one record).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
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


def print_data(value: Any, output: str) -> None:
    """``value`` on stdout for ``--format json`` (one document) or ``jsonl`` (each record of
    a list on its own line; anything else on one line)."""
    if output == "jsonl" and isinstance(value, (list, tuple)):
        for item in value:
            print(dumps(item))
    else:
        print(dumps(value))


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    """A column of :func:`print_table`: its header, alignment, ``drop`` (0 for a column
    always shown; higher numbers are dropped first when a terminal is too narrow) and
    ``listing`` (a comma-separated list, wrapped after its commas on a terminal) or ``text``
    (free text, wrapped at its spaces)."""

    header: str
    right: bool = False
    drop: int = 0
    listing: bool = False
    text: bool = False


def minute(moment: datetime) -> str:
    """A moment to the minute in UTC, ``2026-11-25T18:00Z``: one word (safe to split
    piped output on spaces), 17 characters."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


# Columns are separated by two spaces (no box): the most columns fit in 80.
_GAP = 2


def print_table(console: Console, title: str, columns: Sequence[Column],
                rows: Sequence[Sequence[str]]) -> None:
    """A table readable at any width. On a terminal: the columns that fit its width, each
    value whole (low-value columns dropped first and named in a note; never a value cut
    to "…"). Piped: every column, plain space-aligned text under a header row."""
    if not console.is_terminal:
        plain(console, title)
        widths = [max([len(c.header)] + [len(r[i]) for r in rows])
                  for i, c in enumerate(columns)]
        for row in ([c.header for c in columns], *rows):
            cells = [v.rjust(w) if c.right else v.ljust(w)
                     for v, w, c in zip(row, widths, columns, strict=True)]
            plain(console, (" " * _GAP).join(cells).rstrip())
        return
    shown = _fitting(console.width, columns, rows)
    table = Table(title=title, title_justify="left", box=None, pad_edge=False,
                  padding=(0, _GAP // 2), header_style="bold")
    for i in shown:
        table.add_column(columns[i].header, justify="right" if columns[i].right else "left",
                         overflow="fold")
    for row in rows:
        table.add_row(*(row[i].replace(",", ", ") if columns[i].listing else row[i]
                        for i in shown))
    console.print(table)
    hidden = [c.header for i, c in enumerate(columns) if i not in shown]
    if hidden:
        plain(console, f"(not shown at this width: {', '.join(hidden)}; pipe the output or "
                       "use --format json for every column)")


def _fitting(width: int, columns: Sequence[Column], rows: Sequence[Sequence[str]]
             ) -> list[int]:
    """The indexes of the columns to show within ``width`` (each value whole, a list
    wrapped after its commas, a header wrapped at its spaces), the highest ``drop``
    dropped first."""
    def need(i: int) -> int:
        words = columns[i].header.split()
        for row in rows:
            if columns[i].listing:
                words += row[i].split(",")
            else:
                words += row[i].split() if columns[i].text else [row[i]]
        return max((len(w) + (1 if columns[i].listing else 0) for w in words), default=1)

    shown = list(range(len(columns)))
    while sum(need(i) for i in shown) + _GAP * (len(shown) - 1) > width:
        droppable = [i for i in shown if columns[i].drop > 0]
        if not droppable:
            break  # only the essential columns left: rich folds what still does not fit
        shown.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    return shown


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
