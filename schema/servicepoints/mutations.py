import base64
import binascii
import math
from typing import Any

import graphene
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from graphql import GraphQLResolveInfo

from backend.core.problems import refuse
from backend.organizations.models import Organization
from backend.regions.models import Region
from backend.servicepoints import imports, services
from backend.servicepoints.error_codes import ServicePointErrorCode
from backend.servicepoints.models import ServiceCategory, ServicePoint
from backend.servicepoints.services import ServicePointChanges
from schema.core.ids import get_by_global_id, get_optional
from schema.core.mutations import BaseMutation, error_type
from schema.core.scope import current_scope, current_user
from schema.servicepoints.types import ServicePointType

# The enum of ``ServicePointError.code``, shared with the rows of an import report.
ServicePointErrorCodeEnum = (
    error_type(ServicePointErrorCode, "ServicePointError")._meta.fields["code"].type.of_type
)
ImportFormatEnum = graphene.Enum.from_enum(
    imports.ImportFormat, description="How an imported file is written."
)
ImportModeEnum = graphene.Enum.from_enum(
    imports.ImportMode,
    description=(
        "ALL_OR_NOTHING: any bad row and nothing is imported. VALID_ROWS_ONLY: the good rows "
        "are imported and the bad ones reported and counted as skipped."
    ),
)


class OpeningHoursIntervalInput(graphene.InputObjectType):
    weekday = graphene.Int(required=True, description="1 = Monday … 7 = Sunday.")
    opens = graphene.String(required=True, description="Local time, HH:MM.")
    closes = graphene.String(required=True, description="Local time, HH:MM, after opens.")


class ServicePointFields:
    operator = graphene.ID(
        description="The organization that runs it. Coordinators who are not region "
        "administrators must name one they coordinate."
    )
    opening_hours = graphene.List(
        graphene.NonNull(OpeningHoursIntervalInput),
        description="The whole week; an empty list means unknown (by appointment).",
    )
    contact_name = graphene.String()
    contact_phone = graphene.String()
    description = graphene.String()


class CreateServicePointInput(ServicePointFields, graphene.InputObjectType):
    name = graphene.String(required=True)
    category = graphene.ID(required=True)
    region = graphene.ID(required=True, description="A community, village or grid.")
    address = graphene.String(required=True)
    latitude = graphene.Float(required=True, description="WGS-84 decimal degrees.")
    longitude = graphene.Float(required=True, description="WGS-84 decimal degrees.")


class UpdateServicePointInput(ServicePointFields, graphene.InputObjectType):
    """Fields left out are not changed; ``operator: null`` removes the operator."""

    name = graphene.String()
    category = graphene.ID()
    region = graphene.ID(description="A community, village or grid.")
    address = graphene.String()
    latitude = graphene.Float()
    longitude = graphene.Float()


MAX_INTERVALS_IN_INPUT = 50  # capped before anything looks at them


def changes_from(data: dict[str, Any]) -> ServicePointChanges:
    """The service's changes from a create or update input: IDs become objects."""
    changes = ServicePointChanges()
    for name in ("name", "address", "contact_name", "contact_phone", "description"):
        if name in data:
            setattr(changes, name, data[name])
    for name in ("latitude", "longitude"):
        if name in data:
            setattr(changes, name, data[name])
    if "category" in data:
        changes.category = get_optional(
            ServiceCategory.objects.all(), data["category"], "ServiceCategory", "category"
        )
    if "region" in data:
        changes.region = get_optional(Region.objects.all(), data["region"], "Region", "region")
    if "operator" in data:
        changes.operator = get_optional(
            Organization.objects.select_related("region"),
            data["operator"],
            "Organization",
            "operator",
        )
    if "opening_hours" in data:
        intervals = list(data["opening_hours"] or [])[: MAX_INTERVALS_IN_INPUT + 1]
        changes.opening_hours = [
            {"weekday": i.weekday, "opens": i.opens, "closes": i.closes} for i in intervals
        ]
    return changes


def _require_a_manager(info: GraphQLResolveInfo) -> None:
    if not current_scope(info).manages_anything:
        raise PermissionDenied(_("Only coordinators and region administrators manage this."))


