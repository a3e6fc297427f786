"""On PostgreSQL, the report and warning lists read their pages through indexes: EXPLAIN of the
queries a page runs names the index and has no Sort over the whole table.

Sequential scans are discouraged for the EXPLAIN (the test data is small, and on a few hundred rows
a scan is rightly cheaper), so the plan shows whether an index can serve the query at all: without
one, the planner still has to scan and sort."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.testing_api import api_client
from guatu.demo.scale import generate

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN plans are PostgreSQL's"),
]

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def population(world):
    generate(projects=80, today=TODAY, seed=5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _plans(client, url: str, params: dict, table: str) -> list[str]:
    """The EXPLAIN of every query of the request that reads `table`."""
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for query in ctx.captured_queries:
                if f'FROM "{table}"' in query["sql"] and query["sql"].lstrip().startswith("SELECT"):
                    cursor.execute("EXPLAIN " + query["sql"])
                    plans.append("\n".join(row[0] for row in cursor.fetchall()))
        finally:
            cursor.execute("RESET enable_seqscan")
    assert plans
    return plans


def test_a_deep_report_page_by_cursor_reads_the_month_project_index_in_order(world, population):
    client = api_client(world.users["city"])
    first = client.get(reverse("api:report-list"), {"cursor": "", "limit": 20}).json()
    deep = client.get(first["next"]).json()
    assert deep["results"]
    (keys,) = [
        plan
        for plan in _plans(client, deep["next"] or first["next"], {}, "progress_monthlyreport")
        if "LIMIT" in plan.upper() or "Limit" in plan
    ][:1]
    assert "progress_mo_month_ba7abf_idx" in keys, keys  # the (month, project, id) index
    assert "Sort" not in keys.split("SubPlan")[0], keys  # read in the list's order, not sorted


def test_the_warning_page_counts_and_picks_its_groups_by_the_level_region_index(world, client, population):
    client.force_login(world.users["city"])
    plans = _plans(client, reverse("progress:warning_list"), {"page": 2}, "progress_projectwarning")
    grouped = [p for p in plans if "Group Key" in p]
    picked = [p for p in plans if "Limit" in p and "Sort Key" in p]
    # Counted per (level, region) straight from an index on the foreign keys, with no join.
    assert grouped and all("Seq Scan" not in p and "Join" not in p for p in grouped), grouped
    # The page's groups are picked by level (and region) through an index before anything is sorted.
    # (by level alone, "(level_id = 1)", or by level and region, "((level_id = 1) AND (region_id = …))")
    assert picked and all(re.search(r"Index Cond: \(+level_id = ", p) for p in picked), "\n\n".join(plans)
    # The latest computation day comes from its own index, not from a scan and sort.
    latest = [p for p in plans if "computed_on" in p or "progress_pr_compute_2e982e_idx" in p]
    assert any("progress_pr_compute_2e982e_idx" in p for p in latest), plans
