"""Writing campaigns, pledges and the public ledger.

Every quantity is an exact ``Decimal``: an input is refused, never rounded, when it is not
a plain positive number with at most two decimal places (a float, NaN, ``1e2``, ``-1``,
``0.005``). People and co-building units are counted in whole numbers.

Locks: a write takes the campaign row first (``select_for_update``), then the pledge or
ledger line it changes. Pledges of one campaign therefore queue behind each other, which
keeps "one pledge per person" and "not after closing" true under concurrency, and the
ledger's balance cannot be spent twice by two expenses at once.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.accounts.scopes import Scope, scope_of
from backend.audit.services import changes_between, record, snapshot
from backend.campaigns import progress
from backend.campaigns.error_codes import CampaignErrorCode as Code
from backend.campaigns.models import (
    COUNTED_KINDS,
    DECIMAL_PLACES,
    MAX_DIGITS,
    Campaign,
    CampaignGoal,
    CampaignLedgerEntry,
    CampaignStatus,
    GoalKind,
    LedgerDirection,
    Pledge,
    PledgeStatus,
)
from backend.core.fields import clean_text, model_max_length
from backend.core.problems import Problems, refuse
from backend.organizations.models import Organization, OrganizationKind
from backend.regions.models import Region

MAX_GOALS = 10
MAX_REASON_LENGTH = 500
MAX_CLIENT_KEY_LENGTH = model_max_length(Pledge, "client_key")
CENT = Decimal("0.01")
LARGEST_AMOUNT = Decimal(10 ** (MAX_DIGITS - DECIMAL_PLACES)) - CENT
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")

ACTIVE_PLEDGE = (PledgeStatus.PLEDGED, PledgeStatus.FULFILLED)
AUDITED_CAMPAIGN_FIELDS = ["title", "description", "status", "ends_at", "close_reason"]
EDITABLE_CAMPAIGN_FIELDS = frozenset({"title", "description", "ends_at", "goals"})


@dataclass(frozen=True)
class GoalSpec:
    """One goal of a campaign to launch, e.g. ``GoalSpec("money", "共建基金", Decimal(...))``."""

    kind: str
    label: str
    target: Decimal
    unit: str = ""


# --- input checks ----------------------------------------------------------------------------


def clean_amount(problems: Problems, field: str, value: Any, *, whole: bool) -> Decimal | None:
    """A positive exact amount with at most two decimal places, within the column's range
    (``whole``: no decimals at all). Floats are refused outright: 0.1 is not one tenth.
    ``None`` (and a problem of ``field``) when it is not acceptable."""
    number: Decimal | None = None
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        number = Decimal(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, Decimal) and value.is_finite():
        exponent = value.as_tuple().exponent
        # 1E+2 is not how anyone writes an amount: it came from a float or a typo.
        number = value if isinstance(exponent, int) and exponent <= 0 else None
    if number is None:
        problems.add(
            field,
            _("Write the amount as plain digits with a decimal point, e.g. 1800000.00."),
            Code.INVALID_AMOUNT,
        )
        return None
    if number <= 0:
        problems.add(field, _("The amount must be more than zero."), Code.AMOUNT_NOT_POSITIVE)
        return None
    places = Decimal(1) if whole else CENT
    try:
        exact = number.quantize(places) == number
    except InvalidOperation:  # more digits than any amount can have
        exact = False
    if not exact:
        if whole:
            problems.add(field, _("Count in whole numbers."), Code.WHOLE_NUMBER_REQUIRED)
        else:
            problems.add(field, _("At most two decimal places (fen)."), Code.TOO_MANY_DECIMALS)
        return None
    if number > LARGEST_AMOUNT:
        problems.add(
            field,
            _("At most %(largest)s."),
            Code.AMOUNT_TOO_LARGE,
            largest=f"{LARGEST_AMOUNT:,}",
        )
        return None
    return number.quantize(CENT)


def _clean_reason(problems: Problems, reason: Any, *, required: bool) -> str:
    text = clean_text(problems, "reason", reason, required=False, limit=MAX_REASON_LENGTH)
    if required and not text:
        problems.add("reason", _("Say why."), Code.REASON_REQUIRED)
    return text


def _clean_ends_at(problems: Problems, ends_at: dt.datetime | None, now: dt.datetime) -> Any:
    if ends_at is None:
        return None
    if timezone.is_naive(ends_at):
        ends_at = timezone.make_aware(ends_at, timezone.get_default_timezone())
    if ends_at <= now:
        problems.add("ends_at", _("The pledging period must end in the future."), Code.ENDS_IN_PAST)
    return ends_at


def _clean_goals(problems: Problems, goals: Sequence[GoalSpec]) -> list[CampaignGoal]:
    """Unsaved goals in the order given; labels are unique regardless of case and width."""
    if not goals:
        problems.add("goals", _("Set at least one goal."), Code.GOALS_REQUIRED)
        return []
    if len(goals) > MAX_GOALS:
        problems.add("goals", _("At most %(limit)d goals."), Code.TOO_MANY_GOALS, limit=MAX_GOALS)
        return []
    cleaned, seen = [], set()
    label_limit = model_max_length(CampaignGoal, "label")
    unit_limit = model_max_length(CampaignGoal, "unit")
    for index, spec in enumerate(goals):
        prefix = f"goals.{index}."
        kind = str(spec.kind)
        if kind not in GoalKind.values:
            problems.add(prefix + "kind", _("Not a kind of goal."), Code.INVALID_GOAL_KIND)
        label = clean_text(problems, prefix + "label", spec.label, required=True, limit=label_limit)
        unit = clean_text(problems, prefix + "unit", spec.unit, required=False, limit=unit_limit)
        key = unicodedata.normalize("NFKC", label).casefold()
        if label and key in seen:
            problems.add(
                prefix + "label",
                _("Two goals are called %(label)s."),
                Code.DUPLICATE_GOAL_LABEL,
                label=label,
            )
        seen.add(key)
        target = clean_amount(problems, prefix + "target", spec.target, whole=kind in COUNTED_KINDS)
        cleaned.append(
            CampaignGoal(
                kind=kind, label=label, unit=unit, target=target or Decimal(0), position=index
            )
        )
    return cleaned


def _check_region(
    problems: Problems, scope: Scope, organizer: Organization, region: Region
) -> None:
    """An organization calls in its own region and below it; an administrator of a region
    may also host there a campaign of an organization from elsewhere."""
    if scope.administers_region(region) or region.path.startswith(organizer.region.path):
        return
    problems.add(
        "region",
        _("%(organizer)s works in %(home)s; %(region)s is outside it."),
        Code.REGION_OUTSIDE_ORGANIZER,
        organizer=organizer.name,
        home=organizer.region.name,
        region=region.name,
    )


# --- campaigns -------------------------------------------------------------------------------


def _locked_campaign(pk: int) -> Campaign:
    return (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("organizer__region", "region")
        .get(pk=pk)
    )


def _require_manager(actor: Any, campaign: Campaign) -> None:
    if not actor.has_perm("campaigns.change_campaign", campaign):
        raise PermissionDenied(_("You do not run this campaign."))


def _transition(campaign: Campaign, allowed_from: Sequence[str], target: str) -> None:
    if campaign.status not in allowed_from:
        raise refuse(
            "status",
            _("A %(status)s campaign cannot become %(target)s.")
            % {
                "status": CampaignStatus(campaign.status).label,
                "target": CampaignStatus(target).label,
            },
            Code.INVALID_STATUS_TRANSITION,
        )


def launch_campaign(
    actor: Any,
    *,
    organizer: Organization,
    region: Region | None,
    title: str,
    description: str = "",
    goals: Sequence[GoalSpec],
    ends_at: dt.datetime | None = None,
) -> Campaign:
    """A new draft with its goals (1 to 10). The actor runs the organizer; the campaign is
    held in the organizer's region or below it (``None``: the organizer's own region), or
    in a region the actor administers."""
    if not actor.has_perm("campaigns.add_campaign", organizer):
        raise PermissionDenied(_("You do not run this organization."))
    region = region or organizer.region
    problems = Problems()
    title = clean_text(
        problems, "title", title, required=True, limit=model_max_length(Campaign, "title")
    )
    description = clean_text(
        problems,
        "description",
        description,
        required=False,
        limit=model_max_length(Campaign, "description", 5_000),
    )
    if not organizer.is_active:
        problems.add(
            "organizer",
            _("This organization is inactive and cannot launch campaigns."),
            Code.ORGANIZATION_INACTIVE,
        )
    _check_region(problems, scope_of(actor), organizer, region)
    cleaned_goals = _clean_goals(problems, goals)
    ends_at = _clean_ends_at(problems, ends_at, timezone.now())
    problems.raise_if_any()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            organizer=organizer,
            region=region,
            title=title,
            description=description,
            ends_at=ends_at,
            created_by=actor if actor.is_authenticated else None,
        )
        for goal in cleaned_goals:
            goal.campaign = campaign
        CampaignGoal.objects.bulk_create(cleaned_goals)
        record(
            actor,
            "campaign.launch",
            campaign,
            region,
            {
                **changes_between({}, snapshot(campaign, AUDITED_CAMPAIGN_FIELDS)),
                "goals": [[], [_goal_summary(goal) for goal in cleaned_goals]],
            },
        )
    return campaign


def _goal_summary(goal: CampaignGoal) -> str:
    return f"{goal.kind}: {goal.label} {goal.target}{goal.unit}"


def open_campaign(actor: Any, campaign: Campaign) -> Campaign:
    """Open a draft for pledges (its end, if set, must still lie ahead)."""
    with transaction.atomic():
        campaign = _locked_campaign(campaign.pk)
        _require_manager(actor, campaign)
        _transition(campaign, [CampaignStatus.DRAFT], CampaignStatus.OPEN)
        now = timezone.now()
        if campaign.ends_at is not None and campaign.ends_at <= now:
            raise refuse(
                "ends_at",
                _("The pledging period has passed: set a later end first."),
                Code.ENDS_IN_PAST,
            )
        campaign.status, campaign.opened_at = CampaignStatus.OPEN, now
        campaign.save(update_fields=["status", "opened_at", "updated_at"])
        record(
            actor,
            "campaign.open",
            campaign,
            campaign.region,
            {"status": [CampaignStatus.DRAFT.value, CampaignStatus.OPEN.value]},
        )
    return campaign


def update_campaign(actor: Any, campaign: Campaign, changes: Mapping[str, Any]) -> Campaign:
    """Change the fields named in ``changes`` (absent = unchanged). Title, description and
    end change while a campaign is a draft or open; its goals (replaced as a whole, a
    sequence of ``GoalSpec``) only while it is a draft — pledges refer to them."""
    unknown = set(changes) - EDITABLE_CAMPAIGN_FIELDS
    if unknown:
        raise TypeError(f"update_campaign cannot change {sorted(unknown)}")
    with transaction.atomic():
        campaign = _locked_campaign(campaign.pk)
        _require_manager(actor, campaign)
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.OPEN):
            raise refuse(
                None,
                _("A %(status)s campaign cannot change.")
                % {"status": CampaignStatus(campaign.status).label},
                Code.INVALID_STATUS_TRANSITION,
            )
        before = snapshot(campaign, AUDITED_CAMPAIGN_FIELDS)
        problems = Problems()
        for name in ("title", "description"):
            if name in changes:
                value = clean_text(
                    problems,
                    name,
                    changes[name],
                    required=name == "title",
                    limit=model_max_length(Campaign, name, 5_000),
                )
                setattr(campaign, name, value)
        if "ends_at" in changes:
            campaign.ends_at = _clean_ends_at(problems, changes["ends_at"], timezone.now())
        goals: list[CampaignGoal] | None = None
        if "goals" in changes:
            if campaign.status != CampaignStatus.DRAFT:
                problems.add(
                    "goals",
                    _("Goals are fixed once the campaign is open."),
                    Code.GOALS_LOCKED,
                )
            else:
                goals = _clean_goals(problems, changes["goals"])
        problems.raise_if_any()
        campaign.save()
        audit = changes_between(before, snapshot(campaign, AUDITED_CAMPAIGN_FIELDS))
        if goals is not None:
            old = [_goal_summary(goal) for goal in campaign.goals.all()]
            campaign.goals.all().delete()  # a draft has no pledges yet
            for goal in goals:
                goal.campaign = campaign
            CampaignGoal.objects.bulk_create(goals)
            audit["goals"] = [old, [_goal_summary(goal) for goal in goals]]
        if audit:
            record(actor, "campaign.update", campaign, campaign.region, audit)
    return campaign


def close_campaign(actor: Any, campaign: Campaign, reason: str = "") -> Campaign:
    """Stop taking pledges. Pledges already made can still be confirmed as they arrive."""
    problems = Problems()
    reason = _clean_reason(problems, reason, required=False)
    problems.raise_if_any()
    return _end(actor, campaign, CampaignStatus.CLOSED, [CampaignStatus.OPEN], reason)


def cancel_campaign(actor: Any, campaign: Campaign, reason: str) -> Campaign:
    """Call a draft or open campaign off, with a reason. Pledges not yet fulfilled are
    cancelled with it; money already received stays in the ledger (refunds are expenses)."""
    problems = Problems()
    reason = _clean_reason(problems, reason, required=True)
    problems.raise_if_any()
    return _end(
        actor,
        campaign,
        CampaignStatus.CANCELLED,
        [CampaignStatus.DRAFT, CampaignStatus.OPEN],
        reason,
    )


def _end(
    actor: Any, campaign: Campaign, status: CampaignStatus, allowed_from: list[str], reason: str
) -> Campaign:
    with transaction.atomic():
        campaign = _locked_campaign(campaign.pk)
        _require_manager(actor, campaign)
        _transition(campaign, allowed_from, status)
        before = snapshot(campaign, AUDITED_CAMPAIGN_FIELDS)
        now = timezone.now()
        campaign.status, campaign.closed_at, campaign.close_reason = status, now, reason
        campaign.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
        cancelled = 0
        if status == CampaignStatus.CANCELLED:
            cancelled = campaign.pledges.filter(status=PledgeStatus.PLEDGED).update(
                status=PledgeStatus.CANCELLED, cancelled_at=now
            )
        changes = changes_between(before, snapshot(campaign, AUDITED_CAMPAIGN_FIELDS))
        if cancelled:
            changes["pledges_cancelled"] = [0, cancelled]
        action = "campaign.close" if status == CampaignStatus.CLOSED else "campaign.cancel"
        record(actor, action, campaign, campaign.region, changes, reason)
    return campaign


# --- pledges ---------------------------------------------------------------------------------


def _replay(existing: Pledge, goal: CampaignGoal) -> Pledge:
    """The pledge a client key already recorded, for a retry of the same submission."""
    if existing.goal_id != goal.pk:
        raise refuse(
            "client_key",
            _("This client key was used for another pledge."),
            Code.CLIENT_KEY_REUSED,
        )
    return existing


def pledge(
    user: Any,
    campaign: Campaign,
    goal: CampaignGoal,
    quantity: Any,
    *,
    organization: Organization | None = None,
    note: str = "",
    anonymous: bool = False,
    client_key: str = "",
) -> Pledge:
    """Promise ``quantity`` towards a goal of an open campaign: yuan for money, the goal's
    unit for goods and hours, 1 for a volunteer (oneself, once per goal) or a co-building
    unit (on its behalf, once per unit and goal).

    ``client_key`` (from the app) makes a retry land once: the same key again returns the
    first pledge unchanged, even if the campaign has closed in between or two retries race
    (the database holds one pledge per user and key).
    """
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in first."))
    client_key = (client_key or "").strip()
    if len(client_key) > MAX_CLIENT_KEY_LENGTH:
        raise refuse(
            "client_key",
            _("At most %(max)d characters.") % {"max": MAX_CLIENT_KEY_LENGTH},
            Code.MAX_LENGTH,
        )
    with transaction.atomic():
        campaign = _locked_campaign(campaign.pk)
        if client_key:
            existing = Pledge.objects.filter(pledged_by=user, client_key=client_key).first()
            if existing is not None:
                return _replay(existing, goal)
        problems = Problems()
        if goal.campaign_id != campaign.pk:
            raise refuse(
                "goal_id", _("This goal belongs to another campaign."), Code.GOAL_NOT_IN_CAMPAIGN
            )
        if campaign.status != CampaignStatus.OPEN:
            raise refuse(None, _("This campaign takes no pledges."), Code.CAMPAIGN_NOT_OPEN)
        if campaign.ends_at is not None and campaign.ends_at <= timezone.now():
            raise refuse(None, _("The pledging period has ended."), Code.CAMPAIGN_ENDED)
        amount = clean_amount(problems, "quantity", quantity, whole=goal.kind in COUNTED_KINDS)
        if goal.kind in COUNTED_KINDS and amount is not None and amount != 1:
            problems.add("quantity", _("Pledge exactly 1."), Code.QUANTITY_MUST_BE_ONE)
        if organization is not None and not user.has_perm(
            "campaigns.pledge_for_organization", organization
        ):
            raise PermissionDenied(_("You may pledge only for organizations you run."))
        _check_pledger(problems, user, goal, organization)
        note = clean_text(
            problems, "note", note, required=False, limit=model_max_length(Pledge, "note")
        )
        problems.raise_if_any()
        assert amount is not None
        new = Pledge(
            campaign=campaign,
            goal=goal,
            pledged_by=user,
            organization=organization,
            quantity=amount,
            note=note,
            is_anonymous=bool(anonymous),
            client_key=client_key,
        )
        try:
            with transaction.atomic():
                new.save()
        except IntegrityError:
            # The same key, committed by a concurrent request while this one validated.
            existing = Pledge.objects.filter(pledged_by=user, client_key=client_key).first()
            if not client_key or existing is None:
                raise
            return _replay(existing, goal)
    return new


def _check_pledger(
    problems: Problems, user: Any, goal: CampaignGoal, organization: Organization | None
) -> None:
    """Volunteers pledge themselves, once per goal; co-building units pledge through those
    who run them, once per unit and goal."""
    active = goal.pledges.filter(status__in=ACTIVE_PLEDGE)
    if goal.kind == GoalKind.VOLUNTEERS:
        if organization is not None:
            problems.add(
                "organization_id",
                _("Volunteers pledge themselves, not an organization."),
                Code.INVALID,
            )
        elif active.filter(pledged_by=user, organization__isnull=True).exists():
            problems.add(
                "goal_id", _("You have pledged to this goal already."), Code.ALREADY_PLEDGED
            )
    elif goal.kind == GoalKind.UNITS:
        if organization is None:
            problems.add(
                "organization_id",
                _("Choose the co-building unit that pledges."),
                Code.ORGANIZATION_REQUIRED,
            )
        elif organization.kind != OrganizationKind.CO_BUILDING_UNIT:
            problems.add(
                "organization_id",
                _("%(name)s is not a co-building unit."),
                Code.NOT_CO_BUILDING_UNIT,
                name=organization.name,
            )
        elif active.filter(organization=organization).exists():
            problems.add(
                "goal_id",
                _("%(name)s has pledged to this goal already."),
                Code.ALREADY_PLEDGED,
                name=organization.name,
            )
    if organization is not None and not organization.is_active:
        problems.add(
            "organization_id", _("This organization is inactive."), Code.ORGANIZATION_INACTIVE
        )


def _locked_pledge(pk: int) -> Pledge:
    return (
        Pledge.objects.select_for_update(of=("self",))
        .select_related("goal", "organization", "pledged_by__volunteer_profile")
        .get(pk=pk)
    )


def cancel_pledge(user: Any, pledge: Pledge) -> Pledge:
    """Withdraw one's own pledge while it is not fulfilled."""
    with transaction.atomic():
        pledge = _locked_pledge(pledge.pk)
        if pledge.pledged_by_id != getattr(user, "pk", None):
            raise PermissionDenied(_("This is not your pledge."))
        if pledge.status != PledgeStatus.PLEDGED:
            raise refuse(
                None, _("Only a pledge still open can be withdrawn."), Code.PLEDGE_NOT_ACTIVE
            )
        pledge.status, pledge.cancelled_at = PledgeStatus.CANCELLED, timezone.now()
        pledge.save(update_fields=["status", "cancelled_at"])
    return pledge


