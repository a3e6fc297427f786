"""Both audit chains (change log, login log): SM3 hashes, a head row, and `guatu audit_verify`
finding every altered, deleted or inserted record, the newest ones included."""

import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from guatu.core import changelog
from guatu.core.changelog import CHANGES, GENESIS, LOGINS, SM3_ABC, record_change, record_login, verify
from guatu.core.models import ChainHead, ChangeRecord, LoginRecord
from guatu.org.models import Chain as IndustryChain

pytestmark = pytest.mark.django_db

# GB/T 32905-2016 appendix A: a one-block and a two-block message.
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm3_from_openssl_and_gmssl_agree_on_the_standard_vectors():
    assert changelog.sm3_openssl(b"abc") == changelog.sm3_gmssl(b"abc") == SM3_ABC
    assert changelog.sm3_openssl(b"abcd" * 16) == changelog.sm3_gmssl(b"abcd" * 16) == SM3_ABCD16
    long = "项目变更记录".encode() * 400
    assert changelog.sm3_openssl(long) == changelog.sm3_gmssl(long)
    assert changelog.digest(b"abc") == SM3_ABC


def test_a_change_record_is_hashed_with_sm3_over_its_canonical_payload():
    chain = IndustryChain.objects.create(name="新材料", order=9)
    record = record_change(actor=None, obj=chain, action="create")
    payload = changelog._canonical(changelog.record_payload(record))
    assert record.hash == changelog.sm3_gmssl(payload) != changelog.sha256_hex(payload)
    assert record.prev_hash == GENESIS
    head = ChainHead.objects.get(chain="change")
    assert (head.last_hash, head.count) == (record.hash, 1)


def make_records(kind: str, n: int = 6) -> list[int]:
    """n records on one chain, through the code that appends to it; their ids in order."""
    if kind == "change":
        chain, _ = IndustryChain.objects.get_or_create(name="装备制造", defaults={"order": 7})
        for i in range(n):
            record_change(actor=None, obj=chain, action="update", before={"order": i}, after={"order": i + 1})
        return list(ChangeRecord.objects.order_by("id").values_list("id", flat=True))
    for i in range(n):
        record_login(event="failed" if i % 2 else "login", username=f"user{i}", detail=f"第{i}次")
    return list(LoginRecord.objects.order_by("id").values_list("id", flat=True))


CHAIN = {"change": CHANGES, "login": LOGINS}
TABLE = {"change": "core_changerecord", "login": "core_loginrecord"}
# A column of each chain and a value for it, written straight into the table.
ALTER = {"change": ("object_repr", "篡改后的对象"), "login": ("username", "mallory")}


def breaks(kind: str) -> list[tuple[int | None, str]]:
    return [(b.record_id, b.kind) for b in verify(CHAIN[kind])]


