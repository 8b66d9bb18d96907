"""Putting proposals to the vote of a community's verified residents, and counting them.

One resident, one vote: only a user with a verified residence in the topic's community may
vote, once per proposal; voting again within the window changes the choice of the same
ballot. The window is ``[opens_at, closes_at)``. The number of eligible voters and the quorum
are fixed when the vote opens (see ``Proposal``).

Locking: every ballot locks its proposal's row (``FOR NO KEY UPDATE``) before it reads and
writes, and so does the count. Ballots of one proposal therefore go one after the other —
a few milliseconds each, for a community of a few thousand voters — which gives three
guarantees without further machinery: the same voter tapping twice gets one ballot (the
second call sees the first one's row), the turnout counter ``ballots_cast`` stays exact, and
no ballot slips in after the count (a ballot waiting for the lock re-reads the status and
finds the vote counted).

Counting happens once, when the window has closed: by the periodic task every minute, and
by anyone reading the proposal in between (``count_vote`` is idempotent).
"""

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.audit.services import record
from backend.core.fields import clean_text, model_max_length
from backend.core.problems import Problems, refuse
from backend.deliberation.error_codes import DeliberationErrorCode as Code
from backend.deliberation.models import (
    Ballot,
    BallotChoice,
    Proposal,
    ProposalStatus,
    Topic,
    TopicStatus,
)
from backend.residents.models import Residence, ResidenceStatus
from backend.residents.services import current_residence
from notifications import deliberation_events as events

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
MIN_WINDOW = dt.timedelta(hours=1)
MAX_WINDOW = dt.timedelta(days=60)
# Catches a mistyped date: a vote is announced at most this far ahead.
MAX_OPENS_AHEAD = dt.timedelta(days=60)
# A client's "now" that is a little behind the server's is still now.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)
DEFAULT_QUORUM_PERCENT = Decimal(50)
MAX_BODY_LENGTH = 5000


def open_vote(
    actor: Any,
    topic: Topic,
    *,
    title: str,
    body: str = "",
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime,
    quorum: int | None = None,
    quorum_percent: Decimal | int | None = None,
) -> Proposal:
    """Put a proposal on an open topic to the vote of the community's verified residents.

    The quorum is a number of ballots (abstentions count): ``quorum`` as given, or
    ``quorum_percent`` of the eligible voters rounded up (half of them by default). Naive
    times are local (Asia/Shanghai). The residents are told when the vote is recorded.
    """
    now = timezone.now()
    with transaction.atomic():
        topic = locked_topic(topic.pk)
        ensure_manager(actor, topic)
        ensure_topic_open(topic)
        problems = Problems()
        title = clean_text(
            problems, "title", title, required=True, limit=model_max_length(Proposal, "title")
        )
        body = clean_text(problems, "body", body, required=False, limit=MAX_BODY_LENGTH)
        opens_at, closes_at = _window(problems, now, opens_at, closes_at)
        eligible = Residence.objects.filter(
            community_id=topic.community_id, status=ResidenceStatus.VERIFIED
        ).count()
        if eligible == 0:
            problems.add(
                None,
                _("Nobody in this community has a verified residence: nobody could vote."),
                Code.NO_ELIGIBLE_VOTERS,
            )
        needed = _quorum(problems, eligible, quorum, quorum_percent)
        problems.raise_if_any()
        proposal = Proposal.objects.create(
            topic=topic,
            title=title,
            body=body,
            proposed_by=actor,
            opens_at=opens_at,
            closes_at=closes_at,
            eligible_voters=eligible,
            quorum=needed,
        )
        record(
            actor,
            "proposal.open",
            proposal,
            topic.community,
            {
                "opens_at": [None, opens_at.isoformat()],
                "closes_at": [None, closes_at.isoformat()],
                "eligible_voters": [None, eligible],
                "quorum": [None, needed],
            },
        )
        events.vote_opened(proposal, actor)
    return proposal


def cast_ballot(user: Any, proposal: Proposal, choice: str) -> Ballot:
    """The user's ballot on ``proposal`` with ``choice``: created on the first call, changed
    by a later one within the window (a retried call with the same choice changes nothing).
    """
    if choice not in BallotChoice.values:
        raise refuse("choice", _("Vote yes, no or abstain."), Code.INVALID)
    now = timezone.now()
    with transaction.atomic():
        proposal = _locked_proposal(proposal.pk)
        residence = _voters_residence(user, proposal.topic.community_id)
        _ensure_voting(proposal, now)
        ballot = Ballot.objects.filter(proposal=proposal, voter=user).first()
        if ballot is None:
            ballot = Ballot.objects.create(
                proposal=proposal, voter=user, residence=residence, choice=choice
            )
            proposal.ballots_cast += 1
            proposal.save(update_fields=["ballots_cast"])
        elif ballot.choice != choice:
            ballot.choice = choice
            ballot.save(update_fields=["choice", "changed_at"])
    return ballot


