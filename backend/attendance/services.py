"""Check-in and check-out: by QR code, by the coordinator, and by rule at the end of a shift.

Every change takes the enrollment's row lock first, so a volunteer's check-in, the
coordinator's manual entry and the closing task on the same sign-up happen one after
another; the one-to-one attendance row (a database constraint) makes a second check-in
impossible even if a caller gets that wrong. Retries are natural on a phone with a bad
network: repeating a check-in or check-out that already happened returns its result and
changes nothing.

A completed attendance (any kind of check-out) writes its service-hours ledger entry in
the same transaction, so the ledger has an entry exactly when the attendance is closed.
"""

import datetime as dt
import math

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.activities.models import Activity, ActivityStatus, Shift
from backend.attendance import tokens
from backend.attendance.error_codes import AttendanceErrorCode as Code
from backend.attendance.models import Attendance, CheckMethod
from backend.audit.models import AuditEvent
from backend.audit.services import record
from backend.core.geo import haversine_km
from backend.core.problems import refuse
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.hours.services import record_attendance_hours
from backend.realtime import events as live
from backend.realtime.events import RosterChange

MAX_TOKEN_LENGTH = 256
# Sign-ups that may be checked in: confirmed ones, and those marked as no-show by mistake
# (the volunteer turned up late after all).
MAY_CHECK_IN = (EnrollmentStatus.CONFIRMED, EnrollmentStatus.NO_SHOW)
# Activities whose shifts take place, so that attendance (and its absence) counts.
RUNNING = (ActivityStatus.PUBLISHED, ActivityStatus.COMPLETED)
NO_SHOW_CHUNK = 500  # sign-ups marked per transaction


def _grace(activity: Activity) -> dt.timedelta:
    return dt.timedelta(minutes=activity.check_in_grace_minutes)


def _check_in_window(shift: Shift, moment: dt.datetime, field: str | None) -> None:
    """Check-in is accepted from ``grace`` before the start until the end of the shift."""
    if not shift.starts_at - _grace(shift.activity) <= moment <= shift.ends_at:
        raise refuse(
            field,
            _(
                "Check-in for this shift opens %(minutes)s minutes before it starts "
                "and closes when it ends."
            )
            % {"minutes": shift.activity.check_in_grace_minutes},
            Code.OUTSIDE_WINDOW,
        )


def _check_out_window(shift: Shift, moment: dt.datetime, field: str | None) -> None:
    if moment > shift.ends_at + _grace(shift.activity):
        raise refuse(
            field,
            _("Check-out for this shift closed %(minutes)s minutes after it ended.")
            % {"minutes": shift.activity.check_in_grace_minutes},
            Code.OUTSIDE_WINDOW,
        )


