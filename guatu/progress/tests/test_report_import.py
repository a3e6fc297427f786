"""Excel import of a month's reports: a good file; every bad row listed with its row and column, and
nothing written; the import pages (template, dry run, commit)."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from guatu.core.models import ChangeRecord, ImportJob
from guatu.progress.io import columns, import_reports
from guatu.progress.models import MonthlyReport
from guatu.progress.services import report_approve, report_submit, shift_month
from guatu.progress.tests.report_helpers import building_project, months_ago, save, this_month

pytestmark = pytest.mark.django_db

HEADERS = [c.title for c in columns()]


def write(path, rows: list[dict], headers: list[str] | None = None):
    headers = headers or HEADERS
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for values in rows:
        sheet.append([values.get(h.rstrip("*")) for h in headers])
    workbook.save(path)
    return path


def row(project, month, investment=100, percent=10, **extra) -> dict:
    return {
        "项目代码": project.code,
        "项目名称": project.name,
        "月份": f"{month:%Y-%m}",
        "本月完成投资(万元)": investment,
        "形象进度(%)": percent,
        **extra,
    }


def frozen():
    def counts():
        return MonthlyReport.objects.count(), ChangeRecord.objects.count()

    before = counts()
    return lambda: counts() == before


@pytest.fixture
def projects(world):
    return [building_project(world, name=f"双塔项目{i}") for i in range(3)]


def test_a_good_file_saves_every_row_through_the_services(world, projects, tmp_path):
    county = world.users["county"]
    a, b, c = projects
    existing = save(county, c, months_ago(1), investment="1", percent="1")
    path = write(
        tmp_path / "m.xlsx",
        [
            row(a, months_ago(2), investment="1,200.5", percent="20%", 形象进度描述="基础完成", 在岗人数=35),
            row(a, months_ago(1), investment=300, percent=35, 报送="是"),
            row(b, months_ago(1), investment=0, percent=0),
            {
                **row(c, months_ago(1), investment=50, percent=5),
                "月份": f"{months_ago(1).year}年{months_ago(1).month}月",
            },
        ],
    )
    dry = import_reports(actor=county, path=path, commit=False)
    assert (dry.ok, dry.created, dry.updated) == (True, 3, 1)
    assert MonthlyReport.objects.count() == 1  # the dry run wrote nothing
    log_before = ChangeRecord.objects.count()
    result = import_reports(actor=county, path=path, commit=True)
    assert (result.ok, result.total, result.created, result.updated) == (True, 4, 3, 1)
    # One record per write: three reports created, one submitted, one updated.
    assert ChangeRecord.objects.count() - log_before == 5
    first = MonthlyReport.objects.get(project=a, month=months_ago(2))
    assert (first.investment_done, first.percent_complete, first.jobs_on_site) == (Decimal("1200.50"), 20, 35)
    assert first.physical_progress == "基础完成" and first.status.code == "draft"
    second = MonthlyReport.objects.get(project=a, month=months_ago(1))
    assert (second.status.code, second.created_by_id) == ("submitted", county.pk)
    existing.refresh_from_db()
    assert (existing.investment_done, existing.version) == (Decimal("50"), 2)
    assert MonthlyReport.objects.count() == 4


def test_bad_rows_are_each_listed_by_row_and_column_and_nothing_is_written(world, projects, tmp_path):
    county = world.users["county"]
    a, b, c = projects
    elsewhere = building_project(world, region=world.counties["211303"], name="龙城项目")
    approved = save(county, c, months_ago(1), percent="10")
    report_submit(actor=county, report_id=approved.pk, version=1)
    report_approve(actor=county, report_id=approved.pk, version=2)
    save(county, b, months_ago(2), percent="60")
    future = shift_month(this_month(), 1)
    rows = [
        row(a, months_ago(3), percent=30),  # 2: good
        {**row(a, months_ago(1)), "项目代码": "2026-211302-44-01-999999"},  # 3: unknown code
        row(elsewhere, months_ago(1)),  # 4: outside the county
        row(a, months_ago(2), investment=-5, percent=40),  # 5: negative investment
        row(a, months_ago(1), percent=100.5),  # 6: percent over 100
        row(b, months_ago(1), percent=55),  # 7: below the system's 60 of the month before
        row(a, this_month(), percent=25),  # 8: below row 5's 40 of an earlier month
        row(a, future),  # 9: a month in the future
        row(a, months_ago(3), percent=30),  # 10: a duplicate of row 2
        row(c, months_ago(1), percent=20),  # 11: approved already
        {**row(b, months_ago(3)), "月份": "十月"},  # 12: not a month
    ]
    path = write(tmp_path / "bad.xlsx", rows)
    unchanged = frozen()
    result = import_reports(actor=county, path=path, commit=True)
    assert unchanged()
    found = [(e.row, e.column) for e in result.errors]
    assert found == [
        (3, "项目代码"),
        (4, "项目代码"),
        (5, "本月完成投资(万元)"),
        (6, "形象进度(%)"),
        (7, "形象进度(%)"),
        (8, "形象进度(%)"),
        (9, "月份"),
        (10, "月份"),
        (11, "月份"),
        (12, "月份"),
    ], [str(e) for e in result.errors]
    messages = {e.row: str(e) for e in result.errors}
    assert "系统中没有项目代码" in messages[3]
    assert "不在您的管辖范围内" in messages[4]
    assert "不能为负数" in messages[5] and "第5行" in messages[5]
    assert "0 到 100" in messages[6]
    assert "不能低于上月的 60%" in messages[7]
    assert "月报的 40%" in messages[8] and "见第5行" in messages[8]
    assert "不能晚于本月" in messages[9]
    assert "与第2行重复" in messages[10]
    assert "已审核" in messages[11]
    assert "不是有效的月份" in messages[12]
    assert (result.created, result.updated) == (0, 0)


def test_percent_going_down_between_rows_of_the_same_file_is_caught_in_the_dry_run(world, projects, tmp_path):
    a = projects[0]
    path = write(
        tmp_path / "down.xlsx",
        [row(a, months_ago(1), percent=25), row(a, months_ago(2), percent=40)],
    )
    unchanged = frozen()
    result = import_reports(actor=world.users["county"], path=path, commit=False)
    assert unchanged()
    assert [(e.row, e.column) for e in result.errors] == [(2, "形象进度(%)")]
    assert "不能低于上月的 40%" in str(result.errors[0]) and "第3行" in str(result.errors[0])


def test_a_row_above_a_later_months_percent_in_the_system_is_refused(world, projects, tmp_path):
    a = projects[0]
    save(world.users["county"], a, months_ago(1), percent="50")
    path = write(tmp_path / "up.xlsx", [row(a, months_ago(2), percent=60)])
    result = import_reports(actor=world.users["county"], path=path, commit=True)
    assert [(e.row, e.column) for e in result.errors] == [(2, "形象进度(%)")]
    assert "不能高于" in str(result.errors[0]) and "50%" in str(result.errors[0])
    assert MonthlyReport.objects.count() == 1


def test_a_file_without_required_columns_is_refused_whole(world, tmp_path):
    path = write(tmp_path / "cols.xlsx", [{"项目代码": "x"}], headers=["项目代码", "月份"])
    result = import_reports(actor=world.users["county"], path=path, commit=True)
    assert {e.column for e in result.errors} == {"本月完成投资(万元)", "形象进度(%)"}


def test_the_import_pages_template_dry_run_and_commit(client, world, projects, tmp_path):
    client.force_login(world.users["county"])
    list_page = client.get(reverse("progress:report_list"))
    assert reverse("core:import", args=["reports"]) in list_page.content.decode()
    template = client.get(reverse("core:import_template", args=["reports"]))
    assert template.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(template.streaming_content))).active
    assert [c.value for c in sheet[1]] == HEADERS
    path = write(
        tmp_path / "ok.xlsx", [row(p, months_ago(1), investment=10 + i) for i, p in enumerate(projects)]
    )
    with open(path, "rb") as fh:
        response = client.post(reverse("core:import", args=["reports"]), {"file": fh})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.status == ImportJob.Status.VALIDATED
    assert MonthlyReport.objects.count() == 0
    client.post(reverse("core:import_job_commit", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.COMMITTED, 3)
    assert sorted(MonthlyReport.objects.values_list("investment_done", flat=True)) == [10, 11, 12]


def test_the_prefilled_month_sheet_lists_projects_still_owing_and_imports_back(
    client, world, projects, tmp_path
):
    county = world.users["county"]
    a, b, c = projects
    month = months_ago(1)
    done = save(county, c, month)
    report_submit(actor=county, report_id=done.pk, version=1)
    save(county, b, month, investment="7", percent="3")
    client.force_login(county)
    response = client.get(reverse("progress:report_sheet"), {"month": f"{month:%Y-%m}"})
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    rows = [[cell.value for cell in r] for r in sheet.iter_rows(min_row=2)]
    assert sorted(r[0] for r in rows) == sorted([a.code, b.code])  # c is submitted already
    by_code = {r[0]: r for r in rows}
    assert by_code[b.code][3] == 7 and by_code[b.code][2] == f"{month:%Y-%m}"
    sheet.cell(row=[r[0] for r in rows].index(a.code) + 2, column=4, value=99)
    sheet.cell(row=[r[0] for r in rows].index(a.code) + 2, column=5, value=9)
    workbook.save(tmp_path / "back.xlsx")
    result = import_reports(actor=county, path=tmp_path / "back.xlsx", commit=True)
    assert result.ok and (result.created, result.unchanged) == (1, 1), [str(e) for e in result.errors]
    assert MonthlyReport.objects.get(project=a, month=month).investment_done == 99


def test_roles_without_import_get_403(client, world):
    client.force_login(world.users["department"])
    assert client.get(reverse("core:import", args=["reports"])).status_code == 403
    assert client.get(reverse("progress:report_sheet")).status_code == 403


def test_a_big_file_runs_as_a_background_job(client, world, projects, tmp_path, settings):
    settings.IMPORT_BACKGROUND_ROWS = 1  # every file here counts as big; the test backend runs jobs at once
    client.force_login(world.users["county"])
    path = write(tmp_path / "big.xlsx", [row(p, months_ago(1)) for p in projects])
    with open(path, "rb") as fh:
        client.post(reverse("core:import", args=["reports"]), {"file": fh})
    job = ImportJob.objects.get()
    assert (job.status, job.total, job.errors) == (ImportJob.Status.VALIDATED, 3, [])
    client.post(reverse("core:import_job_commit", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMMITTED and MonthlyReport.objects.count() == 3