def _point(value: Any) -> ServicePoint:
    return get_by_global_id(
        ServicePoint.objects.select_related("region", "operator__region"),
        value,
        "ServicePoint",
        "id",
    )


class ServicePointMutation(BaseMutation):
    service_point = graphene.Field(ServicePointType)

    class Meta:
        abstract = True

    @classmethod
    def check_permissions(cls, info: GraphQLResolveInfo, **data: Any) -> None:
        _require_a_manager(info)


class CreateServicePoint(ServicePointMutation):
    """Add a service point (region administrators; coordinators, for their organization
    within its region)."""

    class Arguments:
        input = CreateServicePointInput(required=True)

    class Meta:
        error_codes = ServicePointErrorCode
        error_type_name = "ServicePointError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "CreateServicePoint":
        point = services.create_service_point(current_user(info), changes_from(input))
        return cls(service_point=point, errors=[])


class UpdateServicePoint(ServicePointMutation):
    """Change a service point (the administrators of its region and the coordinators of
    its operator)."""

    class Arguments:
        id = graphene.ID(required=True)
        input = UpdateServicePointInput(required=True)
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = ServicePointErrorCode
        error_type_name = "ServicePointError"

    @classmethod
    def perform_mutation(
        cls,
        root: Any,
        info: GraphQLResolveInfo,
        id: str,
        input: dict[str, Any],
        reason: str | None = None,
    ) -> "UpdateServicePoint":
        point = _point(id)
        if not current_user(info).has_perm("servicepoints.change_servicepoint", point):
            raise PermissionDenied(_("You do not manage this service point."))
        point = services.update_service_point(
            current_user(info), point, changes_from(input), reason or ""
        )
        return cls(service_point=point, errors=[])


class DeactivateServicePoint(ServicePointMutation):
    """Take a point out of service: it leaves lists and searches, its history stays.
    Asking again changes nothing."""

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = ServicePointErrorCode
        error_type_name = "ServicePointError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None
    ) -> "DeactivateServicePoint":
        point = services.deactivate_service_point(current_user(info), _point(id), reason or "")
        return cls(service_point=point, errors=[])


class ReactivateServicePoint(ServicePointMutation):
    """Bring a point back into service."""

    class Arguments:
        id = graphene.ID(required=True)
        reason = graphene.String(description="Kept in the audit trail.")

    class Meta:
        error_codes = ServicePointErrorCode
        error_type_name = "ServicePointError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, id: str, reason: str | None = None
    ) -> "ReactivateServicePoint":
        point = services.reactivate_service_point(current_user(info), _point(id), reason or "")
        return cls(service_point=point, errors=[])


class ImportRowError(graphene.ObjectType):
    line = graphene.Int(required=True, description="Line in the file (the header is line 1).")
    column = graphene.String(description="The column as headed in the file; null: the row.")
    code = graphene.Field(ServicePointErrorCodeEnum, required=True)
    message = graphene.String(required=True)


class ImportServicePointsInput(graphene.InputObjectType):
    file_name = graphene.String(
        required=True, description="E.g. points.xlsx; its extension gives the format."
    )
    content_base64 = graphene.String(
        required=True, description="The file, base64-encoded; at most 10 MB decoded."
    )
    format = ImportFormatEnum(description="When the file name does not tell.")
    mode = ImportModeEnum(default_value=imports.ImportMode.ALL_OR_NOTHING.value)
    dry_run = graphene.Boolean(
        default_value=False,
        description="Check every row and answer as the import would; write nothing.",
    )
    region = graphene.ID(
        description="Where the points go: rows without a region go here, rows outside it "
        "are refused. Without it every row names its region (code or name)."
    )


# Base64 of MAX_FILE_BYTES, with room for line breaks: anything longer is refused unread.
MAX_BASE64_LENGTH = math.ceil(imports.MAX_FILE_BYTES / 3) * 4 + 1024 * 1024