def _location(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        field = "latitude" if latitude is None else "longitude"
        raise refuse(field, _("Send both latitude and longitude."), Code.REQUIRED)
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise refuse("latitude", _("Latitude must be between -90 and 90."), Code.INVALID)
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise refuse("longitude", _("Longitude must be between -180 and 180."), Code.INVALID)
    return latitude, longitude


def _check_distance(activity: Activity, location: tuple[float, float] | None) -> None:
    """Within the activity's radius of its service point, when it sets one. An activity
    with a radius but no service point has no place to measure from: nothing to check."""
    point = activity.service_point
    if activity.check_in_radius_m is None or point is None:
        return
    if location is None:
        raise refuse(
            "latitude",
            _("This activity checks where you are: allow the app to use your location."),
            Code.LOCATION_REQUIRED,
        )
    metres = haversine_km(point.latitude, point.longitude, *location) * 1000
    if metres > activity.check_in_radius_m:
        raise refuse(
            None,
            _("You are %(distance)d m from %(place)s; come within %(radius)d m.")
            % {"distance": metres, "place": point.name, "radius": activity.check_in_radius_m},
            Code.TOO_FAR,
        )


def _shift(shift_id: int) -> Shift:
    shift = (
        Shift.objects.select_related("activity__service_point", "activity__region")
        .filter(pk=shift_id)
        .first()
    )
    if shift is None:
        raise refuse("shift_id", _("No such shift."), Code.NOT_FOUND)
    _ensure_running(shift.activity)
    return shift


def _ensure_running(activity: Activity) -> None:
    """Attendance exists only for activities that take place: not for drafts or cancelled
    ones (their sign-ups stay, but nobody serves)."""
    if activity.status not in RUNNING:
        raise refuse(None, _("This activity is not taking place."), Code.ACTIVITY_NOT_RUNNING)


def _own_enrollment(user: User, shift: Shift) -> Enrollment | None:
    """The volunteer's sign-up on the shift that attendance is about, if any."""
    return (
        Enrollment.objects.filter(
            shift=shift,
            volunteer__user=user,
            status__in=(*MAY_CHECK_IN, EnrollmentStatus.ATTENDED),
        )
        .order_by("-pk")
        .first()
    )


def _lock(enrollment_id: int) -> Enrollment:
    """The enrollment under its row lock, fresh (caller is inside ``transaction.atomic``)."""
    return Enrollment.objects.select_for_update().get(pk=enrollment_id)


def _attendance_of(enrollment: Enrollment) -> Attendance | None:
    return Attendance.objects.filter(enrollment=enrollment).first()


def _start(
    enrollment: Enrollment,
    at: dt.datetime,
    method: CheckMethod,
    location: tuple[float, float] | None = None,
    recorded_by: User | None = None,
) -> Attendance:
    latitude, longitude = location or (None, None)
    attendance = Attendance.objects.create(
        enrollment=enrollment,
        checked_in_at=at,
        check_in_method=method,
        check_in_latitude=latitude,
        check_in_longitude=longitude,
        recorded_by=recorded_by,
    )
    enrollment.status = EnrollmentStatus.ATTENDED
    enrollment.save(update_fields=["status", "status_changed_at"])
    live.roster_changed(enrollment.shift, enrollment.pk, RosterChange.CHECKED_IN)
    return attendance


def _finish(
    attendance: Attendance, at: dt.datetime, method: CheckMethod, actor: User | None
) -> Attendance:
    """Close the attendance and write its ledger entry (same transaction)."""
    attendance.checked_out_at = at
    attendance.check_out_method = method
    fields = ["checked_out_at", "check_out_method"]
    if method == CheckMethod.MANUAL:
        attendance.recorded_by = actor
        fields.append("recorded_by")
    attendance.save(update_fields=fields)
    record_attendance_hours(attendance, actor)
    enrollment = attendance.enrollment
    live.roster_changed(enrollment.shift, enrollment.pk, RosterChange.CHECKED_OUT)
    return attendance


def check_in_with_token(
    user: User,
    shift_id: int,
    token: str,
    latitude: float | None,
    longitude: float | None,
    *,
    now: dt.datetime | None = None,
) -> Attendance:
    """Check the volunteer in with the code the coordinator shows: a current code of this
    shift, within the check-in window, and close enough to the service point when the
    activity asks for it. Repeating a check-in that succeeded returns it, even once the
    code has expired (the phone retried after a lost answer)."""
    now = now or timezone.now()
    shift = _shift(shift_id)
    location = _location(latitude, longitude)
    enrollment = _own_enrollment(user, shift)
    if enrollment is None:
        raise refuse(
            "shift_id", _("You have no confirmed place on this shift."), Code.NOT_CONFIRMED
        )
    expired = False
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise tokens.TokenInvalid
        tokens.verify(token, shift, now)
    except tokens.TokenExpired:
        expired = True
    except tokens.TokenForAnotherShift:
        raise refuse(
            "token", _("This code is for another shift."), Code.TOKEN_FOR_ANOTHER_SHIFT
        ) from None
    except tokens.CheckInTokenError:
        raise refuse(
            "token", _("This is not a check-in code of Linli."), Code.TOKEN_INVALID
        ) from None
    with transaction.atomic():
        locked = _lock(enrollment.pk)
        existing = _attendance_of(locked)
        if existing is not None:
            if existing.checked_out_at is not None:
                raise refuse(
                    None, _("You have already checked out of this shift."), Code.ALREADY_CHECKED_OUT
                )
            return existing
        if expired:
            raise refuse(
                "token", _("This code has expired: scan the current one."), Code.TOKEN_EXPIRED
            )
        if locked.status not in MAY_CHECK_IN:
            raise refuse(
                "shift_id", _("You have no confirmed place on this shift."), Code.NOT_CONFIRMED
            )
        _check_in_window(shift, now, None)
        _check_distance(shift.activity, location)
        return _start(locked, now, CheckMethod.QR, location)


def check_out(
    user: User,
    shift_id: int,
    latitude: float | None = None,
    longitude: float | None = None,
    *,
    now: dt.datetime | None = None,
) -> Attendance:
    """The volunteer leaves: until ``grace`` after the shift ends (later, the shift is
    closed by rule). Where the activity sets a radius, check-out too is made on site, so
    the hours end where the service did. Repeating a check-out returns it."""
    now = now or timezone.now()
    shift = _shift(shift_id)
    location = _location(latitude, longitude)
    enrollment = _own_enrollment(user, shift)
    attendance = None if enrollment is None else _attendance_of(enrollment)
    if enrollment is None or attendance is None:
        raise refuse("shift_id", _("You have not checked in to this shift."), Code.NOT_CHECKED_IN)
    if attendance.checked_out_at is not None:
        return attendance
    _check_out_window(shift, now, None)
    _check_distance(shift.activity, location)
    with transaction.atomic():
        _lock(enrollment.pk)
        attendance = Attendance.objects.get(pk=attendance.pk)
        if attendance.checked_out_at is not None:
            return attendance
        return _finish(attendance, max(now, attendance.checked_in_at), CheckMethod.QR, user)


def _managed_enrollment(actor: User, enrollment_id: int) -> Enrollment:
    """A sign-up on a shift the actor runs: ``not_found`` when there is none,
    ``PermissionDenied`` when it is someone else's activity."""
    enrollment = (
        Enrollment.objects.select_related(
            "shift__activity__organizer__region", "shift__activity__region"
        )
        .filter(pk=enrollment_id)
        .first()
    )
    if enrollment is None:
        raise refuse("enrollment_id", _("No such sign-up."), Code.NOT_FOUND)
    if not actor.has_perm("activities.change_activity", enrollment.shift.activity):
        raise PermissionDenied(_("You do not run this activity."))
    return enrollment


def _moment(at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if at is None:
        return now
    if timezone.is_naive(at):
        raise refuse("at", _("Give the time with its time zone."), Code.INVALID)
    if at > now:
        raise refuse("at", _("This time has not come yet."), Code.INVALID)
    return at


def manual_check_in(
    actor: User,
    enrollment_id: int,
    at: dt.datetime | None = None,
    *,
    now: dt.datetime | None = None,
) -> Attendance:
    """The coordinator checks a volunteer in (no phone, no signal): at ``at`` (default now),
    within the check-in window. Repeating it returns the attendance already recorded."""
    now = now or timezone.now()
    enrollment = _managed_enrollment(actor, enrollment_id)
    shift = enrollment.shift
    _ensure_running(shift.activity)
    moment = _moment(at, now)
    with transaction.atomic():
        locked = _lock(enrollment.pk)
        existing = _attendance_of(locked)
        if existing is not None:
            if at is None or existing.checked_in_at == moment:
                return existing
            raise refuse(
                "enrollment_id",
                _("This volunteer checked in at %(time)s already.")
                % {"time": timezone.localtime(existing.checked_in_at, shift.activity.zone)},
                Code.ALREADY_CHECKED_IN,
            )
        if locked.status not in MAY_CHECK_IN:
            raise refuse("enrollment_id", _("This sign-up is not confirmed."), Code.NOT_CONFIRMED)
        _check_in_window(shift, moment, "at" if at is not None else None)
        before = locked.status
        attendance = _start(locked, moment, CheckMethod.MANUAL, recorded_by=actor)
        record(
            actor,
            "attendance.check_in",
            attendance,
            shift.activity.region,
            {"checked_in_at": [None, moment.isoformat()], "status": [before, locked.status]},
        )
        return attendance


def manual_check_out(
    actor: User,
    enrollment_id: int,
    at: dt.datetime | None = None,
    *,
    now: dt.datetime | None = None,
) -> Attendance:
    """The coordinator checks a volunteer out at ``at`` (default now), not before the
    check-in and not later than ``grace`` after the shift. Repeating it returns it."""
    now = now or timezone.now()
    enrollment = _managed_enrollment(actor, enrollment_id)
    shift = enrollment.shift
    _ensure_running(shift.activity)
    moment = _moment(at, now)
    with transaction.atomic():
        locked = _lock(enrollment.pk)
        attendance = _attendance_of(locked)
        if attendance is None:
            raise refuse(
                "enrollment_id", _("This volunteer has not checked in."), Code.NOT_CHECKED_IN
            )
        if attendance.checked_out_at is not None:
            if at is None or attendance.checked_out_at == moment:
                return attendance
            raise refuse(
                "enrollment_id",
                _("This volunteer is checked out already; correct the hours instead."),
                Code.ALREADY_CHECKED_OUT,
            )
        field = "at" if at is not None else None
        if moment < attendance.checked_in_at:
            raise refuse(field, _("Check-out cannot come before check-in."), Code.INVALID)
        _check_out_window(shift, moment, field)
        _finish(attendance, moment, CheckMethod.MANUAL, actor)
        record(
            actor,
            "attendance.check_out",
            attendance,
            shift.activity.region,
            {"checked_out_at": [None, moment.isoformat()]},
        )
        return attendance


def mark_no_show(actor: User, enrollment_id: int, *, now: dt.datetime | None = None) -> Enrollment:
    """Record that a confirmed volunteer did not come (once the shift has started; the
    place stays counted: it was taken). Repeating it changes nothing."""
    now = now or timezone.now()
    enrollment = _managed_enrollment(actor, enrollment_id)
    shift = enrollment.shift
    _ensure_running(shift.activity)
    if shift.starts_at > now:
        raise refuse("enrollment_id", _("The shift has not started yet."), Code.SHIFT_NOT_STARTED)
    with transaction.atomic():
        locked = _lock(enrollment.pk)
        if locked.status == EnrollmentStatus.NO_SHOW:
            return locked
        if locked.status == EnrollmentStatus.ATTENDED:
            raise refuse(
                "enrollment_id", _("This volunteer has checked in."), Code.ALREADY_CHECKED_IN
            )
        if locked.status != EnrollmentStatus.CONFIRMED:
            raise refuse("enrollment_id", _("This sign-up is not confirmed."), Code.NOT_CONFIRMED)
        locked.status = EnrollmentStatus.NO_SHOW
        locked.save(update_fields=["status", "status_changed_at"])
        live.roster_changed(shift, locked.pk, RosterChange.NO_SHOW)
        record(
            actor,
            "enrollment.no_show",
            locked,
            shift.activity.region,
            {"status": [EnrollmentStatus.CONFIRMED.value, EnrollmentStatus.NO_SHOW.value]},
        )
        return locked


def close_forgotten_check_outs(now: dt.datetime | None = None) -> int:
    """Close every attendance still open once its shift's check-out window is over: checked
    out at the shift's end, method AUTO (flagged for the coordinator). Returns how many were
    closed; a second run finds nothing to do."""
    now = now or timezone.now()
    candidates = (
        Attendance.objects.filter(checked_out_at__isnull=True, enrollment__shift__ends_at__lte=now)
        .select_related("enrollment__shift__activity")
        .order_by("pk")
    )
    closed = 0
    for candidate in candidates.iterator(chunk_size=500):
        shift = candidate.enrollment.shift
        # The volunteer may still check out during the grace period after the end.
        if now <= shift.ends_at + _grace(shift.activity):
            continue
        with transaction.atomic():
            _lock(candidate.enrollment_id)
            attendance = Attendance.objects.get(pk=candidate.pk)
            if attendance.checked_out_at is not None:  # closed meanwhile
                continue
            _finish(
                attendance, max(shift.ends_at, attendance.checked_in_at), CheckMethod.AUTO, None
            )
            closed += 1
    return closed


def mark_no_shows(now: dt.datetime | None = None) -> int:
    """The system's side of ``mark_no_show``: a confirmed place with no check-in becomes
    NO_SHOW once its shift's check-out window is over (``grace`` after the end) — by then
    nobody can check in or out by themselves any more. Same rules as the coordinator's:
    only activities that take place, only confirmed sign-ups, never one with an attendance;
    audited with no actor (the system). Returns how many were marked; a second run finds
    nothing to do.

    Nothing else needs to follow: a no-show has no attendance, hence no ledger entry, and
    reliability is computed from the sign-ups' states. A coordinator who learns that the
    volunteer came after all checks them in by hand (``MAY_CHECK_IN`` accepts no-shows).
    Each chunk is one conditional UPDATE under the rows' locks, so a check-in racing the
    task either lands first (the sign-up is no longer confirmed: skipped) or waits and
    finds a no-show it may still turn into attendance.
    """
    now = now or timezone.now()
    candidates = (
        Enrollment.objects.filter(
            status=EnrollmentStatus.CONFIRMED,
            shift__ends_at__lte=now,
            shift__activity__status__in=RUNNING,
        )
        .values_list("pk", "shift__ends_at", "shift__activity__check_in_grace_minutes")
        .order_by("pk")
    )
    due = [
        pk
        for pk, ends_at, grace_minutes in candidates.iterator(chunk_size=2000)
        if now > ends_at + dt.timedelta(minutes=grace_minutes)
    ]
    marked = 0
    for start in range(0, len(due), NO_SHOW_CHUNK):
        marked += _mark_no_shows(due[start : start + NO_SHOW_CHUNK], now)
    return marked


def _mark_no_shows(enrollment_ids: list[int], now: dt.datetime) -> int:
    with transaction.atomic():
        locked = list(
            Enrollment.objects.select_for_update(of=("self",))
            .filter(pk__in=enrollment_ids, status=EnrollmentStatus.CONFIRMED)
            .exclude(Exists(Attendance.objects.filter(enrollment=OuterRef("pk"))))
            .select_related("volunteer", "shift__activity")
            .order_by("pk")
        )
        if not locked:
            return 0
        Enrollment.objects.filter(pk__in=[enrollment.pk for enrollment in locked]).update(
            status=EnrollmentStatus.NO_SHOW, status_changed_at=now
        )
        live.roster_changes(
            (enrollment.shift.activity_id, enrollment.shift_id, enrollment.pk, RosterChange.NO_SHOW)
            for enrollment in locked
        )
        change = {"status": [EnrollmentStatus.CONFIRMED.value, EnrollmentStatus.NO_SHOW.value]}
        events = []
        for enrollment in locked:
            enrollment.status, enrollment.status_changed_at = EnrollmentStatus.NO_SHOW, now
            events.append(
                AuditEvent(
                    actor=None,
                    action="enrollment.no_show",
                    target_type=enrollment._meta.label_lower,
                    target_id=str(enrollment.pk),
                    target_repr=str(enrollment)[:255],
                    region_id=enrollment.shift.activity.region_id,
                    changes=change,
                )
            )
        AuditEvent.objects.bulk_create(events)
        return len(locked)
