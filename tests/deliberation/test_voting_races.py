"""Ballots under concurrency, on PostgreSQL: the proposal's row lock is what is tested."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backend.deliberation import voting
from backend.deliberation.models import Ballot, BallotChoice, Proposal
from tests.backend.test_enrollment_races import run_together
from tests.deliberation.voting_fixtures import (
    DAY,
    HOUR,
    build_hall,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_voter_tapping_many_times_at_once_casts_one_ballot() -> None:
    hall = build_hall(residents=3)
    proposal = voting.open_vote(
        hall.manager, hall.topic, title="设临时停车区", closes_at=timezone.now() + DAY
    )
    voter = hall.residents[1]
    choices = [BallotChoice.YES, BallotChoice.NO] * 5

    results = run_together(
        [(lambda choice=choice: voting.cast_ballot(voter, proposal, choice)) for choice in choices]
    )

    assert not [result for result in results if isinstance(result, Exception)]
    assert Ballot.objects.filter(voter=voter).count() == 1
    assert len({ballot.pk for ballot in results}) == 1
    assert Proposal.objects.get().ballots_cast == 1


def test_a_count_racing_ballots_counts_exactly_the_ballots_that_went_in() -> None:
    hall = build_hall(residents=12)
    now = timezone.now()
    proposal = voting.open_vote(hall.manager, hall.topic, title="设临时停车区", closes_at=now + DAY)
    Proposal.objects.filter(pk=proposal.pk).update(opens_at=now - HOUR)
    casts = [
        (lambda voter=voter: voting.cast_ballot(voter, proposal, BallotChoice.YES))
        for voter in hall.residents
    ]

    # The count runs as if the window had closed, in the middle of the ballots.
    results = run_together([*casts[:6], lambda: voting.count_vote(proposal, now + DAY), *casts[6:]])

    accepted = [result for result in results if isinstance(result, Ballot)]
    refused = [result for result in results if isinstance(result, ValidationError)]
    assert len(accepted) + len(refused) == 12
    counted = Proposal.objects.get()
    assert counted.counted_at is not None
    # Every ballot accepted was counted; none came in after the count.
    assert counted.yes_count == counted.ballots_cast == len(accepted) == Ballot.objects.count()