def _public_name(pledge: Pledge) -> str:
    """Who gave, as the public ledger shows it: never a phone number or account name."""
    with translation.override(settings.LANGUAGE_CODE):  # the ledger is one document
        if pledge.is_anonymous:
            return str(_("Anonymous"))
        if pledge.organization is not None:
            return pledge.organization.name
        user = pledge.pledged_by
        profile = getattr(user, "volunteer_profile", None)
        full_name = f"{user.last_name}{user.first_name}".strip()
        return (profile and profile.display_name) or full_name or str(_("A resident"))


def _income_description(goal: CampaignGoal) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(_("Pledge received: %(goal)s") % {"goal": goal.label})


def confirm_pledge(actor: Any, pledge: Pledge, received_quantity: Any = None) -> Pledge:
    """Record what actually arrived (default: what was promised; less or more is fine).
    Money and goods add one income line to the public ledger. Once only."""
    with transaction.atomic():
        campaign = _locked_campaign(pledge.campaign_id)
        _require_manager(actor, campaign)
        pledge = _locked_pledge(pledge.pk)
        if pledge.status == PledgeStatus.FULFILLED:
            raise refuse(None, _("This pledge is confirmed already."), Code.ALREADY_CONFIRMED)
        if pledge.status != PledgeStatus.PLEDGED:
            raise refuse(None, _("This pledge was withdrawn."), Code.PLEDGE_NOT_ACTIVE)
        goal = pledge.goal
        problems = Problems()
        if received_quantity is None:
            received: Decimal | None = pledge.quantity
        else:
            received = clean_amount(
                problems, "received_quantity", received_quantity, whole=goal.kind in COUNTED_KINDS
            )
            if goal.kind in COUNTED_KINDS and received is not None and received != 1:
                problems.add(
                    "received_quantity", _("Confirm exactly 1."), Code.QUANTITY_MUST_BE_ONE
                )
        problems.raise_if_any()
        assert received is not None
        now = timezone.now()
        pledge.status, pledge.fulfilled_quantity = PledgeStatus.FULFILLED, received
        pledge.confirmed_by, pledge.confirmed_at = actor, now
        pledge.save(update_fields=["status", "fulfilled_quantity", "confirmed_by", "confirmed_at"])
        if goal.kind in (GoalKind.MONEY, GoalKind.GOODS):
            CampaignLedgerEntry.objects.create(
                campaign=campaign,
                direction=LedgerDirection.INCOME,
                goal=goal,
                pledge=pledge,
                quantity=received,
                description=_income_description(goal),
                counterparty=_public_name(pledge),
                occurred_on=timezone.localdate(now, timezone.get_default_timezone()),
                recorded_by=actor,
            )
        record(
            actor,
            "campaign.confirm_pledge",
            pledge,
            campaign.region,
            {"fulfilled_quantity": [None, str(received)], "promised": [None, str(pledge.quantity)]},
        )
    return pledge


