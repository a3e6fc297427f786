import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project, project_code
from guatu.org.models import Unit
from guatu.projects.io import columns, import_projects
from guatu.projects.models import Project, StageChange

pytestmark = pytest.mark.django_db

HEADERS = [c.title for c in columns()]


def row(**values) -> dict:
    data = {
        "项目代码": project_code("211302"),
        "项目名称": "双塔区风电装备产业园",
        "项目单位": "朝阳测试实业有限公司",
        "所在地区": "双塔区",
        "产业链": "新能源",
        "项目类型": "产业",
        "建设性质": "新建",
        "总投资(万元)": 52000,
        "年度计划投资(万元)": 20000,
        "计划开工日期": "2026-04-01",
        "计划竣工日期": "2027-10-01",
        "阶段": "",
        "牵头领导": "张副市长",
        "纬度": None,
        "经度": None,
    }
    data.update(values)
    return data


def write(path, rows: list[dict], headers: list[str] | None = None):
    headers = headers or HEADERS
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append([values.get(h.rstrip("*")) for h in headers])
    workbook.save(path)
    return path


def frozen():
    """Counts projects, change records and units now; the returned check says none has changed since."""

    def snapshot():
        return Project.objects.count(), ChangeRecord.objects.count(), Unit.objects.count()

    before = snapshot()
    return lambda: snapshot() == before


def test_a_good_file_creates_every_row_with_one_change_record_each(world, tmp_path):
    path = write(
        tmp_path / "p.xlsx",
        [
            row(
                项目代码="2026-211302-44-01-000001", 计划开工日期=dt.date(2026, 3, 1), 计划竣工日期="2027/3/1"
            ),
            row(
                项目代码="2026-211303-44-01-000002",
                项目名称="龙城区污水处理厂",
                项目单位="龙城测试制造有限公司",
                所在地区="211303",
                产业链="",
                项目类型="民生",
                建设性质="续建",
                **{"总投资(万元)": "1,000.5", "年度计划投资(万元)": 500},
                阶段="在建",
                计划开工日期="2026年5月1日",
                计划竣工日期="",
                纬度=41.57,
                经度=120.45,
            ),
        ],
    )
    project_log = ChangeRecord.objects.filter(content_type__model="project")  # approvals log their own
    before_log = project_log.count()
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    assert result.errors == [] and (result.created, result.updated, result.total) == (2, 0, 2)
    first = Project.objects.get(code="2026-211302-44-01-000001")
    assert first.region.code == "211302" and first.chain == world.chain and first.kind == "industry"
    assert first.stage.code == "planning"  # blank 阶段 on a new project
    assert (first.planned_start, first.planned_completion) == (dt.date(2026, 3, 1), dt.date(2027, 3, 1))
    assert first.total_investment == Decimal("52000.00") and first.lead_leader == "张副市长"
    assert first.created_by == world.users["city"]
    second = Project.objects.get(code="2026-211303-44-01-000002")
    assert second.enterprise == world.other_enterprise and second.chain is None
    assert (second.kind, second.build_type, second.stage.code) == (
        "livelihood",
        "continuing",
        "under_construction",
    )
    assert second.planned_start == dt.date(2026, 5, 1) and second.latitude == Decimal("41.570000")
    assert project_log.count() == before_log + 2


def test_dry_run_reports_what_would_happen_and_writes_nothing(world, tmp_path):
    existing = make_project(world, name="旧名称")
    unchanged = frozen()
    path = write(tmp_path / "p.xlsx", [row(), row(项目代码=existing.code, 项目名称="新名称")])
    progress = []
    result = import_projects(
        actor=world.users["city"], path=path, commit=False, progress=lambda d, t: progress.append((d, t))
    )
    assert result.errors == [] and (result.created, result.updated) == (1, 1)
    assert progress[0] == (0, 2) and progress[-1] == (2, 2)
    assert unchanged()
    existing.refresh_from_db()
    assert existing.name == "旧名称" and existing.version == 1


