"""django-filter FilterSets fed from GraphQL arguments, with typed errors for bad values."""

import binascii
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Subquery
from django.utils.translation import gettext as _
from graphene.utils.str_converters import to_camel_case
from graphql_relay import from_global_id

from backend.regions.models import Region
from schema.core.errors import ApiError, ApiErrorCode
from schema.core.ids import parse_pk


class GlobalIDFormField(forms.CharField):
    """Accepts a Relay global ID of one type and cleans it to the primary key."""

    def __init__(self, *args: Any, type_name: str, **kwargs: Any) -> None:
        self.type_name = type_name
        super().__init__(*args, **kwargs)

    def clean(self, value: Any) -> int | None:
        value = super().clean(value)
        if not value:
            return None
        try:
            type_name, raw_pk = from_global_id(value)
            pk = parse_pk(raw_pk)
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            type_name, pk = "", None
        if type_name != self.type_name or pk is None:
            raise ValidationError(
                _("Not a valid %(type)s ID."), params={"type": self.type_name}, code="invalid_id"
            )
        return pk


class GlobalIDFilter(django_filters.Filter):
    field_class = GlobalIDFormField

    def __init__(self, *args: Any, type_name: str, **kwargs: Any) -> None:
        kwargs["type_name"] = type_name
        super().__init__(*args, **kwargs)


class RegionSubtreeFilter(GlobalIDFilter):
    """Rows whose region is the given region or lies anywhere below it.

    ``field_name="self"`` filters regions themselves. The region's path comes from a
    subquery, so the filter adds no query of its own (and an unknown region matches nothing).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, type_name="Region", **kwargs)

    def filter(self, qs: QuerySet[Any], value: int | None) -> QuerySet[Any]:
        if value is None:
            return qs
        region_path = Region.objects.filter(pk=value).values("path")
        lookup = (
            "path__startswith"
            if self.field_name == "self"
            else f"{self.field_name}__path__startswith"
        )
        return qs.filter(**{lookup: Subquery(region_path)})


class SearchFilter(django_filters.CharFilter):
    """Free-text search over ``fields`` (any of them containing the text), of bounded length."""

    MAX_LENGTH = 100

    def __init__(self, *fields: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", self.MAX_LENGTH)
        super().__init__(**kwargs)
        self.search_fields = fields

    def filter(self, qs: QuerySet[Any], value: str | None) -> QuerySet[Any]:
        if not value:
            return qs
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return qs.filter(condition)


def apply_filterset(
    filterset_class: type[django_filters.FilterSet], queryset: QuerySet[Any], data: dict[str, Any]
) -> QuerySet[Any]:
    """Filter ``queryset`` or raise one GraphQL error naming every bad argument."""
    data = {name: value for name, value in data.items() if value is not None}
    filterset = filterset_class(data=data, queryset=queryset)
    if filterset.is_valid():
        return filterset.qs
    problems = filterset.form.errors.as_data()
    codes = {error.code for errors in problems.values() for error in errors}
    messages = {
        to_camel_case(name): [message for error in errors for message in error.messages]
        for name, errors in problems.items()
    }
    summary = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in messages.items())
    code = ApiErrorCode.INVALID_ID if codes == {"invalid_id"} else ApiErrorCode.INVALID_FILTER
    raise ApiError(_("Invalid filter: %(summary)s") % {"summary": summary}, code, fields=messages)