# --- the ledger ------------------------------------------------------------------------------


def _refuse_overdraft(campaign: Campaign, paid_out: Decimal) -> None:
    """Raise unless the money received covers ``paid_out`` more (the campaign row is locked,
    so no other expense can slip in between)."""
    balance = progress.money_balances([campaign.pk])[campaign.pk]
    if paid_out > balance:
        raise refuse(
            "amount",
            _("The campaign holds ¥%(balance)s; it cannot pay out ¥%(amount)s.")
            % {"balance": f"{balance:,}", "amount": f"{paid_out:,}"},
            Code.INSUFFICIENT_FUNDS,
        )


def record_expense(
    actor: Any,
    campaign: Campaign,
    amount: Any,
    description: str,
    paid_to: str,
    occurred_on: dt.date,
) -> CampaignLedgerEntry:
    """What the campaign's money paid for (yuan). Never more than it holds."""
    today = timezone.localdate(timezone.now(), timezone.get_default_timezone())
    with transaction.atomic():
        campaign = _locked_campaign(campaign.pk)
        _require_manager(actor, campaign)
        if campaign.status == CampaignStatus.DRAFT:
            raise refuse(None, _("A draft has no money to spend."), Code.CAMPAIGN_NOT_OPEN)
        problems = Problems()
        value = clean_amount(problems, "amount", amount, whole=False)
        description = clean_text(
            problems,
            "description",
            description,
            required=True,
            limit=model_max_length(CampaignLedgerEntry, "description"),
        )
        paid_to = clean_text(
            problems,
            "paid_to",
            paid_to,
            required=True,
            limit=model_max_length(CampaignLedgerEntry, "counterparty"),
        )
        if occurred_on > today:
            problems.add("occurred_on", _("This date lies in the future."), Code.DATE_IN_FUTURE)
        problems.raise_if_any()
        assert value is not None
        _refuse_overdraft(campaign, value)
        entry = CampaignLedgerEntry.objects.create(
            campaign=campaign,
            direction=LedgerDirection.EXPENSE,
            quantity=value,
            description=description,
            counterparty=paid_to,
            occurred_on=occurred_on,
            recorded_by=actor,
        )
        record(
            actor,
            "campaign.expense",
            entry,
            campaign.region,
            {"amount": [None, str(value)], "paid_to": [None, paid_to]},
        )
    return entry


