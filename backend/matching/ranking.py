"""Who to ask first for a shift that needs people, and why.

``eligible_volunteers`` is the SQL filter (``eligibility``), the scores are a weighted sum
of parts (``scoring``); ``rank_candidates`` orders the eligible by score, best first, equal
scores by volunteer ID. ``explain`` answers a coordinator's "why is this volunteer (not)
on the list, and where": the rules failed, or the parts, weights and rank.
"""

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from backend.activities.models import Shift
from backend.matching import scoring
from backend.matching.eligibility import FailedCheck, eligible_volunteers, failed_checks
from backend.matching.scoring import Candidate, target_of
from backend.volunteers.models import VolunteerProfile

__all__ = [
    "Candidate",
    "Explanation",
    "FailedCheck",
    "eligible_volunteers",
    "explain",
    "rank_candidates",
    "score_many",
    "score_volunteers",
    "shifts_for_matching",
]


def shifts_for_matching() -> QuerySet[Shift]:
    """Shifts with what eligibility and scoring read selected and prefetched."""
    return Shift.objects.select_related(
        "activity__region", "activity__service_point", "activity__organizer__region"
    ).prefetch_related("required_skills")


def _ranked_scores(
    shift: Shift, now: dt.datetime, exclude_volunteer_ids: Collection[int] = ()
) -> scoring.Scores:
    volunteers = eligible_volunteers(shift, now)
    if exclude_volunteer_ids:
        volunteers = volunteers.exclude(pk__in=list(exclude_volunteer_ids))
    return scoring.score_queryset(target_of(shift), volunteers, now)


def rank_candidates(
    shift: Shift,
    *,
    limit: int | None = None,
    exclude_volunteer_ids: Collection[int] = (),
    now: dt.datetime | None = None,
) -> list[Candidate]:
    """The eligible volunteers, best first (equal scores: lower volunteer ID first)."""
    now = now or timezone.now()
    return _ranked_scores(shift, now, exclude_volunteer_ids).ranked(limit)


def score_volunteers(
    shift: Shift, volunteer_ids: Sequence[int], now: dt.datetime | None = None
) -> dict[int, Candidate]:
    """Scores of the given volunteers, assumed eligible (unknown IDs are left out)."""
    ranked = score_many([shift], {shift.pk: volunteer_ids}, now=now)[shift.pk]
    return {candidate.volunteer_id: candidate for candidate in ranked}


def score_many(
    shifts: Iterable[Shift],
    candidates_per_shift: Mapping[int, Sequence[int]],
    now: dt.datetime | None = None,
) -> dict[int, list[Candidate]]:
    """For each shift (by ID), its given candidates scored, best first. Three queries
    whatever the number of shifts; load the shifts with ``shifts_for_matching``."""
    now = now or timezone.now()
    targets = [target_of(shift) for shift in shifts]
    scored = scoring.score_many(targets, candidates_per_shift, now)
    return {shift_id: scores.ranked() for shift_id, scores in scored.items()}


@dataclass(frozen=True)
class Explanation:
    eligible: bool
    failed_checks: list[str]  # FailedCheck values, in the order the rules are checked
    candidate: Candidate | None  # the scores, when eligible
    rank: int | None  # 1-based among the eligible
    weights: dict[str, float]


def explain(
    shift: Shift, volunteer: VolunteerProfile, now: dt.datetime | None = None
) -> Explanation:
    """Why the volunteer is where they are for this shift: the rules they fail, or their
    scores and rank among everyone eligible (which takes the whole ranking)."""
    now = now or timezone.now()
    weights = target_of(shift).weights
    failed = failed_checks(shift, [volunteer.pk], now).get(volunteer.pk, [])
    if failed:
        return Explanation(False, failed, None, None, weights)
    scores = _ranked_scores(shift, now)
    order = scores.order()
    (positions,) = np.nonzero(scores.features.volunteer_ids[order] == volunteer.pk)
    if not len(positions):
        # Their rows changed between the two queries: the rules as they stand now.
        failed = failed_checks(shift, [volunteer.pk], now).get(volunteer.pk, [])
        return Explanation(False, failed, None, None, weights)
    position = int(positions[0])
    return Explanation(True, [], scores.candidate(int(order[position])), position + 1, weights)
