"""Voting rules: who votes, when, once; quorum, ties and counting."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from graphql_relay import to_global_id

from backend.deliberation import tasks, voting
from backend.deliberation.error_codes import DeliberationErrorCode as Code
from backend.deliberation.models import Ballot, BallotChoice, Proposal, ProposalStatus, TopicStatus
from backend.residents.models import Residence, ResidenceStatus
from notifications.kinds import NotificationKind
from notifications.models import Notification
from tests.deliberation.voting_fixtures import (  # noqa: F401
    DAY,
    HOUR,
    Hall,
    hall_fixture,
    make_proposal,
    refused,
    vote,
)
from tests.fixtures import make_resident, make_volunteer

YES, NO, ABSTAIN = BallotChoice.YES, BallotChoice.NO, BallotChoice.ABSTAIN
OPENS = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
CLOSES = OPENS + 2 * DAY


def open_default(hall: Hall, **changes):
    arguments = {"title": "设临时停车区", "closes_at": timezone.now() + DAY, **changes}
    return voting.open_vote(hall.manager, hall.topic, **arguments)


# --- Opening a vote ------------------------------------------------------------------------


def test_opening_fixes_eligible_voters_and_half_of_them_as_quorum(hall: Hall) -> None:
    # Given five verified residents and one awaiting verification
    make_resident(hall.region, "newcomer", verified=False)

    proposal = open_default(hall)

    assert proposal.status == ProposalStatus.VOTING
    assert proposal.eligible_voters == 5
    assert proposal.quorum == 3  # ceil(5 × 50 %)
    # Every verified resident hears of it, once.
    told = Notification.objects.filter(kind=NotificationKind.VOTE_OPENED)
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        f"resident{n}" for n in range(5)
    ]
    voting.count_vote(proposal)  # not due: changes nothing
    assert Proposal.objects.get().status == ProposalStatus.VOTING


@pytest.mark.parametrize(
    ("arguments", "quorum"),
    [
        ({"quorum": 5}, 5),
        ({"quorum": 1}, 1),
        ({"quorum_percent": Decimal("20")}, 1),
        ({"quorum_percent": Decimal("20.01")}, 2),
        ({"quorum_percent": Decimal("100")}, 5),
        ({"quorum_percent": Decimal("0.1")}, 1),
    ],
)
def test_quorum_as_ballots_or_percentage_rounded_up(hall: Hall, arguments, quorum) -> None:
    assert open_default(hall, **arguments).quorum == quorum


@pytest.mark.parametrize(
    "arguments",
    [
        {"quorum": 0},
        {"quorum": 6},
        {"quorum_percent": Decimal("0")},
        {"quorum_percent": Decimal("100.5")},
        {"quorum_percent": Decimal("-10")},
        {"quorum": 2, "quorum_percent": Decimal("50")},
    ],
)
def test_impossible_quorum_is_refused(hall: Hall, arguments) -> None:
    assert refused(open_default, hall, **arguments) == [Code.INVALID_QUORUM]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("opens_in", "lasts"),
    [
        (None, HOUR - dt.timedelta(seconds=1)),  # shorter than an hour
        (None, 60 * DAY + dt.timedelta(seconds=1)),  # longer than 60 days
        (HOUR, -HOUR),  # closes before it opens
        (-DAY, 2 * DAY),  # opens in the past
        (61 * DAY, DAY),  # opens too far ahead
    ],
)
def test_window_of_one_hour_to_sixty_days(hall: Hall, opens_in, lasts) -> None:
    now = timezone.now()
    opens_at = None if opens_in is None else now + opens_in
    closes_at = (opens_at or now) + lasts
    with time_machine.travel(now, tick=False):
        problems = refused(open_default, hall, opens_at=opens_at, closes_at=closes_at)
    assert problems == [Code.INVALID_WINDOW]


def test_window_limits_themselves_are_allowed(hall: Hall) -> None:
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        short = open_default(hall, closes_at=now + HOUR)
        long = open_default(hall, opens_at=now + DAY, closes_at=now + 61 * DAY)
    assert (short.opens_at, short.closes_at) == (now, now + HOUR)
    assert long.closes_at - long.opens_at == 60 * DAY


def test_naive_times_are_local_to_shanghai(hall: Hall) -> None:
    with time_machine.travel(OPENS - DAY, tick=False):
        proposal = open_default(
            hall,
            opens_at=dt.datetime(2026, 12, 1, 17, 0),  # noqa: DTZ001
            closes_at=dt.datetime(2026, 12, 3, 17),  # noqa: DTZ001
        )
    assert proposal.opens_at == OPENS  # 17:00 in Shanghai is 09:00 UTC
    assert proposal.closes_at == CLOSES


def test_no_verified_residents_no_vote(db: None) -> None:
    from tests.deliberation.voting_fixtures import build_hall

    hall = build_hall(residents=1)
    Residence.objects.update(status=ResidenceStatus.PENDING, verified_at=None)

    assert refused(open_default, hall) == [Code.NO_ELIGIBLE_VOTERS]


def test_only_open_topics_go_to_the_vote(hall: Hall) -> None:
    hall.topic.status = TopicStatus.CLOSED
    hall.topic.save()
    assert refused(open_default, hall) == [Code.TOPIC_CLOSED]


def test_only_those_who_run_the_hall_open_a_vote(hall: Hall) -> None:
    with pytest.raises(PermissionDenied):
        voting.open_vote(
            hall.residents[1], hall.topic, title="我来投票", closes_at=timezone.now() + DAY
        )
    assert not Proposal.objects.exists()


# --- Casting ballots -----------------------------------------------------------------------


@pytest.fixture
def proposal(hall: Hall) -> Proposal:
    with time_machine.travel(OPENS - DAY, tick=False):
        return voting.open_vote(
            hall.manager, hall.topic, title="设临时停车区", opens_at=OPENS, closes_at=CLOSES
        )


def test_window_opens_inclusive_and_closes_exclusive(hall: Hall, proposal: Proposal) -> None:
    voter = hall.residents[1]
    with time_machine.travel(OPENS - dt.timedelta(microseconds=1), tick=False):
        assert refused(voting.cast_ballot, voter, proposal, YES) == [Code.VOTING_NOT_OPEN]
    with time_machine.travel(OPENS, tick=False):
        voting.cast_ballot(voter, proposal, YES)
    with time_machine.travel(CLOSES - dt.timedelta(microseconds=1), tick=False):
        voting.cast_ballot(hall.residents[2], proposal, NO)
    with time_machine.travel(CLOSES, tick=False):
        assert refused(voting.cast_ballot, hall.residents[3], proposal, YES) == [Code.VOTING_CLOSED]
    assert Ballot.objects.count() == 2


def test_voting_again_changes_the_one_ballot(hall: Hall, proposal: Proposal) -> None:
    voter = hall.residents[1]
    with time_machine.travel(OPENS + HOUR, tick=False):
        first = voting.cast_ballot(voter, proposal, YES)
        retried = voting.cast_ballot(voter, proposal, YES)
        changed = voting.cast_ballot(voter, proposal, NO)

    assert first.pk == retried.pk == changed.pk
    assert Ballot.objects.get().choice == NO
    assert Proposal.objects.get().ballots_cast == 1


def test_foreign_and_unverified_residents_do_not_vote(hall: Hall, proposal: Proposal) -> None:
    pending = make_resident(hall.region, "pending", verified=False)
    elsewhere = make_resident(hall.community.other_community, "neighbour")
    visitor = make_volunteer("visitor")
    moved_away = hall.residents[4]
    Residence.objects.filter(user=moved_away).update(status=ResidenceStatus.ENDED)

    with time_machine.travel(OPENS + HOUR, tick=False):
        assert refused(voting.cast_ballot, pending, proposal, YES) == [Code.RESIDENCE_NOT_VERIFIED]
        for outsider in (elsewhere, visitor, moved_away):
            assert refused(voting.cast_ballot, outsider, proposal, YES) == [Code.NOT_A_RESIDENT]
        assert refused(voting.cast_ballot, hall.residents[1], proposal, "maybe") == [Code.INVALID]
    assert not Ballot.objects.exists()


def test_withdrawn_proposal_takes_no_ballots_and_is_never_counted(
    hall: Hall, proposal: Proposal
) -> None:
    with time_machine.travel(OPENS + HOUR, tick=False):
        voting.cast_ballot(hall.residents[1], proposal, YES)
        assert refused(voting.withdraw_proposal, hall.manager, proposal, " ") == [
            Code.REASON_REQUIRED
        ]
        voting.withdraw_proposal(hall.manager, proposal, "方案需要修改")
        assert refused(voting.cast_ballot, hall.residents[2], proposal, YES) == [
            Code.PROPOSAL_NOT_VOTING
        ]
    with time_machine.travel(CLOSES, tick=False):
        assert voting.count_closed_votes() == 0
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.WITHDRAWN
    assert proposal.withdrawn_reason == "方案需要修改"
    assert proposal.counted_at is None


def test_a_closed_vote_cannot_be_withdrawn(hall: Hall, proposal: Proposal) -> None:
    with time_machine.travel(CLOSES, tick=False):
        assert refused(voting.withdraw_proposal, hall.manager, proposal, "太晚了") == [
            Code.VOTING_CLOSED
        ]


# --- Counting ------------------------------------------------------------------------------


def _votes(hall: Hall, proposal: Proposal, *choices: BallotChoice) -> None:
    with time_machine.travel(OPENS + HOUR, tick=False):
        for voter, choice in zip(hall.residents, choices, strict=False):
            voting.cast_ballot(voter, proposal, choice)


@pytest.mark.parametrize(
    ("choices", "status"),
    [
        ((YES, YES, NO), ProposalStatus.ADOPTED),
        ((YES, NO, ABSTAIN, ABSTAIN), ProposalStatus.TIED),
        ((YES, NO, NO), ProposalStatus.REJECTED),
        ((ABSTAIN, ABSTAIN, ABSTAIN), ProposalStatus.TIED),  # abstentions make the quorum
        ((YES, ABSTAIN, ABSTAIN), ProposalStatus.ADOPTED),
        ((YES, YES), ProposalStatus.NO_QUORUM),  # 2 of 5, quorum 3
        ((), ProposalStatus.NO_QUORUM),
    ],
)
def test_outcome_of_a_count(hall: Hall, proposal: Proposal, choices, status) -> None:
    _votes(hall, proposal, *choices)

    counted = voting.count_vote(proposal, CLOSES)

    assert counted.status == status
    assert (counted.yes_count, counted.no_count, counted.abstain_count) == (
        choices.count(YES),
        choices.count(NO),
        choices.count(ABSTAIN),
    )
    assert counted.ballots_cast == len(choices)
    assert counted.counted_at == CLOSES


def test_counting_waits_for_the_window_to_close(hall: Hall, proposal: Proposal) -> None:
    _votes(hall, proposal, YES, YES, YES)
    assert voting.count_vote(proposal, CLOSES - dt.timedelta(microseconds=1)).counted_at is None
    assert Proposal.objects.get().status == ProposalStatus.VOTING


def test_the_periodic_task_counts_each_closed_vote_once(hall: Hall, proposal: Proposal) -> None:
    # Given a second proposal still open when the first is due
    with time_machine.travel(OPENS - DAY, tick=False):
        later = voting.open_vote(
            hall.manager, hall.topic, title="改造车棚", opens_at=OPENS, closes_at=CLOSES + DAY
        )
    _votes(hall, proposal, YES, YES, NO)

    with time_machine.travel(CLOSES, tick=False):
        assert tasks.count_closed_votes() == 1
        assert tasks.count_closed_votes() == 0  # idempotent
    with time_machine.travel(CLOSES + HOUR, tick=False):
        voting.count_vote(proposal)  # a late read changes nothing either

    proposal.refresh_from_db()
    later.refresh_from_db()
    assert proposal.status == ProposalStatus.ADOPTED
    assert proposal.counted_at == CLOSES
    assert later.status == ProposalStatus.VOTING
    # The voters and the raiser hear of the result once (the raiser voted too).
    told = Notification.objects.filter(kind=NotificationKind.VOTE_COUNTED)
    assert sorted(told.values_list("recipient__username", flat=True)) == [
        "resident0",
        "resident1",
        "resident2",
    ]
    assert told.get(recipient=hall.residents[0]).data["proposalId"] == to_global_id(
        "Proposal", proposal.pk
    )


def test_no_ballot_after_the_count(hall: Hall, proposal: Proposal) -> None:
    _votes(hall, proposal, YES)
    voting.count_vote(proposal, CLOSES)
    # Even with a clock that lags behind the count
    with time_machine.travel(OPENS + HOUR, tick=False):
        assert refused(voting.cast_ballot, hall.residents[2], proposal, YES) == [Code.VOTING_CLOSED]


def test_outcome_only_depends_on_the_ballots_fixed_quorum(hall: Hall) -> None:
    # Residents moving in after opening do not move the bar.
    opened = make_proposal(hall.topic, hall.manager, quorum=2, eligible=5)
    vote(opened, hall.residents[1], YES)
    for n in range(10):
        make_resident(hall.region, f"late{n}")
    counted = voting.count_vote(opened, opened.closes_at)
    assert counted.status == ProposalStatus.NO_QUORUM
