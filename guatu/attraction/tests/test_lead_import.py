import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from guatu.attraction import services
from guatu.attraction.io import columns, export_leads, import_leads, leads_template
from guatu.attraction.models import Lead, LeadStageChange
from guatu.attraction.tests.leads_helpers import TODAY, county_unit, link, make_lead
from guatu.core.models import ChangeRecord, ImportJob
from guatu.org.models import Chain

pytestmark = pytest.mark.django_db

HEADERS = [c.title for c in columns()]


def row(**values) -> dict:
    data = {
        "项目名称": "动力电池正极材料项目",
        "投资方": "北京测试新材料有限公司",
        "投资方所在地": "北京市",
        "产业链": "新能源",
        "产业链环节": "",
        "链上位置": "中游",
        "意向投资(万元)": 30000,
        "招商单位": "市发展和改革委员会",
        "拟落地县(市)区": "双塔区",
        "联系人": "王经理",
        "联系电话": "13800000000",
        "预计签约日期": "2026-09-01",
        "阶段": "",
        "阶段日期": "",
        "产业契合": "通过",
        "转移类型": "溢出",
        "两高项目": "否",
        "六小项目": "否",
    }
    data.update(values)
    return data


def write(path, rows: list[dict]):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for values in rows:
        sheet.append([values.get(h.rstrip("*")) for h in HEADERS])
    workbook.save(path)
    return path


def frozen():
    def state():
        return Lead.objects.count(), LeadStageChange.objects.count(), ChangeRecord.objects.count()

    before = state()
    return lambda: state() == before


def run(path, user, commit=True):
    return import_leads(actor=user, path=path, commit=commit, today=TODAY)


def test_a_good_file_creates_each_lead_at_its_stage(world, tmp_path):
    link(world, "正极材料", position="midstream")
    path = write(
        tmp_path / "l.xlsx",
        [
            row(产业链环节="正极材料", 链上位置=""),
            row(项目名称="储能电站", 投资方="天津测试储能有限公司", 阶段="洽谈", 阶段日期="2026-03-01",
                **{"意向投资(万元)": "1,200.5", "用地(亩)": 80}),
        ],
    )  # fmt: skip
    result = run(path, world.users["city"])
    assert result.errors == [] and (result.created, result.updated) == (2, 0)
    first = Lead.objects.get(name="动力电池正极材料项目")
    assert first.stage.code == "clue" and first.link.name == "正极材料" and first.position == "midstream"
    assert (first.industry_fit, first.relocation, first.amount) == (
        "passed",
        "spillover",
        Decimal("30000.00"),
    )
    assert first.expected_signing == dt.date(2026, 9, 1) and first.contact_phone == "13800000000"
    assert LeadStageChange.objects.get(lead=first).on == TODAY  # blank 阶段日期: today
    second = Lead.objects.get(name="储能电站")
    assert second.stage.code == "negotiating" and second.amount == Decimal("1200.50")
    assert LeadStageChange.objects.get(lead=second).on == dt.date(2026, 3, 1)
    assert second.land_mu == Decimal("80.00") and second.created_by == world.users["city"]


def test_bad_rows_are_listed_with_row_and_column_and_nothing_is_written(world, tmp_path):
    other = Chain.objects.create(name="钢铁深加工", order=2)
    link(world, "特钢", chain=other)
    unchanged = frozen()
    path = write(
        tmp_path / "l.xlsx",
        [
            row(项目名称="好的一行"),
            row(项目名称="未知产业链", 产业链="火星产业"),
            row(项目名称="阶段错误", 阶段="已开花"),
            row(项目名称="负数投资", **{"意向投资(万元)": -100}),
            row(项目名称="别链的环节", 产业链环节="特钢"),
            row(项目名称="零投资", **{"意向投资(万元)": 0}),
        ],
    )
    result = run(path, world.users["city"])
    errors = {(e.row, e.column): e.message for e in result.errors}
    assert "未知产业链" in errors[(3, "产业链")]
    assert "未知阶段" in errors[(4, "阶段")] and "正式签约" in errors[(4, "阶段")]
    assert "意向投资不能为负数" in errors[(5, "意向投资(万元)")]
    assert "环节“特钢”不属于产业链“新能源”（属于“钢铁深加工”）" in errors[(6, "产业链环节")]
    assert "须大于 0" in errors[(7, "意向投资(万元)")]
    assert all(e.row != 2 for e in result.errors)
    assert "第3行，“产业链”列" in str(next(e for e in result.errors if e.row == 3))
    assert (result.created, result.updated) == (0, 0)
    assert unchanged()


def test_rules_of_the_services_are_row_errors(world, tmp_path):
    path = write(
        tmp_path / "l.xlsx",
        [
            row(项目名称="企业不是招商单位", 招商单位="朝阳测试实业有限公司"),
            row(项目名称="两高签约", 阶段="正式签约", 两高项目="是", 阶段日期="2026-03-01"),
            row(项目名称="未来日期", 阶段日期="2026-12-01"),
            row(项目名称="重复"),
            row(项目名称="重复"),
        ],
    )
    unchanged = frozen()
    result = run(path, world.users["city"])
    errors = {(e.row, e.column): e.message for e in result.errors}
    assert "未知招商单位" in errors[(2, "招商单位")]
    assert "研判未通过，不能签约：两高项目" in errors[(3, "阶段")]
    assert "不能晚于今天" in errors[(4, "阶段日期")]
    assert "与第5行重复" in errors[(6, "项目名称")]
    assert unchanged()


