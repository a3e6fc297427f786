"""Retention: `guatu audit_purge` moves records past the retention of both chains into an archive with
a digest, the chains still verify afterwards, and `audit_verify --archive` finds a tampered archive."""

import datetime as dt
import gzip
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from guatu.core.changelog import (
    CHAINS,
    CHANGES,
    LOGINS,
    AuditError,
    digest,
    purge,
    record_change,
    record_login,
    verify,
    verify_archive,
)
from guatu.core.models import ChainHead, ChangeRecord, LoginRecord
from guatu.org.models import Chain as IndustryChain

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 11, 1, 12, 0))


def at(days_ago: int) -> dt.datetime:
    return NOW - dt.timedelta(days=days_ago)


def aged(model, days_ago: list[int]) -> list[int]:
    """Set the times of the chain's records, oldest first (the times are hashed, so the records are
    re-linked afterwards: as if they had been written on those days)."""
    from guatu.core import changelog

    chain = CHANGES if model is ChangeRecord else LOGINS
    records = list(model.objects.select_related(*chain.related).order_by("id"))
    assert len(records) == len(days_ago)
    head = ChainHead.objects.get(chain=chain.name)
    tail = changelog._Tail(chain, head.anchor_hash)
    for record, days in zip(records, days_ago, strict=True):
        record.time = at(days)
        tail.link(record)
        record.save()
    ChainHead.objects.filter(pk=head.pk).update(last_hash=tail.prev)
    return [r.pk for r in records]


@pytest.fixture
def history():
    """Eight change records and six logins, from 400 days ago to yesterday."""
    chain = IndustryChain.objects.create(name="文旅康养", order=5)
    for i in range(8):
        record_change(actor=None, obj=chain, action="update", before={"order": i}, after={"order": i + 1})
    for i in range(6):
        record_login(event="login", username=f"user{i}")
    changes = aged(ChangeRecord, [400, 300, 250, 200, 181, 179, 30, 1])
    logins = aged(LoginRecord, [365, 190, 185, 100, 10, 0])
    for chain in CHAINS:
        assert list(verify(chain)) == []
    return changes, logins


def test_purge_archives_what_is_past_the_retention_and_the_chains_still_verify(history, tmp_path):
    changes, logins = history
    result = purge(archive_dir=tmp_path, now=NOW)
    assert result.counts == {"change": 5, "login": 3}
    assert result.archive.parent == tmp_path and result.digest_file.is_file()

    assert (
        list(ChangeRecord.objects.filter(pk__in=changes).order_by("id").values_list("id", flat=True))
        == changes[5:]
    )
    assert list(LoginRecord.objects.order_by("id").values_list("id", flat=True)) == logins[3:]
    # The purge is itself on the change log, by the system.
    last = ChangeRecord.objects.order_by("-id").first()
    assert last.actor_name == "system" and last.after["archive"] == result.archive.name
    for chain in CHAINS:
        assert list(verify(chain)) == []
    out = io.StringIO()
    call_command("audit_verify", stdout=out, stderr=io.StringIO())
    assert "变更记录链完整：共 4 条" in out.getvalue() and "登录日志链完整：共 3 条" in out.getvalue()

    head = ChainHead.objects.get(chain="login")
    assert (head.count, head.purged) == (3, 3)

    # The archive holds exactly the purged records, each line hashing to its stored hash.
    lines = [json.loads(line) for line in gzip.decompress(result.archive.read_bytes()).splitlines()]
    assert [(r["chain"], r["id"]) for r in lines] == [("change", i) for i in changes[:5]] + [
        ("login", i) for i in logins[:3]
    ]
    assert [r["username"] for r in lines if r["chain"] == "login"] == ["user0", "user1", "user2"]
    described = json.loads(result.digest_file.read_text(encoding="utf-8"))
    assert described["sm3"] == digest(result.archive.read_bytes())
    assert described["chains"]["login"]["last_hash"] == head.anchor_hash == lines[7]["hash"]
    assert described["chains"]["change"]["first_hash"] == lines[0]["hash"]

    report = verify_archive(result.archive)
    assert report.problems == []
    assert any("清理记录一致" in note for note in report.notes)
    out = io.StringIO()
    call_command("audit_verify", "--archive", str(result.archive), stdout=out)
    assert "完整：变更记录 5 条，登录日志 3 条" in out.getvalue()


def test_chains_go_on_after_a_purge_and_a_second_purge_continues_from_the_anchor(history, tmp_path):
    purge(archive_dir=tmp_path, now=NOW)
    record_login(event="logout", username="after_purge")
    second = purge(archive_dir=tmp_path, now=NOW + dt.timedelta(days=20))
    # 20 days later the change of 179 days ago is past the retention; no login is yet.
    assert second.counts == {"change": 1, "login": 0}
    for chain in CHAINS:
        assert list(verify(chain)) == []
    assert verify_archive(second.archive).problems == []


def test_a_purge_of_everything_leaves_a_chain_that_verifies_and_goes_on(tmp_path):
    record_login(event="login", username="only")
    aged(LoginRecord, [500])
    result = purge(archive_dir=tmp_path, now=NOW)
    assert result.counts["login"] == 1 and not LoginRecord.objects.exists()
    assert list(verify(LOGINS)) == []
    record_login(event="login", username="next")
    assert list(verify(LOGINS)) == []


