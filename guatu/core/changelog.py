"""The change log: one hash-chained ChangeRecord per create, update or delete, from any path."""

import contextvars
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("guatu_request_id", default="")

GENESIS = "0" * 64
# An arbitrary constant naming the PostgreSQL advisory lock that serialises chain appends.
_CHAIN_LOCK_KEY = 7_202_202


def new_request_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "name") and isinstance(getattr(value, "name", None), str) and hasattr(value, "url"):
        return value.name  # FieldFile
    return value


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The row's own field values as JSON-ready data (foreign keys by id, many-to-many as sorted ids)."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        data[field.attname] = _json_value(getattr(obj, field.attname))
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            data[field.name] = sorted(getattr(obj, field.name).values_list("pk", flat=True))
    return data


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_payload(record) -> dict[str, Any]:
    return {
        "time": record.time.astimezone(dt.UTC).isoformat(),
        "actor": record.actor_id,
        "actor_name": record.actor_name,
        "request_id": record.request_id,
        "action": record.action,
        "content_type": f"{record.content_type.app_label}.{record.content_type.model}",
        "object_id": record.object_id,
        "object_repr": record.object_repr,
        "before": record.before,
        "after": record.after,
        "prev_hash": record.prev_hash,
    }


def compute_hash(record) -> str:
    return digest(_canonical(record_payload(record)))


def _lock_chain() -> None:
    # SQLite runs write transactions one at a time (IMMEDIATE mode); PostgreSQL needs a lock so
    # two writers never chain onto the same previous record.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def record_change(
    *,
    actor,
    obj: models.Model,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
):
    """Append one change record. `after` defaults to the object's current snapshot (None on delete)."""
    from guatu.core.models import ChangeRecord

    if action != ChangeRecord.Action.DELETE and after is None:
        after = snapshot(obj)
    with transaction.atomic():
        _lock_chain()
        last = ChangeRecord.objects.order_by("-id").values_list("hash", flat=True).first()
        actor_obj = actor if getattr(actor, "is_authenticated", False) else None
        record = ChangeRecord(
            time=timezone.now(),
            actor=actor_obj,
            actor_name=actor_obj.get_username() if actor_obj else "system",
            request_id=current_request_id.get() or new_request_id("sys"),
            action=action,
            content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
            object_id=str(obj.pk),
            object_repr=str(obj)[:300],
            before=_roundtrip(before),
            after=_roundtrip(after),
            prev_hash=last or GENESIS,
        )
        record.hash = compute_hash(record)
        record.save()
    return record


def _roundtrip(data: dict[str, Any] | None) -> dict[str, Any] | None:
    # Store exactly what the database will give back, so the hash recomputes identically.
    return None if data is None else json.loads(json.dumps(data, default=_json_value))


def verify_chain(batch_size: int = 2000) -> Iterator[tuple[int, str]]:
    """Yield (record id, problem) for each break in the chain, in order."""
    from guatu.core.models import ChangeRecord

    prev = GENESIS
    qs = ChangeRecord.objects.select_related("content_type").order_by("id")
    for record in qs.iterator(chunk_size=batch_size):
        if record.prev_hash != prev:
            yield record.pk, "prev_hash"
        if compute_hash(record) != record.hash:
            yield record.pk, "hash"
        prev = record.hash


HIDDEN_IN_DIFF = frozenset({"updated_at", "created_at", "version", "updated_by_id", "created_by_id"})


def describe_many(records, model: type[models.Model]) -> list[tuple[Any, list[tuple[str, Any, Any]]]]:
    """Each record with its changed fields as (label, before, after): labels from the model's verbose
    names, foreign keys shown by name (one query per related model, not per record)."""
    labels: dict[str, str] = {}
    related: dict[str, type[models.Model]] = {}
    for field in [*model._meta.concrete_fields, *model._meta.many_to_many]:
        name = getattr(field, "attname", field.name)
        labels[name] = str(field.verbose_name)
        if field.is_relation:
            related[name] = field.related_model
    records = list(records)
    wanted: dict[type[models.Model], set] = {}
    for record in records:
        for data in (record.before or {}, record.after or {}):
            for name, target in related.items():
                value = data.get(name)
                for pk in value if isinstance(value, list) else [value]:
                    if pk is not None:
                        wanted.setdefault(target, set()).add(pk)
    names = {
        target: {obj.pk: str(obj) for obj in target._default_manager.filter(pk__in=pks)}
        for target, pks in wanted.items()
    }

    def show(name: str, value: Any) -> Any:
        if name not in related or value is None:
            return value
        lookup = names.get(related[name], {})
        if isinstance(value, list):
            return "、".join(str(lookup.get(pk, pk)) for pk in value)
        return lookup.get(value, value)

    result = []
    for record in records:
        before, after = record.before or {}, record.after or {}
        diffs = [
            (labels.get(name, name), show(name, before.get(name)), show(name, after.get(name)))
            for name in record.changed_fields
            if name not in HIDDEN_IN_DIFF
        ]
        result.append((record, diffs))
    return result
