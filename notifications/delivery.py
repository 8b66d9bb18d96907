"""Moving pushes from rows to devices, one claimed batch at a time.

1. ``dispatch_due``: notifications whose push is due (queued, or held for quiet hours that
   have ended) get one ``Delivery`` per active device of their recipient.
2. ``send_batch``: up to ``BATCH_SIZE`` due deliveries are claimed (SENDING, with a claim id)
   in a short transaction of their own, sent in one ``send_each`` call, and settled.

The claim is what makes a crash harmless: a batch that was settled is never claimed again,
a batch never claimed is sent by the next run, and only the one batch in flight when a
worker died is sent again — after ``STALE_CLAIM`` — carrying the same tag, so the phone
replaces the first copy instead of showing two. Every claim counts as an attempt, so a
batch that keeps killing its worker is given up after ``MAX_ATTEMPTS`` like any other.
"""

import dataclasses
import datetime as dt
import logging
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone
from graphql_relay import to_global_id

from backend.ops import metrics
from notifications.models import Delivery, DeliveryStatus, Device, Notification, PushState
from notifications.transports import (
    BATCH_SIZE,
    MAX_TIME_TO_LIVE,
    Outcome,
    PushMessage,
    PushResult,
    get_transport,
)

logger = logging.getLogger(__name__)

DISPATCH_CHUNK = 1_000  # notifications turned into deliveries per transaction
MAX_ATTEMPTS = 6  # then FAILED: about an hour of backoff in all
STALE_CLAIM = dt.timedelta(minutes=5)  # longer than a batch can take (see the task limits)

Row = TypeVar("Row", bound=models.Model)