def test_before_purges_less_but_never_within_the_retention(history, tmp_path):
    result = purge(archive_dir=tmp_path, now=NOW, before=dt.date(2025, 11, 2))
    assert result.counts == {"change": 1, "login": 1}
    too_late = (NOW - dt.timedelta(days=150)).date()
    with pytest.raises(AuditError, match=f"--before {too_late:%Y-%m-%d} 晚于保留期限"):
        purge(archive_dir=tmp_path, now=NOW, before=too_late)


def test_a_dry_run_changes_nothing(history, tmp_path):
    result = purge(archive_dir=tmp_path / "archive", now=NOW, dry_run=True)
    assert result.counts == {"change": 5, "login": 3} and result.archive is None
    assert not (tmp_path / "archive").exists()
    assert ChangeRecord.objects.count() == 8 and LoginRecord.objects.count() == 6


def test_the_command_refuses_a_retention_below_180_days(history, tmp_path, settings):
    settings.AUDIT_RETENTION_DAYS = 90
    with pytest.raises(CommandError, match="GUATU_AUDIT_RETENTION_DAYS=90 低于至少 180 天"):
        call_command("audit_purge", "--archive", str(tmp_path), stdout=io.StringIO())
    assert ChangeRecord.objects.count() == 8 and not list(tmp_path.iterdir())


def test_a_longer_retention_keeps_more_and_text_that_is_not_a_number_is_refused(history, tmp_path, settings):
    settings.AUDIT_RETENTION_DAYS = "179"  # as read from GUATU_AUDIT_RETENTION_DAYS
    with pytest.raises(AuditError, match="179 低于"):
        purge(archive_dir=tmp_path, now=NOW)
    settings.AUDIT_RETENTION_DAYS = "半年"
    with pytest.raises(AuditError, match="“半年”不是整数"):
        purge(archive_dir=tmp_path, now=NOW)
    settings.AUDIT_RETENTION_DAYS = "364"
    assert purge(archive_dir=tmp_path, now=NOW, dry_run=True).counts == {"change": 1, "login": 1}


def test_the_command_purges_with_the_real_clock(tmp_path):
    record_login(event="login", username="old")
    record_login(event="login", username="recent")
    LoginRecord.objects.filter(username="old").update(time=timezone.now() - dt.timedelta(days=365))
    # The time is hashed: the record now fails its hash, and the purge refuses to archive it away.
    old = LoginRecord.objects.get(username="old").pk
    with pytest.raises(CommandError, match=f"登录日志链在第 {old} 条断开，未清理任何记录"):
        call_command("audit_purge", "--archive", str(tmp_path), stdout=io.StringIO())
    assert LoginRecord.objects.count() == 2 and not list(tmp_path.iterdir())

    aged_days = (timezone.now() - at(365)).days
    aged(LoginRecord, [aged_days, 0])
    out = io.StringIO()
    call_command("audit_purge", "--archive", str(tmp_path), "--dry-run", stdout=out)
    assert "将清理 变更记录 0 条，登录日志 1 条" in out.getvalue()
    call_command("audit_purge", "--archive", str(tmp_path), stdout=out)
    assert "已归档并清理" in out.getvalue()
    assert list(LoginRecord.objects.values_list("username", flat=True)) == ["recent"]


def _tamper(path, change):
    lines = gzip.decompress(path.read_bytes()).splitlines()
    rows = [json.loads(line) for line in lines]
    change(rows)
    data = b"".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        for r in rows
    )
    path.write_bytes(gzip.compress(data))


def test_a_tampered_archive_is_found(history, tmp_path):
    result = purge(archive_dir=tmp_path, now=NOW)

    def rename_user(rows):
        rows[6]["username"] = "mallory"

    _tamper(result.archive, rename_user)
    report = verify_archive(result.archive)
    assert any("SM3 摘要与摘要文件不符" in p for p in report.problems)
    assert any("登录日志" in p and "内容与摘要不符" in p for p in report.problems)
    with pytest.raises(CommandError, match="校验未通过"):
        call_command(
            "audit_verify", "--archive", str(result.archive), stdout=io.StringIO(), stderr=io.StringIO()
        )


def test_an_archive_rewritten_with_its_digest_is_found_by_the_purge_record(history, tmp_path):
    result = purge(archive_dir=tmp_path, now=NOW)
    from guatu.core.changelog import _canonical

    def drop_and_relink(rows):
        # Remove a change record and recompute every later hash: the file chains again.
        del rows[2]
        prev = rows[1]["hash"]
        for row in rows[2 : 5 - 1]:
            row["prev_hash"] = prev
            payload = {k: v for k, v in row.items() if k not in {"chain", "id", "hash"}}
            row["hash"] = prev = digest(_canonical(payload))

    _tamper(result.archive, drop_and_relink)
    described = json.loads(result.digest_file.read_text(encoding="utf-8"))
    lines = [json.loads(line) for line in gzip.decompress(result.archive.read_bytes()).splitlines()]
    described["sm3"] = digest(result.archive.read_bytes())
    described["chains"]["change"].update(count=4, last_hash=lines[3]["hash"], last_id=lines[3]["id"])
    result.digest_file.write_text(json.dumps(described), encoding="utf-8")

    # The file and its digest agree with each other; only the purge's own change record tells.
    report = verify_archive(result.archive)
    assert len(report.problems) == 1 and "清理记录所记不符" in report.problems[0], report.problems


def test_a_missing_archive_or_digest_is_reported(tmp_path):
    report = verify_archive(tmp_path / "audit-none.jsonl.gz")
    assert report.problems and "无法读取" in report.problems[0]
