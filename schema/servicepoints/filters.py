import django_filters

from backend.servicepoints.models import ServicePoint
from schema.core.filters import GlobalIDFilter, RegionSubtreeFilter, SearchFilter


class ServicePointFilter(django_filters.FilterSet):
    category = GlobalIDFilter(type_name="ServiceCategory", field_name="category_id")
    region = RegionSubtreeFilter(field_name="region")
    operator = GlobalIDFilter(type_name="Organization", field_name="operator_id")
    search = SearchFilter("name", "address")

    class Meta:
        model = ServicePoint
        fields: list[str] = []
