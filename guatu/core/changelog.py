"""The audit trail: the change log (one hash-chained ChangeRecord per create, update or delete, from any
path) and the login log (LoginRecord), each an SM3 hash chain with a head row; archiving and purging
records past the retention."""

import contextvars
import dataclasses
import datetime as dt
import gzip
import hashlib
import ipaddress
import json
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

if TYPE_CHECKING:
    from guatu.core.models import LoginRecord

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("guatu_request_id", default="")

GENESIS = "0" * 64


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


SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"  # GB/T 32905-2016 A.1


def sm3_gmssl(data: bytes) -> str:
    """SM3 in pure Python (gmssl): correct everywhere, but about 56 s per 10,000 record payloads."""
    from gmssl import func, sm3

    return sm3.sm3_hash(func.bytes_to_list(data))


def sm3_openssl(data: bytes) -> str:
    """SM3 from the OpenSSL that Python links (OpenSSL 1.1.1+ ships it in its default provider)."""
    return hashlib.new("sm3", data).hexdigest()


def _openssl_has_sm3() -> bool:
    try:
        return sm3_openssl(b"abc") == SM3_ABC
    except ValueError:  # an OpenSSL built without SM3
        return False


# The chain hash (GB/T 32905 SM3, as 等保 2.0 expects a national algorithm): OpenSSL's where present,
# about a thousand times faster than gmssl's; both give the same digest.
digest = sm3_openssl if _openssl_has_sm3() else sm3_gmssl


def sha256_hex(data: bytes) -> str:
    """The chain hash before SM3, kept for the migration that re-hashed the chains."""
    return hashlib.sha256(data).hexdigest()


def record_payload(record) -> dict[str, Any]:
    """What a ChangeRecord's hash covers."""
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


def login_payload(record) -> dict[str, Any]:
    """What a LoginRecord's hash covers."""
    return {
        "time": record.time.astimezone(dt.UTC).isoformat(),
        "event": record.event,
        "username": record.username,
        "user": record.user_id,
        "ip": record.ip,
        "user_agent": record.user_agent,
        "detail": record.detail,
        "prev_hash": record.prev_hash,
    }


def compute_hash(record, hasher: Callable[[bytes], str] | None = None) -> str:
    """A ChangeRecord's hash (SM3 unless another hasher is given)."""
    return (hasher or digest)(_canonical(record_payload(record)))


@dataclass(frozen=True)
class Chain:
    """One hash chain: a model whose rows are only appended, each hashing its payload (which holds
    the previous row's hash), and a ChainHead row naming where the chain ends."""

    name: str  # ChainHead.chain
    label: str  # for messages
    model_name: str  # in guatu.core
    payload: Callable[[Any], dict[str, Any]]
    related: tuple[str, ...] = ()  # what payload reads through a foreign key

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model("core", self.model_name)

    def hash(self, record, hasher: Callable[[bytes], str] | None = None) -> str:
        return (hasher or digest)(_canonical(self.payload(record)))


CHANGES = Chain("change", "变更记录", "ChangeRecord", record_payload, ("content_type",))
LOGINS = Chain("login", "登录日志", "LoginRecord", login_payload)
CHAINS = (CHANGES, LOGINS)
# An arbitrary constant naming the PostgreSQL advisory locks (one per chain) that serialise appends.
_CHAIN_LOCK_KEY = 7_202_202
# The head row each chain had after this process last appended to it, by connection alias: a lookup by
# key is then enough to find it again (it is current exactly while it still exists, see _move_head).
_last_heads: dict[tuple[str, str], int] = {}


def _locked_head(chain: Chain):
    """The chain's head row, with the chain locked until the transaction ends, so two writers never
    chain onto the same previous record. SQLite runs write transactions one at a time (IMMEDIATE mode)."""
    from guatu.core.models import ChainHead

    db = transaction.get_connection()
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_CHAIN_LOCK_KEY, CHAINS.index(chain)])
    known = _last_heads.get((db.alias, chain.name))
    head = ChainHead.objects.filter(pk=known, chain=chain.name).first() if known else None
    if head is None:
        head = ChainHead.objects.filter(chain=chain.name).order_by("-id").first()
    if head is None:
        head = ChainHead.objects.create(chain=chain.name, last_hash=GENESIS, anchor_hash=GENESIS)
    _last_heads[(db.alias, chain.name)] = head.pk
    return head


