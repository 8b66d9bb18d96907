"""A community's hall ready to vote: residents, a manager, an open topic; and proposals,
decisions and ballots built directly (the services are what the tests try)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backend.accounts.models import User
from backend.deliberation.models import (
    Ballot,
    BallotChoice,
    Decision,
    DecisionOutcome,
    Proposal,
    ProposalStatus,
    Topic,
    TopicStatus,
)
from backend.regions.models import Region
from backend.residents.models import Residence
from tests.deliberation.fixtures import make_topic
from tests.fixtures import Community, build_community, make_coordinator, make_resident

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass
class Hall:
    community: Community
    manager: User
    residents: list[User]
    topic: Topic

    @property
    def region(self) -> Region:
        return self.community.community


def build_hall(residents: int = 5, community: Community | None = None) -> Hall:
    community = community or build_community()
    people = [make_resident(community.community, f"resident{n}") for n in range(residents)]
    return Hall(
        community=community,
        manager=make_coordinator(community.committee, "hall-manager"),
        residents=people,
        topic=make_topic(community.community, people[0]),
    )


@pytest.fixture(name="hall")
def hall_fixture(db: None) -> Hall:
    return build_hall()


def refused(call: Any, *args: Any, **kwargs: Any) -> list[str | None]:
    """The error codes of a service call that must refuse."""
    with pytest.raises(ValidationError) as error:
        call(*args, **kwargs)
    return [e.code for errors in error.value.error_dict.values() for e in errors]


def make_proposal(
    topic: Topic,
    proposer: User,
    *,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    quorum: int = 1,
    eligible: int | None = None,
) -> Proposal:
    opens_at = opens_at or timezone.now() - HOUR
    return Proposal.objects.create(
        topic=topic,
        title="在3号楼东侧设临时停车区",
        proposed_by=proposer,
        opens_at=opens_at,
        closes_at=closes_at or opens_at + DAY,
        eligible_voters=eligible or 5,
        quorum=quorum,
    )


def vote(proposal: Proposal, voter: User, choice: BallotChoice) -> Ballot:
    ballot = Ballot.objects.create(
        proposal=proposal,
        voter=voter,
        residence=Residence.objects.get(user=voter),
        choice=choice,
    )
    Proposal.objects.filter(pk=proposal.pk).update(ballots_cast=proposal.ballots.count())
    return ballot


def counted_proposal(topic: Topic, proposer: User, status: ProposalStatus) -> Proposal:
    now = timezone.now()
    proposal = make_proposal(topic, proposer, opens_at=now - 2 * DAY, closes_at=now - DAY)
    proposal.status = status
    proposal.counted_at = now
    proposal.save()
    return proposal


def make_decision(
    topic: Topic, decider: User, outcome: DecisionOutcome = DecisionOutcome.ADOPTED
) -> Decision:
    Topic.objects.filter(pk=topic.pk).update(status=TopicStatus.DECIDED)
    return Decision.objects.create(
        topic=topic,
        outcome=outcome,
        summary="设临时停车区，夜间禁止在窗下停车",
        reasons="多数居民赞成。",
        decided_by=decider,
    )
