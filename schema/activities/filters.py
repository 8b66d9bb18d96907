import django_filters
from django.db.models import Q, QuerySet

from backend.activities.models import Activity, ActivityKind, ActivityStatus
from schema.core.filters import GlobalIDFilter, RegionSubtreeFilter


class ActivityFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ActivityStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=ActivityKind.choices)
    category = GlobalIDFilter(type_name="ServiceCategory", field_name="category_id")
    region = RegionSubtreeFilter(field_name="region")
    organization = GlobalIDFilter(type_name="Organization", field_name="organizer_id")
    service_point = GlobalIDFilter(type_name="ServicePoint", field_name="service_point_id")
    # An activity matches a date range when any part of it falls inside the range.
    ends_after = django_filters.IsoDateTimeFilter(field_name="ends_at", lookup_expr="gt")
    starts_before = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", max_length=100)

    class Meta:
        model = Activity
        fields: list[str] = []

    def filter_search(
        self, queryset: QuerySet[Activity], name: str, value: str
    ) -> QuerySet[Activity]:
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))
