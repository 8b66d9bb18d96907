"""Recurring activities over GraphQL: who may create, edit and end a series, typed errors, and
occurrences showing their series."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from graphql_relay import to_global_id

from backend.activities import recurrence
from backend.activities.models import ActivitySeries, ActivityStatus
from backend.audit.models import AuditEvent
from tests.fixtures import SHANGHAI
from tests.permissions import (
    ALLOWED,
    ANONYMOUS,
    CALLERS,
    COORDINATOR_HERE,
    database_fingerprint,
)

ERRORS = "errors { field code message }"
SERIES_FIELDS = """
id title rrule timeZone startsOn endsOn generatedUntil status requiresApproval
shiftTemplates { title start end capacity requiredSkillIds }
organizer { name }
"""
CREATE_SERIES = f"""
mutation CreateSeries($input: ActivitySeriesCreateInput!) {{
  createActivitySeries(input: $input) {{ series {{ {SERIES_FIELDS} }} {ERRORS} }}
}}
"""
UPDATE_SERIES = f"""
mutation UpdateSeries($id: ID!, $input: ActivitySeriesUpdateInput!) {{
  updateActivitySeries(id: $id, input: $input) {{
    series {{ {SERIES_FIELDS} }} detachedOccurrences {{ id }} {ERRORS}
  }}
}}
"""
END_SERIES = f"""
mutation EndSeries($id: ID!, $after: Date!, $reason: String!) {{
  endActivitySeries(id: $id, after: $after, reason: $reason) {{
    series {{ {SERIES_FIELDS} }} cancelledOccurrences {{ id status cancellationReason }} {ERRORS}
  }}
}}
"""
ACTIVITY = """
query Activity($id: ID!) {
  activity(id: $id) { title occurrenceDate isDetached series { id title rrule } }
}
"""


def tomorrow() -> dt.date:
    return timezone.now().astimezone(SHANGHAI).date() + dt.timedelta(days=1)


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


def create_input(community, **extra: Any) -> dict[str, Any]:
    return {
        "organizer": to_global_id("Organization", community.committee.pk),
        "kind": "ELDER_CARE",
        "title": "周四助老",
        "rrule": "FREQ=WEEKLY;BYDAY=TH",
        "startsOn": tomorrow().isoformat(),
        "shiftTemplates": [
            {
                "title": "上午班",
                "start": "09:00",
                "end": "11:00",
                "capacity": 5,
                "requiredSkills": [to_global_id("Skill", community.first_aid.pk)],
            }
        ],
        **extra,
    }


@pytest.fixture
def series(community, callers):
    return recurrence.create_series(
        callers.users[COORDINATOR_HERE],
        organizer=community.committee,
        kind="elder_care",
        title="周六义诊",
        rrule="FREQ=WEEKLY;BYDAY=SA",
        starts_on=tomorrow(),
        shift_templates=[recurrence.ShiftTemplate("08:30", "10:30", 4)],
    )


OPERATIONS = {
    "createActivitySeries": (
        CREATE_SERIES,
        lambda community, series: {"input": create_input(community)},
    ),
    "updateActivitySeries": (
        UPDATE_SERIES,
        lambda community, series: {
            "id": to_global_id("ActivitySeries", series.pk),
            "input": {"title": "周六义诊（改）"},
        },
    ),
    "endActivitySeries": (
        END_SERIES,
        lambda community, series: {
            "id": to_global_id("ActivitySeries", series.pk),
            "after": tomorrow().isoformat(),
            "reason": "场地装修",
        },
    ),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", OPERATIONS)
def test_only_coordinators_here_and_region_admins_above_may_call_each_series_mutation(
    gql, callers, community, series, name, caller
):
    # given a series of this community's committee, and one caller of each kind
    document, variables = OPERATIONS[name]
    arguments = variables(community, series)
    before = database_fingerprint()

    # when the caller calls the mutation
    payload = gql.with_token(callers.tokens[caller]).mutate(document, arguments)

    # then the allowed succeed in their name; everyone else changed nothing
    if caller in ALLOWED:
        assert payload["errors"] == []
        assert database_fingerprint() != before
        assert AuditEvent.objects.filter(
            actor=callers.users[caller], action__startswith="activity_series."
        ).exists()
        return
    expected = "UNAUTHENTICATED" if caller == ANONYMOUS else "PERMISSION_DENIED"
    assert codes(payload) == [(None, expected)]
    assert payload["errors"][0]["message"]
    assert database_fingerprint() == before


def test_create_publishes_eight_weeks_of_occurrences_that_show_their_series(
    gql, callers, community
):
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])

    payload = client.mutate(CREATE_SERIES, {"input": create_input(community)})

    assert payload["errors"] == []
    created = payload["series"]
    assert (created["status"], created["timeZone"], created["rrule"]) == (
        "ACTIVE",
        "Asia/Shanghai",
        "FREQ=WEEKLY;BYDAY=TH",
    )
    assert created["shiftTemplates"] == [
        {
            "title": "上午班",
            "start": "09:00",
            "end": "11:00",
            "capacity": 5,
            "requiredSkillIds": [to_global_id("Skill", community.first_aid.pk)],
        }
    ]
    series = ActivitySeries.objects.get()
    occurrences = list(series.occurrences.order_by("occurrence_date"))
    assert len(occurrences) in (8, 9)  # Thursdays within 8 weeks of tomorrow, give or take one
    assert {o.status for o in occurrences} == {ActivityStatus.PUBLISHED}
    assert list(occurrences[0].shifts.get().required_skills.all()) == [community.first_aid]
    shown = gql.data(ACTIVITY, {"id": to_global_id("Activity", occurrences[0].pk)})["activity"]
    assert shown == {
        "title": "周四助老",
        "occurrenceDate": occurrences[0].occurrence_date.isoformat(),
        "isDetached": False,
        "series": {"id": created["id"], "title": "周四助老", "rrule": "FREQ=WEEKLY;BYDAY=TH"},
    }


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"rrule": "FREQ=MINUTELY"}, [("rrule", "INVALID_RRULE")]),
        ({"rrule": "not a rule"}, [("rrule", "INVALID_RRULE")]),
        ({"timeZone": "Mars/Olympus"}, [("timeZone", "INVALID_TIME_ZONE")]),
        (
            {"shiftTemplates": [{"start": "9", "end": "10:00", "capacity": 1}]},
            [("shiftTemplates.0.start", "INVALID")],
        ),
        ({"shiftTemplates": []}, [("shiftTemplates", "NO_SHIFTS")]),
    ],
)
def test_invalid_input_is_a_typed_error_and_writes_nothing(
    gql, callers, community, extra, expected
):
    before = database_fingerprint()

    payload = gql.with_token(callers.tokens[COORDINATOR_HERE]).mutate(
        CREATE_SERIES, {"input": create_input(community, **extra)}
    )

    assert codes(payload) == expected
    assert payload["series"] is None
    assert database_fingerprint() == before


def test_ending_reports_the_cancelled_occurrences_and_a_second_end_is_refused(gql, callers, series):
    client = gql.with_token(callers.tokens[COORDINATOR_HERE])
    variables = {
        "id": to_global_id("ActivitySeries", series.pk),
        "after": tomorrow().isoformat(),
        "reason": "场地装修",
    }

    ended = client.mutate(END_SERIES, variables)
    again = client.mutate(END_SERIES, variables)

    assert ended["errors"] == []
    assert ended["series"]["status"] == "ENDED"
    assert ended["cancelledOccurrences"]
    assert {(o["status"], o["cancellationReason"]) for o in ended["cancelledOccurrences"]} == {
        ("CANCELLED", "场地装修")
    }
    assert codes(again) == [(None, "SERIES_ENDED")]