def reverse_ledger_entry(
    actor: Any, entry: CampaignLedgerEntry, reason: str
) -> CampaignLedgerEntry:
    """Undo a line by appending its negative (once, with a reason); the line itself stays.

    Reversing the income of a confirmed pledge (the transfer bounced, the goods never came)
    withdraws that pledge too, so progress and the ledger agree. Money income can only be
    reversed while the balance covers it."""
    problems = Problems()
    reason = _clean_reason(problems, reason, required=True)
    problems.raise_if_any()
    with transaction.atomic():
        campaign = _locked_campaign(entry.campaign_id)
        _require_manager(actor, campaign)
        entry = (
            CampaignLedgerEntry.objects.select_for_update(of=("self",))
            .select_related("goal")
            .get(pk=entry.pk)
        )
        if entry.reverses_id is not None:
            raise refuse(None, _("A reversal cannot be reversed."), Code.CANNOT_REVERSE_REVERSAL)
        if CampaignLedgerEntry.objects.filter(reverses=entry).exists():
            raise refuse(None, _("This line is reversed already."), Code.ALREADY_REVERSED)
        is_money_income = (
            entry.direction == LedgerDirection.INCOME
            and entry.goal is not None
            and entry.goal.kind == GoalKind.MONEY
        )
        if is_money_income:
            _refuse_overdraft(campaign, entry.quantity)
        now = timezone.now()
        with translation.override(settings.LANGUAGE_CODE):
            description = str(_("Reversal: %(reason)s") % {"reason": reason})
        reversal = CampaignLedgerEntry.objects.create(
            campaign=campaign,
            direction=entry.direction,
            goal=entry.goal,
            quantity=-entry.quantity,
            description=description[: model_max_length(CampaignLedgerEntry, "description")],
            counterparty=entry.counterparty,
            occurred_on=timezone.localdate(now, timezone.get_default_timezone()),
            reverses=entry,
            recorded_by=actor,
        )
        if entry.pledge_id is not None:
            Pledge.objects.filter(Q(pk=entry.pledge_id), Q(status=PledgeStatus.FULFILLED)).update(
                status=PledgeStatus.CANCELLED, cancelled_at=now
            )
        record(
            actor,
            "campaign.reverse",
            entry,
            campaign.region,
            {"quantity": [str(entry.quantity), str(-entry.quantity)]},
            reason,
        )
    return reversal