def test_dry_run_writes_nothing(world, tmp_path):
    existing = make_lead(world, name="已有线索", investor="北京测试新材料有限公司")
    unchanged = frozen()
    path = write(tmp_path / "l.xlsx", [row(), row(项目名称="已有线索", **{"意向投资(万元)": 1})])
    result = run(path, world.users["city"], commit=False)
    assert result.errors == [] and (result.created, result.updated) == (1, 1)
    assert unchanged()
    existing.refresh_from_db()
    assert existing.amount == Decimal("20000.00") and existing.version == 1


def test_rows_match_by_name_and_investor_and_move_stages_forward(world, tmp_path):
    lead = make_lead(world, name="风电整机", investor="北京测试新材料有限公司", start=dt.date(2026, 1, 5))
    path = write(
        tmp_path / "l.xlsx",
        [row(项目名称="风电整机", 阶段="框架协议", 阶段日期="2026-02-01", **{"意向投资(万元)": 25000})],
    )
    result = run(path, world.users["county"])
    assert result.errors == [] and (result.created, result.updated) == (0, 1)
    lead.refresh_from_db()
    assert lead.amount == Decimal("25000.00") and lead.stage.code == "framework"
    steps = list(LeadStageChange.objects.filter(lead=lead).values_list("to_stage__code", "on"))
    assert steps[1:] == [("negotiating", dt.date(2026, 2, 1)), ("framework", dt.date(2026, 2, 1))]
    back = write(tmp_path / "b.xlsx", [row(项目名称="风电整机", 阶段="线索")])
    result = run(back, world.users["county"])
    assert "阶段不能后退" in result.errors[0].message


def test_a_county_cannot_import_over_another_countys_lead(world, tmp_path):
    make_lead(world, name="龙城项目", investor="北京测试新材料有限公司", region=world.counties["211303"],
              attracting_unit=world.other_department)  # fmt: skip
    path = write(tmp_path / "l.xlsx", [row(项目名称="龙城项目", **{"拟落地县(市)区": "龙城区"})])
    unchanged = frozen()
    result = run(path, world.users["county"])
    assert "不存在或无权操作" in result.errors[0].message
    assert unchanged()


def test_round_trip_export_then_import_updates_nothing(world, tmp_path):
    battery = link(world, "动力电池", position="midstream")
    make_lead(world, name="线索甲", link=battery, contact_name="李四", contact_phone="0421-1234567")
    make_lead(world, name="线索乙", stage="registered", land_mu=Decimal("12.5"), energy_tce=Decimal("800"),
              expected_signing=dt.date(2026, 3, 1), screening_note="符合规划")  # fmt: skip
    dropped = make_lead(world, name="线索丙", stage="negotiating", relocation="spillover",
                        attracting_unit=county_unit(world))  # fmt: skip
    services.lead_drop(
        actor=None, lead_id=dropped.pk, version=dropped.version, reason="资金不到位", today=TODAY
    )
    make_lead(world, name="线索丁", is_two_high=True, industry_fit="pending")
    path = tmp_path / "export.xlsx"
    assert export_leads(Lead.objects.all(), path) == 4
    unchanged = frozen()
    result = run(path, world.users["city"])
    assert result.errors == [] and (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert unchanged()


def test_export_of_the_filtered_list(world, client):
    make_lead(world, name="洽谈中的项目", stage="negotiating")
    make_lead(world, name="还是线索")
    client.force_login(world.users["city"])
    response = client.get(reverse("attraction:lead_export"), {"stage": "negotiating"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    names = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["洽谈中的项目"]
    client.force_login(world.users["enterprise"])
    assert client.get(reverse("attraction:lead_export")).status_code == 403


def test_the_template_has_drop_down_lists(world, tmp_path):
    link(world, "正极材料")
    buffer = io.BytesIO()
    leads_template(buffer)
    workbook = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = workbook.active
    headers = [c.value for c in sheet[1]]
    lists = {str(v.sqref).split(":")[0].rstrip("0123456789") for v in sheet.data_validations.dataValidation}
    letter = {h.rstrip("*"): openpyxl.utils.get_column_letter(i) for i, h in enumerate(headers, start=1)}
    for header in ("阶段", "产业链", "拟落地县(市)区", "招商单位", "链上位置", "产业链环节", "两高项目"):
        assert letter[header] in lists, header
    options = workbook["下拉选项"]
    values = {c.value for col in options.iter_cols() for c in col}
    assert {"正式签约", "新能源", "双塔区", "市发展和改革委员会", "上游", "正极材料"} <= values


def test_import_through_the_job_page(world, client, tmp_path):
    path = write(tmp_path / "l.xlsx", [row()])
    client.force_login(world.users["city"])
    assert client.get(reverse("core:import", args=["leads"])).status_code == 200
    upload = SimpleUploadedFile("l.xlsx", path.read_bytes())
    response = client.post(reverse("core:import", args=["leads"]), {"file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == ImportJob.Status.VALIDATED
    assert not Lead.objects.exists()
    client.post(reverse("core:import_job_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED and Lead.objects.count() == 1
    client.force_login(world.users["department"])
    assert "Excel导入" not in client.get(reverse("attraction:lead_list")).content.decode()


def test_commands_export_then_dry_run_import(world, tmp_path):
    from django.core.management import CommandError, call_command

    make_lead(world, name="命令导出", stage="negotiating")
    make_lead(world, name="不导出的")
    path = tmp_path / "out.xlsx"
    out = io.StringIO()
    call_command("export_leads", "-o", str(path), "--stage", "negotiating", stdout=out)
    assert "已导出 1 条" in out.getvalue()
    unchanged = frozen()
    out = io.StringIO()
    call_command("import_leads", str(path), "--dry-run", stdout=out)
    assert "未变化 1 条" in out.getvalue()
    bad = write(tmp_path / "bad.xlsx", [row(产业链="火星产业")])
    with pytest.raises(CommandError):
        call_command("import_leads", str(bad), stderr=io.StringIO())
    assert unchanged()
