import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.http import HttpResponse, QueryDict

from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project
from guatu.org.models import Chain
from guatu.projects.filters import ProjectFilterSet
from guatu.projects.io import columns, export_projects, import_projects, projects_template
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db

HEADERS = [c.title for c in columns()]


def read(path):
    sheet = openpyxl.load_workbook(path)["项目"]
    rows = list(sheet.iter_rows(values_only=True))
    return rows[0], [dict(zip([h.rstrip("*") for h in rows[0]], r, strict=True)) for r in rows[1:]]


@pytest.fixture
def registry(world):
    """Projects across two counties, stages and sizes, with values that exercise every column."""
    shuangta, longcheng = world.counties["211302"], world.counties["211303"]
    return {
        "wind": make_project(
            world,
            name="双塔区风电装备产业园",
            stage="started",
            total_investment=Decimal("52000.50"),
            annual_planned_investment=Decimal("20000"),
            planned_start=dt.date(2026, 4, 1),
            planned_completion=dt.date(2027, 10, 1),
            lead_leader="张副市长",
            latitude=Decimal("41.573400"),
            longitude=Decimal("120.450800"),
        ),
        "formula": make_project(world, name='=HYPERLINK("http://x")风电', stage="started", kind="livelihood"),
        "small": make_project(
            world, name="双塔区小项目", total_investment=Decimal("800"), annual_planned_investment=0
        ),
        "longcheng": make_project(
            world,
            name="龙城区风电运维基地",
            region=longcheng,
            enterprise=world.other_enterprise,
            stage="started",
            chain=None,
            build_type="continuing",
        ),
        "shuangta": shuangta,
    }


def test_export_writes_the_template_columns_and_the_projects_values(world, registry, tmp_path):
    path = tmp_path / "out.xlsx"
    qs = Project.objects.filter(pk=registry["wind"].pk)
    assert export_projects(qs, path) == 1
    header, [values] = read(path)
    assert list(header) == HEADERS
    wind = registry["wind"]
    assert values == {
        "项目代码": wind.code,
        "项目名称": "双塔区风电装备产业园",
        "项目单位": "朝阳测试实业有限公司",
        "所在地区": "双塔区",
        "产业链": "新能源",
        "项目类型": "产业",
        "建设性质": "新建",
        "总投资(万元)": 52000.5,
        "年度计划投资(万元)": 20000,
        "计划开工日期": dt.datetime(2026, 4, 1),
        "计划竣工日期": dt.datetime(2027, 10, 1),
        "阶段": "开工",
        "牵头领导": "张副市长",
        "纬度": 41.5734,
        "经度": 120.4508,
    }
    sheet = openpyxl.load_workbook(path)["项目"]
    assert sheet["J2"].number_format == "yyyy-mm-dd"


def test_export_neutralises_text_that_a_spreadsheet_would_run_as_a_formula(world, registry, tmp_path):
    path = tmp_path / "out.xlsx"
    export_projects(Project.objects.filter(pk=registry["formula"].pk), path)
    _header, [values] = read(path)
    assert values["项目名称"] == '\'=HYPERLINK("http://x")风电'
    cell = openpyxl.load_workbook(path)["项目"]["B2"]
    assert cell.data_type == "s"  # stored as text, not as a formula


def test_export_is_exactly_the_filtered_list(world, registry, tmp_path):
    params = QueryDict("region=211302&stage=started&q=风电&ordering=-total_investment")
    qs = ProjectFilterSet(params, queryset=Project.objects.all()).qs
    path = tmp_path / "out.xlsx"
    assert export_projects(qs, path) == 2
    _header, rows = read(path)
    assert [r["项目代码"] for r in rows] == [registry["wind"].code, registry["formula"].code]


def test_export_then_import_round_trips_without_changes(world, registry, tmp_path):
    path = tmp_path / "out.xlsx"
    assert export_projects(Project.objects.all(), path) == 4
    before_log = ChangeRecord.objects.count()
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert ChangeRecord.objects.count() == before_log
    registry["formula"].refresh_from_db()
    assert registry["formula"].name == '=HYPERLINK("http://x")风电' and registry["formula"].version == 1


def test_an_edited_export_updates_just_the_edited_project(world, registry, tmp_path):
    path = tmp_path / "out.xlsx"
    export_projects(Project.objects.order_by("code"), path)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["项目"]
    target = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == registry["small"].code)
    target[7].value = 900  # 总投资(万元)
    workbook.save(path)
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    assert result.errors == [] and (result.updated, result.unchanged) == (1, 3)
    registry["small"].refresh_from_db()
    assert registry["small"].total_investment == Decimal("900.00")


