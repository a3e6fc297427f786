"""`guatu bench --json`: a smoke run at a small N. No figure is timed against a goal here; the
run must give one valid JSON object with every figure, the dashboard view's numbers must equal the
naive recomputation, and the population must be as it was after the import."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from guatu.core.bench import bench_user, compare_summary, naive_summary
from guatu.demo.scale import generate
from guatu.progress.models import MonthlyReport
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db(transaction=False)


def bench(*args: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("bench", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def timed(figure: dict, runs: int) -> None:
    assert len(figure["runs_ms"]) == runs
    assert figure["median_ms"] > 0
    assert all(ms > 0 for ms in figure["runs_ms"])


def test_bench_json_smoke():
    result, progress = bench(
        "--projects", "30", "--repeat", "1", "--import-rows", "20", "--speech-chars", "20000", "--json"
    )
    assert result["database"]["vendor"] in {"sqlite", "postgresql"}
    assert result["generated_projects"] >= 30
    assert result["projects"] == Project.objects.count()
    assert result["cpu_count"] >= 1
    assert result["repeat"] == 1
    assert "仪表盘汇总" in progress  # progress goes to stderr, stdout is the JSON alone

    figures = result["figures"]
    dashboard = figures["dashboard_summary"]
    assert dashboard["numbers_match"], dashboard["mismatches"]
    assert result["numbers_match"] is True
    timed(dashboard["view"], 1)
    timed(dashboard["naive"], 1)
    assert dashboard["speedup"] == pytest.approx(
        dashboard["naive"]["median_ms"] / dashboard["view"]["median_ms"], rel=0.02, abs=0.001
    )
    assert dashboard["view"]["goal_ms"] == 50
    assert dashboard["view"]["met"] is (dashboard["view"]["median_ms"] <= 50)

    lists = figures["project_list"]
    assert set(lists["filters"]) == {"region", "stage"}
    assert (
        lists["matching"]
        == Project.objects.filter(
            region__code=lists["filters"]["region"], stage__code=lists["filters"]["stage"]
        ).count()
    )
    assert lists["far_page"]["page"] == lists["pages"]  # 30 projects: far fewer than 1,000 pages
    assert lists["far_page"]["note"]
    for key in ("first_page", "far_page", "api_list_first_page"):
        timed(lists[key], 1)
    assert figures["export"]["rows"] == lists["matching"]
    assert figures["export"]["rows_per_s"] > 0

    imported = figures["import"]
    assert imported["rows"] == 20
    for mode in ("dry_run", "commit"):
        assert imported[mode]["created"] == 20
        assert imported[mode]["errors"] == 0
        assert imported[mode]["rows_per_s"] > 0
    assert imported["population_unchanged"] is True

    ranking = figures["ranking"]
    assert ranking["county"]["units"] > 0
    assert ranking["department"]["units"] >= 0
    timed(ranking["bulletin"], 1)
    assert ranking["bulletin"]["bytes"] > 0
    assert figures["extraction"]["chars"] == 20000
    assert figures["extraction"]["items"] > 0

    assert set(result["goals_met"]) == {
        "dashboard_summary_ms", "dashboard_speedup", "list_first_page_ms", "list_far_page_ms",
        "import_rows_per_s", "bulletin_ms", "extraction_ms",
    }  # fmt: skip
    # Nothing the bench measured stayed behind: no imported project, no temporary scheme.
    assert not Project.objects.filter(name__contains="导入测试").exists()


def test_naive_summary_sees_a_change_the_view_must_follow():
    """The comparison is not vacuous: change a report and the naive numbers move; the view, read
    afterwards, moves with them."""
    today = timezone.localdate()  # the view's default period is the server's year
    generate(projects=12, today=today, seed=3)
    user = bench_user()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    report = (
        MonthlyReport.objects.filter(status__code="approved", month__year=today.year)
        .select_related("project__region")
        .first()
    )
    assert report is not None
    before = naive_summary(user=user, today=today)
    assert compare_summary(client.get("/api/dashboard/summary/", {"year": today.year}).json(), before) == []
    report.investment_done += Decimal("7.00")
    report.save()  # as any write does, this brings the rollups the view reads up to date
    after = naive_summary(user=user, today=today)
    code = report.project.region.code
    if code in after["divisions"]:
        assert after["divisions"][code]["investment_done"] == before["divisions"][code]["investment_done"] + 7
    assert after["total"]["investment_done"] == before["total"]["investment_done"] + 7
    stale = compare_summary(client.get("/api/dashboard/summary/", {"year": today.year}).json(), before)
    assert any("investment_done" in line for line in stale)
    assert compare_summary(client.get("/api/dashboard/summary/", {"year": today.year}).json(), after) == []
