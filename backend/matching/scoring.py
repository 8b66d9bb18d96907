"""How well an eligible volunteer suits a shift: a weighted sum of parts, each from 0 to 1.

The parts, with the value a coordinator reads in an explanation:

- ``distance``: from the volunteer's home to the service point (to the centre of the
  activity's region when there is none): ``0.5 ** (km / DISTANCE_HALF_KM)`` — 1 at the
  door, ½ at 3 km, under 0.1 beyond 10 km. An unknown home or place is ``NEUTRAL``.
- ``category``: 1 when the activity's category is one the volunteer prefers, ``NEUTRAL``
  when they prefer none (any will do) or the activity has no category, 0 when they prefer
  others.
- ``reliability``: ``backend.hours.totals.reliability`` (attended against no-shows and
  late cancellations, fading with age), computed by the database for all at once.
- ``fairness``: ``1 / (1 + recent / FAIRNESS_HALF_LOAD)`` where ``recent`` counts the
  invitations of the last ``FAIRNESS_DAYS`` days plus the places confirmed or attended
  in them (by when the sign-up reached that status, which needs no join to the shift):
  those asked and busy least are asked first.
- ``continuity``: for elder care and home service at a service point (an elder's home),
  1 when the volunteer attended a shift there within ``CONTINUITY_DAYS`` days, else 0.
  Familiar faces matter to elders: for these activities continuity weighs
  ``CONTINUITY_WEIGHT`` (½) and the other weights are halved, so everyone who has been
  there ranks before everyone who has not. Elsewhere it weighs nothing.
- ``availability``: 1 when the shift lies in a window the volunteer stated, ``NEUTRAL``
  when they stated none (taken as available, less certainly).

The weights sum to 1, so the score is between 0 and 1 too. Scores are computed with
numpy over columns the database returns in one query; see ``ranking`` for the order.
"""

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Power

from backend.activities.models import Activity, ActivityKind, Shift
from backend.core.geo import EARTH_RADIUS_KM
from backend.enrollments.models import Enrollment, EnrollmentStatus
from backend.hours.totals import (
    LATE_CANCELLATION_WEIGHT,
    RELIABILITY_HALF_LIFE_DAYS,
    RELIABILITY_HORIZON,
    RELIABILITY_PRIOR,
)
from backend.matching.eligibility import among, without_jit
from backend.matching.models import Invitation
from backend.volunteers.models import AvailabilityWindow, VolunteerProfile

COMPONENTS = ("distance", "category", "reliability", "fairness", "continuity", "availability")
# Nearness weighs most (a short walk is what gets people to come), then spreading the asks
# over many shoulders, then a record of coming; a liked category and a stated window
# break ties between otherwise similar volunteers.
WEIGHTS: dict[str, float] = {
    "distance": 0.30,
    "category": 0.15,
    "reliability": 0.20,
    "fairness": 0.25,
    "continuity": 0.0,
    "availability": 0.10,
}
CONTINUITY_WEIGHT = 0.5
CONTINUITY_KINDS = frozenset({ActivityKind.ELDER_CARE, ActivityKind.HOME_SERVICE})
WEIGHTS_WITH_CONTINUITY: dict[str, float] = {
    name: CONTINUITY_WEIGHT if name == "continuity" else weight * (1 - CONTINUITY_WEIGHT)
    for name, weight in WEIGHTS.items()
}
NEUTRAL = 0.5
DISTANCE_HALF_KM = 3.0
FAIRNESS_DAYS = 30
FAIRNESS_HALF_LOAD = 2.0
CONTINUITY_DAYS = 90
CONTINUITY_STATUSES = Q(status=EnrollmentStatus.ATTENDED) | Q(attendance__isnull=False)
PreferredCategory = VolunteerProfile.preferred_categories.through


@dataclass(frozen=True)
class Candidate:
    """An eligible volunteer's score for a shift, with its parts (``COMPONENTS``)."""

    volunteer_id: int
    user_id: int
    score: float  # 0..1
    components: dict[str, float]
    distance_km: float | None


@dataclass(frozen=True)
class Target:
    """What of a shift the scoring looks at."""

    shift_id: int
    latitude: float | None
    longitude: float | None
    category_id: int | None
    # The service point whose regulars come first, for elder care and home service.
    continuity_point_id: int | None
    weights: dict[str, float]


def weights_for(activity: Activity) -> dict[str, float]:
    if activity.kind in CONTINUITY_KINDS and activity.service_point_id is not None:
        return dict(WEIGHTS_WITH_CONTINUITY)
    return dict(WEIGHTS)


