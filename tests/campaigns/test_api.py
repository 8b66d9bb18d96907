"""Campaigns through the API: who may launch, confirm and spend; exact amounts as strings;
what the public sees of pledges and the ledger; constant query counts for lists."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from graphql_relay import to_global_id

from backend.campaigns import services
from backend.campaigns.models import Campaign, CampaignStatus, GoalKind, Pledge, PledgeStatus
from tests.campaigns.conftest import goal, launch
from tests.fixtures import make_volunteer, sign_in
from tests.permissions import ALLOWED, ANONYMOUS, CALLERS, database_fingerprint

GOALS = """
fragment Goals on Campaign {
  goals { id kind label unit target pledged received percent pledgeCount }
}
"""
CAMPAIGNS = (
    """
query Campaigns($region: ID, $status: CampaignStatus, $first: Int) {
  campaigns(region: $region, status: $status, first: $first) {
    totalCount
    edges { node { id title status endsAt organizer { name } region { name }
                   ...Goals moneyBalance myPledges { id quantity status } viewerCanManage } }
  }
}
"""
    + GOALS
)
LEDGER = """
query Ledger($id: ID!) {
  campaign(id: $id) {
    moneyBalance
    ledger(first: 100) {
      totalCount
      edges { node { date direction amount description counterparty
                     goal { label } reverses { id } } }
    }
  }
}
"""
PLEDGES = """
query Pledges($id: ID!) {
  campaign(id: $id) {
    pledges(first: 100) {
      totalCount
      edges { node { quantity status pledgerName note isMine goal { label kind } } }
    }
  }
}
"""
LAUNCH = (
    """
mutation Launch($input: LaunchCampaignInput!) {
  launchCampaign(input: $input) {
    campaign { id status title region { name } ...Goals }
    errors { field code message }
  }
}
"""
    + GOALS
)
OPEN = """
mutation Open($id: ID!) {
  openCampaign(id: $id) { campaign { status openedAt } errors { field code } }
}
"""
CLOSE = """
mutation Close($id: ID!, $reason: String) {
  closeCampaign(id: $id, reason: $reason) { campaign { status closeReason } errors { code } }
}
"""
CANCEL = """
mutation Cancel($id: ID!, $reason: String!) {
  cancelCampaign(id: $id, reason: $reason) { campaign { status } errors { field code } }
}
"""
UPDATE = """
mutation Update($id: ID!, $input: UpdateCampaignInput!) {
  updateCampaign(id: $id, input: $input) { campaign { title endsAt } errors { field code } }
}
"""
PLEDGE = (
    """
mutation Pledge($input: PledgeInput!) {
  pledge(input: $input) {
    pledge { id quantity status isMine pledgerName }
    campaign { ...Goals }
    errors { field code message }
  }
}
"""
    + GOALS
)
CANCEL_PLEDGE = """
mutation CancelPledge($id: ID!) {
  cancelPledge(id: $id) { pledge { status } errors { code } }
}
"""
CONFIRM = """
mutation Confirm($id: ID!, $received: Decimal) {
  confirmPledge(id: $id, receivedQuantity: $received) {
    pledge { status quantity fulfilledQuantity }
    errors { field code }
  }
}
"""
EXPENSE = """
mutation Expense($input: RecordCampaignExpenseInput!) {
  recordCampaignExpense(input: $input) {
    entry { direction amount counterparty date }
    campaign { moneyBalance }
    errors { field code }
  }
}
"""
REVERSE = """
mutation Reverse($id: ID!, $reason: String!) {
  reverseCampaignLedgerEntry(id: $id, reason: $reason) {
    entry { amount reverses { id } }
    errors { code }
  }
}
"""


def gid(kind: str, obj) -> str:
    return to_global_id(kind, obj.pk)


def pledge_input(campaign, kind=GoalKind.MONEY, quantity="100.00", **extra):
    return {
        "campaignId": gid("Campaign", campaign),
        "goalId": gid("CampaignGoal", goal(campaign, kind)),
        "quantity": quantity,
        **extra,
    }


def shows_phone(content, user) -> bool:
    """Whether the answer holds the user's number, in full or without the country code."""
    national = str(user.phone).removeprefix("+86")
    return national in json.dumps(content, ensure_ascii=False)


def today() -> str:
    return timezone.localdate(timezone.now(), timezone.get_default_timezone()).isoformat()