def _move_head(chain: Chain, head, last_hash: str, added: int) -> None:
    """Replace the head row by a new one rather than update it: one transaction may append thousands of
    records (the demo, a test), and PostgreSQL would keep every version of one updated row until the
    transaction ends and walk them all on each later update. A new row and the old one deleted by key
    cost the same each time. The chain's lock is held, so exactly one head row per chain is visible."""
    from guatu.core.models import ChainHead

    ChainHead.objects.filter(pk=head.pk).delete()
    moved = ChainHead.objects.create(
        chain=chain.name, last_hash=last_hash, count=head.count + added,
        anchor_hash=head.anchor_hash, purged=head.purged,
    )  # fmt: skip
    _last_heads[(transaction.get_connection().alias, chain.name)] = moved.pk


class _Tail:
    """The end of a chain while records are appended to it."""

    def __init__(self, chain: Chain, prev: str) -> None:
        self.chain, self.prev, self.added = chain, prev, 0

    def link(self, record) -> None:
        record.prev_hash = self.prev
        record.hash = self.prev = self.chain.hash(record)
        self.added += 1


@contextmanager
def _appending(chain: Chain) -> Iterator[_Tail]:
    """Append to `chain` in one transaction: link each new record with tail.link() and write it; the
    head then moves to the last one, under the same lock."""
    with transaction.atomic():
        head = _locked_head(chain)
        tail = _Tail(chain, head.last_hash)
        yield tail
        if tail.added:
            _move_head(chain, head, tail.prev, tail.added)


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
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    with _appending(CHANGES) as tail:
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
        )
        tail.link(record)
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
    with _appending(CHANGES) as tail:
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
            )
            tail.link(entry)
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


def _clean_text(value: str, limit: int | None = None) -> str:
    # PostgreSQL refuses NUL in text: a username typed with one must not break the login page.
    text = str(value or "").replace("\x00", "\ufffd")
    return text[:limit] if limit else text