def test_upsert_updates_changed_rows_leaves_unchanged_ones_and_records_each_change(world, tmp_path):
    changed = make_project(
        world, name="旧名称", total_investment=Decimal("100"), annual_planned_investment=Decimal("50")
    )
    same = make_project(world, name="不变的项目")
    path = write(
        tmp_path / "p.xlsx",
        [
            # Blank optional cells keep what the project has.
            {
                "项目代码": changed.code,
                "项目名称": "新名称",
                "项目单位": changed.enterprise.name,
                "所在地区": "双塔区",
                "项目类型": "产业",
                "总投资(万元)": 150,
            },
            {
                "项目代码": same.code,
                "项目名称": "不变的项目",
                "项目单位": same.enterprise.name,
                "所在地区": "双塔区",
                "项目类型": "产业",
                "总投资(万元)": 12000,
            },
        ],
    )
    before_log = ChangeRecord.objects.count()
    result = import_projects(actor=world.users["county"], path=path, commit=True)
    assert result.errors == [] and (result.created, result.updated, result.unchanged) == (0, 1, 1)
    changed.refresh_from_db()
    assert changed.name == "新名称" and changed.total_investment == Decimal("150.00") and changed.version == 2
    assert changed.chain == world.chain and changed.annual_planned_investment == Decimal("50.00")
    assert ChangeRecord.objects.count() == before_log + 1
    record = ChangeRecord.objects.order_by("-id").first()
    assert (
        record.action == "update"
        and record.object_id == str(changed.pk)
        and record.actor == world.users["county"]
    )


def test_a_changed_stage_moves_the_project_through_the_stage_rules(world, tmp_path):
    project = make_project(world, stage="preparing")
    path = write(tmp_path / "p.xlsx", [row(项目代码=project.code, 项目名称=project.name, 阶段="开工")])
    result = import_projects(actor=world.users["county"], path=path, commit=True)
    assert result.errors == [] and result.updated == 1
    project.refresh_from_db()
    assert project.stage.code == "started"
    assert StageChange.objects.filter(project=project, to_stage__code="started").count() == 1


def test_a_stage_move_the_rules_refuse_is_a_row_error(world, tmp_path):
    planning = make_project(world)  # gates not reviewed: it may not leave 谋划
    preparing = make_project(world, stage="preparing")
    path = write(
        tmp_path / "p.xlsx",
        [
            row(项目代码=planning.code, 项目名称=planning.name, 阶段="签约"),
            row(项目代码=preparing.code, 项目名称=preparing.name, 阶段="竣工"),
        ],
    )
    unchanged = frozen()
    result = import_projects(actor=world.users["county"], path=path, commit=True)
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert "不能离开谋划阶段" in messages[(2, "阶段")]
    assert "只能进入下一阶段或退回上一阶段" in messages[(3, "阶段")]
    assert unchanged()


def test_an_unknown_project_unit_is_created_as_an_enterprise_in_the_rows_region(world, tmp_path):
    path = write(tmp_path / "p.xlsx", [row(项目单位="喀左新材料有限公司", 所在地区="喀喇沁左翼蒙古族自治县")])
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    assert result.errors == []
    unit = Unit.objects.get(name="喀左新材料有限公司")
    assert unit.kind == Unit.Kind.ENTERPRISE and unit.region.code == "211324"
    assert Project.objects.get().enterprise == unit


