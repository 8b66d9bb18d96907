"""The deliberation hall to the month's ledger, in the demo community, through the API only.

A resident raises the parking topic, residents give opinions and vote, the vote is counted
by the periodic task, the committee records the decision, which spawns an activity and a
campaign; residents and a co-building unit pledge, the organizer confirms what arrived, and
the street office downloads November's ledger as XLSX with the right totals.
"""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.db.models import Sum
from django.utils import translation

from backend.campaigns.models import CampaignLedgerEntry, LedgerDirection
from backend.deliberation.models import Decision, Topic
from backend.deliberation.tasks import count_closed_votes
from backend.demo import catalog
from backend.demo.builder import build_demo
from backend.organizations.models import Membership, MembershipRole, Organization
from backend.regions.models import Region, RegionRole
from backend.residents.models import Residence, ResidenceStatus
from backend.statistics import exports
from tests.fixtures import make_region_admin, sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOADED_AT = dt.datetime(2026, 11, 9, 9, 0, tzinfo=SHANGHAI)

RAISE_TOPIC = """
mutation ($title: String!, $body: String!) {
  raiseTopic(title: $title, body: $body) { topic { id community { name } } errors { code } }
}"""
ADD_OPINION = """
mutation ($topic: ID!, $stance: OpinionStance!, $body: String!) {
  addOpinion(topicId: $topic, stance: $stance, body: $body) { errors { code } }
}"""
OPEN_VOTE = """
mutation ($topic: ID!, $closesAt: DateTime!) {
  openVote(topicId: $topic, title: "错时共享银行车位，底商窗下改为绿化", closesAt: $closesAt,
           quorumPercent: "50") {
    proposal { id eligibleVoters quorum status } errors { code field }
  }
}"""
CAST_BALLOT = """
mutation ($proposal: ID!, $choice: BallotChoice!) {
  castBallot(proposalId: $proposal, choice: $choice) { proposal { ballotsCast } errors { code } }
}"""
PROPOSAL = """
query ($id: ID!) {
  node(id: $id) { ... on Proposal { status results { yes no abstain } } }
}"""
RECORD_DECISION = """
mutation ($topic: ID!, $proposal: ID!) {
  recordDecision(topicId: $topic, proposalId: $proposal, outcome: ADOPTED,
                 summary: "错时共享车位，窗下改绿化",
                 reasons: "赞成票过半且达到法定票数。") {
    decision { id topic { status } } errors { code field }
  }
}"""
SPAWN_ACTIVITY = """
mutation ($decision: ID!, $organizer: ID!, $startsAt: DateTime!, $endsAt: DateTime!) {
  spawnDecisionActivity(decisionId: $decision, organizerId: $organizer, kind: COMMUNITY_EVENT,
                        title: "底商窗下绿化种植", publish: true,
                        shifts: [{startsAt: $startsAt, endsAt: $endsAt, capacity: 20}]) {
    activity { id status kind } errors { code field }
  }
}"""
SPAWN_CAMPAIGN = """
mutation ($decision: ID!, $organizer: ID!) {
  spawnDecisionCampaign(decisionId: $decision, organizerId: $organizer,
                        title: "窗下绿化认捐", openNow: true,
                        goals: [{kind: MONEY, label: "绿化基金", target: "50000.00"},
                                {kind: VOLUNTEERS, label: "种植志愿者", target: "20"}]) {
    campaign { id status goals { id kind } } errors { code field }
  }
}"""
PLEDGE = """
mutation ($input: PledgeInput!) { pledge(input: $input) { pledge { id } errors { code } } }"""
CONFIRM = """
mutation ($id: ID!) { confirmPledge(id: $id) { pledge { status } errors { code } } }"""
CAMPAIGN_PROGRESS = """
query ($id: ID!) {
  node(id: $id) { ... on Campaign { moneyBalance goals { kind pledged received } } }
}"""
LEDGER_EXPORT = """
query ($region: ID!) {
  ledgerExport(region: $region, month: "2026-11", format: XLSX) { url filename }
}"""
STATISTICS = """
query ($region: ID!) {
  communityStatistics(region: $region, month: "2026-11") {
    total { campaigns { moneyReceived } deliberation { topicsRaised decisions } }
  }
}"""


