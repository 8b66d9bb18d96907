import django_filters

from backend.activities.models import Activity, ActivityKind, ActivityStatus
from schema.core.filters import GlobalIDFilter, RegionSubtreeFilter, SearchFilter


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
    search = SearchFilter("title", "description")

    class Meta:
        model = Activity
        fields: list[str] = []