BAD_ROWS = [
    ({"项目代码": "2026-211302-44-01-12345"}, "项目代码", "格式不对"),
    ({"项目代码": "2026-110101-44-01-000001"}, "项目代码", "不属于本市"),
    ({"总投资(万元)": -5}, "总投资(万元)", "投资额不能为负数"),
    ({"总投资(万元)": "五千万"}, "总投资(万元)", "不是有效的数字"),
    ({"年度计划投资(万元)": "abc"}, "年度计划投资(万元)", "不是有效的数字"),
    ({"计划开工日期": "2026-05-01", "计划竣工日期": "2026-04-01"}, "计划竣工日期", "不能早于计划开工日期"),
    ({"计划开工日期": "下个月"}, "计划开工日期", "不是有效的日期"),
    ({"所在地区": "沈阳市"}, "所在地区", "未知地区"),
    ({"产业链": "航空航天"}, "产业链", "未知产业链"),
    ({"阶段": "竣工验收"}, "阶段", "未知阶段"),
    ({"项目类型": "工业"}, "项目类型", "未知项目类型"),
    ({"建设性质": "扩建"}, "建设性质", "未知建设性质"),
    ({"项目名称": ""}, "项目名称", "必填项不能为空"),
    # Caught by Project.clean() through the service, not by the cell parsers:
    ({"年度计划投资(万元)": 60000}, "年度计划投资(万元)", "不能大于总投资"),
    ({"纬度": 30.1, "经度": 120.4}, "纬度", "不在本市范围内"),
    ({"纬度": 41.5}, "纬度", "须同时填写"),
]


@pytest.mark.parametrize(("values", "column", "message"), BAD_ROWS)
@pytest.mark.parametrize("commit", [True, False])
def test_a_bad_row_names_row_and_column_and_nothing_is_written(
    world, tmp_path, values, column, message, commit
):
    unchanged = frozen()
    path = write(tmp_path / "p.xlsx", [row(), row(**values), row()])
    result = import_projects(actor=world.users["city"], path=path, commit=commit)
    [error] = result.errors
    assert (error.row, error.column) == (3, column)
    assert message in error.message
    assert "第3行" in str(error) and f"“{column}”列" in str(error)
    assert unchanged()


def test_the_same_code_twice_in_one_file_is_an_error(world, tmp_path):
    unchanged = frozen()
    code = project_code("211302")
    path = write(tmp_path / "p.xlsx", [row(项目代码=code), row(), row(项目代码=code, 项目名称="另一个")])
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    [error] = result.errors
    assert (error.row, error.column, error.value) == (4, "项目代码", code)
    assert "与第2行重复" in error.message
    assert unchanged()


def test_every_bad_row_is_listed_not_just_the_first(world, tmp_path):
    unchanged = frozen()
    path = write(
        tmp_path / "p.xlsx",
        [row(**{"总投资(万元)": "x"}), row(所在地区="火星"), row(), row(纬度=10, 经度=10), row(项目类型="")],
    )
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "总投资(万元)"),
        (3, "所在地区"),
        (5, "纬度"),
        (6, "项目类型"),
    ]
    assert unchanged()


def test_a_failure_found_while_writing_rolls_back_the_rows_already_written(world, tmp_path):
    unchanged = frozen()
    # Row 3's coordinates are only checked by the model, after rows 2 (and its new unit) were written.
    path = write(tmp_path / "p.xlsx", [row(项目单位="全新的单位有限公司"), row(纬度=10, 经度=10), row()])
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    assert [(e.row, e.column) for e in result.errors] == [(3, "纬度")]
    assert (result.created, result.updated) == (0, 0)
    assert unchanged()


def test_missing_required_columns_are_named(world, tmp_path):
    unchanged = frozen()
    headers = [h for h in HEADERS if h not in ("项目单位*", "总投资(万元)*")]
    result = import_projects(
        actor=world.users["city"], path=write(tmp_path / "p.xlsx", [row()], headers), commit=True
    )
    assert [(e.row, e.column) for e in result.errors] == [(1, "项目单位"), (1, "总投资(万元)")]
    assert all("缺少必填列" in e.message for e in result.errors)
    assert unchanged()


def test_columns_may_come_in_any_order_and_optional_ones_may_be_missing(world, tmp_path):
    headers = ["总投资(万元)", "项目类型", "所在地区", "项目单位", "项目名称", "项目代码"]
    result = import_projects(
        actor=world.users["city"], path=write(tmp_path / "p.xlsx", [row()], headers), commit=True
    )
    assert result.errors == [] and result.created == 1
    project = Project.objects.get()
    assert project.chain is None and project.build_type == "new" and project.annual_planned_investment == 0


