"""Closing finished activities: the service, a real Celery worker, and beat's schedule."""

import datetime as dt
import time

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from backend.activities.models import ActivityStatus
from backend.activities.services import complete_finished_activities
from backend.activities.tasks import complete_finished_activities as complete_task
from backend.celery import app as celery_app
from tests.fixtures import make_activity


def ended_and_upcoming(community):
    ended = make_activity(
        community.team,
        community.grid,
        title="ended",
        shifts=1,
        starts_at=timezone.now() - dt.timedelta(hours=5),
    )
    upcoming = make_activity(community.team, community.grid, title="upcoming", shifts=1)
    return ended, upcoming


def test_only_published_activities_that_are_over_get_completed_once(community):
    ended, upcoming = ended_and_upcoming(community)
    draft = make_activity(
        community.team,
        community.grid,
        status=ActivityStatus.DRAFT,
        starts_at=timezone.now() - dt.timedelta(hours=5),
    )
    first_run = timezone.now()

    assert complete_finished_activities(first_run) == 1
    assert complete_finished_activities(first_run + dt.timedelta(minutes=1)) == 0

    for activity in (ended, upcoming, draft):
        activity.refresh_from_db()
    assert (ended.status, ended.completed_at) == (ActivityStatus.COMPLETED, first_run)
    assert upcoming.status == ActivityStatus.PUBLISHED
    assert draft.status == ActivityStatus.DRAFT


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_task_from_the_broker(community, celery_worker):
    ended, _ = ended_and_upcoming(community)

    complete_task.delay()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ended.refresh_from_db()
        if ended.status == ActivityStatus.COMPLETED:
            break
        time.sleep(0.2)

    assert ended.status == ActivityStatus.COMPLETED
    assert celery_worker.ran_in_worker("activities.complete_finished_activities")


@pytest.mark.django_db(transaction=True)  # the scheduler closes stale DB connections itself
def test_beat_keeps_its_schedule_in_the_database_where_operators_can_edit_it():
    DatabaseScheduler(app=celery_app)

    task = PeriodicTask.objects.get(name="complete-finished-activities")
    assert task.task == "activities.complete_finished_activities"
    assert task.interval is not None
    assert task.enabled
    assert task.expire_seconds is not None
