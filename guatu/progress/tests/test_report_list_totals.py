"""The report list sums each row's running total (累计) for its page only, and the figures are the
ones the window over every report gives, whatever the filters, the page or the reader's scope."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.testing_api import api_client
from guatu.demo.scale import generate
from guatu.progress import selectors
from guatu.progress.models import MonthlyReport

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def reports(world):
    generate(projects=40, today=TODAY, seed=7)
    assert MonthlyReport.objects.count() > 100
    return MonthlyReport.objects.all()


def _window_totals(user) -> dict[int, Decimal]:
    """Every report's running total as the window over all reports in scope computes it."""
    return dict(selectors.report_queryset(user=user).values_list("pk", "cumulative_investment"))


def _listed(client, params: dict) -> list[dict]:
    answer = client.get(reverse("api:report-list"), params)
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


@pytest.mark.parametrize("role", ["city", "county"])
def test_each_page_carries_the_running_totals_of_the_whole_history(world, reports, role):
    user = world.users[role]
    client = api_client(user)
    expected = _window_totals(user)
    months = sorted({m for m in MonthlyReport.objects.values_list("month", flat=True)})
    checked = 0
    for params in (
        {"limit": 20},
        {"limit": 20, "offset": 60},
        {"limit": 1000},
        {"limit": 50, "month": f"{months[len(months) // 2]:%Y-%m}"},
        {"limit": 50, "status": ["approved"]},
        {"limit": 50, "region": "211302"},
    ):
        rows = _listed(client, params)
        for row in rows:
            assert Decimal(row["cumulative_investment"]) == expected[row["id"]], (params, row["id"])
        checked += len(rows)
    assert checked > 40  # the pages were not empty


def test_a_month_filter_keeps_the_earlier_months_in_the_total(world, reports):
    client = api_client(world.users["city"])
    late = MonthlyReport.objects.order_by("-month").values_list("month", flat=True).first()
    rows = _listed(client, {"month": f"{late:%Y-%m}", "limit": 1000})
    assert rows and any(Decimal(r["cumulative_investment"]) > Decimal(r["investment_done"]) for r in rows)


def test_the_cursor_pages_carry_the_totals_too(world, reports):
    client = api_client(world.users["city"])
    expected = _window_totals(world.users["city"])
    answer = client.get(reverse("api:report-list"), {"cursor": "", "limit": 25}).json()
    seen = []
    while True:
        seen += [(row["id"], Decimal(row["cumulative_investment"])) for row in answer["results"]]
        if not answer["next"]:
            break
        answer = client.get(answer["next"]).json()
    assert dict(seen) == expected and len(seen) == len(expected)
    # In the order the offset pages give.
    by_offset = [row["id"] for row in _listed(client, {"limit": len(expected)})]
    assert [pk for pk, _total in seen] == by_offset


def test_the_total_is_no_window_over_every_report(world, reports):
    client = api_client(world.users["city"])
    with CaptureQueriesContext(connection) as ctx:
        late = MonthlyReport.objects.order_by("-month").values_list("month", flat=True).first()
        statuses = ["draft", "submitted", "returned", "approved"]
        rows = _listed(client, {"limit": 10, "month": f"{late:%Y-%m}", "status": statuses})
    assert rows
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "OVER" not in sql  # a window would sum every report in scope before picking the page
    assert "SUM(" in sql


@pytest.mark.parametrize("role", ["city", "county"])
def test_the_month_sheet_counts_and_totals_match_the_reports_one_by_one(world, reports, role):
    user = world.users[role]
    expected = _window_totals(user)
    months = sorted(set(MonthlyReport.objects.values_list("month", flat=True)))
    for month in (months[-1], months[len(months) // 2]):
        sheet = selectors.month_sheet(user=user, params={"month": f"{month:%Y-%m}"}, today=TODAY)
        projects = list(sheet.filterset.qs)
        rows = selectors.sheet_rows(user=user, projects=projects, month=month, due=sheet.due, today=TODAY)
        reported = [r for r in rows if r.report and r.report.status.code in ("submitted", "approved")]
        late_from = selectors.due_end(sheet.due)
        assert selectors.month_sheet_summary(sheet) == {
            "total": len(rows),
            "reported": len(reported),
            "late": sum(1 for r in reported if r.report.submitted_at and r.report.submitted_at >= late_from),
            "on_time": sum(
                1 for r in reported if not r.report.submitted_at or r.report.submitted_at < late_from
            ),
            "not_reported": len(rows) - len(reported),
            "no_report": sum(1 for r in rows if r.report is None),
        }
        with_reports = [r for r in rows if r.report]
        assert with_reports or role == "county"  # a county may have none that month
        for row in with_reports:
            assert row.report.month == month and row.report.cumulative_investment == expected[row.report.pk]
        # Every project with a report that month is on the sheet, with that report.
        in_scope = (
            selectors.report_queryset(user=user).filter(month=month).values_list("project_id", flat=True)
        )
        assert set(in_scope) <= {r.project.pk for r in with_reports}
