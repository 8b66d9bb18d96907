"""Sign-ups under concurrency, on PostgreSQL: the row lock on the shift is what is tested."""

import threading
import uuid

import pytest
from django.db import connection

from backend.enrollments import services
from backend.enrollments.models import Enrollment, EnrollmentStatus
from tests.fixtures import build_community, make_activity, make_volunteer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(jobs):
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def ten_places():
    community = build_community()
    return make_activity(
        community.committee, community.community, shifts=1, capacity=10
    ).shifts.get()


def test_thirty_at_once_fill_ten_places_and_queue_the_rest_in_order(ten_places):
    users = [make_volunteer(f"racer{n}") for n in range(30)]

    results = run_together(
        [
            (lambda user=user: services.enroll(user, ten_places.pk, str(uuid.uuid4())))
            for user in users
        ]
    )

    assert not [r for r in results if isinstance(r, Exception)]
    ten_places.refresh_from_db()
    statuses = list(
        Enrollment.objects.order_by("created_at", "id").values_list("status", flat=True)
    )
    assert ten_places.confirmed_count == 10
    assert statuses.count(EnrollmentStatus.CONFIRMED) == 10
    assert statuses.count(EnrollmentStatus.WAITLISTED) == 20
    # Places went in lock order: everyone confirmed signed up before everyone waiting.
    assert statuses == [EnrollmentStatus.CONFIRMED] * 10 + [EnrollmentStatus.WAITLISTED] * 20

    confirmed = list(Enrollment.objects.filter(status=EnrollmentStatus.CONFIRMED))
    waiting = list(
        Enrollment.objects.filter(status=EnrollmentStatus.WAITLISTED).order_by("created_at", "id")
    )
    cancellations = run_together(
        [(lambda e=e: services.cancel(e.volunteer.user, e.pk)) for e in confirmed[:5]]
    )

    promoted = {c.promoted.pk for c in cancellations}
    assert promoted == {e.pk for e in waiting[:5]}  # exactly one each, first in line first
    ten_places.refresh_from_db()
    assert ten_places.confirmed_count == 10
    assert Enrollment.objects.filter(status=EnrollmentStatus.CONFIRMED).count() == 10


def test_one_request_retried_many_times_at_once_signs_up_once(ten_places):
    user = make_volunteer("retrier")

    results = run_together([lambda: services.enroll(user, ten_places.pk, "same-key")] * 6)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.enrollment.pk for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    ten_places.refresh_from_db()
    assert ten_places.confirmed_count == 1