def error_codes(payload) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def launch_input(community):
    return {
        "organizer": gid("Organization", community.committee),
        "region": gid("Region", community.grid),
        "title": "楼道改造召集令",
        "description": "三号楼楼道",
        "goals": [
            {"kind": "VOLUNTEERS", "label": "居民志愿者", "target": "5000"},
            {"kind": "MONEY", "label": "共建基金", "target": "1800000.00"},
            {"kind": "GOODS", "label": "大米", "target": "200", "unit": "kg"},
        ],
    }


@pytest.fixture
def resident_token(resident):
    return sign_in(resident)


@pytest.fixture
def organizer_token(organizer):
    return sign_in(organizer)


# --- the permission matrix -------------------------------------------------------------------


def assert_refused(answer, caller, before):
    expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
    assert error_codes(answer) == [expected]
    assert database_fingerprint() == before


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_launch_a_campaign_for_the_committee(gql, community, callers, caller):
    before = database_fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(
        LAUNCH, {"input": launch_input(community)}
    )

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert answer["campaign"]["status"] == "DRAFT"
        assert answer["campaign"]["region"]["name"] == community.grid.name
        assert [g["target"] for g in answer["campaign"]["goals"]] == [
            "5000.00",
            "1800000.00",
            "200.00",
        ]
    else:
        assert_refused(answer, caller, before)


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_confirm_a_pledge(gql, community, callers, campaign, resident, caller):
    pledge = services.pledge(resident, campaign, goal(campaign, GoalKind.MONEY), "300.00")
    before = database_fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(
        CONFIRM, {"id": gid("Pledge", pledge), "received": "250.00"}
    )

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert answer["pledge"] == {
            "status": "FULFILLED",
            "quantity": "300.00",
            "fulfilledQuantity": "250.00",
        }
    else:
        assert_refused(answer, caller, before)


@pytest.mark.parametrize("caller", CALLERS)
def test_who_may_record_an_expense(gql, community, callers, campaign, organizer, resident, caller):
    pledge = services.pledge(resident, campaign, goal(campaign, GoalKind.MONEY), "300.00")
    services.confirm_pledge(organizer, pledge)
    before = database_fingerprint()

    answer = gql.with_token(callers.tokens[caller]).mutate(
        EXPENSE,
        {
            "input": {
                "campaignId": gid("Campaign", campaign),
                "amount": "120.50",
                "description": "楼道油漆",
                "paidTo": "和平区五金店",
                "occurredOn": today(),
            }
        },
    )

    if caller in ALLOWED:
        assert answer["errors"] == []
        assert answer["entry"]["amount"] == "120.50"
        assert answer["entry"]["direction"] == "EXPENSE"
        assert answer["campaign"]["moneyBalance"] == "179.50"
    else:
        assert_refused(answer, caller, before)


# --- amounts are exact strings ---------------------------------------------------------------


def test_a_tenth_and_two_tenths_show_as_exactly_thirty_fen(gql, campaign, resident_token):
    other = sign_in(make_volunteer("second-giver"))

    gql.with_token(resident_token).mutate(PLEDGE, {"input": pledge_input(campaign, quantity="0.1")})
    answer = gql.with_token(other).mutate(PLEDGE, {"input": pledge_input(campaign, quantity="0.2")})

    assert answer["errors"] == []
    money = next(g for g in answer["campaign"]["goals"] if g["kind"] == "MONEY")
    assert (money["pledged"], money["received"], money["pledgeCount"]) == ("0.30", "0.00", 2)
    assert money["percent"] == "0.00"  # of ¥1,800,000


def test_three_pledges_of_600000_show_a_hundred_percent(gql, campaign):
    for index in range(3):
        token = sign_in(make_volunteer(f"big-giver-{index}"))
        answer = gql.with_token(token).mutate(
            PLEDGE, {"input": pledge_input(campaign, quantity="600000.00")}
        )

    money = next(g for g in answer["campaign"]["goals"] if g["kind"] == "MONEY")
    assert (money["pledged"], money["percent"]) == ("1800000.00", "100.00")


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        ("1e2", "INVALID_AMOUNT"),
        ("NaN", "INVALID_AMOUNT"),
        ("-1", "AMOUNT_NOT_POSITIVE"),
        ("0.001", "TOO_MANY_DECIMALS"),
        (0.1, "TOO_MANY_DECIMALS"),  # a JSON float is its binary value
    ],
)
def test_amounts_that_are_not_plain_decimals_are_refused(
    gql, campaign, resident_token, quantity, code
):
    before = database_fingerprint()

    answer = gql.with_token(resident_token).mutate(
        PLEDGE, {"input": pledge_input(campaign, quantity=quantity)}
    )

    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("quantity", code)]
    assert database_fingerprint() == before


