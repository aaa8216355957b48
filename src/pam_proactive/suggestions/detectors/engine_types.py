"""Suggestion types the engine writes itself, not a detector: known to the registry (opt-out
group, rule sentence) like every detector's, with no job group and no time boundary."""

from __future__ import annotations

from pam_proactive.suggestions.detectors.spec import SuggestionType

# The one-time "turn these off?" offer (suggestions/adaptation.py): made while storing a
# traveler's batch, from their answers, not from their data.
ADAPTATION_OFFER = SuggestionType(
    "adaptation_offer", group="adaptation", job=None,
    rule="You told us often enough that suggestions of one type were not useful that we "
         "offer, once, to turn them off.")

ENGINE_TYPES: tuple[SuggestionType, ...] = (ADAPTATION_OFFER,)