def test_an_empty_workbook_is_refused(world, tmp_path):
    unchanged = frozen()
    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    [error] = import_projects(actor=world.users["city"], path=tmp_path / "empty.xlsx", commit=True).errors
    assert error.row == 1 and "工作簿是空的" in error.message and "项目代码" in error.message
    assert unchanged()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("项目代码,项目名称\n2026-211302-44-01-000001,测试\n".encode(), "不是 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024, "旧版 .xls"),
    ],
)
def test_a_file_that_is_not_xlsx_is_refused(world, tmp_path, content, message):
    unchanged = frozen()
    path = tmp_path / "p.xlsx"
    path.write_bytes(content)
    [error] = import_projects(actor=world.users["city"], path=path, commit=True).errors
    assert message in error.message
    assert unchanged()


def test_a_file_over_the_size_limit_is_refused(world, tmp_path, settings):
    unchanged = frozen()
    path = write(tmp_path / "p.xlsx", [row()])
    settings.IMPORT_MAX_BYTES = path.stat().st_size - 1
    [error] = import_projects(actor=world.users["city"], path=path, commit=True).errors
    assert "超过上限" in error.message
    assert unchanged()


def test_a_county_user_cannot_import_rows_of_another_county(world, tmp_path):
    theirs = make_project(world, region=world.counties["211303"], enterprise=world.other_enterprise)
    unchanged = frozen()
    path = write(
        tmp_path / "p.xlsx",
        [
            row(),
            row(项目代码=project_code("211303"), 所在地区="龙城区"),
            row(项目代码=theirs.code, 项目名称="改别人的项目", 所在地区="龙城区"),
        ],
    )
    result = import_projects(actor=world.users["county"], path=path, commit=True)
    errors = {(e.row, e.column): e.message for e in result.errors}
    assert "无权在“龙城区”新建项目" in errors[(3, "所在地区")]
    assert "项目不存在或无权操作" in errors[(4, "项目代码")]
    assert len(errors) == 2
    assert unchanged()
    theirs.refresh_from_db()
    assert theirs.name != "改别人的项目"


def test_command_imports_and_reports_counts(world, tmp_path, capsys):
    existing = make_project(world)
    path = write(tmp_path / "p.xlsx", [row(), row(项目代码=existing.code, 项目名称="命令行改名")])
    call_command("import_projects", str(path), "--dry-run")
    assert "将新增 1 个，更新 1 个" in capsys.readouterr().out
    assert Project.objects.count() == 1
    call_command("import_projects", str(path))
    assert "新增 1 个，更新 1 个" in capsys.readouterr().out
    assert Project.objects.count() == 2
    existing.refresh_from_db()
    record = ChangeRecord.objects.order_by("-id").first()
    assert existing.name == "命令行改名" and record.actor is None and record.actor_name == "system"


def test_command_prints_each_bad_row_and_fails_without_writing(world, tmp_path, capsys):
    unchanged = frozen()
    path = write(tmp_path / "p.xlsx", [row(), row(**{"总投资(万元)": -1}), row(所在地区="沈阳")])
    with pytest.raises(CommandError) as err:
        call_command("import_projects", str(path))
    assert err.value.returncode == 1 and "未写入任何数据" in str(err.value)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("第3行，“总投资(万元)”列：投资额不能为负数")
    assert lines[1].startswith("第4行，“所在地区”列：未知地区")
    assert unchanged()


def test_errors_of_one_row_come_in_column_order(world, tmp_path):
    code = project_code("211302")
    bad = row(项目代码=code, 计划开工日期="2026-05-01", 计划竣工日期="2026-04-01", **{"总投资(万元)": -1})
    result = import_projects(
        actor=world.users["city"], path=write(tmp_path / "p.xlsx", [row(项目代码=code), bad]), commit=True
    )
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "项目代码"),
        (3, "总投资(万元)"),
        (3, "计划竣工日期"),
    ]