def target_of(shift: Shift) -> Target:
    """Needs ``activity__service_point`` and ``activity__region`` (select them)."""
    activity = shift.activity
    point = activity.service_point
    latitude: float | None
    longitude: float | None
    if point is not None:
        latitude, longitude = point.latitude, point.longitude
    else:
        latitude, longitude = activity.region.latitude, activity.region.longitude
    weights = weights_for(activity)
    return Target(
        shift_id=shift.pk,
        latitude=latitude,
        longitude=longitude,
        category_id=activity.category_id,
        continuity_point_id=activity.service_point_id if weights["continuity"] else None,
        weights=weights,
    )


class DaysBefore(Func):
    """Days (with their fraction) from a datetime column up to a fixed moment."""

    output_field = FloatField()

    def __init__(self, expression: Any, moment: dt.datetime) -> None:
        super().__init__(Value(moment, output_field=DateTimeField()), expression)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        return super().as_sql(
            compiler,
            connection,
            template="(CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision) / 86400)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s))",
            arg_joiner=") - julianday(",
            **extra,
        )


# IDs per query: well within SQLite's limit of bind parameters.
ID_CHUNK = 20_000


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield list(ids[start : start + ID_CHUNK])


def _reliability(now: dt.datetime) -> Coalesce:
    """``totals.reliability`` of the row's volunteer, as one correlated aggregate."""
    weight = Power(
        Value(2.0),
        DaysBefore(F("shift__starts_at"), now) / Value(-RELIABILITY_HALF_LIFE_DAYS),
        output_field=FloatField(),
    )
    attended = Sum(
        Case(When(status=EnrollmentStatus.ATTENDED, then=weight), default=Value(0.0)),
        output_field=FloatField(),
    )
    missed = Sum(
        Case(
            When(status=EnrollmentStatus.NO_SHOW, then=weight),
            When(
                status=EnrollmentStatus.CANCELLED,
                then=weight * Value(LATE_CANCELLATION_WEIGHT),
            ),
            default=Value(0.0),
        ),
        output_field=FloatField(),
    )
    prior = Value(RELIABILITY_PRIOR)
    events = (
        Enrollment.objects.filter(
            volunteer_id=OuterRef("pk"),
            shift__starts_at__lt=now,
            shift__starts_at__gte=now - RELIABILITY_HORIZON,
        )
        .filter(
            Q(status__in=[EnrollmentStatus.ATTENDED, EnrollmentStatus.NO_SHOW])
            | Q(status=EnrollmentStatus.CANCELLED, is_late_cancellation=True)
        )
        .order_by()
        .values("volunteer_id")
        .annotate(value=(prior + attended) / (prior + attended + missed))
        .values("value")
    )
    return Coalesce(Subquery(events, output_field=FloatField()), Value(1.0))


