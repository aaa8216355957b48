"""per_context: one computation per (context, settings) pair in a row, never a stale one."""

from __future__ import annotations

import pytest

from pam_proactive.analysis.memo import per_context


class Thing:
    """Any object: the memo keys on identity, not equality."""

    def __eq__(self, other: object) -> bool:
        return True  # equal to everything: a memo keyed on equality would mix them up

    __hash__ = object.__hash__


def test_the_latest_pair_is_computed_once_and_others_again() -> None:
    calls: list[tuple[object, object]] = []

    @per_context
    def analysis(ctx: object, settings: object) -> tuple[object, object]:
        calls.append((ctx, settings))
        return (ctx, settings)

    a, b, s, t = Thing(), Thing(), Thing(), Thing()
    first = analysis(a, s)
    assert analysis(a, s) is first
    assert len(calls) == 1
    assert analysis(b, s)[0] is b  # another context: computed for it
    assert analysis(a, s)[0] is a  # back to the first: computed again, never another's
    assert analysis(a, t)[1] is t  # other settings: computed for them
    assert calls == [(a, s), (b, s), (a, s), (a, t)]


def test_a_failed_call_is_not_kept() -> None:
    failures = [ValueError("the first call fails")]

    @per_context
    def analysis(ctx: object, settings: object) -> str:
        if failures:
            raise failures.pop()
        return "ok"

    ctx, settings = Thing(), Thing()
    with pytest.raises(ValueError):
        analysis(ctx, settings)
    assert analysis(ctx, settings) == "ok"
