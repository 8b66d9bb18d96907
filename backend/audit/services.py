"""Recording audit events. Called by the domain services inside their transactions, so an
event exists exactly when the change it describes was committed."""

from typing import Any

from django.db import models

from backend.audit.models import AuditEvent
from backend.regions.models import Region


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a field value (for the ``changes`` record)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple, set, models.QuerySet)):
        return [_plain(item) for item in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool, dict)):
        return value
    return str(value)


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value differs."""
    return {
        name: [_plain(before.get(name)), _plain(value)]
        for name, value in after.items()
        if _plain(before.get(name)) != _plain(value)
    }


def snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(instance, name)) for name in fields}


def record(
    actor: Any,
    action: str,
    target: models.Model,
    region: Region | None,
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        region=region,
        changes=changes or {},
        reason=reason,
    )
