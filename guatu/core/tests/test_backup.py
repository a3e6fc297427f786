"""`guatu backup` and `guatu restore`: a restore brings back every row of every table as it was at the
backup, the change log's chain verifies, and a file that is not a backup, or a restore not confirmed,
changes nothing.

Restoring replaces the whole test database (its file or its schema) under a transactional test:
`serial`, and `serialized_rollback` gives the next tests back the migrations' data."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from guatu.core.changelog import verify_chain
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project, make_world
from guatu.progress.models import MonthlyReport
from guatu.progress.services import report_submit
from guatu.progress.tests.report_helpers import building_project, months_ago, save
from guatu.projects.models import Project

pytestmark = [pytest.mark.serial, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def every_row() -> dict[str, list[tuple]]:
    """Every row of every table (SELECT *), in a stable order."""
    quote = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {quote(table)}")
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def some_data():
    """A world, projects and a submitted monthly report, all written through the services."""
    world = make_world()
    city = world.users["city"]
    projects = [make_project(world, actor=city, name=f"备份测试项目{i}") for i in range(3)]
    building = building_project(world, actor=city, name="备份测试在建项目")
    report = save(city, building, months_ago(1), investment="250", percent="12")
    report_submit(actor=city, report_id=report.pk, version=report.version)
    return world, projects


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def backup_then_restore(tmp_path, suffix: str):
    world, projects = some_data()
    assert ChangeRecord.objects.count() >= 6
    before = every_row()
    path = tmp_path / f"guatu{suffix}"
    output = run("backup", "--output", str(path))
    assert path.is_file() and path.stat().st_size > 0
    assert "备份完成" in output and "用时" in output and str(path) in output
    print(output.strip().splitlines()[-1])  # size and time, for the log

    # Change and delete after the backup, through the services and directly.
    make_project(world, actor=world.users["city"], name="备份之后新建的项目")
    Project.objects.filter(pk=projects[0].pk).update(name="备份之后改的名字", total_investment=Decimal(1))
    MonthlyReport.objects.all().delete()
    assert every_row() != before

    output = run("restore", str(path), "--yes")
    assert "恢复完成" in output and "变更记录链完整" in output
    print(next(line for line in output.splitlines() if "恢复完成" in line))
    after = every_row()
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], f"表 {table} 恢复后与备份时不同"
    assert Project.objects.get(pk=projects[0].pk).name == "备份测试项目0"
    assert not Project.objects.filter(name="备份之后新建的项目").exists()
    assert list(verify_chain()) == []
    run("audit_verify")  # raises CommandError (exit 1) on a broken chain
    # The restored database takes new writes, and their change records chain on.
    make_project(
        world, actor=world.users["city"], name="恢复之后新建的项目", planned_start=dt.date(2026, 5, 1)
    )
    run("audit_verify")


def test_sqlite_backup_and_restore_bring_back_every_row(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("测试数据库不是 SQLite")
    backup_then_restore(tmp_path, ".sqlite3")


def test_postgresql_backup_and_restore_bring_back_every_row(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("测试数据库不是 PostgreSQL（设 GUATU_TEST_DATABASE_URL 可在 PostgreSQL 上运行）")
    backup_then_restore(tmp_path, ".dump")


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    world = make_world()
    make_project(world, actor=world.users["city"])
    before = every_row()
    text = tmp_path / "projects.xlsx"
    text.write_bytes(b"PK\x03\x04 not a database at all")
    with pytest.raises(CommandError, match=r"文件“.*projects\.xlsx”不是 guatu 备份"):
        run("restore", str(text), "--yes")
    missing = tmp_path / "missing.dump"
    with pytest.raises(CommandError, match=r"找不到备份文件“.*missing\.dump”"):
        run("restore", str(missing), "--yes")
    # A backup of the other kind of database.
    other = tmp_path / "other.bak"
    if connection.vendor == "sqlite":
        other.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 64)
        expected = r"是 PostgreSQL 备份，当前数据库是 SQLite"
    else:
        import sqlite3

        sqlite3.connect(other).execute("CREATE TABLE django_migrations (id integer)").connection.commit()
        expected = r"是 SQLite 备份，当前数据库是 PostgreSQL"
    with pytest.raises(CommandError, match=expected):
        run("restore", str(other), "--yes")
    assert every_row() == before


def test_restore_asks_before_overwriting(tmp_path):
    world = make_world()
    path = tmp_path / "guatu.bak"
    run("backup", "-o", str(path))
    make_project(world, actor=world.users["city"], name="备份之后新建的项目")
    before = every_row()
    # No --yes, and no terminal to answer on (pytest's standard input is not one).
    with pytest.raises(CommandError, match="请加 --yes"):
        run("restore", str(path))
    assert every_row() == before
    assert Project.objects.filter(name="备份之后新建的项目").exists()
    run("restore", str(path), "--noinput")
    assert not Project.objects.filter(name="备份之后新建的项目").exists()
