"""One small base for every mutation: permission check, then the work, then typed errors.

A mutation's payload always has ``errors: [XError!]!`` (X = the domain) with
``field`` (camelCase, or null for the whole input), ``code`` (the domain's error enum) and a
translated ``message``. A refused or invalid call changes nothing: the services validate
before they write, inside one transaction.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import Any, ClassVar

import graphene
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from graphene.types.mutation import MutationOptions
from graphene.utils.str_converters import to_camel_case
from graphql import GraphQLResolveInfo

from schema.core.scope import current_user

_error_types: dict[type[StrEnum], type[graphene.ObjectType]] = {}


def error_type(codes: type[StrEnum], name: str) -> type[graphene.ObjectType]:
    """The ``XError`` type of a domain, made once from its Python error-code enum."""
    if codes in _error_types:
        return _error_types[codes]
    code_enum = graphene.Enum.from_enum(
        codes, name=f"{name}Code", description=f"Why a mutation answered with an {name}."
    )
    error = type(
        name,
        (graphene.ObjectType,),
        {
            "field": graphene.String(
                description="The input field at fault (camelCase), or null for the whole call."
            ),
            "message": graphene.String(required=True),
            "code": graphene.Field(code_enum, required=True),
            "__doc__": f"A problem with the input of a mutation ({name}).",
        },
    )
    _error_types[codes] = error
    return error


class BaseMutationOptions(MutationOptions):
    error_codes: type[StrEnum] | None = None
    login_required: bool = True


class BaseMutation(graphene.Mutation):
    """Subclasses name their domain's errors in ``Meta`` (``error_codes``,
    ``error_type_name``), or an abstract base of a domain declares them once as
    ``default_error_codes`` / ``default_error_type_name`` for all its mutations."""

    default_error_codes: ClassVar[type[StrEnum] | None] = None
    default_error_type_name: ClassVar[str | None] = None

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(
        cls,
        error_codes: type[StrEnum] | None = None,
        error_type_name: str | None = None,
        login_required: bool = True,
        _meta: BaseMutationOptions | None = None,
        **options: Any,
    ) -> None:
        error_codes = error_codes or cls.default_error_codes
        error_type_name = error_type_name or cls.default_error_type_name
        _meta = _meta or BaseMutationOptions(cls)
        _meta.error_codes = error_codes
        _meta.login_required = login_required
        assert error_codes is not None, f"{cls.__name__}: set Meta.error_codes"
        assert error_type_name, f"{cls.__name__}: set Meta.error_type_name"
        cls.errors = graphene.List(
            graphene.NonNull(error_type(error_codes, error_type_name)), required=True
        )
        super().__init_subclass_with_meta__(_meta=_meta, **options)

    @classmethod
    def codes(cls) -> type[StrEnum]:
        codes = cls._meta.error_codes
        assert codes is not None
        return codes

    @classmethod
    def check_permissions(cls, info: GraphQLResolveInfo, **data: Any) -> None:
        """Raise PermissionDenied for a caller who may not call this at all. Object-level
        checks (this activity, that region) belong in ``perform_mutation``."""

    # Each mutation defines ``perform_mutation(cls, root, info, <its arguments>)``: call the
    # service, return the payload. Declared loosely so each may name its own arguments.
    perform_mutation: ClassVar[Callable[..., Any]]

    @classmethod
    def mutate(cls, root: Any, info: GraphQLResolveInfo, **data: Any) -> Any:
        codes = cls.codes()
        try:
            if cls._meta.login_required and not current_user(info).is_authenticated:
                return cls(errors=[cls._error(None, _("Sign in first."), codes("unauthenticated"))])
            cls.check_permissions(info, **data)
            return cls.perform_mutation(root, info, **data)
        except PermissionDenied as denied:
            message = str(denied) or _("You may not do this here.")
            return cls(errors=[cls._error(None, message, codes("permission_denied"))])
        except ValidationError as invalid:
            return cls(errors=cls._errors_of(invalid))

    @classmethod
    def _error(cls, field: str | None, message: str, code: StrEnum) -> dict[str, Any]:
        return {"field": field, "message": message, "code": code}

    @classmethod
    def _errors_of(cls, invalid: ValidationError) -> list[dict[str, Any]]:
        codes = cls.codes()
        by_field = (
            invalid.error_dict if hasattr(invalid, "error_dict") else {NON_FIELD_ERRORS: [invalid]}
        )
        errors = []
        for field, field_errors in by_field.items():
            name = None if field == NON_FIELD_ERRORS else to_camel_case(field)
            for error in ValidationError(field_errors).error_list:
                code = error.code if error.code in codes._value2member_map_ else "invalid"
                assert code is not None
                errors.append(cls._error(name, " ".join(error.messages), codes(code)))
        return errors
