"""Every model has a working admin page a coordinator can search and filter."""

import pytest
from django.contrib import admin
from django.urls import reverse

from backend.accounts.models import AuthSession, User
from backend.activities.models import Activity, Shift
from backend.audit.models import AuditEvent
from backend.organizations.models import Membership, Organization
from backend.regions.models import Region
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.volunteers.models import AvailabilityWindow, Skill, VolunteerProfile
from notifications import services as notification_services
from notifications.models import (
    Broadcast,
    Delivery,
    Device,
    Notification,
    NotificationPreference,
    NotificationSettings,
)
from tests.fixtures import make_activity, make_service_point, make_volunteer

DOMAIN_MODELS = [
    Region,
    Organization,
    Membership,
    ServiceCategory,
    ServicePoint,
    Skill,
    VolunteerProfile,
    Activity,
    Shift,
    User,
    AuthSession,
    Device,
    Notification,
    Delivery,
    Broadcast,
    NotificationPreference,
    NotificationSettings,
]

CREATED_ONLY_BY_THE_SYSTEM = {AuthSession, Device, Notification, Delivery, Broadcast}


def _notification_rows(user: User, activity: Activity) -> None:
    """One row of each notification model, so their change pages render too."""
    device = notification_services.register_device(
        user, notification_services.DeviceSpec("d" * 40, "fcm_token", "android")
    )
    notification = Notification.objects.create(
        recipient=user, kind="broadcast", title="停水", body="明天停水"
    )
    Delivery.objects.create(notification=notification, device=device)
    Broadcast.objects.create(
        sender=user,
        audience="activity",
        activity=activity,
        title="停水",
        body="明天停水",
        idempotency_key="k",
    )
    NotificationPreference.objects.create(user=user, kind="broadcast", push=False, inbox=True)
    NotificationSettings.objects.create(user=user)


def test_every_domain_model_is_in_the_admin():
    registered = set(admin.site._registry)
    assert set(DOMAIN_MODELS) <= registered
    # Availability windows are edited inline on the volunteer.
    assert AvailabilityWindow not in registered


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda model: model.__name__)
def test_list_search_add_and_change_pages_render(admin_client, community, model):
    activity = make_activity(community.team, community.grid)
    make_service_point(community.grid, community.categories["haircut"])
    _notification_rows(make_volunteer("notified"), activity)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    assert admin_client.get(changelist, HTTP_HOST="localhost").status_code == 200
    assert admin_client.get(changelist, {"q": "朝阳"}, HTTP_HOST="localhost").status_code == 200
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    addable = model not in CREATED_ONLY_BY_THE_SYSTEM
    assert admin_client.get(add, HTTP_HOST="localhost").status_code == (200 if addable else 403)
    instance = model.objects.first() or (activity if model is Activity else None)
    if instance is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
        assert admin_client.get(change, HTTP_HOST="localhost").status_code == 200


def test_publishing_in_the_admin_stamps_the_time_and_keeps_the_span(admin_client, community):
    activity = make_activity(community.team, community.grid, status="draft", shifts=0)
    change = reverse("admin:activities_activity_change", args=[activity.pk])
    form = {
        "organizer": community.team.pk,
        "region": community.grid.pk,
        "kind": "civic_practice",
        "title": "周四义务理发",
        "description": "",
        "status": "published",
        "time_zone": "Asia/Shanghai",
        "cancellation_cutoff_hours": "2",
        "check_in_grace_minutes": "30",
        "shifts-TOTAL_FORMS": "1",
        "shifts-INITIAL_FORMS": "0",
        "shifts-0-title": "上午",
        "shifts-0-starts_at_0": "2026-12-03",
        "shifts-0-starts_at_1": "09:00",
        "shifts-0-ends_at_0": "2026-12-03",
        "shifts-0-ends_at_1": "11:00",
        "shifts-0-capacity": "6",
    }

    response = admin_client.post(change, form, HTTP_HOST="localhost")

    assert response.status_code == 302, response.content.decode()[:2000]
    activity.refresh_from_db()
    assert activity.status == "published"
    assert activity.published_at is not None
    assert activity.starts_at.isoformat() == "2026-12-03T01:00:00+00:00"  # 09:00 in Shanghai
    assert activity.shifts.get().capacity == 6


def test_admin_edits_leave_the_same_audit_trail_as_the_api(admin_client, community):
    point = make_service_point(community.grid, community.categories["haircut"], name="旧名")
    change = reverse("admin:servicepoints_servicepoint_change", args=[point.pk])
    form = {
        "name": "新名",
        "category": point.category_id,
        "region": point.region_id,
        "operator": "",
        "address": point.address,
        "latitude": point.latitude,
        "longitude": point.longitude,
        "opening_hours": "[]",
        "contact_name": "",
        "contact_phone": "",
        "description": "",
        "is_active": "on",
    }

    response = admin_client.post(change, form, HTTP_HOST="localhost")

    assert response.status_code == 302, response.content.decode()[:1500]
    event = AuditEvent.objects.get(action="servicepoint.update")
    assert event.changes["name"] == ["旧名", "新名"]
    assert event.region == community.grid
    assert event.actor.is_superuser


def test_memberships_edited_inline_are_audited_too(admin_client, community):
    from backend.accounts.models import User

    member = User.objects.create(username="inline-member", phone="+8613800001111")
    change = reverse("admin:organizations_organization_change", args=[community.team.pk])
    form = {
        "name": community.team.name,
        "kind": community.team.kind,
        "region": community.team.region_id,
        "parent": "",
        "description": "",
        "contact_name": "",
        "contact_phone": "",
        "is_active": "on",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-user": member.pk,
        "memberships-0-role": "coordinator",
        "memberships-0-is_active": "on",
    }

    response = admin_client.post(change, form, HTTP_HOST="localhost")

    assert response.status_code == 302, response.content.decode()[:1500]
    event = AuditEvent.objects.get(action="membership.create")
    assert event.region == community.grid