def _decode_content(value: str) -> bytes:
    if len(value) > MAX_BASE64_LENGTH:
        raise refuse(
            "content_base64",
            _("The file is larger than %(limit)d MB.") % {"limit": imports.MAX_FILE_BYTES // 2**20},
            ServicePointErrorCode.FILE_TOO_LARGE,
        )
    if value.startswith("data:") and "," in value:  # a data: URL, as browsers produce
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise refuse(
            "content_base64",
            _("The file content is not valid base64."),
            ServicePointErrorCode.INVALID,
        ) from None


class ImportServicePoints(BaseMutation):
    """Import service points from a CSV or XLSX file, checked row by row. The answer
    reports every bad row with its line and column, and how many rows were imported and
    skipped; ``errors`` has IMPORT_HAS_ERRORS when nothing could be imported."""

    # Null when the call was refused before any row was read (permission, file problems).
    row_count = graphene.Int(description="Rows read (blank rows are ignored).")
    valid_count = graphene.Int(description="Rows without problems.")
    imported_count = graphene.Int(description="Rows written; 0 on a dry run or when refused.")
    skipped_count = graphene.Int(description="Rows not written.")
    bad_row_count = graphene.Int(description="Rows with at least one problem.")
    row_error_count = graphene.Int(description="Problems found in all rows.")
    row_errors = graphene.List(
        graphene.NonNull(ImportRowError),
        description="Every problem, by line (cut at 20,000: see rowErrorsTruncated).",
    )
    row_errors_truncated = graphene.Boolean()
    dry_run = graphene.Boolean()

    class Arguments:
        input = ImportServicePointsInput(required=True)

    class Meta:
        error_codes = ServicePointErrorCode
        error_type_name = "ServicePointError"

    @classmethod
    def check_permissions(cls, info: GraphQLResolveInfo, **data: Any) -> None:
        _require_a_manager(info)

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> "ImportServicePoints":
        user = current_user(info)
        region = get_optional(Region.objects.all(), input.get("region"), "Region", "region")
        if not user.has_perm("servicepoints.import_servicepoints", region):
            raise PermissionDenied(_("You do not manage service points here."))
        content = _decode_content(input["content_base64"])
        file_format = input.get("format")
        try:
            result = imports.import_service_points(
                user,
                content,
                file_name=input["file_name"],
                file_format=imports.ImportFormat(file_format) if file_format else None,
                mode=imports.ImportMode(input.get("mode") or imports.ImportMode.ALL_OR_NOTHING),
                dry_run=bool(input.get("dry_run")),
                region=region,
            )
        except ValidationError as invalid:
            # The service names the file "file"; here it is the content field.
            if hasattr(invalid, "error_dict") and "file" in invalid.error_dict:
                invalid.error_dict["content_base64"] = invalid.error_dict.pop("file")
            raise
        errors = []
        if result.refused:
            errors.append(
                cls._error(
                    None,
                    (
                        _("%(bad)d of %(rows)d rows have problems: nothing would be imported.")
                        if result.dry_run
                        else _("%(bad)d of %(rows)d rows have problems: nothing was imported.")
                    )
                    % {"bad": result.bad_row_count, "rows": result.row_count},
                    ServicePointErrorCode.IMPORT_HAS_ERRORS,
                )
            )
        return cls(
            row_count=result.row_count,
            valid_count=result.valid_count,
            imported_count=result.imported_count,
            skipped_count=result.skipped_count,
            bad_row_count=result.bad_row_count,
            row_error_count=result.row_error_count,
            row_errors=[
                ImportRowError(
                    line=error.line,
                    column=error.column,
                    code=ServicePointErrorCode(error.code)
                    if error.code in ServicePointErrorCode._value2member_map_
                    else ServicePointErrorCode.INVALID,
                    message=error.message,
                )
                for error in result.row_errors
            ],
            row_errors_truncated=result.row_errors_truncated,
            dry_run=result.dry_run,
            errors=errors,
        )


class ServicePointMutations(graphene.ObjectType):
    """Coordinator mutations of this domain."""

    create_service_point = CreateServicePoint.Field()
    update_service_point = UpdateServicePoint.Field()
    deactivate_service_point = DeactivateServicePoint.Field()
    reactivate_service_point = ReactivateServicePoint.Field()
    import_service_points = ImportServicePoints.Field()
