"""The import writes new projects in bulk: it must leave exactly what writing them row by row
through project_create leaves, and stay all or nothing."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from guatu.core.changelog import verify_chain
from guatu.core.models import ChangeRecord
from guatu.core.sheet_import import RowWriter
from guatu.core.testing import make_project, project_code
from guatu.org.models import Unit
from guatu.projects import io
from guatu.projects.io import import_projects
from guatu.projects.models import Project, ProjectApproval
from guatu.projects.tests.test_import import frozen, row, write

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def bulk_always(monkeypatch):
    """Every file through the bulk path, however few its rows."""
    monkeypatch.setattr(io, "BULK_FROM_ROWS", 1)


# test_import's cases (bad cells, scope, stages, units, all or nothing, ...) run here once more,
# their new rows written in bulk.
from guatu.projects.tests.test_import import *  # noqa: E402, F403

ROWS = 300
KINDS = ["产业", "基础设施", "民生"]
STAGES = ["", "谋划", "在建", "签约"]
# Time, identity and chain fields differ between any two runs; everything else must not.
VOLATILE = {"id", "created_at", "updated_at"}


def many_rows(count: int = ROWS) -> list[dict]:
    rows = []
    for i in range(count):
        region = ["211302", "211303", "211381"][i % 3]
        rows.append(
            row(
                项目代码=project_code(region, n=900000 + i),
                项目名称=f"批量导入项目{i}",
                # The first row brings a unit the system does not know yet.
                项目单位="批量导入新建单位有限公司"
                if i == 0
                else ["朝阳测试实业有限公司", "龙城测试制造有限公司"][i % 2],
                所在地区=region,
                项目类型=KINDS[i % 3],
                阶段=STAGES[i % 4],
                产业链="新能源" if i % 2 else "",
                **{"总投资(万元)": 1000 + i, "年度计划投资(万元)": i},
                计划开工日期=dt.date(2026, 1 + i % 12, 1),
                纬度=41.5 if i % 5 == 0 else None,
                经度=120.4 if i % 5 == 0 else None,
            )
        )
    return rows


def row_by_row(monkeypatch):
    """The import as it wrote before bulk writes: every row through project_create in a savepoint."""
    monkeypatch.setattr(io._RowWriter, "write_rows", RowWriter.write_rows)


def outcome(since: int) -> dict:
    """What an import left, with database ids and times replaced by what names the rows."""
    units = dict(Unit.objects.values_list("pk", "name"))
    codes = dict(Project.objects.values_list("pk", "code"))

    def plain(data, model):
        if data is None:
            return None
        data = {k: v for k, v in data.items() if k not in VOLATILE}
        if "enterprise_id" in data:
            data["enterprise_id"] = units[data["enterprise_id"]]
        if model == "projectapproval":
            data["project_id"] = codes[data["project_id"]]
        return data

    def key(record):
        model = record.content_type.model
        if model == "project":
            return codes[int(record.object_id)]
        if model == "projectapproval":
            approval = ProjectApproval.objects.get(pk=record.object_id)
            return (codes[approval.project_id], approval.kind.code)
        return record.object_repr

    records = ChangeRecord.objects.filter(pk__gt=since).select_related("content_type").order_by("id")
    projects = Project.objects.filter(code__in=[r["项目代码"] for r in many_rows()])
    return {
        "projects": {
            p.code: {
                **{k: v for k, v in p.__dict__.items() if k not in VOLATILE and not k.startswith("_")},
                "enterprise_id": units[p.enterprise_id],
                "approvals": sorted(p.approvals.values_list("kind__code", "status", "created_by")),
                "departments": list(p.departments.all()),
            }
            for p in projects
        },
        "records": [
            (
                r.action,
                r.content_type.model,
                key(r),
                r.actor_id,
                r.actor_name,
                r.object_repr,
                plain(r.before, r.content_type.model),
                plain(r.after, r.content_type.model),
            )
            for r in records
        ],
    }


def last_record_id() -> int:
    return ChangeRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_bulk_import_leaves_what_row_by_row_import_leaves(world, tmp_path, monkeypatch):
    path = write(tmp_path / "p.xlsx", many_rows())
    actor = world.users["city"]
    since = last_record_id()
    with monkeypatch.context() as patch:
        row_by_row(patch)
        with transaction.atomic():
            result = import_projects(actor=actor, path=path, commit=True)
            assert result.errors == [] and result.created == ROWS
            expected = outcome(since)
            transaction.set_rollback(True)
    assert not Project.objects.filter(code=many_rows(1)[0]["项目代码"]).exists()

    result = import_projects(actor=actor, path=path, commit=True)
    assert result.errors == [] and (result.created, result.updated, result.total) == (ROWS, 0, ROWS)
    got = outcome(since)
    assert len(got["projects"]) == ROWS and got["projects"] == expected["projects"]
    assert ProjectApproval.objects.filter(project__code__in=got["projects"]).count() > ROWS  # 前期手续 made
    assert len(got["records"]) == len(expected["records"])
    assert got["records"] == expected["records"]
    assert list(verify_chain()) == []


def test_bulk_import_asks_nothing_per_row(world, tmp_path, monkeypatch):
    # The rollups' refresh is theirs to count (guatu/targets/tests); here only the import's queries.
    monkeypatch.setattr("guatu.targets.rollups.refresh_projects", lambda ids: None)
    small, large = (write(tmp_path / f"p{n}.xlsx", many_rows(n)) for n in (30, ROWS))
    counts = []
    for path in (small, large):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            assert import_projects(actor=world.users["city"], path=path, commit=True).created
            transaction.set_rollback(True)
        # Left out: INSERT batches (SQLite caps the values per statement) and the region lookups
        # Project.clean() makes for each project through guatu.org.selectors.
        counts.append(
            sum(
                1
                for q in queries
                if not q["sql"].startswith("INSERT") and not q["sql"].startswith('SELECT "org_region"')
            )
        )
    # Ten times the rows, the same queries.
    assert counts[1] <= counts[0] + 5, counts


@pytest.mark.parametrize("commit", [True, False])
def test_one_bad_row_among_many_writes_nothing_and_is_named(world, tmp_path, commit):
    rows = many_rows()
    # Found only by Project.clean() inside the bulk write, not by the cell parsers.
    rows[149].update({"年度计划投资(万元)": 5000, "总投资(万元)": 100})
    unchanged = frozen()
    result = import_projects(actor=world.users["city"], path=write(tmp_path / "p.xlsx", rows), commit=commit)
    [error] = result.errors
    assert (error.row, error.column) == (151, "年度计划投资(万元)")
    assert "年度计划投资不能大于总投资" in error.message and "第151行" in str(error)
    assert unchanged()
    assert result.created == (0 if commit else ROWS - 1)


@pytest.mark.parametrize("commit", [True, False])
def test_rows_outside_the_actors_scope_are_each_named_and_nothing_is_written(world, tmp_path, commit):
    # A 双塔区 user: every 龙城区 and 北票市 row of the file is refused, after the others were written.
    unchanged = frozen()
    result = import_projects(
        actor=world.users["county"], path=write(tmp_path / "p.xlsx", many_rows()), commit=commit
    )
    refused = {e.row for e in result.errors}
    assert refused == {i + 2 for i in range(ROWS) if i % 3}
    assert all(e.column == "所在地区" and "无权在" in e.message for e in result.errors)
    assert result.created == (0 if commit else ROWS // 3)
    assert unchanged()


def test_new_and_updated_rows_in_one_file(world, tmp_path):
    existing = make_project(world, name="旧名称")
    rows = [*many_rows(20), row(项目代码=existing.code, 项目名称="新名称")]
    since = last_record_id()
    result = import_projects(actor=world.users["city"], path=write(tmp_path / "p.xlsx", rows), commit=True)
    assert result.errors == [] and (result.created, result.updated) == (20, 1)
    existing.refresh_from_db()
    assert existing.name == "新名称" and existing.version == 2
    updates = ChangeRecord.objects.filter(pk__gt=since, action="update", content_type__model="project")
    assert list(updates.values_list("object_id", flat=True)) == [str(existing.pk)]
    assert list(verify_chain()) == []


def test_bulk_import_refreshes_the_rollups_of_every_new_project(world, tmp_path, monkeypatch):
    # bulk inserts send no post_save signal, so the import asks for the refresh itself.
    refreshed = []
    monkeypatch.setattr("guatu.targets.rollups.refresh_projects", lambda ids: refreshed.extend(ids))
    result = import_projects(
        actor=world.users["city"], path=write(tmp_path / "p.xlsx", many_rows(40)), commit=True
    )
    assert result.created == 40
    created = set(
        Project.objects.filter(code__in=[r["项目代码"] for r in many_rows(40)]).values_list("pk", flat=True)
    )
    assert len(created) == 40 and created <= set(refreshed)


def test_a_database_error_in_the_bulk_write_falls_back_to_row_by_row(world, tmp_path, monkeypatch):
    def broken(objs, **kwargs):
        raise DatabaseError("simulated")

    monkeypatch.setattr("guatu.projects.services.bulk_insert", broken)
    result = import_projects(
        actor=world.users["city"], path=write(tmp_path / "p.xlsx", many_rows(60)), commit=True
    )
    assert result.errors == [] and result.created == 60
    assert Project.objects.filter(code__in=[r["项目代码"] for r in many_rows(60)]).count() == 60
    assert list(verify_chain()) == []
