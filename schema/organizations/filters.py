import django_filters

from backend.organizations.models import Organization, OrganizationKind
from schema.core.filters import RegionSubtreeFilter, SearchFilter


class OrganizationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=OrganizationKind.choices)
    region = RegionSubtreeFilter(field_name="region")
    search = SearchFilter("name")

    class Meta:
        model = Organization
        fields: list[str] = []
