"""Where users live: declaring, verifying and ending residences.

A user declares the community they live in; the community's administrators (those who run
its deliberation hall) verify it against the household register. Only one residence is
current (pending or verified) at a time, which a partial unique constraint enforces even
when two declarations race. Moving away ends the residence; it stays for history (ballots
point at it).
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.audit.services import record
from backend.core.fields import clean_text, model_max_length
from backend.core.problems import Problems, refuse
from backend.regions.models import Region, RegionLevel
from backend.residents.error_codes import ResidentErrorCode as Code
from backend.residents.models import CURRENT_RESIDENCE, Residence, ResidenceStatus

COMMUNITY_LEVELS = (RegionLevel.COMMUNITY, RegionLevel.VILLAGE)
MANAGE_HALL = "deliberation.manage_hall"


def current_residence(user: Any) -> Residence | None:
    """The user's pending or verified residence, with its community."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Residence.objects.select_related("community")
        .filter(CURRENT_RESIDENCE, user_id=user.pk)
        .first()
    )


def declare_residence(user: Any, community: Region, address: str) -> Residence:
    """Declare where one lives; pending until verified. Declaring the same community again
    returns the current residence unchanged; another one needs the current one ended first."""
    problems = Problems()
    address = clean_text(
        problems, "address", address, required=False, limit=model_max_length(Residence, "address")
    )
    if community.level not in COMMUNITY_LEVELS:
        problems.add(
            "community_id",
            _("Choose a community or a village, not a %(level)s."),
            Code.NOT_A_COMMUNITY,
            level=community.get_level_display(),
        )
    problems.raise_if_any()
    existing = current_residence(user)
    if existing is not None:
        return _same_or_refused(existing, community)
    try:
        with transaction.atomic():
            residence = Residence.objects.create(user=user, community=community, address=address)
            record(user, "residence.declare", residence, community, {"address": [None, address]})
    except IntegrityError:
        # Another declaration of the same user committed first.
        existing = current_residence(user)
        if existing is None:
            raise
        return _same_or_refused(existing, community)
    return residence


def _same_or_refused(existing: Residence, community: Region) -> Residence:
    if existing.community_id == community.pk:
        return existing
    raise refuse(
        "community_id",
        _("You already live in %(community)s: move out there first.")
        % {"community": existing.community.name},
        Code.ALREADY_RESIDENT,
    )


def _locked(residence: Residence) -> Residence:
    return (
        Residence.objects.select_for_update(of=("self",))
        .select_related("community", "user")
        .get(pk=residence.pk)
    )


def verify_residence(actor: Any, residence: Residence) -> Residence:
    """Confirm a pending residence (the household register agrees): its resident may vote."""
    with transaction.atomic():
        residence = _locked(residence)
        if not actor.has_perm(MANAGE_HALL, residence.community):
            raise PermissionDenied(_("You do not run this community."))
        if residence.user_id == actor.pk:
            raise PermissionDenied(_("Someone else must verify your own residence."))
        if residence.status == ResidenceStatus.ENDED:
            raise refuse("id", _("This residence has ended."), Code.RESIDENCE_ENDED)
        if residence.status == ResidenceStatus.VERIFIED:
            raise refuse("id", _("This residence is verified already."), Code.ALREADY_VERIFIED)
        residence.status = ResidenceStatus.VERIFIED
        residence.verified_at = timezone.now()
        residence.verified_by = actor
        residence.save(update_fields=["status", "verified_at", "verified_by"])
        record(
            actor,
            "residence.verify",
            residence,
            residence.community,
            {"status": [ResidenceStatus.PENDING.value, ResidenceStatus.VERIFIED.value]},
        )
    return residence


def end_residence(actor: Any, residence: Residence, reason: str) -> Residence:
    """End a residence: the resident moving out (the reason is optional), or the community
    refusing or ending it (the reason is required and recorded)."""
    problems = Problems()
    reason = clean_text(
        problems, "reason", reason, required=False, limit=model_max_length(Residence, "end_reason")
    )
    with transaction.atomic():
        residence = _locked(residence)
        own = residence.user_id == actor.pk
        if not own and not actor.has_perm(MANAGE_HALL, residence.community):
            raise PermissionDenied(_("You may end only your own residence."))
        if residence.status == ResidenceStatus.ENDED:
            raise refuse("id", _("This residence has ended already."), Code.RESIDENCE_ENDED)
        if not own and not reason and "reason" not in problems:
            problems.add("reason", _("Say why this residence ends."), Code.REASON_REQUIRED)
        problems.raise_if_any()
        old_status = residence.status
        residence.status = ResidenceStatus.ENDED
        residence.ended_at = timezone.now()
        residence.end_reason = reason
        residence.save(update_fields=["status", "ended_at", "end_reason"])
        record(
            actor,
            "residence.end",
            residence,
            residence.community,
            {"status": [old_status, ResidenceStatus.ENDED.value]},
            reason=reason,
        )
    return residence
