import django_filters
from django.db.models import QuerySet

from backend.organizations.models import Organization, OrganizationKind
from schema.core.filters import RegionSubtreeFilter


class OrganizationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=OrganizationKind.choices)
    region = RegionSubtreeFilter(field_name="region")
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Organization
        fields: list[str] = []

    def filter_search(
        self, queryset: QuerySet[Organization], name: str, value: str
    ) -> QuerySet[Organization]:
        return queryset.filter(name__icontains=value)