def test_a_retried_pledge_with_its_client_key_lands_once(gql, campaign, resident_token):
    given = pledge_input(campaign, quantity="50", clientKey="app-7f3a")

    first = gql.with_token(resident_token).mutate(PLEDGE, {"input": given})
    retry = gql.with_token(resident_token).mutate(PLEDGE, {"input": given})

    assert first["errors"] == retry["errors"] == []
    assert first["pledge"]["id"] == retry["pledge"]["id"]
    assert Pledge.objects.count() == 1


def test_one_person_one_volunteer_pledge(gql, campaign, resident_token):
    given = pledge_input(campaign, kind=GoalKind.VOLUNTEERS, quantity="1")

    gql.with_token(resident_token).mutate(PLEDGE, {"input": given})
    again = gql.with_token(resident_token).mutate(PLEDGE, {"input": given})

    assert [(e["field"], e["code"]) for e in again["errors"]] == [("goalId", "ALREADY_PLEDGED")]


def test_a_unit_pledges_on_behalf_of_its_organization(gql, campaign, unit, unit_admin):
    answer = gql.with_token(sign_in(unit_admin)).mutate(
        PLEDGE,
        {
            "input": pledge_input(
                campaign,
                kind=GoalKind.UNITS,
                quantity="1",
                organizationId=gid("Organization", unit),
            )
        },
    )

    assert answer["errors"] == []
    assert answer["pledge"]["pledgerName"] == unit.name


# --- life cycle through the API --------------------------------------------------------------


def test_launch_open_update_close(gql, community, organizer_token):
    launched = gql.with_token(organizer_token).mutate(LAUNCH, {"input": launch_input(community)})
    campaign_id = launched["campaign"]["id"]

    opened = gql.with_token(organizer_token).mutate(OPEN, {"id": campaign_id})
    reopened = gql.with_token(organizer_token).mutate(OPEN, {"id": campaign_id})
    ends_at = (timezone.now() + dt.timedelta(days=30)).replace(microsecond=0)
    updated = gql.with_token(organizer_token).mutate(
        UPDATE,
        {
            "id": campaign_id,
            "input": {"title": "楼道改造", "endsAt": ends_at.isoformat(), "goals": []},
        },
    )
    renamed = gql.with_token(organizer_token).mutate(
        UPDATE, {"id": campaign_id, "input": {"title": "楼道改造", "endsAt": ends_at.isoformat()}}
    )
    closed = gql.with_token(organizer_token).mutate(CLOSE, {"id": campaign_id, "reason": "完成"})
    cancelled = gql.with_token(organizer_token).mutate(CANCEL, {"id": campaign_id, "reason": "x"})

    assert opened["campaign"]["status"] == "OPEN"
    assert opened["campaign"]["openedAt"]
    assert error_codes(reopened) == ["INVALID_STATUS_TRANSITION"]
    assert error_codes(updated) == ["GOALS_LOCKED"]
    assert renamed["errors"] == []
    assert renamed["campaign"]["title"] == "楼道改造"
    assert renamed["campaign"]["endsAt"] == ends_at.isoformat()
    assert Campaign.objects.get().description == "三号楼楼道"
    assert closed["campaign"] == {"status": "CLOSED", "closeReason": "完成"}
    assert error_codes(cancelled) == ["INVALID_STATUS_TRANSITION"]


def test_a_launch_with_bad_goals_names_each_field(gql, community, organizer_token):
    given = launch_input(community)
    given["goals"][0]["target"] = "10.5"
    given["goals"][2]["label"] = "共建基金"

    answer = gql.with_token(organizer_token).mutate(LAUNCH, {"input": given})

    assert sorted((e["field"], e["code"]) for e in answer["errors"]) == [
        ("goals.0.target", "WHOLE_NUMBER_REQUIRED"),
        ("goals.2.label", "DUPLICATE_GOAL_LABEL"),
    ]