def ok(payload: dict) -> dict:
    assert payload["errors"] == [], payload["errors"]
    return payload


@pytest.mark.django_db(transaction=False)
def test_parking_topic_to_the_months_ledger(client, gql):
    with time_machine.travel(LOADED_AT, tick=False) as clock:
        build_demo(service_points=20, volunteers=60, activities=20)
        community = Region.objects.get(code=catalog.CHAOYANGLI_CODE)
        verified = list(
            Residence.objects.filter(community=community, status=ResidenceStatus.VERIFIED)
            .select_related("user")
            .order_by("pk")
        )
        residents = [residence.user for residence in verified]
        committee = Organization.objects.get(name="朝阳里社区党委")
        secretary = (
            Membership.objects.filter(organization=committee, role=MembershipRole.ADMIN)
            .select_related("user")
            .first()
            .user
        )

        def as_(user: object) -> object:
            """A client signed in now (tokens expire while the clock moves on)."""
            return gql.with_token(sign_in(user))

        # A resident raises the parking topic; neighbours give their opinions.
        raised = ok(
            gql.with_token(sign_in(residents[0])).mutate(
                RAISE_TOPIC,
                {"title": "底商窗下停车扰民", "body": "晚上停车鸣笛，影响一楼住户休息。"},
            )
        )
        topic_id = raised["topic"]["id"]
        assert raised["topic"]["community"]["name"] == "朝阳里社区"
        for neighbour, stance in zip(residents[1:4], ["SUPPORT", "OPPOSE", "NEUTRAL"], strict=True):
            ok(
                gql.with_token(sign_in(neighbour)).mutate(
                    ADD_OPINION, {"topic": topic_id, "stance": stance, "body": "我的意见。"}
                )
            )

        # The committee puts a proposal to the vote: half the verified residents must vote.
        opened = ok(
            as_(secretary).mutate(
                OPEN_VOTE,
                {"topic": topic_id, "closesAt": (LOADED_AT + dt.timedelta(days=3)).isoformat()},
            )
        )["proposal"]
        assert opened["eligibleVoters"] == len(residents)
        assert opened["quorum"] == -(-len(residents) // 2)
        choices = ["YES"] * opened["quorum"] + ["NO"] * 3 + ["ABSTAIN"] * 2
        for voter, choice in zip(residents, choices, strict=False):
            ok(
                gql.with_token(sign_in(voter)).mutate(
                    CAST_BALLOT, {"proposal": opened["id"], "choice": choice}
                )
            )

        # The window closes; the periodic task counts the vote.
        clock.move_to(LOADED_AT + dt.timedelta(days=3, minutes=1))
        count_closed_votes()
        counted = gql.data(PROPOSAL, {"id": opened["id"]})["node"]
        assert counted["status"] == "ADOPTED"
        assert counted["results"] == {"yes": opened["quorum"], "no": 3, "abstain": 2}

        # The decision is recorded and spawns an activity and a campaign.
        decision = ok(
            as_(secretary).mutate(RECORD_DECISION, {"topic": topic_id, "proposal": opened["id"]})
        )["decision"]
        assert decision["topic"]["status"] == "DECIDED"
        committee_id = gql.data(
            "query { organizations(first: 50) { edges { node { id name } } } }"
        )["organizations"]["edges"]
        committee_id = next(
            e["node"]["id"] for e in committee_id if e["node"]["name"] == "朝阳里社区党委"
        )
        starts = LOADED_AT + dt.timedelta(days=10)
        activity = ok(
            as_(secretary).mutate(
                SPAWN_ACTIVITY,
                {
                    "decision": decision["id"],
                    "organizer": committee_id,
                    "startsAt": starts.isoformat(),
                    "endsAt": (starts + dt.timedelta(hours=3)).isoformat(),
                },
            )
        )["activity"]
        assert activity["status"] == "PUBLISHED"
        assert activity["kind"] == "COMMUNITY_EVENT"
        campaign = ok(
            as_(secretary).mutate(
                SPAWN_CAMPAIGN, {"decision": decision["id"], "organizer": committee_id}
            )
        )["campaign"]
        assert campaign["status"] == "OPEN"
        money_goal = next(g["id"] for g in campaign["goals"] if g["kind"] == "MONEY")
        people_goal = next(g["id"] for g in campaign["goals"] if g["kind"] == "VOLUNTEERS")
        stored = Decision.objects.get(topic__title="底商窗下停车扰民")
        assert stored.activities.count() == stored.campaigns.count() == 1

        # Pledges come in — exact decimals — and the organizer confirms what arrived.
        amounts = [Decimal("1000.50"), Decimal("2000.25"), Decimal("0.25")]
        pledge_ids = []
        for donor, amount in zip(residents[4:], amounts, strict=False):
            pledged = ok(
                gql.with_token(sign_in(donor)).mutate(
                    PLEDGE,
                    {
                        "input": {
                            "campaignId": campaign["id"],
                            "goalId": money_goal,
                            "quantity": str(amount),
                            "clientKey": f"k-{donor.pk}",
                        }
                    },
                )
            )
            pledge_ids.append(pledged["pledge"]["id"])
        ok(
            gql.with_token(sign_in(residents[10])).mutate(
                PLEDGE,
                {"input": {"campaignId": campaign["id"], "goalId": people_goal, "quantity": "1"}},
            )
        )
        for pledge_id in pledge_ids:
            assert (
                ok(as_(secretary).mutate(CONFIRM, {"id": pledge_id}))["pledge"]["status"]
                == "FULFILLED"
            )
        progress = gql.data(CAMPAIGN_PROGRESS, {"id": campaign["id"]})["node"]
        assert progress["moneyBalance"] == "3001.00"
        assert {g["kind"]: (g["pledged"], g["received"]) for g in progress["goals"]} == {
            "MONEY": ("3001.00", "3001.00"),
            "VOLUNTEERS": ("1.00", "0.00"),
        }

        # The street office downloads November's ledger.
        street_admin = make_region_admin(community.parent, "street-office")
        as_street = gql.with_token(sign_in(street_admin))
        community_id = gql.data("query { regions(first: 100) { edges { node { id code } } } }")[
            "regions"
        ]["edges"]
        community_id = next(
            e["node"]["id"] for e in community_id if e["node"]["code"] == community.code
        )
        link = as_street.data(LEDGER_EXPORT, {"region": community_id})["ledgerExport"]
        response = client.get(link["url"], HTTP_HOST="localhost")
        assert response.status_code == 200
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))

        expected_money = CampaignLedgerEntry.objects.filter(
            campaign__region__path__startswith=community.path,
            direction=LedgerDirection.INCOME,
            goal__kind="money",
            occurred_on__gte=dt.date(2026, 11, 1),
            occurred_on__lt=dt.date(2026, 12, 1),
        ).aggregate(total=Sum("quantity"))["total"]
        # The demo fund's November income plus the three pledges confirmed here.
        assert expected_money > Decimal("3001.00")
        figures = as_street.data(STATISTICS, {"region": community_id})["communityStatistics"][
            "total"
        ]
        assert Decimal(figures["campaigns"]["moneyReceived"]) == expected_money
        # The demo's open parking topic and the one raised here; the stairwell decision was
        # recorded in October.
        assert (
            figures["deliberation"]["topicsRaised"]
            == Topic.objects.filter(community=community, created_at__month=11).count()
            == 2
        )
        assert figures["deliberation"]["decisions"] == 1
        assert_workbook_totals(workbook, expected_money, topics=2, decisions=1)
        assert RegionRole.objects.filter(user=street_admin).exists()


def assert_workbook_totals(
    workbook: openpyxl.Workbook, money: Decimal, *, topics: int, decisions: int
) -> None:
    """The Summary sheet's last line is the total; its columns follow SUMMARY_COLUMNS."""
    summary = workbook.worksheets[0]
    total_row = summary.max_row
    with translation.override("en"):
        index = {str(column.header): n for n, column in enumerate(exports.SUMMARY_COLUMNS)}

    def total(header: str) -> object:
        column = exports.FIRST_FIGURE_COLUMN + index[header]
        return summary.cell(row=total_row, column=column).value

    assert summary.cell(row=total_row, column=2).value == catalog.CHAOYANGLI_CODE
    assert Decimal(str(total("Money received (yuan)"))) == money
    assert total("Deliberation topics raised") == topics
    assert total("Decisions recorded") == decisions
    assert total("Votes held") == 1
    assert summary._charts, "the Summary sheet charts the service hours"