def withdraw_proposal(actor: Any, proposal: Proposal, reason: str) -> Proposal:
    """Take a proposal off the vote before its window closes, saying why; its ballots are
    never counted."""
    now = timezone.now()
    problems = Problems()
    reason = clean_text(
        problems,
        "reason",
        reason,
        required=False,
        limit=model_max_length(Proposal, "withdrawn_reason"),
    )
    with transaction.atomic():
        proposal = _locked_proposal(proposal.pk)
        ensure_manager(actor, proposal.topic)
        if proposal.status != ProposalStatus.VOTING:
            raise refuse(
                None,
                _("This proposal is no longer being voted on (%(status)s).")
                % {"status": proposal.get_status_display()},
                Code.PROPOSAL_NOT_VOTING,
            )
        if now >= proposal.closes_at:
            raise refuse(
                None, _("Voting has closed: the ballots are being counted."), Code.VOTING_CLOSED
            )
        if not reason:
            problems.add("reason", _("Say why the proposal is withdrawn."), Code.REASON_REQUIRED)
        problems.raise_if_any()
        proposal.status = ProposalStatus.WITHDRAWN
        proposal.withdrawn_at = now
        proposal.withdrawn_reason = reason
        proposal.save(update_fields=["status", "withdrawn_at", "withdrawn_reason"])
        record(
            actor,
            "proposal.withdraw",
            proposal,
            proposal.topic.community,
            {"status": [ProposalStatus.VOTING.value, ProposalStatus.WITHDRAWN.value]},
            reason,
        )
    return proposal


def count_vote(proposal: Proposal, now: dt.datetime | None = None) -> Proposal:
    """Count a proposal whose window has closed, once; any other call returns the proposal
    as it is (still open, counted already, withdrawn). Who voted and the raiser are told.
    """
    now = now or timezone.now()
    with transaction.atomic():
        proposal = _locked_proposal(proposal.pk)
        if proposal.status != ProposalStatus.VOTING or now < proposal.closes_at:
            return proposal
        tally = proposal.ballots.aggregate(
            **{
                choice: Count("pk", filter=Q(choice=choice))
                for choice in (BallotChoice.YES, BallotChoice.NO, BallotChoice.ABSTAIN)
            }
        )
        proposal.yes_count = tally[BallotChoice.YES]
        proposal.no_count = tally[BallotChoice.NO]
        proposal.abstain_count = tally[BallotChoice.ABSTAIN]
        proposal.ballots_cast = sum(tally.values())
        proposal.status = outcome_of(proposal)
        proposal.counted_at = now
        proposal.save(
            update_fields=[
                "yes_count",
                "no_count",
                "abstain_count",
                "ballots_cast",
                "status",
                "counted_at",
            ]
        )
        record(
            None,
            "proposal.count",
            proposal,
            proposal.topic.community,
            {"status": [ProposalStatus.VOTING.value, proposal.status]},
        )
        events.vote_counted(proposal)
    return proposal


def outcome_of(proposal: Proposal) -> ProposalStatus:
    """No quorum when fewer ballots than the quorum came in (abstentions count towards it);
    otherwise adopted on more yes than no, tied on as many, rejected on fewer."""
    if proposal.ballots_cast < proposal.quorum:
        return ProposalStatus.NO_QUORUM
    if proposal.yes_count > proposal.no_count:
        return ProposalStatus.ADOPTED
    if proposal.yes_count == proposal.no_count:
        return ProposalStatus.TIED
    return ProposalStatus.REJECTED


def count_closed_votes(now: dt.datetime | None = None) -> int:
    """Count every proposal whose window has closed (the periodic task); each in its own
    transaction, so one slow count holds no other. Returns how many were counted."""
    now = now or timezone.now()
    due = Proposal.objects.filter(status=ProposalStatus.VOTING, closes_at__lte=now).order_by(
        "closes_at", "pk"
    )
    counted = 0
    for proposal in due.only("pk"):
        counted += count_vote(proposal, now).counted_at == now
    return counted


def is_due_for_count(proposal: Proposal, now: dt.datetime | None = None) -> bool:
    return (
        proposal.status == ProposalStatus.VOTING and (now or timezone.now()) >= proposal.closes_at
    )


