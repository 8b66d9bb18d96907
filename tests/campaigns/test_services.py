"""Campaign services: exact decimal arithmetic, who may pledge what, idempotent retries,
fulfilment, the ledger's balance, reversals and the life cycle."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation

from backend.audit.models import AuditEvent
from backend.campaigns import progress, services
from backend.campaigns.error_codes import CampaignErrorCode as Code
from backend.campaigns.models import (
    Campaign,
    CampaignLedgerEntry,
    CampaignStatus,
    GoalKind,
    LedgerDirection,
    Pledge,
    PledgeStatus,
)
from backend.organizations.models import Organization, OrganizationKind
from tests.campaigns.conftest import FUND, goal, launch, standard_goals
from tests.fixtures import build_community, make_coordinator, make_region_admin, make_volunteer
from tests.permissions import database_fingerprint


def codes(error: ValidationError) -> list[str]:
    return [
        str(item.code)
        for items in error.error_dict.values()
        for item in ValidationError(items).error_list
    ]


def refused(call, *args, **kwargs) -> list[str]:
    """The codes of the ValidationError ``call`` raises; the database is left unchanged."""
    before = database_fingerprint()
    with pytest.raises(ValidationError) as raised:
        call(*args, **kwargs)
    assert database_fingerprint() == before
    return codes(raised.value)


def local_today() -> dt.date:
    return timezone.localdate(timezone.now(), timezone.get_default_timezone())


def money(campaign: Campaign):
    return goal(campaign, GoalKind.MONEY)


def progress_of(campaign_goal) -> progress.GoalProgress:
    return progress.goal_progress([campaign_goal.campaign_id]).get(
        campaign_goal.pk, progress.NO_PROGRESS
    )


def fund(campaign, organizer, resident, amount: str) -> Pledge:
    """A money pledge of ``amount``, confirmed in full."""
    pledge = services.pledge(resident, campaign, money(campaign), amount)
    return services.confirm_pledge(organizer, pledge)


# --- decimal arithmetic ----------------------------------------------------------------------


def test_a_tenth_and_two_tenths_of_a_yuan_make_exactly_thirty_fen(campaign, resident):
    other = make_volunteer("second-giver")

    services.pledge(resident, campaign, money(campaign), "0.1")
    services.pledge(other, campaign, money(campaign), "0.20")

    result = progress_of(money(campaign))
    assert result.pledged == Decimal("0.30")
    assert str(result.pledged) == "0.30"
    assert result.pledge_count == 2


def test_three_pledges_of_600000_reach_exactly_a_hundred_percent_of_the_fund(campaign):
    givers = [make_volunteer(f"giver-{index}") for index in range(3)]

    for giver in givers[:2]:
        services.pledge(giver, campaign, money(campaign), "600000.00")
    two_thirds = progress_of(money(campaign))
    services.pledge(givers[2], campaign, money(campaign), Decimal("600000.00"))
    complete = progress_of(money(campaign))

    assert progress.percent_of(two_thirds.pledged, FUND) == Decimal("66.66")  # rounded down
    assert complete.pledged == FUND
    assert progress.percent_of(complete.pledged, FUND) == Decimal("100.00")
    assert str(progress.percent_of(complete.pledged, FUND)) == "100.00"


def test_a_goal_can_be_exceeded(campaign, resident):
    rice = goal(campaign, GoalKind.GOODS)  # 200 kg

    services.pledge(resident, campaign, rice, "250.5")

    assert progress.percent_of(progress_of(rice).pledged, rice.target) == Decimal("125.25")


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0.001", Code.TOO_MANY_DECIMALS),
        ("12.345", Code.TOO_MANY_DECIMALS),
        ("1e2", Code.INVALID_AMOUNT),
        (Decimal("1E+2"), Code.INVALID_AMOUNT),
        ("NaN", Code.INVALID_AMOUNT),
        (Decimal("NaN"), Code.INVALID_AMOUNT),
        (Decimal("-Infinity"), Code.INVALID_AMOUNT),
        ("Infinity", Code.INVALID_AMOUNT),
        (0.1, Code.INVALID_AMOUNT),  # a float is never money
        ("1,000", Code.INVALID_AMOUNT),
        ("", Code.INVALID_AMOUNT),
        ("-1", Code.AMOUNT_NOT_POSITIVE),
        ("0", Code.AMOUNT_NOT_POSITIVE),
        ("0.00", Code.AMOUNT_NOT_POSITIVE),
        ("1000000000000.00", Code.AMOUNT_TOO_LARGE),
    ],
)
def test_money_that_is_not_a_plain_amount_is_refused(campaign, resident, amount, code):
    assert refused(services.pledge, resident, campaign, money(campaign), amount) == [code]


def test_the_largest_amount_the_ledger_holds_is_accepted(campaign, resident):
    pledge = services.pledge(resident, campaign, money(campaign), "999999999999.99")

    pledge.refresh_from_db()
    assert pledge.quantity == Decimal("999999999999.99")


def test_people_and_units_are_counted_in_whole_numbers(community, organizer):
    goals = [services.GoalSpec(GoalKind.VOLUNTEERS, "志愿者", Decimal("10.5"))]

    assert refused(
        services.launch_campaign,
        organizer,
        organizer=community.committee,
        region=community.community,
        title="x",
        goals=goals,
    ) == [Code.WHOLE_NUMBER_REQUIRED]


# --- who pledges what ------------------------------------------------------------------------


def test_a_volunteer_pledges_themselves_once_per_goal(campaign, resident):
    people = goal(campaign, GoalKind.VOLUNTEERS)

    assert refused(services.pledge, resident, campaign, people, "2") == [Code.QUANTITY_MUST_BE_ONE]
    first = services.pledge(resident, campaign, people, "1")
    assert refused(services.pledge, resident, campaign, people, "1") == [Code.ALREADY_PLEDGED]

    services.cancel_pledge(resident, first)
    again = services.pledge(resident, campaign, people, 1)

    assert again.pk != first.pk
    assert progress_of(people).pledge_count == 1


def test_a_unit_pledges_through_those_who_run_it_once_per_goal(
    community, campaign, resident, unit, unit_admin
):
    units = goal(campaign, GoalKind.UNITS)
    second_admin = make_coordinator(unit, "unit-second")

    assert refused(services.pledge, unit_admin, campaign, units, "1") == [
        Code.ORGANIZATION_REQUIRED
    ]
    with pytest.raises(PermissionDenied):
        services.pledge(resident, campaign, units, "1", organization=unit)
    committee_admin = make_coordinator(community.committee, "committee-giver")
    assert refused(
        services.pledge, committee_admin, campaign, units, "1", organization=community.committee
    ) == [Code.NOT_CO_BUILDING_UNIT]
    services.pledge(unit_admin, campaign, units, "1", organization=unit)
    assert refused(services.pledge, second_admin, campaign, units, "1", organization=unit) == [
        Code.ALREADY_PLEDGED
    ]
    other_unit = Organization.objects.create(
        name="共建单位·第二", kind=OrganizationKind.CO_BUILDING_UNIT, region=community.community
    )
    make_coordinator(other_unit, "other-unit-admin")
    services.pledge(
        other_unit.memberships.get().user, campaign, units, "1", organization=other_unit
    )

    assert progress_of(units).pledge_count == 2


def test_a_goal_of_another_campaign_is_refused(community, organizer, campaign, resident):
    other = launch(organizer, community, title="另一个召集令")

    assert refused(services.pledge, resident, campaign, money(other), "10") == [
        Code.GOAL_NOT_IN_CAMPAIGN
    ]


# --- idempotent retries ----------------------------------------------------------------------


def test_a_retry_with_the_same_client_key_returns_the_first_pledge_unchanged(campaign, resident):
    first = services.pledge(resident, campaign, money(campaign), "100.00", client_key="k-1")

    retry = services.pledge(resident, campaign, money(campaign), "999.00", client_key="k-1")

    assert retry.pk == first.pk
    assert retry.quantity == Decimal("100.00")
    assert Pledge.objects.count() == 1


def test_a_retry_lands_once_even_after_the_campaign_closed(campaign, organizer, resident):
    first = services.pledge(resident, campaign, money(campaign), "100.00", client_key="k-2")
    services.close_campaign(organizer, campaign, "够了")

    retry = services.pledge(resident, campaign, money(campaign), "100.00", client_key="k-2")

    assert retry.pk == first.pk


def test_a_client_key_names_one_pledge(campaign, resident):
    services.pledge(resident, campaign, money(campaign), "100.00", client_key="k-3")

    assert refused(
        services.pledge,
        resident,
        campaign,
        goal(campaign, GoalKind.GOODS),
        "5",
        client_key="k-3",
    ) == [Code.CLIENT_KEY_REUSED]
    assert refused(
        services.pledge, resident, campaign, money(campaign), "1", client_key="x" * 65
    ) == [Code.MAX_LENGTH]


# --- fulfilment and the ledger ---------------------------------------------------------------


def test_confirming_less_than_promised_records_what_came_in(campaign, organizer, resident):
    pledge = services.pledge(resident, campaign, money(campaign), "1000.00", note="转账")

    confirmed = services.confirm_pledge(organizer, pledge, "800.50")

    confirmed.refresh_from_db()
    assert confirmed.status == PledgeStatus.FULFILLED
    assert confirmed.fulfilled_quantity == Decimal("800.50")
    assert confirmed.confirmed_by == organizer
    assert confirmed.confirmed_at is not None
    line = CampaignLedgerEntry.objects.get()
    assert line.pledge == confirmed
    assert line.direction == LedgerDirection.INCOME
    assert line.quantity == Decimal("800.50")
    assert line.counterparty == "志愿者campaign-resident"
    assert resident.phone not in line.counterparty
    assert line.occurred_on == local_today()
    result = progress_of(money(campaign))
    assert (result.pledged, result.received) == (Decimal("1000.00"), Decimal("800.50"))
    assert progress.money_balances([campaign.pk]) == {campaign.pk: Decimal("800.50")}
    assert refused(services.confirm_pledge, organizer, pledge) == [Code.ALREADY_CONFIRMED]


def test_more_than_promised_may_arrive(campaign, organizer, resident):
    rice = goal(campaign, GoalKind.GOODS)
    pledge = services.pledge(resident, campaign, rice, "20")

    services.confirm_pledge(organizer, pledge, "25.5")

    assert progress_of(rice).received == Decimal("25.50")
    assert CampaignLedgerEntry.objects.get().quantity == Decimal("25.50")
    # Goods are not money: the balance in yuan is untouched.
    assert progress.money_balances([campaign.pk])[campaign.pk] == Decimal("0.00")


def test_the_ledger_names_an_anonymous_giver_anonymous_and_a_unit_by_its_name(
    campaign, organizer, resident, unit, unit_admin
):
    anonymous = services.pledge(resident, campaign, money(campaign), "50", anonymous=True)
    by_unit = services.pledge(unit_admin, campaign, money(campaign), "5000", organization=unit)

    services.confirm_pledge(organizer, anonymous)
    services.confirm_pledge(organizer, by_unit)

    with translation.override(settings.LANGUAGE_CODE):
        expected = str(translation.gettext("Anonymous"))
    assert list(CampaignLedgerEntry.objects.values_list("counterparty", flat=True)) == [
        expected,
        unit.name,
    ]


def test_confirming_a_volunteer_writes_no_ledger_line(campaign, organizer, resident):
    pledge = services.pledge(resident, campaign, goal(campaign, GoalKind.VOLUNTEERS), "1")

    services.confirm_pledge(organizer, pledge)

    assert progress_of(goal(campaign, GoalKind.VOLUNTEERS)).received == Decimal("1.00")
    assert not CampaignLedgerEntry.objects.exists()


def test_only_those_who_run_the_campaign_confirm(campaign, resident):
    pledge = services.pledge(resident, campaign, money(campaign), "10")

    with pytest.raises(PermissionDenied):
        services.confirm_pledge(resident, pledge)


def test_expenses_never_exceed_the_money_received(campaign, organizer, resident):
    fund(campaign, organizer, resident, "1000.00")

    assert refused(
        services.record_expense, organizer, campaign, "1000.01", "油漆", "五金店", local_today()
    ) == [Code.INSUFFICIENT_FUNDS]
    services.record_expense(organizer, campaign, "600.00", "油漆", "五金店", local_today())
    services.record_expense(organizer, campaign, "400.00", "扶手", "五金店", local_today())

    assert progress.money_balances([campaign.pk])[campaign.pk] == Decimal("0.00")
    assert refused(
        services.record_expense, organizer, campaign, "0.01", "x", "y", local_today()
    ) == [Code.INSUFFICIENT_FUNDS]


def test_an_expense_needs_a_description_a_payee_and_a_past_date(campaign, organizer, resident):
    fund(campaign, organizer, resident, "10")

    assert sorted(
        refused(
            services.record_expense,
            organizer,
            campaign,
            "1.005",
            "",
            "",
            local_today() + dt.timedelta(days=1),
        )
    ) == sorted([Code.TOO_MANY_DECIMALS, Code.REQUIRED, Code.REQUIRED, Code.DATE_IN_FUTURE])


def test_a_reversal_appends_the_negative_line_once(campaign, organizer, resident):
    fund(campaign, organizer, resident, "500.00")
    expense = services.record_expense(organizer, campaign, "300", "油漆", "五金店", local_today())

    reversal = services.reverse_ledger_entry(organizer, expense, "重复录入")

    assert reversal.quantity == Decimal("-300.00")
    assert reversal.direction == LedgerDirection.EXPENSE
    assert reversal.reverses == expense
    assert progress.money_balances([campaign.pk])[campaign.pk] == Decimal("500.00")
    assert refused(services.reverse_ledger_entry, organizer, expense, "again") == [
        Code.ALREADY_REVERSED
    ]
    assert refused(services.reverse_ledger_entry, organizer, reversal, "undo") == [
        Code.CANNOT_REVERSE_REVERSAL
    ]
    assert refused(services.reverse_ledger_entry, organizer, expense, " ") == [Code.REASON_REQUIRED]


def test_reversing_income_withdraws_the_pledge_unless_the_money_is_spent(
    campaign, organizer, resident
):
    pledge = fund(campaign, organizer, resident, "500.00")
    income = pledge.ledger_entry
    spent = services.record_expense(organizer, campaign, "200", "油漆", "五金店", local_today())

    assert refused(services.reverse_ledger_entry, organizer, income, "退票") == [
        Code.INSUFFICIENT_FUNDS
    ]
    services.reverse_ledger_entry(organizer, spent, "退货")
    services.reverse_ledger_entry(organizer, income, "退票")

    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.CANCELLED
    assert progress_of(money(campaign)) == progress.NO_PROGRESS
    assert progress.money_balances([campaign.pk])[campaign.pk] == Decimal("0.00")


# --- life cycle ------------------------------------------------------------------------------


def test_status_transitions(community, organizer, resident):
    draft = launch(organizer, community, opened=False)

    assert refused(services.close_campaign, organizer, draft) == [Code.INVALID_STATUS_TRANSITION]
    assert refused(services.pledge, resident, draft, money(draft), "1") == [Code.CAMPAIGN_NOT_OPEN]
    opened = services.open_campaign(organizer, draft)
    assert refused(services.open_campaign, organizer, opened) == [Code.INVALID_STATUS_TRANSITION]
    assert refused(
        services.update_campaign, organizer, opened, {"goals": standard_goals()[:1]}
    ) == [Code.GOALS_LOCKED]
    closed = services.close_campaign(organizer, opened, "目标达成")
    assert closed.status == CampaignStatus.CLOSED
    assert closed.close_reason == "目标达成"
    for move in (services.open_campaign, services.close_campaign):
        assert refused(move, organizer, closed) == [Code.INVALID_STATUS_TRANSITION]
    assert refused(services.cancel_campaign, organizer, closed, "不办了") == [
        Code.INVALID_STATUS_TRANSITION
    ]
    assert refused(services.update_campaign, organizer, closed, {"title": "新"}) == [
        Code.INVALID_STATUS_TRANSITION
    ]


def test_a_draft_can_be_cancelled_and_its_goals_replaced(community, organizer):
    draft = launch(organizer, community, opened=False)

    services.update_campaign(organizer, draft, {"goals": standard_goals()[2:3], "title": "基金"})
    assert list(draft.goals.values_list("label", flat=True)) == ["共建基金"]
    assert refused(services.cancel_campaign, organizer, draft, "") == [Code.REASON_REQUIRED]
    cancelled = services.cancel_campaign(organizer, draft, "改期")

    assert cancelled.status == CampaignStatus.CANCELLED
    assert cancelled.opened_at is None


def test_cancelling_withdraws_open_pledges_and_keeps_fulfilled_ones(campaign, organizer, resident):
    kept = fund(campaign, organizer, resident, "100")
    withdrawn = services.pledge(resident, campaign, goal(campaign, GoalKind.GOODS), "3")

    services.cancel_campaign(organizer, campaign, "暂停")

    kept.refresh_from_db()
    withdrawn.refresh_from_db()
    assert (kept.status, withdrawn.status) == (PledgeStatus.FULFILLED, PledgeStatus.CANCELLED)
    assert withdrawn.cancelled_at is not None


def test_pledges_made_before_closing_are_confirmed_after_it(campaign, organizer, resident):
    pledge = services.pledge(resident, campaign, goal(campaign, GoalKind.GOODS), "3")
    services.close_campaign(organizer, campaign)

    assert refused(services.pledge, resident, campaign, money(campaign), "1") == [
        Code.CAMPAIGN_NOT_OPEN
    ]
    assert services.confirm_pledge(organizer, pledge).status == PledgeStatus.FULFILLED


def test_no_pledges_after_the_end(campaign, organizer, resident):
    services.update_campaign(
        organizer, campaign, {"ends_at": timezone.now() + dt.timedelta(minutes=1)}
    )
    Campaign.objects.filter(pk=campaign.pk).update(ends_at=timezone.now() - dt.timedelta(seconds=1))

    assert refused(services.pledge, resident, campaign, money(campaign), "1") == [
        Code.CAMPAIGN_ENDED
    ]


def test_only_ones_own_open_pledge_can_be_withdrawn(campaign, organizer, resident):
    pledge = services.pledge(resident, campaign, money(campaign), "1")

    with pytest.raises(PermissionDenied):
        services.cancel_pledge(organizer, pledge)
    services.confirm_pledge(organizer, pledge)
    assert refused(services.cancel_pledge, resident, pledge) == [Code.PLEDGE_NOT_ACTIVE]


# --- launching -------------------------------------------------------------------------------


def test_launching_checks_the_whole_input(community, organizer):
    goals = [
        services.GoalSpec("raffle", "抽奖", Decimal(1)),
        services.GoalSpec(GoalKind.MONEY, "基金", Decimal("-5")),
        services.GoalSpec(GoalKind.GOODS, "基金", Decimal(5)),
    ]

    assert sorted(
        refused(
            services.launch_campaign,
            organizer,
            organizer=community.committee,
            region=community.other_community,
            title="",
            goals=goals,
            ends_at=timezone.now() - dt.timedelta(hours=1),
        )
    ) == sorted(
        [
            Code.REQUIRED,
            Code.REGION_OUTSIDE_ORGANIZER,
            Code.INVALID_GOAL_KIND,
            Code.AMOUNT_NOT_POSITIVE,
            Code.DUPLICATE_GOAL_LABEL,
            Code.ENDS_IN_PAST,
        ]
    )


@pytest.mark.parametrize(("count", "code"), [(0, Code.GOALS_REQUIRED), (11, Code.TOO_MANY_GOALS)])
def test_a_campaign_has_one_to_ten_goals(community, organizer, count, code):
    goals = [services.GoalSpec(GoalKind.GOODS, f"物资{i}", Decimal(1)) for i in range(count)]

    assert refused(
        services.launch_campaign,
        organizer,
        organizer=community.committee,
        region=None,
        title="物资",
        goals=goals,
    ) == [code]


def test_only_those_who_run_the_organizer_launch(community, resident):
    elsewhere = make_region_admin(community.other_community, "admin-elsewhere")

    for outsider in (resident, elsewhere):
        with pytest.raises(PermissionDenied):
            launch(outsider, community, opened=False)
    street = make_region_admin(community.street, "admin-street")
    assert launch(street, community).status == CampaignStatus.OPEN


def test_important_changes_are_audited(campaign, organizer, resident):
    fund(campaign, organizer, resident, "10")
    services.record_expense(organizer, campaign, "5", "油漆", "五金店", local_today())
    services.close_campaign(organizer, campaign, "完成")

    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)) == [
        "campaign.launch",
        "campaign.open",
        "campaign.confirm_pledge",
        "campaign.expense",
        "campaign.close",
    ]


# --- races (PostgreSQL) ----------------------------------------------------------------------


def race(*calls):
    """Run the calls at once in threads; their results, or the codes they were refused with."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            outcomes[index] = call()
        except ValidationError as error:
            outcomes[index] = codes(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def slowed(monkeypatch, module, name):
    """Make ``module.name`` linger after reading, so that racing calls overlap."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        threading.Event().wait(0.3)
        return result

    monkeypatch.setattr(module, name, slow)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_retries_racing_with_one_client_key_make_one_pledge(monkeypatch):
    community = build_community()
    organizer = make_coordinator(community.committee, "race-organizer")
    campaign = launch(organizer, community)
    resident = make_volunteer("race-resident")
    slowed(monkeypatch, services, "clean_amount")

    first, second = race(
        *[
            lambda: services.pledge(resident, campaign, money(campaign), "88.00", client_key="r")
            for _ in range(2)
        ]
    )

    assert first.pk == second.pk
    assert Pledge.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_client_key_racing_into_two_campaigns_makes_one_pledge(monkeypatch):
    # Different campaigns do not queue behind each other: the unique key decides.
    community = build_community()
    organizer = make_coordinator(community.committee, "race-organizer")
    campaigns = [launch(organizer, community, title=f"召集令{i}") for i in range(2)]
    resident = make_volunteer("race-resident")
    slowed(monkeypatch, services, "clean_amount")

    outcomes = race(
        *[
            lambda c=c: services.pledge(resident, c, money(c), "10", client_key="same")
            for c in campaigns
        ]
    )

    assert Pledge.objects.count() == 1
    assert sorted(map(type, outcomes), key=str) == sorted([Pledge, list], key=str)
    assert [Code.CLIENT_KEY_REUSED] in outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_expenses_racing_cannot_spend_the_money_twice(monkeypatch):
    community = build_community()
    organizer = make_coordinator(community.committee, "race-organizer")
    campaign = launch(organizer, community)
    fund(campaign, organizer, make_volunteer("race-resident"), "1000.00")
    slowed(monkeypatch, progress, "money_balances")

    outcomes = race(
        *[
            lambda: services.record_expense(
                organizer, campaign, "600.00", "油漆", "五金店", local_today()
            )
            for _ in range(2)
        ]
    )

    assert [Code.INSUFFICIENT_FUNDS] in outcomes
    assert CampaignLedgerEntry.objects.filter(direction=LedgerDirection.EXPENSE).count() == 1
    assert progress.money_balances([campaign.pk])[campaign.pk] == Decimal("400.00")
