"""The assembly's data quality: builders made only for travelers with findings, and the
shared ``DataQuality`` of those without."""

from __future__ import annotations

import itertools

from pam_proactive.context import DataQuality
from pam_proactive.data.assemble import COMPLETENESS_SOURCES
from pam_proactive.data.columnar.contexts import Findings, _plain_quality, data_quality

SOURCES = [name for _section, names in COMPLETENESS_SOURCES for name in names]


def expected(present: tuple[bool, ...]) -> DataQuality:
    """The completeness rule written out for a traveler with nothing recorded: each
    section's share of its sources present (3 decimals), every absent source missing."""
    flags = dict(zip(SOURCES, present, strict=True))
    sections = tuple(sorted(
        (section, round(sum(flags[n] for n in names) / len(names), 3))
        for section, names in COMPLETENESS_SOURCES))
    return DataQuality(sections=sections,
                       missing_sources=tuple(n for n in SOURCES if not flags[n]))


def test_plain_quality_of_every_combination_of_sources() -> None:
    for present in itertools.product((False, True), repeat=len(SOURCES)):
        plain = _plain_quality(present)
        assert plain == expected(present), present
        assert _plain_quality(present) is plain  # one shared instance
        # A traveler with an (empty) builder of their own gets an equal one.
        findings = Findings()
        assert not findings[1].skipped  # made on first use, nothing recorded
        assert data_quality(findings, 1, present) == plain, present


def test_findings_make_a_builder_on_first_use_only() -> None:
    findings = Findings()
    assert findings.get(3) is None and 3 not in findings
    findings[3].skip("expense_duplicate")
    findings[3].skip("expense_duplicate")
    assert list(findings) == [3] and findings[3].skipped == {"expense_duplicate": 2}
    present = (True,) * len(SOURCES)
    quality = data_quality(findings, 3, present)
    assert quality.skipped == (("expense_duplicate", 2),)
    assert quality.sections == _plain_quality(present).sections
    assert data_quality(findings, 4, present) is _plain_quality(present)
    assert 4 not in findings
