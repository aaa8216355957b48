"""Row helper of the column-wise sections: a row's long texts cut and counted (the rare
rows a section hands back to Python).
"""

from __future__ import annotations

from typing import Any

from pam_proactive.analysis.bounds import TEXT_MAX_CHARS, cut_text
from pam_proactive.context import QualityBuilder

Row = tuple[Any, ...]


def cut_columns(row: Row, columns: tuple[int, ...], quality: QualityBuilder) -> Row:
    """``row`` with its text at ``columns`` cut to ``TEXT_MAX_CHARS``, each cut counted as
    repaired (``text_cut``)."""
    long = [c for c in columns if isinstance(row[c], str) and len(row[c]) > TEXT_MAX_CHARS]
    if not long:
        return row
    quality.repair("text_cut", len(long))
    return tuple(cut_text(v) if k in long else v for k, v in enumerate(row))
