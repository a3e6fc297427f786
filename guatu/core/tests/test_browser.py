"""The pages in a real Chromium, at desktop size and on a phone (390×844): the project list, the
monthly report form, the project's 倒排工期 Gantt and the 擂台 chart. Screenshots go to
test-output/screenshots/.

A live server needs a transactional database, emptied when each test ends: these tests are `serial`
(`make test` runs them alone, after the rest); `serialized_rollback` restores the migrations' data."""

import datetime as dt
from decimal import Decimal

import pytest

from guatu.browser_testing import DESKTOP, PHONE, canvas_has_colour, wait_for_drawn_canvas
from guatu.core.testing import make_project, make_world
from guatu.progress.models import MonthlyReport
from guatu.progress.tests.report_helpers import building_project, months_ago
from guatu.targets.models import SchemeItem, ScoringScheme

pytest_plugins = ["guatu.browser_testing"]  # the browser, page_for and screenshot fixtures
pytestmark = [
    pytest.mark.browser,
    pytest.mark.serial,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BODY_FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def projects(world, n=3):
    return [
        make_project(world, name=f"浏览器测试项目{i}", total_investment=Decimal(10000 + i)) for i in range(n)
    ]


def test_project_list_on_a_desktop(page_for, screenshot):
    world = make_world()
    projects(world)
    page = page_for(world.users["city"], DESKTOP)
    page.goto("/projects/")
    table = page.locator("table").first
    table.wait_for()
    assert table.locator("tbody tr").count() == 3
    assert page.get_by_text("浏览器测试项目2").is_visible()
    assert page.locator("#project-filters").is_visible()  # open beside the table on a wide screen
    assert page.get_by_role("button", name="筛选条件").is_hidden()
    screenshot(page)


def test_project_list_on_a_phone_folds_the_filters_and_does_not_scroll_sideways(page_for, screenshot):
    world = make_world()
    projects(world)
    page = page_for(world.users["city"], PHONE)
    page.goto("/projects/")
    page.locator("table").first.wait_for()
    assert page.get_by_text("浏览器测试项目1").count() >= 1
    filters = page.locator("#project-filters")
    assert filters.is_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "folded")
    page.get_by_role("button", name="筛选条件").click()
    filters.wait_for(state="visible")
    assert page.locator("#id_q").is_visible()
    assert page.evaluate(BODY_FITS)
    screenshot(page, "filters-open")
    page.fill("#id_q", "浏览器测试项目2")
    with page.expect_navigation():
        filters.get_by_role("button", name="筛选").click()
    assert page.locator("table tbody tr").count() == 1
    assert page.locator("#project-filters").is_visible()  # kept open while a filter is applied


def test_monthly_report_form_on_a_phone_saves_the_report(page_for, screenshot):
    world = make_world()
    project = building_project(world)
    month = months_ago(1)
    page = page_for(world.users["city"], PHONE)
    page.goto(f"/progress/reports/new/{project.pk}/{month:%Y-%m}/")
    form = page.locator("form.report-form")
    for field in ("#id_investment_done", "#id_percent_complete", "#id_physical_progress", "#id_jobs_on_site"):
        assert form.locator(field).is_visible(), field
        box = form.locator(field).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], field
    assert page.evaluate(BODY_FITS)
    form.locator("#id_investment_done").fill("321.5")
    form.locator("#id_percent_complete").fill("12.5")
    form.locator("#id_physical_progress").fill("主体结构完成至第 3 层")
    form.locator("#id_jobs_on_site").fill("48")
    assert "321.5" in form.locator(".report-cumulative").inner_text()  # the running total follows the typing
    screenshot(page, "filled")
    with page.expect_navigation():
        form.get_by_role("button", name="保存", exact=True).click()
    report = MonthlyReport.objects.get(project=project, month=month)
    assert (report.investment_done, report.percent_complete, report.jobs_on_site) == (
        Decimal("321.50"),
        Decimal("12.50"),
        48,
    )
    assert report.physical_progress == "主体结构完成至第 3 层"
    assert page.url.endswith(f"/progress/reports/{report.pk}/")
    assert page.get_by_text("已保存").first.is_visible()
    screenshot(page, "saved")


def test_project_detail_draws_the_gantt(page_for, screenshot):
    world = make_world()
    project = make_project(world, planned_start=dt.date(2026, 3, 2), planned_completion=dt.date(2027, 3, 1))
    for viewport, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = page_for(world.users["city"], viewport)
        page.goto(f"/projects/{project.pk}/")
        assert wait_for_drawn_canvas(page, ".gantt-chart canvas") >= 3
        assert canvas_has_colour(page, ".gantt-chart canvas", "#206bc4")  # a pending approval's bar
        assert page.evaluate(BODY_FITS)
        screenshot(page, label)


def test_ranking_page_draws_the_chart_with_the_leader_in_gold(page_for, screenshot):
    world = make_world()
    for code, n in (("211302", 3), ("211303", 1)):
        for _ in range(n):
            make_project(
                world, region=world.counties[code], stage="started", planned_start=dt.date(2026, 3, 10)
            )
    scheme = ScoringScheme.objects.create(year=2026, group="county", version=99, name="浏览器测试方案")
    SchemeItem.objects.create(scheme=scheme, order=1, metric="started", label="新开工", kind="count", per=2)
    for viewport, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page = page_for(world.users["city"], viewport)
        page.goto("/targets/rankings/?period=2026-03&group=county")
        assert page.get_by_text("浏览器测试方案").first.is_visible()
        assert wait_for_drawn_canvas(page, ".ranking-chart canvas") >= 3
        assert canvas_has_colour(page, ".ranking-chart canvas", "#f59f00")  # 双塔区, the 擂主
        assert page.evaluate(BODY_FITS)
        screenshot(page, label)
