import django_filters
from django.db.models import Q, QuerySet

from backend.servicepoints.models import ServicePoint
from schema.core.filters import GlobalIDFilter, RegionSubtreeFilter


class ServicePointFilter(django_filters.FilterSet):
    category = GlobalIDFilter(type_name="ServiceCategory", field_name="category_id")
    region = RegionSubtreeFilter(field_name="region")
    operator = GlobalIDFilter(type_name="Organization", field_name="operator_id")
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = ServicePoint
        fields: list[str] = []

    def filter_search(
        self, queryset: QuerySet[ServicePoint], name: str, value: str
    ) -> QuerySet[ServicePoint]:
        return queryset.filter(Q(name__icontains=value) | Q(address__icontains=value))