def audit_verify() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("audit_verify", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize("kind", ["change", "login"])
def test_a_whole_chain_verifies(kind):
    ids = make_records(kind)
    assert breaks(kind) == []
    out, err = audit_verify()
    assert f"{CHAIN[kind].label}链完整：共 {len(ids)} 条" in out
    assert "审计记录完整" in out and err == ""


def test_audit_verify_reports_both_chains_when_both_are_empty():
    ChainHead.objects.all().delete()  # as after a test emptied the tables: no head yet
    out, _ = audit_verify()
    assert "变更记录链完整：共 0 条" in out and "登录日志链完整：共 0 条" in out


@pytest.mark.parametrize("kind", ["change", "login"])
def test_an_altered_field_is_found(kind):
    ids = make_records(kind)
    column, value = ALTER[kind]
    raw(f"UPDATE {TABLE[kind]} SET {column} = %s WHERE id = %s", [value, ids[2]])
    assert breaks(kind) == [(ids[2], "hash")]
    with pytest.raises(CommandError, match=f"{CHAIN[kind].label}链在第 {ids[2]} 条断开：内容与摘要不符"):
        audit_verify()


@pytest.mark.parametrize("kind", ["change", "login"])
def test_an_altered_record_with_its_hash_recomputed_breaks_the_next_link(kind):
    ids = make_records(kind)
    model = CHAIN[kind].model
    record = model.objects.get(pk=ids[2])
    setattr(record, *ALTER[kind])
    forged = CHAIN[kind].hash(record)
    column, value = ALTER[kind]
    raw(f"UPDATE {TABLE[kind]} SET {column} = %s, hash = %s WHERE id = %s", [value, forged, ids[2]])
    assert breaks(kind) == [(ids[3], "prev_hash")]


@pytest.mark.parametrize("kind", ["change", "login"])
def test_a_deleted_middle_record_is_found(kind):
    ids = make_records(kind)
    raw(f"DELETE FROM {TABLE[kind]} WHERE id = %s", [ids[2]])
    assert breaks(kind) == [(ids[3], "prev_hash"), (None, "count")]
    err = io.StringIO()
    with pytest.raises(CommandError, match=f"第 {ids[3]} 条断开"):
        call_command("audit_verify", stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines == [
        f"{CHAIN[kind].label}链在第 {ids[3]} 条断开：与上一条记录的链接断开（其前的记录被删除、插入或改动）",
        f"{CHAIN[kind].label}链在末尾断开：记录条数与链头不符（链头记 {len(ids)} 条，库中 {len(ids) - 1} 条）",
    ]


def _open_a_gap(kind: str, ids: list[int]) -> list[int]:
    """Move the records after the third up by 1000 ids: ids are not hashed, so the chain stays whole,
    and there is now room for a record between the third and the fourth."""
    raw(f"UPDATE {TABLE[kind]} SET id = id + 1000 WHERE id > %s", [ids[2]])
    assert breaks(kind) == []
    return [*ids[:3], *(i + 1000 for i in ids[3:])]


@pytest.mark.parametrize("kind", ["change", "login"])
@pytest.mark.parametrize("linked", [True, False], ids=["hash-recomputed", "hash-made-up"])
def test_a_record_inserted_in_the_middle_is_found(kind, linked):
    ids = _open_a_gap(kind, make_records(kind))
    model, chain = CHAIN[kind].model, CHAIN[kind]
    forged = model.objects.get(pk=ids[2])
    forged.pk, forged.prev_hash = ids[2] + 1, forged.hash
    setattr(forged, *ALTER[kind])
    # The attacker either computes the hash the way the code does, chained to the record before, or
    # writes a plausible-looking one.
    forged.hash = chain.hash(forged) if linked else "ab" * 32
    forged.save(force_insert=True)
    expected = [(ids[3], "prev_hash"), (None, "count")]
    if not linked:
        expected.insert(0, (forged.pk, "hash"))
    assert breaks(kind) == expected


@pytest.mark.parametrize("kind", ["change", "login"])
def test_a_deleted_last_record_is_found_by_the_head(kind):
    ids = make_records(kind)
    raw(f"DELETE FROM {TABLE[kind]} WHERE id = %s", [ids[-1]])
    # What remains is a whole chain on its own; only the head knows there was more.
    assert breaks(kind) == [(ids[-2], "head"), (None, "count")]
    with pytest.raises(
        CommandError, match=f"{CHAIN[kind].label}链在第 {ids[-2]} 条断开：链的最后一条记录与链头不符"
    ):
        audit_verify()


@pytest.mark.parametrize("kind", ["change", "login"])
def test_a_forged_record_appended_at_the_end_is_found_by_the_head(kind):
    ids = make_records(kind)
    chain = CHAIN[kind]
    forged = chain.model.objects.get(pk=ids[-1])
    forged.pk, forged.prev_hash = None, forged.hash
    setattr(forged, *ALTER[kind])
    forged.hash = chain.hash(forged)
    forged.save(force_insert=True)
    assert breaks(kind) == [(forged.pk, "head"), (None, "count")]


@pytest.mark.parametrize("kind", ["change", "login"])
def test_new_records_after_a_tail_deletion_keep_showing_the_gap(kind):
    ids = make_records(kind)
    raw(f"DELETE FROM {TABLE[kind]} WHERE id = %s", [ids[-1]])
    make_records(kind, n=1)
    # The next record chains to the head, that is to the deleted record.
    new = CHAIN[kind].model.objects.order_by("-id").first()
    assert (new.pk, "prev_hash") in breaks(kind)


def test_an_append_rolled_back_leaves_neither_record_nor_head_behind():
    make_records("login", n=2)
    head = ChainHead.objects.get(chain="login")
    with pytest.raises(RuntimeError), transaction.atomic():
        record_login(event="login", username="rolled_back")
        raise RuntimeError
    assert not LoginRecord.objects.filter(username="rolled_back").exists()
    assert ChainHead.objects.get(chain="login").last_hash == head.last_hash
    assert breaks("login") == []


def test_bulk_change_records_chain_on_and_move_the_head():
    chain = IndustryChain.objects.create(name="农产品加工", order=8)
    record_change(actor=None, obj=chain, action="create")
    count = changelog.record_changes(
        actor=None,
        changes=[(chain, "update", {"order": i}, {"order": i + 1}) for i in range(30)],
        batch_size=7,
    )
    assert count == 30
    last = ChangeRecord.objects.order_by("-id").first()
    head = ChainHead.objects.get(chain="change")
    assert (head.last_hash, head.count) == (last.hash, 31)
    assert breaks("change") == []


# --- the migration that moved the change log from SHA-256 to SM3

migration = importlib.import_module("guatu.core.migrations.0003_rehash_chains_sm3")


def test_the_migration_rehashes_a_whole_sha256_chain_with_sm3():
    make_records("change")
    sm3_hashes = list(ChangeRecord.objects.order_by("id").values_list("hash", flat=True))
    migration.backwards(apps, None)  # back to SHA-256, as a database before the migration held it
    old = list(ChangeRecord.objects.order_by("id"))
    assert old[0].prev_hash == GENESIS
    assert all(r.hash == CHANGES.hash(r, changelog.sha256_hex) for r in old)
    assert not ChainHead.objects.exists()

    migration.forwards(apps, None)
    assert list(ChangeRecord.objects.order_by("id").values_list("hash", flat=True)) == sm3_hashes
    head = ChainHead.objects.get(chain="change")
    assert (head.last_hash, head.count, head.anchor_hash) == (sm3_hashes[-1], len(sm3_hashes), GENESIS)
    assert ChainHead.objects.get(chain="login").last_hash == GENESIS
    assert breaks("change") == []


def test_the_migration_refuses_a_broken_sha256_chain_and_names_the_record():
    ids = make_records("change")
    migration.backwards(apps, None)
    raw("UPDATE core_changerecord SET object_repr = %s WHERE id = %s", ["篡改", ids[3]])
    before = list(ChangeRecord.objects.order_by("id").values_list("hash", flat=True))
    with pytest.raises(CommandError, match=f"变更记录链在第 {ids[3]} 条断开"):
        migration.forwards(apps, None)
    assert list(ChangeRecord.objects.order_by("id").values_list("hash", flat=True)) == before
