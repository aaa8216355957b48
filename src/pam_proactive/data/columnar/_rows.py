"""Row helpers of the column-wise sections: a row's long texts cut and counted (the rare
rows a section hands back to Python), and a frame's rows grouped by user, as the per-object
builders take them (bench/vehicle_section.py's baseline side).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.context import QualityBuilder
from pam_proactive.data.columnar.columns import Frame

Row = tuple[Any, ...]


def rows_by_user(frame: Frame) -> dict[int, list[Row]]:
    """The frame's rows (tuples in column order) by their ``i``, keeping order."""
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in frame.iter_rows():
        grouped[row[0]].append(row)
    return grouped


def cut_columns(row: Row, columns: tuple[int, ...], quality: QualityBuilder) -> Row:
    """``row`` with its text at ``columns`` cut to ``TEXT_MAX_CHARS``, each cut counted as
    repaired (``text_cut``)."""
    long = [c for c in columns if isinstance(row[c], str) and len(row[c]) > TEXT_MAX_CHARS]
    if not long:
        return row
    quality.repair("text_cut", len(long))
    return tuple(cut_text(v) if k in long else v for k, v in enumerate(row))
