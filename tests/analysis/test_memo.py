"""per_context: one computation per (context, settings) pair while it is remembered (the
latest CAPACITY contexts), never a stale or another context's one."""

from __future__ import annotations

import pytest

from pam_proactive.analysis.memo import CAPACITY, per_context
from pam_proactive.suggestions.detectors import DETECT_CHUNK


class Thing:
    """Any object: the memo keys on identity, not equality."""

    def __eq__(self, other: object) -> bool:
        return True  # equal to everything: a memo keyed on equality would mix them up

    __hash__ = object.__hash__


def test_each_pair_is_computed_once_while_remembered() -> None:
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
    assert analysis(a, s) is first  # back to the first: still remembered, never another's
    assert analysis(a, t)[1] is t  # other settings: computed for them, in its place
    assert analysis(a, s)[1] is s  # so the first settings are computed again
    assert calls == [(a, s), (b, s), (a, t), (a, s)]


def test_a_chunk_of_contexts_is_remembered_and_the_oldest_forgotten_first() -> None:
    # The detectors go through a chunk of contexts detector by detector: every context of
    # the chunk must still be remembered when the next detector asks.
    assert DETECT_CHUNK * 2 <= CAPACITY
    calls: list[object] = []

    @per_context
    def analysis(ctx: object, settings: object) -> object:
        calls.append(ctx)
        return ctx

    settings = Thing()
    chunk = [Thing() for _ in range(CAPACITY)]
    for _ in range(3):  # three detectors reading the same analysis
        assert [analysis(c, settings) for c in chunk] == chunk
    assert len(calls) == CAPACITY
    newer = Thing()
    analysis(newer, settings)  # one more: the oldest is forgotten, the others kept
    analysis(chunk[1], settings)
    assert len(calls) == CAPACITY + 1
    analysis(chunk[0], settings)
    assert calls[-1] is chunk[0] and len(calls) == CAPACITY + 2


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
