"""Every traveler value that must never appear in a log line, read back from the database,
and a scanner of log lines for them (reusable by the API tests: ``find_leaks``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import psycopg
from psycopg import sql

# Columns holding personal text (names, emails, places, free text) and personal numbers
# (amounts, coordinates), by name, in any traveler table of the public schema.
_TEXT = re.compile(r"email|name|description|location|origin|destination|title|notes|address")
_NUMBER = re.compile(r"amount|cost|price|total|limit|lat|lng|lon")
_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type
FROM information_schema.columns AS c
JOIN information_schema.tables AS t USING (table_schema, table_name)
WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
"""


def pii_values(uri: str) -> tuple[set[str], set[float]]:
    """(strings, numbers) of every personal column of every traveler table."""
    texts: set[str] = set()
    numbers: set[float] = set()
    with psycopg.connect(uri, autocommit=True) as conn:
        for table, column, dtype in conn.execute(_COLUMNS).fetchall():
            is_text = dtype == "text" and _TEXT.search(column)
            is_number = dtype in ("numeric", "double precision", "real") and _NUMBER.search(
                column)
            if not (is_text or is_number):
                continue
            query = sql.SQL("SELECT DISTINCT {} FROM {} WHERE {} IS NOT NULL").format(
                sql.Identifier(column), sql.Identifier(table), sql.Identifier(column))
            for (value,) in conn.execute(query).fetchall():
                if is_text:
                    texts.add(str(value))
                else:
                    numbers.add(float(value))
    return texts, numbers


def patterns(texts: Iterable[str], numbers: Iterable[float]) -> list[re.Pattern[str]]:
    """Regexes of each value as it could be printed: whole strings, each capitalised part (a
    place or name: 'Moab' of 'Moab, UT') of four letters or more (word bounded,
    case-sensitive; lower-case words such as 'store' are ordinary English), amounts with 2
    decimals (with and without thousands separators) and coordinates to 4 decimals,
    digit-bounded."""
    words: set[str] = set()
    for text in texts:
        if len(text) >= 4:
            words.add(text)
        words.update(part for part in re.split(r"[\s,;/()]+", text) if len(part) >= 4
                     and part[0].isupper())
    out = [re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)") for w in sorted(words)]
    printed: set[str] = set()
    for n in numbers:
        if abs(n) >= 1:  # 0.50 and the like are everywhere (timings); 1.00 and up are not
            printed.update({f"{n:.2f}", f"{n:,.2f}", f"{n:.4f}"})
    out.extend(re.compile(r"(?<![\d.,])" + re.escape(p) + r"(?!\d)") for p in sorted(printed))
    return out


def find_leaks(lines: Iterable[str], compiled: list[re.Pattern[str]]) -> list[tuple[int, str]]:
    """(line number, matched text) of each personal value found in ``lines``."""
    leaks = []
    for number, line in enumerate(lines, start=1):
        for pattern in compiled:
            found = pattern.search(line)
            if found:
                leaks.append((number, found.group(0)))
    return leaks