# --- Checks --------------------------------------------------------------------------------


def locked_topic(pk: int) -> Topic:
    return Topic.objects.select_for_update(of=("self",)).select_related("community").get(pk=pk)


def _locked_proposal(pk: int) -> Proposal:
    return (
        Proposal.objects.select_for_update(no_key=True, of=("self",))
        .select_related("topic__community")
        .get(pk=pk)
    )


def ensure_manager(actor: Any, topic: Topic) -> None:
    if not actor.has_perm("deliberation.manage_hall", topic.community):
        raise PermissionDenied(_("You do not run the deliberation hall of this community."))


def ensure_topic_open(topic: Topic) -> None:
    if topic.is_hidden:
        raise refuse(None, _("This topic is hidden."), Code.TOPIC_HIDDEN)
    if topic.status != TopicStatus.OPEN:
        raise refuse(
            None,
            _("This topic is %(status)s.") % {"status": topic.get_status_display()},
            Code.TOPIC_CLOSED,
        )


def _voters_residence(user: Any, community_id: int) -> Residence:
    """The user's verified residence in the community, or why they may not vote."""
    residence = current_residence(user)
    if residence is None or residence.community_id != community_id:
        raise refuse(
            None, _("Only residents of this community vote on its proposals."), Code.NOT_A_RESIDENT
        )
    if residence.status != ResidenceStatus.VERIFIED:
        raise refuse(
            None,
            _("Your residence is not verified yet: ask your community office."),
            Code.RESIDENCE_NOT_VERIFIED,
        )
    return residence


def _ensure_voting(proposal: Proposal, now: dt.datetime) -> None:
    if proposal.status != ProposalStatus.VOTING:
        code = Code.VOTING_CLOSED if proposal.counted_at else Code.PROPOSAL_NOT_VOTING
        raise refuse(
            None,
            _("This proposal is no longer being voted on (%(status)s).")
            % {"status": proposal.get_status_display()},
            code,
        )
    if now < proposal.opens_at:
        raise refuse(None, _("Voting has not opened yet."), Code.VOTING_NOT_OPEN)
    if now >= proposal.closes_at:
        raise refuse(None, _("Voting has closed."), Code.VOTING_CLOSED)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if timezone.is_aware(value) else value.replace(tzinfo=LOCAL_ZONE)


def _window(
    problems: Problems, now: dt.datetime, opens_at: dt.datetime | None, closes_at: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    opens_at = now if opens_at is None else _aware(opens_at)
    closes_at = _aware(closes_at)
    if opens_at < now - CLOCK_TOLERANCE:
        problems.add("opens_at", _("Voting cannot open in the past."), Code.INVALID_WINDOW)
    elif opens_at > now + MAX_OPENS_AHEAD:
        problems.add(
            "opens_at",
            _("Voting opens at most %(days)d days ahead.") % {"days": MAX_OPENS_AHEAD.days},
            Code.INVALID_WINDOW,
        )
    opens_at = max(opens_at, now)
    if not MIN_WINDOW <= closes_at - opens_at <= MAX_WINDOW:
        problems.add(
            "closes_at",
            _("Voting stays open for at least an hour and at most %(days)d days.")
            % {"days": MAX_WINDOW.days},
            Code.INVALID_WINDOW,
        )
    return opens_at, closes_at


def _quorum(
    problems: Problems,
    eligible: int,
    quorum: int | None,
    percent: Decimal | int | None,
) -> int:
    if quorum is not None and percent is not None:
        problems.add(
            "quorum",
            _("Give the quorum as a number of ballots or as a percentage, not both."),
            Code.INVALID_QUORUM,
        )
        return 0
    if quorum is not None:
        if eligible and not 1 <= quorum <= eligible:
            problems.add(
                "quorum",
                _("The quorum is 1 to %(eligible)d ballots (the eligible voters).")
                % {"eligible": eligible},
                Code.INVALID_QUORUM,
            )
        return quorum
    try:
        share = DEFAULT_QUORUM_PERCENT if percent is None else Decimal(percent)
    except (InvalidOperation, TypeError, ValueError):
        share = Decimal(0)
    if not (share.is_finite() and 0 < share <= 100):
        problems.add(
            "quorum_percent",
            _("The quorum is more than 0 and at most 100 percent of the eligible voters."),
            Code.INVALID_QUORUM,
        )
        return 0
    return max(1, math.ceil(Decimal(eligible) * share / 100))