def test_withdrawing_and_reversing(gql, campaign, organizer, organizer_token, resident):
    token = sign_in(resident)
    open_pledge = services.pledge(resident, campaign, goal(campaign, GoalKind.GOODS), "2")
    paid = services.pledge(resident, campaign, goal(campaign, GoalKind.MONEY), "80")
    services.confirm_pledge(organizer, paid)
    paid.refresh_from_db()

    withdrawn = gql.with_token(token).mutate(CANCEL_PLEDGE, {"id": gid("Pledge", open_pledge)})
    reversed_ = gql.with_token(organizer_token).mutate(
        REVERSE, {"id": gid("CampaignLedgerEntry", paid.ledger_entry), "reason": "退款"}
    )

    assert withdrawn["pledge"]["status"] == "CANCELLED"
    assert reversed_["errors"] == []
    assert reversed_["entry"]["amount"] == "-80.00"
    assert reversed_["entry"]["reverses"]["id"] == gid("CampaignLedgerEntry", paid.ledger_entry)


# --- what the public sees --------------------------------------------------------------------


def test_drafts_are_seen_only_by_those_who_run_the_organizer(
    gql, community, organizer, organizer_token, resident_token
):
    launch(organizer, community, opened=False, title="草稿")
    launch(organizer, community, title="公开")

    def titles(token):
        data = gql.with_token(token).data(CAMPAIGNS, {"first": 10})
        return sorted(edge["node"]["title"] for edge in data["campaigns"]["edges"])

    assert titles(None) == titles(resident_token) == ["公开"]
    assert titles(organizer_token) == ["公开", "草稿"]


def test_campaigns_of_a_region_and_below(gql, community, organizer):
    services.launch_campaign(
        organizer,
        organizer=community.committee,
        region=community.grid,
        title="网格",
        goals=[services.GoalSpec(GoalKind.GOODS, "米", Decimal(1))],
    )
    launch(organizer, community, title="社区")

    def titles(region):
        data = gql.with_token(sign_in(organizer)).data(
            CAMPAIGNS, {"region": gid("Region", region), "status": "DRAFT", "first": 10}
        )
        return sorted(edge["node"]["title"] for edge in data["campaigns"]["edges"])

    assert titles(community.community) == ["网格"]
    assert titles(community.other_community) == []


def test_the_public_sees_named_pledges_and_managers_see_all(
    gql, campaign, organizer_token, resident, resident_token
):
    neighbour = make_volunteer("neighbour")
    services.pledge(resident, campaign, goal(campaign, GoalKind.MONEY), "10", note="微信转账")
    services.pledge(
        neighbour, campaign, goal(campaign, GoalKind.MONEY), "20", anonymous=True, note="别写名"
    )
    variables = {"id": gid("Campaign", campaign)}

    def seen(token):
        content = gql.with_token(token).post(PLEDGES, variables)
        assert not shows_phone(content, neighbour)
        assert not shows_phone(content, resident)
        edges = content["data"]["campaign"]["pledges"]["edges"]
        return [(e["node"]["quantity"], e["node"]["pledgerName"], e["node"]["note"]) for e in edges]

    assert seen(None) == [("10.00", "志愿者campaign-resident", None)]
    assert seen(sign_in(neighbour)) == [
        ("10.00", "志愿者campaign-resident", None),
        ("20.00", "志愿者neighbour", "别写名"),
    ]
    assert seen(resident_token) == [("10.00", "志愿者campaign-resident", "微信转账")]
    assert seen(organizer_token) == [
        ("10.00", "志愿者campaign-resident", "微信转账"),
        ("20.00", "志愿者neighbour", "别写名"),
    ]


def test_the_public_ledger(gql, campaign, organizer, resident):
    pledge = services.pledge(resident, campaign, goal(campaign, GoalKind.MONEY), "500.00")
    services.confirm_pledge(organizer, pledge, "450.00")
    rice = services.pledge(resident, campaign, goal(campaign, GoalKind.GOODS), "20", anonymous=True)
    services.confirm_pledge(organizer, rice)
    local = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    services.record_expense(organizer, campaign, "100.25", "扶手", "五金店", local)

    content = gql.post(LEDGER, {"id": gid("Campaign", campaign)})

    assert not shows_phone(content, resident)
    data = content["data"]["campaign"]
    assert data["moneyBalance"] == "349.75"
    lines = [edge["node"] for edge in data["ledger"]["edges"]]
    assert [(line["direction"], line["amount"], line["counterparty"]) for line in lines] == [
        ("INCOME", "450.00", "志愿者campaign-resident"),
        ("INCOME", "20.00", lines[1]["counterparty"]),
        ("EXPENSE", "100.25", "五金店"),
    ]
    assert lines[1]["counterparty"] != "志愿者campaign-resident"  # anonymous
    assert lines[0]["goal"] == {"label": "共建基金"}
    assert lines[2]["goal"] is None
    assert {line["date"] for line in lines} == {local.isoformat()}