def _count(queryset: QuerySet[Any]) -> Coalesce:
    counted = (
        queryset.order_by().values("volunteer_id").annotate(number=Count("pk")).values("number")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def volunteer_columns(now: dt.datetime) -> dict[str, Any]:
    """What scoring needs of each volunteer whatever the shift, as correlated look-ups:
    for the few thousand rows a shift's filter leaves, a handful of index probes per row
    cost less than grouping the same rows in queries of their own."""
    since = now - dt.timedelta(days=FAIRNESS_DAYS)
    return {
        "m_has_windows": Exists(AvailabilityWindow.objects.filter(volunteer_id=OuterRef("pk"))),
        "m_has_preferences": Exists(
            PreferredCategory.objects.filter(volunteerprofile_id=OuterRef("pk"))
        ),
        "m_reliability": _reliability(now),
        "m_invitations": _count(
            Invitation.objects.filter(volunteer_id=OuterRef("pk"), invited_at__gte=since)
        ),
        "m_shifts": _count(
            Enrollment.objects.filter(
                volunteer_id=OuterRef("pk"),
                status__in=(EnrollmentStatus.CONFIRMED, EnrollmentStatus.ATTENDED),
                status_changed_at__gte=since,
            )
        ),
    }


def continuity_visits(now: dt.datetime) -> QuerySet[Enrollment]:
    """Shifts attended (or checked in to) in the continuity period before ``now``."""
    return Enrollment.objects.filter(
        CONTINUITY_STATUSES,
        shift__starts_at__gte=now - dt.timedelta(days=CONTINUITY_DAYS),
        shift__starts_at__lt=now,
    )


def shift_columns(target: Target, now: dt.datetime) -> dict[str, Any]:
    """What scoring needs of each volunteer for this one shift, as annotations."""
    columns: dict[str, Any] = {"m_prefers": Value(False), "m_regular": Value(False)}
    if target.category_id is not None:
        columns["m_prefers"] = Exists(
            PreferredCategory.objects.filter(
                volunteerprofile_id=OuterRef("pk"), servicecategory_id=target.category_id
            )
        )
    if target.continuity_point_id is not None:
        columns["m_regular"] = Exists(
            continuity_visits(now).filter(
                volunteer_id=OuterRef("pk"),
                shift__activity__service_point_id=target.continuity_point_id,
            )
        )
    return columns


FEATURE_FIELDS = (
    "pk",
    "user_id",
    "home_latitude",
    "home_longitude",
    "m_has_windows",
    "m_has_preferences",
    "m_reliability",
    "m_invitations",
    "m_shifts",
)


def feature_rows(
    volunteers: QuerySet[VolunteerProfile], now: dt.datetime, extra: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """``FEATURE_FIELDS`` and then the ``extra`` annotations of each volunteer, one query.

    The columns are numbers and flags that numpy reads as the driver returns them, so the
    rows skip the ORM's per-value conversion (a noticeable share of the time for
    thousands of rows).
    """
    query = (
        volunteers.order_by()
        .annotate(**volunteer_columns(now), **extra)
        .values_list(*FEATURE_FIELDS, *extra)
        .query
    )
    try:
        sql, params = query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing, such as ``none()``
        return []
    with without_jit(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass
class Features:
    """What scoring needs of each volunteer, as numpy columns in volunteer ID order, plus
    who prefers which category and who attended at which place lately."""

    volunteer_ids: np.ndarray
    user_ids: np.ndarray
    latitude: np.ndarray  # NaN: home unknown
    longitude: np.ndarray
    has_windows: np.ndarray
    has_preferences: np.ndarray
    reliability: np.ndarray
    recent_load: np.ndarray
    preferring: dict[int, np.ndarray]  # category ID → IDs of volunteers preferring it
    regulars: dict[int, np.ndarray]  # service point ID → IDs who attended there lately

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Sequence[Any]],
        preferring: dict[int, np.ndarray] | None = None,
        regulars: dict[int, np.ndarray] | None = None,
    ) -> "Features":
        """From rows of ``FEATURE_FIELDS`` (columns after them are left to the caller)."""
        rows = sorted(rows, key=lambda row: row[0])
        width = len(FEATURE_FIELDS)
        columns = list(zip(*rows, strict=True)) if rows else [()] * width
        return cls(
            volunteer_ids=np.array(columns[0], dtype=np.int64),
            user_ids=np.array(columns[1], dtype=np.int64),
            latitude=np.array(columns[2], dtype=np.float64),  # None becomes NaN
            longitude=np.array(columns[3], dtype=np.float64),
            has_windows=np.array(columns[4], dtype=bool),
            has_preferences=np.array(columns[5], dtype=bool),
            reliability=np.array(columns[6], dtype=np.float64),
            recent_load=np.array(columns[7], dtype=np.float64)
            + np.array(columns[8], dtype=np.float64),
            preferring=preferring or {},
            regulars=regulars or {},
        )

    def take(self, index: np.ndarray) -> "Features":
        """The rows at ``index`` (the look-ups by category and place stay whole)."""
        return replace(self, **{name: getattr(self, name)[index] for name in ARRAY_FIELDS})


ARRAY_FIELDS = (
    "volunteer_ids",
    "user_ids",
    "latitude",
    "longitude",
    "has_windows",
    "has_preferences",
    "reliability",
    "recent_load",
)


def _group(pairs: Iterable[tuple[int, int]]) -> dict[int, np.ndarray]:
    """``(volunteer, key)`` pairs → key → volunteer IDs."""
    grouped: dict[int, list[int]] = {}
    for volunteer, key in pairs:
        grouped.setdefault(key, []).append(volunteer)
    return {key: np.array(sorted(ids), dtype=np.int64) for key, ids in grouped.items()}


@dataclass
class Scores:
    """Parts and totals of one shift's candidates, in the order of ``features``."""

    features: Features
    components: dict[str, np.ndarray]
    distance_km: np.ndarray  # NaN: unknown
    total: np.ndarray

    def order(self) -> np.ndarray:
        """Best first; equal scores by volunteer ID."""
        return np.lexsort((self.features.volunteer_ids, -self.total))

    def candidate(self, index: int) -> Candidate:
        return self.candidates(np.array([index]))[0]

    def candidates(self, index: np.ndarray) -> list[Candidate]:
        """The rows at ``index`` as candidates (read as Python lists: thousands at once)."""
        ids = self.features.volunteer_ids[index].tolist()
        users = self.features.user_ids[index].tolist()
        totals = self.total[index].tolist()
        distances = self.distance_km[index].tolist()
        parts = zip(*(self.components[name][index].tolist() for name in COMPONENTS), strict=True)
        return [
            Candidate(
                volunteer_id=volunteer_id,
                user_id=user_id,
                score=total,
                components=dict(zip(COMPONENTS, values, strict=True)),
                distance_km=None if math.isnan(distance) else distance,
            )
            for volunteer_id, user_id, total, distance, values in zip(
                ids, users, totals, distances, parts, strict=True
            )
        ]

    def ranked(self, limit: int | None = None) -> list[Candidate]:
        return self.candidates(self.order()[:limit])


def distances_km(features: Features, latitude: float, longitude: float) -> np.ndarray:
    """Great-circle distances from each home (NaN where unknown)."""
    phi1, phi2 = np.radians(features.latitude), math.radians(latitude)
    d_phi = phi2 - phi1
    d_lambda = math.radians(longitude) - np.radians(features.longitude)
    a = np.sin(d_phi / 2) ** 2 + np.cos(phi1) * math.cos(phi2) * np.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def score(target: Target, features: Features) -> Scores:
    """The parts and the weighted total for every row of ``features``."""
    count = len(features.volunteer_ids)
    empty = np.zeros(0, dtype=np.int64)
    if target.latitude is None or target.longitude is None:
        distance = np.full(count, np.nan)
    else:
        distance = distances_km(features, target.latitude, target.longitude)
    near = np.where(np.isnan(distance), NEUTRAL, np.power(0.5, distance / DISTANCE_HALF_KM))
    if target.category_id is None:
        category = np.full(count, NEUTRAL)
    else:
        prefers = np.isin(
            features.volunteer_ids, features.preferring.get(target.category_id, empty)
        )
        category = np.where(prefers, 1.0, np.where(features.has_preferences, 0.0, NEUTRAL))
    if target.continuity_point_id is None:
        continuity = np.zeros(count)
    else:
        regulars = features.regulars.get(target.continuity_point_id, empty)
        continuity = np.isin(features.volunteer_ids, regulars).astype(np.float64)
    components = {
        "distance": near,
        "category": category,
        "reliability": np.clip(features.reliability, 0.0, 1.0),
        "fairness": 1.0 / (1.0 + features.recent_load / FAIRNESS_HALF_LOAD),
        "continuity": continuity,
        "availability": np.where(features.has_windows, 1.0, NEUTRAL),
    }
    total = np.zeros(count)
    for name in COMPONENTS:
        total += target.weights[name] * components[name]
    return Scores(features, components, distance, np.clip(total, 0.0, 1.0))


def score_queryset(
    target: Target, volunteers: QuerySet[VolunteerProfile], now: dt.datetime
) -> Scores:
    """Score the volunteers of ``volunteers`` for one shift: one query, then numpy."""
    rows = feature_rows(volunteers, now, shift_columns(target, now))
    features = Features.from_rows(rows)
    ids = features.volunteer_ids
    flags = {row[0]: row[-2:] for row in rows}
    prefers = np.array([flags[pk][0] for pk in ids.tolist()], dtype=bool)
    regular = np.array([flags[pk][1] for pk in ids.tolist()], dtype=bool)
    if target.category_id is not None:
        features.preferring = {target.category_id: ids[prefers]}
    if target.continuity_point_id is not None:
        features.regulars = {target.continuity_point_id: ids[regular]}
    return score(target, features)


def score_many(
    targets: Iterable[Target], candidates: Mapping[int, Sequence[int]], now: dt.datetime
) -> dict[int, Scores]:
    """Scores of many shifts at once, in a number of queries that does not grow with the
    shifts: every candidate's columns at once, who of them prefers the shifts'
    categories, who attended at their places; then each shift is scored from those."""
    targets = list(targets)
    wanted = sorted({pk for target in targets for pk in candidates.get(target.shift_id, ())})
    categories = sorted({t.category_id for t in targets if t.category_id is not None})
    points = sorted({t.continuity_point_id for t in targets if t.continuity_point_id is not None})
    rows: list[tuple[Any, ...]] = []
    preferred: list[tuple[int, int]] = []
    visited: list[tuple[int, int]] = []
    for chunk in _chunks(wanted):
        rows += feature_rows(VolunteerProfile.objects.filter(among("id", chunk)), now, {})
        if categories:
            preferred += PreferredCategory.objects.filter(
                among("volunteerprofile_id", chunk), servicecategory_id__in=categories
            ).values_list("volunteerprofile_id", "servicecategory_id")
        if points:
            visited += (
                continuity_visits(now)
                .filter(among("volunteer_id", chunk), shift__activity__service_point_id__in=points)
                .values_list("volunteer_id", "shift__activity__service_point_id")
                .distinct()
            )
    features = Features.from_rows(rows, _group(preferred), _group(visited))
    result: dict[int, Scores] = {}
    for target in targets:
        given = np.array(list(dict.fromkeys(candidates.get(target.shift_id, ()))), dtype=np.int64)
        index = np.searchsorted(features.volunteer_ids, given)
        known = index < len(features.volunteer_ids)
        known[known] = features.volunteer_ids[index[known]] == given[known]
        result[target.shift_id] = score(target, features.take(index[known]))
    return result
