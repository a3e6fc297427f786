"""The report pages: the month sheet, the phone form, the workflow buttons, the 409 race through the
page, the project page's S-curve."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from guatu.core.testing import make_project
from guatu.progress import selectors
from guatu.progress.models import MonthlyReport
from guatu.progress.services import report_approve, report_submit
from guatu.progress.tests.report_helpers import building_project, months_ago, save, this_month

pytestmark = pytest.mark.django_db


def month_text(month) -> str:
    return f"{month:%Y-%m}"


def list_url(**params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("progress:report_list") + (f"?{query}" if query else "")


def detail_url(report) -> str:
    return reverse("progress:report_detail", args=[report.pk])


def action_url(report, action: str) -> str:
    return reverse("progress:report_action", args=[report.pk, action])


def test_the_list_needs_a_login_and_a_business_role(client, world):
    response = client.get(list_url())
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(world.users["auditor"])
    assert client.get(list_url()).status_code == 403


def test_the_month_sheet_shows_reports_and_the_projects_without_one(client, world):
    month = months_ago(1)
    reported = building_project(world, name="已填报的项目")
    building_project(world, name="还没填报的项目")
    building_project(world, name="龙城的项目", region=world.counties["211303"])
    save(world.users["county"], reported, month, investment="321.5", percent="44")
    client.force_login(world.users["county"])
    response = client.get(list_url(month=month_text(month)))
    body = response.content.decode()
    assert response.status_code == 200
    assert "已填报的项目" in body and "还没填报的项目" in body and "龙城的项目" not in body
    assert "321.5" in body and "未填报" in body
    add_links = re.findall(r'href="(/progress/reports/new/\d+/[\d-]+/)"', body)
    assert len(set(add_links)) == 1 and add_links[0].endswith(f"/{month_text(month)}/")
    assert "月报导入" in body


def test_the_sheet_filters_by_status_and_missing(client, world):
    month = months_ago(2)
    a = building_project(world, name="草稿甲")
    b = building_project(world, name="报送乙")
    building_project(world, name="空白丙")
    save(world.users["city"], a, month)
    report_submit(actor=world.users["city"], report_id=save(world.users["city"], b, month).pk, version=1)
    client.force_login(world.users["city"])
    missing = client.get(list_url(month=month_text(month), flag="missing")).content.decode()
    assert "草稿甲" in missing and "空白丙" in missing and "报送乙" not in missing
    submitted = client.get(list_url(month=month_text(month), status="submitted")).content.decode()
    assert "报送乙" in submitted and "草稿甲" not in submitted
    none = client.get(list_url(month=month_text(month), status="none")).content.decode()
    assert "空白丙" in none and "草稿甲" not in none
    bad = client.get(list_url(month="2026-13"))
    assert bad.status_code == 200 and "月份格式应为" in bad.content.decode()


def test_the_list_page_queries_do_not_grow_with_rows(client, world, django_assert_num_queries):
    month = months_ago(1)
    client.force_login(world.users["county"])

    def build(n):
        for _ in range(n):
            project = building_project(world)
            save(world.users["county"], project, month)

    build(3)
    client.get(list_url(month=month_text(month)))  # warm caches (content types, sessions)
    with django_assert_num_queries(14) as few:  # 13, and the bell's unread count
        assert client.get(list_url(month=month_text(month))).status_code == 200
    build(12)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(list_url(month=month_text(month)))
    assert response.content.decode().count("/progress/reports/") >= 15


def test_the_phone_form_shows_last_month_and_the_running_total(client, world):
    project = building_project(world)
    county = world.users["county"]
    save(county, project, months_ago(3), investment="1000", percent="10")
    save(county, project, months_ago(2), investment="234.5", percent="27.5")
    client.force_login(county)
    response = client.get(reverse("progress:report_add", args=[project.pk, month_text(months_ago(1))]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'accept="image/jpeg,image/png"' in body and 'capture="environment"' in body
    assert 'inputmode="decimal"' in body and 'name="viewport"' in body
    assert "234.50" in body and "27.5%" in body  # last month's figures
    assert 'data-cumulative-base="1234.50"' in body  # the running total the page adds to
    assert "progress/report_form.js" in body and "<script>" not in body


def test_adding_through_the_form_and_the_add_page_of_an_existing_month_redirects(client, world):
    project = building_project(world)
    client.force_login(world.users["enterprise"])
    url = reverse("progress:report_add", args=[project.pk, month_text(months_ago(1))])
    response = client.post(url, {"investment_done": "88", "percent_complete": "9", "jobs_on_site": "12"})
    report = MonthlyReport.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(report)
    assert (report.jobs_on_site, report.status.code, report.created_by_id) == (
        12,
        "draft",
        world.users["enterprise"].pk,
    )
    assert client.get(url)["Location"] == detail_url(report)
    other = client.post(
        reverse("progress:report_add", args=[project.pk, month_text(months_ago(2))]),
        {"investment_done": "1", "percent_complete": "1", "and_submit": "1"},
    )
    assert other.status_code == 302
    assert MonthlyReport.objects.get(month=months_ago(2)).status.code == "submitted"


def test_the_add_page_refuses_roles_and_months_it_should(client, world):
    project = building_project(world)
    client.force_login(world.users["department"])
    assert (
        client.get(reverse("progress:report_add", args=[project.pk, month_text(months_ago(1))])).status_code
        == 404
    )
    project.departments.add(world.department)
    assert (
        client.get(reverse("progress:report_add", args=[project.pk, month_text(months_ago(1))])).status_code
        == 403
    )
    client.force_login(world.users["county"])
    assert client.get(reverse("progress:report_add", args=[project.pk, "2026-13"])).status_code == 404
    response = client.post(
        reverse("progress:report_add", args=[project.pk, month_text(months_ago(1))]),
        {"investment_done": "-3", "percent_complete": "101"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "本月完成投资不能为负数" in body and "形象进度须在 0 到 100 之间" in body
    assert not MonthlyReport.objects.exists()


def test_a_stale_save_through_the_page_is_409_keeps_the_typed_values_and_the_first_save_stands(client, world):
    project = building_project(world)
    report = save(world.users["county"], project, months_ago(1), investment="100", percent="10")
    first, second = client, client.__class__()
    first.force_login(world.users["county"])
    second.force_login(world.users["enterprise"])
    # Both open the form at version 1 ...
    for c in (first, second):
        assert 'name="version" value="1"' in c.get(detail_url(report)).content.decode()
    form = {"percent_complete": "12", "physical_progress": "", "jobs_on_site": "0", "version": "1"}
    # ... the first saves, then the second saves over the version it read.
    assert first.post(detail_url(report), {**form, "investment_done": "111"}).status_code == 302
    response = second.post(
        detail_url(report), {**form, "investment_done": "222.22", "physical_progress": "乙写的进度"}
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "该月报已被他人修改" in body
    assert "222.22" in body and "乙写的进度" in body
    report.refresh_from_db()
    assert (report.investment_done, report.version) == (111, 2)


def test_workflow_buttons_only_for_those_allowed(client, world):
    project = building_project(world)
    project.departments.add(world.department)
    report = save(world.users["enterprise"], project, months_ago(1))

    def buttons(role):
        client.force_login(world.users[role])
        body = client.get(detail_url(report)).content.decode()
        found = {a for a in ("submit", "approve", "return", "reopen") if action_url(report, a) in body}
        return found, 'name="investment_done"' in body

    assert buttons("enterprise") == ({"submit"}, True)
    assert buttons("department") == (set(), False)
    assert buttons("leader") == (set(), False)
    report_submit(actor=world.users["enterprise"], report_id=report.pk, version=1)
    assert buttons("enterprise") == (set(), False)
    assert buttons("county") == ({"approve", "return"}, False)
    assert buttons("city") == ({"approve", "return"}, False)
    report_approve(actor=world.users["county"], report_id=report.pk, version=2)
    assert buttons("county") == ({"reopen"}, False)
    assert buttons("city") == ({"reopen"}, False)
    assert buttons("enterprise") == (set(), False)


def test_the_workflow_through_the_page(client, world):
    project = building_project(world)
    report = save(world.users["enterprise"], project, months_ago(1))
    client.force_login(world.users["enterprise"])
    assert client.post(action_url(report, "submit"), {"version": 1}).status_code == 302
    assert client.post(action_url(report, "approve"), {"version": 2}).status_code == 403
    client.force_login(world.users["county"])
    blank = client.post(action_url(report, "return"), {"version": 2, "reason": " "})
    assert blank.status_code == 400 and "退回月报须填写理由" in blank.content.decode()
    assert (
        client.post(action_url(report, "return"), {"version": 2, "reason": "请补充照片"}).status_code == 302
    )
    report.refresh_from_db()
    assert (report.status.code, report.return_reason) == ("returned", "请补充照片")
    assert "请补充照片" in client.get(detail_url(report)).content.decode()
    illegal = client.post(action_url(report, "approve"), {"version": 3})
    assert illegal.status_code == 409 and "当前为“已退回”，不能审核通过" in illegal.content.decode()
    stale = client.post(action_url(report, "submit"), {"version": 1})
    assert stale.status_code == 409 and "已被他人修改" in stale.content.decode()
    assert client.post(action_url(report, "submit"), {"version": 3}).status_code == 302
    assert client.post(action_url(report, "approve"), {"version": 4}).status_code == 302
    editing = client.post(detail_url(report), {"investment_done": "1", "percent_complete": "1", "version": 5})
    assert editing.status_code == 409 and "须由审核人重新打开" in editing.content.decode()
    assert client.post(action_url(report, "reopen"), {"version": 5, "reason": "数据有误"}).status_code == 302
    report.refresh_from_db()
    assert report.status.code == "draft"
    assert client.post(action_url(report, "nonsense"), {"version": 6}).status_code == 404


def test_out_of_scope_reports_are_404(client, world):
    report = save(world.users["county"], building_project(world), months_ago(1))
    client.force_login(world.users["other_county"])
    assert client.get(detail_url(report)).status_code == 404
    assert client.post(action_url(report, "submit"), {"version": 1}).status_code == 404
    assert (
        client.post(
            detail_url(report), {"investment_done": "1", "percent_complete": "1", "version": 1}
        ).status_code
        == 404
    )


def test_the_project_page_shows_the_s_curve_and_its_reports(client, world):
    project = building_project(world)
    county = world.users["county"]
    save(county, project, months_ago(2), investment="600", percent="10")
    save(county, project, months_ago(1), investment="400", percent="20")
    client.force_login(county)
    body = client.get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    assert "月报与投资完成" in body and "progress/scurve.js" in body
    data = json.loads(
        re.search(r'<script id="scurve-data" type="application/json">(.*?)</script>', body, re.S).group(1)
    )
    assert data["actual"][data["months"].index(month_text(months_ago(1)))] == "1000.00"
    assert data["planned"][-1] == f"{project.total_investment:.2f}"
    assert detail_url(MonthlyReport.objects.get(month=months_ago(1))) in body
    assert reverse("progress:report_add", args=[project.pk, month_text(this_month())]) in body
    client.force_login(world.users["leader"])
    body = client.get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    assert "scurve-data" in body and "/progress/reports/new/" not in body


def test_a_project_without_reports_or_dates_shows_an_empty_panel(client, world):
    project = make_project(world, stage="planning")
    client.force_login(world.users["city"])
    body = client.get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    assert "该项目还没有月报" in body and "scurve-data" not in body
    assert selectors.default_month_for(reports=[], today=timezone.localdate()) == months_ago(1)