# --- query counts ----------------------------------------------------------------------------


def count_queries(gql, query, variables, token=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        gql.with_token(token).data(query, variables)
    return len(queries)


def busy_campaign(organizer, community, givers, title):
    """An open campaign with pledges from every giver, some confirmed, and an expense."""
    campaign = launch(organizer, community, title=title)
    for index, giver in enumerate(givers):
        pledge = services.pledge(giver, campaign, goal(campaign, GoalKind.MONEY), "10")
        if index % 2 == 0:
            services.confirm_pledge(organizer, pledge)
    services.pledge(givers[0], campaign, goal(campaign, GoalKind.VOLUNTEERS), "1")
    local = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    services.record_expense(organizer, campaign, "5", "茶水", "超市", local)
    return campaign


def test_campaigns_cost_the_same_queries_for_one_and_for_twenty(
    gql, community, organizer, resident
):
    givers = [resident, make_volunteer("giver-b"), make_volunteer("giver-c")]
    token = sign_in(resident)
    busy_campaign(organizer, community, givers, "第0个")
    one = count_queries(gql, CAMPAIGNS, {"first": 50}, token)

    for index in range(1, 20):
        busy_campaign(organizer, community, givers, f"第{index}个")
    data = gql.with_token(token).data(CAMPAIGNS, {"first": 50})
    twenty = count_queries(gql, CAMPAIGNS, {"first": 50}, token)

    assert data["campaigns"]["totalCount"] == 20
    node = data["campaigns"]["edges"][0]["node"]
    money = next(g for g in node["goals"] if g["kind"] == "MONEY")
    assert (money["pledged"], money["received"], money["pledgeCount"]) == ("30.00", "20.00", 3)
    assert node["moneyBalance"] == "15.00"
    assert len(node["myPledges"]) == 2
    assert twenty == one


def test_the_ledger_costs_the_same_queries_for_one_line_and_for_thirty(
    gql, community, organizer, resident
):
    small = busy_campaign(organizer, community, [resident], "小")
    givers = [make_volunteer(f"ledger-giver-{index}") for index in range(30)]
    large = busy_campaign(organizer, community, givers, "大")

    one = count_queries(gql, LEDGER, {"id": gid("Campaign", small)})
    thirty = count_queries(gql, LEDGER, {"id": gid("Campaign", large)})

    assert (
        gql.data(LEDGER, {"id": gid("Campaign", large)})["campaign"]["ledger"]["totalCount"] == 16
    )
    assert thirty == one


def test_pledges_cost_the_same_queries_for_one_and_for_thirty(gql, community, organizer, resident):
    small = busy_campaign(organizer, community, [resident], "小")
    large = busy_campaign(
        organizer, community, [make_volunteer(f"p-giver-{index}") for index in range(30)], "大"
    )
    token = sign_in(organizer)

    one = count_queries(gql, PLEDGES, {"id": gid("Campaign", small)}, token)
    thirty = count_queries(gql, PLEDGES, {"id": gid("Campaign", large)}, token)

    assert thirty == one


def test_a_cancelled_campaign_shows_its_withdrawn_pledges_to_no_one_but_managers(
    gql, campaign, organizer, resident
):
    services.pledge(resident, campaign, goal(campaign, GoalKind.GOODS), "2")
    services.cancel_campaign(organizer, campaign, "暂停")

    public = gql.data(PLEDGES, {"id": gid("Campaign", campaign)})["campaign"]["pledges"]
    managed = gql.with_token(sign_in(organizer)).data(PLEDGES, {"id": gid("Campaign", campaign)})

    assert public["totalCount"] == 0
    assert managed["campaign"]["pledges"]["edges"][0]["node"]["status"] == "CANCELLED"
    assert Campaign.objects.get().status == CampaignStatus.CANCELLED
    assert Pledge.objects.get().status == PledgeStatus.CANCELLED
