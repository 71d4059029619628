"""The built-in ``weighted`` matcher: the smart-dispatch design's six-factor weighted score, vectorised."""

from __future__ import annotations

import numpy as np

from app.plugins import hookimpl
from app.plugins.contracts import MatchOutcome, RankedCandidate


class WeightedMatcher:
    """Skill 40 %, distance 25 %, availability 15 %, priority balance 10 %, skill diversity 5 %,
    history 5 % (weights configurable); hard constraints exclude technicians outright."""

    name = "weighted"

    def rank(self, pool, request, distances_km: np.ndarray, settings, limit: int = 20) -> MatchOutcome:
        from app.matching import Exclusions, score_pool

        scores = score_pool(pool, request, distances_km, settings)
        top = scores.best(limit)
        ranked = [
            RankedCandidate(
                technician_id=int(pool.technician_ids[i]),
                score=float(scores.total[i]),
                breakdown=scores.breakdown(int(i)),
            )
            for i in top
        ]
        # Written only when read: an automatic assignment that finds someone never needs them.
        return MatchOutcome(ranked=ranked, excluded=Exclusions(pool, request, scores.eligible))


@hookimpl(trylast=True)
def motorpool_matchers():
    return {WeightedMatcher.name: WeightedMatcher()}
