"""The change log: one hash-chained ChangeRecord per create, update or delete, from any path."""

import contextvars
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
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


class _Entry:
    """A change record before it is written, with what record_payload reads."""

    __slots__ = (
        "action",
        "actor_id",
        "actor_name",
        "after",
        "after_text",
        "before",
        "before_text",
        "content_type",
        "hash",
        "object_id",
        "object_repr",
        "prev_hash",
        "request_id",
        "time",
    )

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


def _dumped(data: dict[str, Any] | None) -> tuple[str | None, dict[str, Any] | None]:
    # _roundtrip's JSON text as well as its value: the text is what COPY sends.
    if data is None:
        return None, None
    text = json.dumps(data, default=_json_value)
    return text, json.loads(text)


def record_changes(
    *,
    actor,
    changes: Sequence[tuple[models.Model, str, dict[str, Any] | None, dict[str, Any] | None]],
    batch_size: int = 2000,
) -> int:
    """Append one record per (obj, action, before, after), in order, as record_change would one by one:
    the same payloads chained under one lock, written together. For bulk writes (an Excel import),
    where a query and a lock per record would dominate. Returns the number of records."""
    from guatu.core.models import ChangeRecord

    if not changes:
        return 0
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    actor_name = actor_obj.get_username() if actor_obj else "system"
    types: dict[type[models.Model], ContentType] = {}
    entries = []
    with transaction.atomic():
        _lock_chain()
        prev = ChangeRecord.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        for obj, action, before, after in changes:
            if action != ChangeRecord.Action.DELETE and after is None:
                after = snapshot(obj)
            model = type(obj)
            if model not in types:
                types[model] = ContentType.objects.get_for_model(obj, for_concrete_model=True)
            before_text, before = _dumped(before)
            after_text, after = _dumped(after)
            entry = _Entry(
                time=timezone.now(),
                actor_id=actor_obj.pk if actor_obj else None,
                actor_name=actor_name,
                request_id=current_request_id.get() or new_request_id("sys"),
                action=action,
                content_type=types[model],
                object_id=str(obj.pk),
                object_repr=str(obj)[:300],
                before=before,
                after=after,
                before_text=before_text,
                after_text=after_text,
                prev_hash=prev,
            )
            entry.hash = prev = compute_hash(entry)
            entries.append(entry)
        _write_entries(entries, batch_size)
    return len(entries)


def _write_entries(entries: list[_Entry], batch_size: int) -> None:
    from guatu.core.models import ChangeRecord

    db = transaction.get_connection()
    if db.vendor != "postgresql":
        ChangeRecord.objects.bulk_create(
            [
                ChangeRecord(
                    **{name: getattr(e, name) for name in _Entry.__slots__ if not name.endswith("_text")}
                )
                for e in entries
            ],
            batch_size=batch_size,
        )
        return
    # COPY in the chain's order: ids from the sequence in that order too, as verify_chain reads them.
    columns = (
        "time", "actor_id", "actor_name", "request_id", "action", "content_type_id", "object_id",
        "object_repr", "before", "after", "prev_hash", "hash",
    )  # fmt: skip
    quote = db.ops.quote_name
    sql = "COPY {} ({}) FROM STDIN".format(
        quote(ChangeRecord._meta.db_table), ", ".join(quote(c) for c in columns)
    )
    with db.cursor() as cursor, db.wrap_database_errors, cursor.copy(sql) as copy:
        for e in entries:
            copy.write_row(
                (
                    e.time, e.actor_id, e.actor_name, e.request_id, e.action, e.content_type.pk, e.object_id,
                    e.object_repr, e.before_text, e.after_text, e.prev_hash, e.hash,
                )
            )  # fmt: skip


def bulk_insert(objs: Sequence[models.Model], *, batch_size: int = 2000) -> None:
    """Insert new rows of one model, setting their ids, in the order given: on PostgreSQL with COPY
    and ids taken from the table's sequence (several times faster than INSERT for thousands of rows),
    elsewhere with bulk_create in batches of batch_size. Like bulk_create, no save() and no signals."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk]
    db = transaction.get_connection()  # the connection itself: the proxy costs a lookup per value
    quote = db.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [pk, *fields])
    with db.cursor() as cursor, db.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj, pk_value in zip(objs, ids, strict=True):
                obj.pk = pk_value
                # pre_save fills auto_now dates as an INSERT through the ORM would.
                copy.write_row([pk_value, *(f.get_db_prep_save(f.pre_save(obj, True), db) for f in fields)])
                obj._state.adding = False
                obj._state.db = db.alias


def snapshot_new(obj: models.Model) -> dict[str, Any]:
    """snapshot() of a row just inserted by bulk_insert or bulk_create: it has no many-to-many links
    yet, so they are empty lists without a query each."""
    data = {field.attname: _json_value(getattr(obj, field.attname)) for field in obj._meta.concrete_fields}
    data.update({field.name: [] for field in obj._meta.many_to_many})
    return data


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