# Why a claimed delivery was not sent (its ``error_code`` when it ends EXPIRED).
DEVICE_INACTIVE = "device_inactive"
MOVED_TO_ANOTHER_USER = "moved_to_another_user"
SIGNED_OUT = "signed_out"
PUSH_EXPIRED = "expired"
SUPERSEDED = "superseded"
WORKER_LOST = "worker_lost"


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, 8 min … with ±20 % jitter so retries do not stampede."""
    seconds = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _locked_for_claim(queryset: QuerySet[Row]) -> QuerySet[Row]:
    """Rows another worker is claiming right now are skipped, not waited for (PostgreSQL);
    SQLite has one writer at a time anyway."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def dispatch_due(now: dt.datetime | None = None, limit: int = DISPATCH_CHUNK) -> int:
    """Create the deliveries of up to ``limit`` due notifications; returns how many
    notifications were dispatched (0: nothing is due)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            _locked_for_claim(
                Notification.objects.filter(
                    push_state__in=[PushState.QUEUED, PushState.HELD], push_after__lte=now
                ).order_by("push_after", "id")
            ).values_list("id", "recipient_id", "push_expires_at")[:limit]
        )
        if not due:
            return 0
        expired = [pk for pk, _user, expires in due if expires is not None and expires <= now]
        live = [(pk, user) for pk, user, expires in due if expires is None or expires > now]
        devices: dict[int, list[int]] = defaultdict(list)
        for device_id, user_id in _active_devices({user for _pk, user in live}):
            devices[user_id].append(device_id)
        Delivery.objects.bulk_create(
            [
                Delivery(notification_id=pk, device_id=device_id, next_attempt_at=now)
                for pk, user in live
                for device_id in devices.get(user, ())
            ],
            ignore_conflicts=True,
        )
        Notification.objects.filter(pk__in=[pk for pk, _user in live]).update(
            push_state=PushState.DISPATCHED
        )
        if expired:
            Notification.objects.filter(pk__in=expired).update(push_state=PushState.EXPIRED)
    return len(due)


def _active_devices(user_ids: set[int]) -> list[tuple[int, int]]:
    if not user_ids:
        return []
    return list(
        Device.objects.filter(user_id__in=user_ids, is_active=True)
        .filter(Q(session__isnull=True) | Q(session__ended_at__isnull=True))
        .values_list("id", "user_id")
    )


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    device_gone: int = 0
    retry: int = 0
    failed: int = 0
    expired: int = 0
    next_retry_at: dt.datetime | None = None


def _claimable(now: dt.datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=now - STALE_CLAIM
    )


def _claim(now: dt.datetime, limit: int) -> tuple[uuid.UUID, list[int]]:
    """Claim up to ``limit`` due deliveries: (claim id, the deliveries it holds)."""
    while True:
        claim, claimed, gave_up = _claim_once(now, limit)
        # A batch made only of given-up rows says nothing about what is still due.
        if claimed or not gave_up:
            return claim, claimed


def _claim_once(now: dt.datetime, limit: int) -> tuple[uuid.UUID, list[int], bool]:
    claim = uuid.uuid4()
    with transaction.atomic():
        candidates = list(
            _locked_for_claim(
                Delivery.objects.filter(_claimable(now)).order_by("next_attempt_at", "id")
            ).values_list("id", "status", "attempts")[:limit]
        )
        if not candidates:
            return claim, [], False
        # A batch in flight when its worker died, on its last attempt: whatever killed the
        # worker would kill the next one too.
        lost = {
            pk
            for pk, status, attempts in candidates
            if status == DeliveryStatus.SENDING and attempts >= MAX_ATTEMPTS
        }
        given_up = 0
        if lost:
            given_up = (
                Delivery.objects.filter(pk__in=lost)
                .filter(_claimable(now))
                .update(
                    status=DeliveryStatus.FAILED,
                    error_code=WORKER_LOST,
                    error_message="The worker sending this push stopped before it finished.",
                )
            )
        # The status condition makes the claim safe without row locks too: a row another
        # worker claimed in the meantime no longer matches.
        Delivery.objects.filter(
            pk__in=[pk for pk, _status, _attempts in candidates if pk not in lost]
        ).filter(_claimable(now)).update(
            status=DeliveryStatus.SENDING,
            claimed_at=now,
            claim_id=claim,
            attempts=F("attempts") + 1,
        )
    metrics.count_pushes(failed=given_up)
    claimed = list(
        Delivery.objects.filter(
            pk__in=[pk for pk, _status, _attempts in candidates],
            status=DeliveryStatus.SENDING,
            claim_id=claim,
        ).values_list("id", flat=True)
    )
    return claim, claimed, bool(lost)


def send_batch(now: dt.datetime | None = None, limit: int = BATCH_SIZE) -> BatchReport:
    """Claim, send and settle one batch of due deliveries."""
    now = now or timezone.now()
    report = BatchReport()
    claim, claimed = _claim(now, min(limit, BATCH_SIZE))
    report.claimed = len(claimed)
    if not claimed:
        return report
    rows = list(
        Delivery.objects.filter(pk__in=claimed, claim_id=claim)
        .order_by("id")
        .values_list(
            "id",
            "device_id",
            "device__identifier",
            "device__identifier_kind",
            "device__platform",
            "device__is_active",
            "device__user_id",
            "device__session__ended_at",
            "notification_id",
            "notification__recipient_id",
            "notification__kind",
            "notification__title",
            "notification__body",
            "notification__data",
            "notification__urgent",
            "notification__collapse_key",
            "notification__push_expires_at",
        )
    )
    newest = _newest_of_collapse_keys(
        {(row[1], row[15]) for row in rows if row[15]}  # (device, collapse key)
    )
    to_send: list[tuple[int, int, PushMessage]] = []
    not_sent: dict[str, list[int]] = defaultdict(list)  # reason → deliveries
    for (
        delivery_id,
        device_id,
        identifier,
        identifier_kind,
        platform,
        device_active,
        device_user,
        session_ended_at,
        notification_id,
        recipient,
        kind,
        title,
        body,
        data,
        urgent,
        collapse_key,
        expires_at,
    ) in rows:
        if not device_active:
            not_sent[DEVICE_INACTIVE].append(delivery_id)
            continue
        if device_user != recipient:
            not_sent[MOVED_TO_ANOTHER_USER].append(delivery_id)  # a shared family phone
            continue
        if session_ended_at is not None:
            not_sent[SIGNED_OUT].append(delivery_id)
            continue
        if expires_at is not None and expires_at <= now:
            not_sent[PUSH_EXPIRED].append(delivery_id)
            continue
        if collapse_key and newest.get((device_id, collapse_key), 0) > notification_id:
            # A later message with the same collapse key replaces this one on the phone; sent
            # at once, the older could arrive last and be the one left showing.
            not_sent[SUPERSEDED].append(delivery_id)
            continue
        ttl = MAX_TIME_TO_LIVE if expires_at is None else min(MAX_TIME_TO_LIVE, expires_at - now)
        payload = {str(key): str(value) for key, value in (data or {}).items()}
        # The app opens the inbox row with node(id:), so it gets the Relay global ID.
        payload.update(
            {"notificationId": to_global_id("Notification", notification_id), "kind": kind}
        )
        tag = collapse_key or f"linli-{notification_id}"
        to_send.append(
            (
                delivery_id,
                device_id,
                PushMessage(
                    identifier=identifier,
                    identifier_kind=identifier_kind,
                    platform=platform,
                    title=title,
                    body=body,
                    data=payload,
                    urgent=urgent,
                    tag=tag,
                    collapse_key=collapse_key,
                    time_to_live=ttl,
                    expires_at=expires_at,
                ),
            )
        )
    for reason, pks in not_sent.items():
        Delivery.objects.filter(pk__in=pks, claim_id=claim).update(
            status=DeliveryStatus.EXPIRED, error_code=reason, error_message=""
        )
        report.expired += len(pks)
    if to_send:
        try:
            results = get_transport().send([message for _d, _dev, message in to_send])
        except Exception as error:  # the whole call failed: credentials, network, a bug
            logger.exception("push batch failed as a whole; its deliveries will be retried")
            code = type(error).__name__[:64]
            results = [
                PushResult(Outcome.RETRY, error_code=code, error_message=str(error)[:500])
            ] * len(to_send)
        _settle(to_send, results, now, report)
    metrics.count_pushes(
        sent=report.sent,
        device_gone=report.device_gone,
        retry=report.retry,
        failed=report.failed,
        not_sent=report.expired,
    )
    return report


def _newest_of_collapse_keys(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """(device, collapse key) → the newest notification with that key that is sent, or
    still to be sent, to that device."""
    if not keys:
        return {}
    rows = (
        Delivery.objects.filter(
            device_id__in={device for device, _key in keys},
            notification__collapse_key__in={key for _device, key in keys},
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT],
        )
        .values_list("device_id", "notification__collapse_key")
        .annotate(newest=Max("notification_id"))
        .order_by()
    )
    return {(device, key): newest for device, key, newest in rows if (device, key) in keys}


def _settle(
    sent: list[tuple[int, int, PushMessage]],
    results: list[PushResult],
    now: dt.datetime,
    report: BatchReport,
) -> None:
    """Record every outcome in a handful of statements: one bulk update for the sent rows
    (their message ids), one per kind of error otherwise."""
    done = timezone.now()
    delivered: list[Delivery] = []
    gone: dict[int, int] = {}  # delivery → device
    gone_errors: dict[tuple[str, str], list[int]] = defaultdict(list)
    retry: dict[tuple[str, str], list[int]] = defaultdict(list)
    failed: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (delivery_id, device_id, _message), result in zip(sent, results, strict=True):
        error = (result.error_code[:64], result.error_message[:500])
        if result.outcome == Outcome.SENT:
            delivered.append(
                Delivery(
                    pk=delivery_id,
                    status=DeliveryStatus.SENT,
                    sent_at=done,
                    message_id=result.message_id[:200],
                    error_code="",
                    error_message="",
                )
            )
        elif result.outcome == Outcome.DEVICE_GONE:
            gone[delivery_id] = device_id
            gone_errors[error].append(delivery_id)
        elif result.outcome == Outcome.RETRY:
            retry[error].append(delivery_id)
        else:
            failed[error].append(delivery_id)
    with transaction.atomic():
        if delivered:
            _record_sent(delivered, done)
        for (code, text), pks in gone_errors.items():
            Delivery.objects.filter(pk__in=pks).update(
                status=DeliveryStatus.DEVICE_GONE, error_code=code, error_message=text
            )
        if gone:
            devices = set(gone.values())
            Device.objects.filter(pk__in=devices, is_active=True).update(
                is_active=False, deactivated_at=done, deactivation_reason="push_service_rejected"
            )
            # Other pushes waiting for these devices would be refused the same way.
            Delivery.objects.filter(device_id__in=devices, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.DEVICE_GONE, error_code=DEVICE_INACTIVE, error_message=""
            )
        for (code, text), pks in failed.items():
            Delivery.objects.filter(pk__in=pks).update(
                status=DeliveryStatus.FAILED, error_code=code, error_message=text
            )
        for (code, text), pks in retry.items():
            _schedule_retries(pks, code, text, now, report)
    report.sent = len(delivered)
    report.device_gone = len(gone)
    report.failed += sum(map(len, failed.values()))


def _record_sent(delivered: list[Delivery], sent_at: dt.datetime) -> None:
    """One UPDATE for a whole batch, each row with its own message id. (``bulk_update``
    builds a CASE expression per row and cost more than sending the batch.) A VALUES list
    named in a WITH clause reads the same in PostgreSQL and SQLite."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(delivered))
    params: list[Any] = []
    for row in delivered:
        params += [row.pk, row.message_id]
    sql = (
        f"WITH sent (id, message_id) AS (VALUES {rows}) "
        f"UPDATE {table} SET status = %s, sent_at = %s, message_id = sent.message_id, "
        f"error_code = '', error_message = '' "
        f"FROM sent WHERE {table}.id = sent.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, DeliveryStatus.SENT.value, sent_at])


def _schedule_retries(
    pks: list[int], code: str, text: str, now: dt.datetime, report: BatchReport
) -> None:
    """Back to PENDING with a later ``next_attempt_at`` (grouped by attempt count), or
    FAILED once the attempts are spent."""
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for pk, attempts in Delivery.objects.filter(pk__in=pks).values_list("pk", "attempts"):
        by_attempts[attempts].append(pk)
    for attempts, group in by_attempts.items():
        if attempts >= MAX_ATTEMPTS:
            Delivery.objects.filter(pk__in=group).update(
                status=DeliveryStatus.FAILED, error_code=code, error_message=text
            )
            report.failed += len(group)
            continue
        at = now + backoff(attempts)
        Delivery.objects.filter(pk__in=group).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=at,
            claimed_at=None,
            claim_id=None,
            error_code=code,
            error_message=text,
        )
        report.retry += len(group)
        report.next_retry_at = at if report.next_retry_at is None else min(report.next_retry_at, at)


@dataclass
class PushRun:
    dispatched: int = 0
    sent: int = 0
    device_gone: int = 0
    retry: int = 0
    failed: int = 0
    expired: int = 0
    # False when the deadline passed with work left: the caller hands over to a fresh run.
    finished: bool = True

    def as_dict(self) -> dict[str, int]:
        return {name: int(value) for name, value in dataclasses.asdict(self).items()}


def push_due(now: dt.datetime | None = None, *, deadline: float | None = None) -> PushRun:
    """Dispatch every due notification, then send batches until nothing is due.

    ``deadline`` is a ``time.monotonic()`` value; past it the run stops between two steps
    (``finished`` False). ``now`` fixes the clock (tests, replays); by default each step
    reads it afresh, so a long run's claims carry the time they were made.
    """
    run = PushRun()

    def out_of_time() -> bool:
        if deadline is not None and time.monotonic() > deadline:
            run.finished = False
        return not run.finished

    while dispatched := dispatch_due(now):
        run.dispatched += dispatched
        if out_of_time():
            return run
    while (report := send_batch(now)).claimed:
        for name in ("sent", "device_gone", "retry", "failed", "expired"):
            setattr(run, name, getattr(run, name) + getattr(report, name))
        if out_of_time():
            return run
    return run
