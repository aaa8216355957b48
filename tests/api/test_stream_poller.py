"""The stream's poller sees every committed change exactly once, whatever the commit order."""

from __future__ import annotations

from datetime import UTC, datetime

from api.conftest import World, api_settings
from api.harness import SCHEMA, candidate, new_id, profile
from pam_proactive.api.stream import SuggestionHub
from pam_proactive.engine import open_engine
from pam_proactive.suggestions.store import apply_candidates
from planting import Planter


async def test_out_of_order_commits_are_each_seen_once(world: World) -> None:
    with Planter(world.uri, "seed") as p:
        early, late = p.user(), p.user()
    now = datetime.now(UTC)
    async with open_engine(api_settings(world.uri)) as engine:
        hub = SuggestionHub(engine, poll_seconds=60)  # polled by hand below
        async with hub.subscribe(early) as sub_early, hub.subscribe(late) as sub_late:
            # A transaction starts writing first but commits last.
            async with engine.db.transaction("slow") as slow:
                await apply_candidates(slow, schema=SCHEMA, user_ids=[early],
                                       candidates=[candidate(early, "slow")],
                                       profiles={early: profile(early)}, now=now)
                await apply_candidates(engine.db, schema=SCHEMA, user_ids=[late],
                                       candidates=[candidate(late, "fast")],
                                       profiles={late: profile(late)}, now=now)
                assert await hub.poll_once() == 1
                assert sub_late.queue.get_nowait().suggestion.dedup_key == (
                    "budget_exceeded:fast")
                assert sub_early.queue.empty()  # not committed yet
            assert await hub.poll_once() == 1
            change = sub_early.queue.get_nowait()
            assert (change.kind, change.suggestion.dedup_key) == ("created",
                                                                  "budget_exceeded:slow")
            assert await hub.poll_once() == 0  # nothing twice
            assert sub_early.queue.empty() and sub_late.queue.empty()

            # A user nobody subscribed to is not even read.
            stranger = new_id()
            await apply_candidates(engine.db, schema=SCHEMA, user_ids=[stranger],
                                   candidates=[candidate(stranger, "x")],
                                   profiles={stranger: profile(stranger)}, now=now)
            assert await hub.poll_once() == 0
        assert hub.subscribers == 0
