"""A volunteer's shifts as an iCalendar feed (RFC 5545) for the phone's calendar app.

The feed's address holds a secret; only its SHA-256 is stored, and rotating it revokes the
old address at once.
"""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from icalendar import Calendar, Event

from backend.activities.models import ActivityStatus
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.volunteers.models import VolunteerProfile

PAST_DAYS = 60  # past shifts stay visible in the calendar for a while
SHOWN = (
    EnrollmentStatus.CONFIRMED,
    EnrollmentStatus.WAITLISTED,
    EnrollmentStatus.PENDING,
    EnrollmentStatus.ATTENDED,
)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def rotate_secret(volunteer: VolunteerProfile) -> str:
    """A new secret for the feed address; the previous address stops working."""
    secret = secrets.token_urlsafe(24)
    with transaction.atomic():
        VolunteerProfile.objects.filter(pk=volunteer.pk).update(calendar_token_hash=_hash(secret))
    return secret


def revoke_secret(volunteer: VolunteerProfile) -> None:
    VolunteerProfile.objects.filter(pk=volunteer.pk).update(calendar_token_hash=None)


def volunteer_for_secret(secret: str) -> VolunteerProfile | None:
    if not secret or len(secret) > 100:
        return None
    return VolunteerProfile.objects.filter(calendar_token_hash=_hash(secret)).first()


def _event_status(enrollment: Enrollment) -> str:
    """CANCELLED when the activity was called off, so the phone shows it struck through."""
    if enrollment.shift.activity.status == ActivityStatus.CANCELLED:
        return "CANCELLED"
    if enrollment.status in (EnrollmentStatus.CONFIRMED, EnrollmentStatus.ATTENDED):
        return "CONFIRMED"
    return "TENTATIVE"


def feed(volunteer: VolunteerProfile, now: dt.datetime | None = None) -> bytes:
    now = now or timezone.now()
    calendar = Calendar()
    calendar.add("prodid", "-//Linli//Volunteer shifts//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"邻里志愿服务 · {volunteer.display_name}")
    enrollments = (
        Enrollment.objects.filter(
            volunteer=volunteer,
            status__in=SHOWN,
            shift__ends_at__gte=now - dt.timedelta(days=PAST_DAYS),
        )
        .select_related("shift__activity__service_point")
        .order_by("shift__starts_at", "pk")
    )
    for enrollment in enrollments:
        shift, activity = enrollment.shift, enrollment.shift.activity
        event = Event()
        event.add("uid", f"enrollment-{enrollment.pk}@linli")
        event.add("dtstamp", now)
        event.add("dtstart", shift.starts_at)
        event.add("dtend", shift.ends_at)
        title = activity.title if not shift.title else f"{activity.title} · {shift.title}"
        if enrollment.status != EnrollmentStatus.CONFIRMED:
            title = f"{title} ({enrollment.get_status_display()})"
        event.add("summary", title)
        event.add("status", _event_status(enrollment))
        if activity.service_point is not None:
            point = activity.service_point
            event.add("location", f"{point.name}, {point.address}")
            event.add("geo", (point.latitude, point.longitude))
        if activity.description:
            event.add("description", activity.description[:1000])
        calendar.add_component(event)
    return calendar.to_ical()