def test_template_has_styled_headers_drop_downs_and_an_explanation_sheet(world, tmp_path):
    Chain.objects.create(name="精细化工", order=2)
    path = tmp_path / "template.xlsx"
    projects_template(path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[:2] == ["项目", "说明"]
    sheet = workbook["项目"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert HEADERS[:4] == ["项目代码*", "项目名称*", "项目单位*", "所在地区*"]
    assert sheet.max_row == 1  # no sample rows that would be imported by mistake
    assert sheet["A1"].font.bold and sheet["A1"].fill.fgColor.rgb.endswith("D63939")
    assert sheet.column_dimensions["B"].width == 36
    lists = workbook["下拉选项"]
    by_column = {}
    for validation in sheet.data_validations.dataValidation:
        letter = str(validation.sqref)[0]
        sheet_ref, cells = validation.formula1.split("!")
        first, last = cells.replace("$", "").split(":")
        options = [c.value for c in lists[first:last] for c in c]
        by_column[sheet[f"{letter}1"].value.rstrip("*")] = options
        assert validation.type == "list" and sheet_ref == "'下拉选项'"
    assert by_column == {
        "所在地区": [
            "朝阳市",
            "双塔区",
            "龙城区",
            "朝阳县",
            "建平县",
            "喀喇沁左翼蒙古族自治县",
            "北票市",
            "凌源市",
        ],
        "产业链": ["新能源", "精细化工"],
        "项目类型": ["产业", "基础设施", "民生"],
        "建设性质": ["新建", "续建"],
        "阶段": ["谋划", "签约", "前期", "开工", "在建", "竣工", "投产", "达产达效"],
    }
    notes = workbook["说明"]
    described = {row[0]: row for row in notes.iter_rows(min_row=2, values_only=True) if row[0]}
    assert set(h.rstrip("*") for h in HEADERS) <= set(described)
    assert described["项目代码"][1] == "必填" and "YYYY-RRRRRR-DD-TT-NNNNNN" in described["项目代码"][2]
    assert described["阶段"][3] == "谋划、签约、前期、开工、在建、竣工、投产、达产达效"


def test_a_filled_in_template_imports(world, tmp_path):
    path = tmp_path / "template.xlsx"
    projects_template(path)
    workbook = openpyxl.load_workbook(path)
    workbook["项目"].append(
        [
            "2026-211321-44-01-000009",
            "朝阳县光伏电站",
            "朝阳县新能源有限公司",
            "朝阳县",
            "新能源",
            "产业",
            "新建",
            30000,
        ]
    )
    workbook.save(path)
    result = import_projects(actor=world.users["city"], path=path, commit=True)
    assert result.errors == [] and result.created == 1
    assert Project.objects.get(code="2026-211321-44-01-000009").region.code == "211321"


def test_export_command_applies_the_list_filters(world, registry, tmp_path, capsys):
    path = tmp_path / "out.xlsx"
    call_command(
        "export_projects", "--output", str(path), "--region", "211302", "--stage", "started", "--q", "风电"
    )
    assert "已导出 2 个项目" in capsys.readouterr().out
    _header, rows = read(path)
    assert {r["项目代码"] for r in rows} == {registry["wind"].code, registry["formula"].code}
    call_command(
        "export_projects", "-o", str(path), "--region", "211302", "--region", "211303", "--kind", "industry",
        "--build-type", "continuing", "--investment-min", "1000",
    )  # fmt: skip
    _header, rows = read(path)
    assert [r["项目代码"] for r in rows] == [registry["longcheng"].code]
    call_command(
        "export_projects", "-o", str(path), "--chain", str(world.chain.pk), "--ordering", "total_investment"
    )
    _header, rows = read(path)
    assert [r["项目代码"] for r in rows] == [
        registry["small"].code,
        registry["formula"].code,
        registry["wind"].code,
    ]


def test_export_command_refuses_an_invalid_filter(world, tmp_path):
    with pytest.raises(CommandError, match="筛选条件有误"):
        call_command("export_projects", "-o", str(tmp_path / "x.xlsx"), "--stage", "no-such-stage")
    assert not (tmp_path / "x.xlsx").exists()


def test_export_streams_into_an_http_response(world, registry):
    # The list page's export view hands the response itself to export_projects.
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert export_projects(Project.objects.filter(region=registry["shuangta"]), response) == 3
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["项目"]
    assert sheet.max_row == 4 and sheet["A1"].value == "项目代码*"
