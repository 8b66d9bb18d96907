import django_filters
from django.db.models import Q, QuerySet

from backend.regions.models import Region, RegionLevel
from schema.core.filters import GlobalIDFilter, RegionSubtreeFilter, SearchFilter


class RegionFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=RegionLevel.choices)
    parent = GlobalIDFilter(type_name="Region", field_name="parent_id")
    within = RegionSubtreeFilter(field_name="self")
    search = django_filters.CharFilter(method="filter_search", max_length=SearchFilter.MAX_LENGTH)

    class Meta:
        model = Region
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Region], name: str, value: str) -> QuerySet[Region]:
        return queryset.filter(
            Q(name__icontains=value) | Q(name_en__icontains=value) | Q(code__startswith=value)
        )