def _client_ip(value: str | None) -> str | None:
    """The address as the database gives it back (the hash must recompute), or None if not one."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if address.version == 4:
        return str(address)
    if address.scope_id:
        return None  # fe80::1%eth0: PostgreSQL's inet has no zone
    return clean_ipv6_address(str(address))


def record_login(*, event: str, username: str, user=None, request=None, detail: str = "") -> "LoginRecord":
    """Append one record to the login log (登录日志): `event` is a LoginRecord.Event value, `username`
    as typed, `user` the account if one is known. With a request, the address is REMOTE_ADDR and the
    browser its User-Agent.

    Written in the caller's transaction: the login, logout and failure paths are not atomic, so their
    record commits at once; inside a transaction that rolls back, the record goes with it."""
    from guatu.core.models import LoginRecord

    if event not in LoginRecord.Event.values:
        raise ValueError(f"未知的登录事件“{event}”")
    ip, agent = None, ""
    if request is not None:
        meta = getattr(request, "META", {})
        ip = _client_ip(meta.get("REMOTE_ADDR"))
        agent = meta.get("HTTP_USER_AGENT", "")
    with _appending(LOGINS) as tail:
        record = LoginRecord(
            time=timezone.now(),
            event=event,
            username=_clean_text(username, 150),
            user_id=getattr(user, "pk", None),
            ip=ip,
            user_agent=_clean_text(agent, 300),
            detail=_clean_text(detail),
        )
        tail.link(record)
        record.save()
    return record


class Break(NamedTuple):
    """One break in a chain: the record where it shows (None: the chain's end), and its kind."""

    record_id: int | None
    kind: str  # prev_hash, hash, head or count
    detail: str = ""


BREAK_KINDS = {
    "prev_hash": "与上一条记录的链接断开（其前的记录被删除、插入或改动）",
    "hash": "内容与摘要不符（记录被改动或伪造）",
    "head": "链的最后一条记录与链头不符（末尾的记录被删除或追加）",
    "count": "记录条数与链头不符",
}


def describe_break(chain: Chain, item: Break) -> str:
    where = f"第 {item.record_id} 条" if item.record_id is not None else "末尾"
    text = f"{chain.label}链在{where}断开：{BREAK_KINDS[item.kind]}"
    return f"{text}（{item.detail}）" if item.detail else text


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Read the records and the head as of one moment, so appends meanwhile do not look like breaks."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def verify(chain: Chain, batch_size: int = 2000) -> Iterator[Break]:
    """Each break in `chain`, in order: every record must link to the one before it (the first to the
    anchor left by the last purge) and hash to what it holds, and the last must be the head's."""
    from guatu.core.models import ChainHead

    with _one_snapshot():
        head = ChainHead.objects.filter(chain=chain.name).first()
        prev = head.anchor_hash if head else GENESIS
        count, last_id = 0, None
        qs = chain.model.objects.select_related(*chain.related).order_by("id")
        for record in qs.iterator(chunk_size=batch_size):
            if record.prev_hash != prev:
                yield Break(record.pk, "prev_hash")
            if chain.hash(record) != record.hash:
                yield Break(record.pk, "hash")
            prev, count, last_id = record.hash, count + 1, record.pk
        if prev != (head.last_hash if head else GENESIS):
            yield Break(last_id, "head")
        expected = head.count if head else 0
        if count != expected:
            yield Break(None, "count", f"链头记 {expected} 条，库中 {count} 条")


def verify_chain(batch_size: int = 2000) -> Iterator[Break]:
    """Each break in the change log's chain."""
    return verify(CHANGES, batch_size)


# --- retention: archive and purge the oldest records (guatu audit_purge), check an archive

RETENTION_MIN_DAYS = 180  # 等保 2.0: audit records are kept at least six months


class AuditError(Exception):
    """A purge or archive check refused, with a message for the operator."""


def retention_days() -> int:
    """How long audit records stay in the database (GUATU_AUDIT_RETENTION_DAYS); never fewer than 180."""
    value = settings.AUDIT_RETENTION_DAYS
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise AuditError(f"审计记录保留天数 GUATU_AUDIT_RETENTION_DAYS=“{value}”不是整数") from None
    if days < RETENTION_MIN_DAYS:
        raise AuditError(
            f"审计记录保留天数 GUATU_AUDIT_RETENTION_DAYS={days} 低于至少 {RETENTION_MIN_DAYS} 天的要求，"
            "拒绝清理任何记录"
        )
    return days


@dataclass
class PurgeResult:
    cutoff: dt.datetime
    counts: dict[str, int]
    archive: Path | None = None
    digest_file: Path | None = None


def digest_path(archive: Path) -> Path:
    """The digest file beside an archive: audit-….jsonl.gz → audit-….sm3.json."""
    name = archive.name.removesuffix(".gz").removesuffix(".jsonl")
    return archive.with_name(f"{name}.sm3.json")


def _archive_line(data: dict[str, Any]) -> bytes:
    return _canonical(data) + b"\n"


def _write_archive(path: Path, heads: dict, ranges: dict) -> dict[str, dict[str, Any]]:
    """Write each chain's range to a gzipped JSON-lines file, checking as it goes that the range is
    whole (from the chain's anchor on): a broken range is evidence, not something to archive away."""
    summary: dict[str, dict[str, Any]] = {}
    with path.open("xb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        for chain in CHAINS:
            anchor = prev = heads[chain.name].anchor_hash
            count, first, last = 0, None, None
            for record in ranges[chain.name].select_related(*chain.related).iterator(chunk_size=2000):
                payload = chain.payload(record)
                if record.prev_hash != prev or digest(_canonical(payload)) != record.hash:
                    raise AuditError(
                        f"{chain.label}链在第 {record.pk} 条断开，未清理任何记录：请先运行 guatu audit_verify 查明"
                    )
                out.write(
                    _archive_line({"chain": chain.name, "id": record.pk, **payload, "hash": record.hash})
                )
                prev, count, last = record.hash, count + 1, record.pk
                first = first or (record.pk, record.hash)
            summary[chain.name] = {
                "count": count,
                "anchor": anchor,
                "first_id": first[0] if first else None,
                "first_hash": first[1] if first else None,
                "last_id": last,
                "last_hash": prev,
            }
        out.flush()
        raw.flush()
        os.fsync(raw.fileno())  # on disk before the rows are deleted
    return summary


def purge(
    *,
    archive_dir: Path | str,
    before: dt.date | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PurgeResult:
    """Move the records older than the retention (or than `before`, which may not be later) from both
    chains into an archive file in archive_dir with a digest file beside it, then delete them in one
    transaction. Each chain keeps as anchor the last purged hash, so it still verifies, and the purge
    is itself a change record (actor system) naming the archive and its SM3 digest.

    For `guatu audit_purge` (a timer); it locks both chains while it runs."""
    from guatu.core.models import ChainHead

    days = retention_days()
    now = now or timezone.now()
    limit = now - dt.timedelta(days=days)
    cutoff = limit
    if before is not None:
        cutoff = dt.datetime.combine(before, dt.time.min, tzinfo=timezone.get_current_timezone())
        if cutoff > limit:
            raise AuditError(
                f"--before {before:%Y-%m-%d} 晚于保留期限 {timezone.localtime(limit):%Y-%m-%d}："
                f"审计记录至少保留 {days} 天"
            )
    archive_dir = Path(archive_dir)
    path = archive_dir / f"audit-{now.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}.jsonl.gz"
    sums = digest_path(path)
    try:
        with transaction.atomic():
            # In the order every append takes them, so a purge and a writer never wait on each other.
            heads = {chain.name: _locked_head(chain) for chain in CHAINS}
            ranges = {}
            for chain in CHAINS:
                # The oldest records in chain order, up to the first one still within the retention.
                records = chain.model.objects.order_by("id")
                kept = records.filter(time__gte=cutoff).values_list("id", flat=True).first()
                ranges[chain.name] = records if kept is None else records.filter(id__lt=kept)
            counts = {name: qs.count() for name, qs in ranges.items()}
            result = PurgeResult(cutoff=cutoff, counts=counts)
            if dry_run or not any(counts.values()):
                return result
            archive_dir.mkdir(parents=True, exist_ok=True)
            summary = _write_archive(path, heads, ranges)
            archive_sm3 = digest(path.read_bytes())
            described = {
                "archive": path.name,
                "sm3": archive_sm3,
                "created": now.isoformat(),
                "before": cutoff.isoformat(),
                "retention_days": days,
                "chains": summary,
            }
            with sums.open("x", encoding="utf-8") as out:
                json.dump(described, out, ensure_ascii=False, indent=2)
                out.flush()
                os.fsync(out.fileno())
            head_before = snapshot(heads[CHANGES.name])
            quote = connection.ops.quote_name
            for chain in CHAINS:
                part = summary[chain.name]
                if not part["count"]:
                    continue
                with connection.cursor() as cursor:
                    table = quote(chain.model._meta.db_table)
                    cursor.execute(f"DELETE FROM {table} WHERE id <= %s", [part["last_id"]])
                    if cursor.rowcount != part["count"]:
                        raise AuditError(f"{chain.label}删除条数与归档条数不符，已撤销本次清理")
                ChainHead.objects.filter(chain=chain.name).update(
                    count=F("count") - part["count"],
                    anchor_hash=part["last_hash"],
                    purged=F("purged") + part["count"],
                )
            head = ChainHead.objects.get(chain=CHANGES.name)
            after = snapshot(head) | {"archive": path.name, "archive_sm3": archive_sm3, "archived": summary}
            record_change(actor=None, obj=head, action="update", before=head_before, after=after)
    except BaseException:
        # Nothing was deleted: an archive left behind would duplicate records still in the database.
        path.unlink(missing_ok=True)
        sums.unlink(missing_ok=True)
        raise
    result.archive, result.digest_file = path, sums
    return result


@dataclass
class ArchiveReport:
    problems: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    summary: str = ""


def verify_archive(path: Path | str) -> ArchiveReport:
    """Check an archive written by purge(): its SM3 against the digest file, every record's hash and
    link from the anchor on, the first and last hashes and counts the digest names, and, while the
    change log still holds it, the purge's own change record."""
    report = ArchiveReport()
    path = Path(path)
    if path.name.endswith(".sm3.json"):
        sums = path
        try:
            path = sums.with_name(json.loads(sums.read_text(encoding="utf-8"))["archive"])
        except (OSError, ValueError, KeyError) as err:
            report.problems.append(f"摘要文件“{sums}”无法读取：{err}")
            return report
    sums = digest_path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        report.problems.append(f"归档文件“{path}”无法读取：{err}")
        return report
    try:
        described = json.loads(sums.read_text(encoding="utf-8"))
        expected = {name: described["chains"][name] for name in (c.name for c in CHAINS)}
        recorded_sm3 = described["sm3"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        report.problems.append(f"摘要文件“{sums}”无法读取或缺项：{err}")
        return report
    if digest(data) != recorded_sm3:
        report.problems.append(f"归档文件“{path.name}”的 SM3 摘要与摘要文件不符：文件被改动或替换")
    try:
        lines = gzip.decompress(data).splitlines()
    except (OSError, EOFError, ValueError) as err:
        report.problems.append(f"归档文件“{path.name}”无法解压：{err}")
        return report
    chains = {c.name: c for c in CHAINS}
    state = {name: {"prev": part["anchor"], "count": 0, "first": None} for name, part in expected.items()}
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
            name, record_id, stored = row.pop("chain"), row.pop("id"), row.pop("hash")
            chain, seen = chains[name], state[name]
        except (ValueError, KeyError, TypeError, AttributeError):
            report.problems.append(f"第 {number} 行不是一条审计记录")
            continue
        where = f"第 {number} 行（{chain.label} #{record_id}）"
        if row.get("prev_hash") != seen["prev"]:
            report.problems.append(f"{where}与上一条记录的链接断开")
        if digest(_canonical(row)) != stored:
            report.problems.append(f"{where}内容与摘要不符")
        seen["prev"], seen["count"] = stored, seen["count"] + 1
        seen["first"] = seen["first"] or stored
    for name, part in expected.items():
        seen, label = state[name], chains[name].label
        if seen["count"] != part["count"]:
            report.problems.append(f"{label}：归档中 {seen['count']} 条，摘要文件记 {part['count']} 条")
        if seen["count"] and (seen["first"], seen["prev"]) != (part["first_hash"], part["last_hash"]):
            report.problems.append(f"{label}：首尾记录的摘要与摘要文件不符")
    _check_purge_record(path.name, described, report)
    counts = "，".join(f"{chains[n].label} {state[n]['count']} 条" for n in expected)
    report.summary = f"{counts}，截至 {described.get('before', '')}"
    return report


def _check_purge_record(name: str, described: dict[str, Any], report: ArchiveReport) -> None:
    # The digest file could be rewritten along with the archive; the purge's change record, itself on
    # the chain, could not without breaking it.
    from guatu.core.models import ChainHead, ChangeRecord

    try:
        record = (
            ChangeRecord.objects.filter(
                content_type=ContentType.objects.get_for_model(ChainHead), after__archive=name
            )
            .order_by("id")
            .first()
        )
    except DatabaseError as err:
        report.notes.append(f"无法读取数据库中的清理记录（{err}），只校验了文件本身")
        return
    if record is None:
        report.notes.append("变更日志中已没有该归档的清理记录（可能已随后续清理归档），只校验了文件本身")
        return
    logged = record.after or {}
    if logged.get("archive_sm3") != described["sm3"] or logged.get("archived") != described["chains"]:
        report.problems.append(f"摘要文件与变更日志第 {record.pk} 条清理记录所记不符")
    else:
        report.notes.append(f"与变更日志第 {record.pk} 条清理记录一致")


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
