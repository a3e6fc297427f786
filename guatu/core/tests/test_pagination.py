"""Key-first pagination: the same pages as a plain OFFSET, in a total order, with exact counts."""

from decimal import Decimal

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tables2 import RequestConfig

from guatu.core import pagination
from guatu.core.pagination import DeferredJoinPaginator, count_rows, page_rows, without_needless_distinct
from guatu.core.testing import make_project
from guatu.progress.selectors import report_queryset
from guatu.progress.tests.report_helpers import building_project, months_ago, save
from guatu.projects.filters import ProjectFilterSet
from guatu.projects.models import Project
from guatu.projects.tables import ProjectTable

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def key_first(monkeypatch):
    """Small test data: fetch every page key-first, as deep pages are."""
    monkeypatch.setattr(pagination, "DEFER_FROM", 0)


@pytest.fixture
def registry(world):
    """Eleven projects with many equal sort keys (kind, investment), so ties decide page edges."""
    projects = []
    for i in range(11):
        projects.append(
            make_project(
                world,
                kind=("industry", "infrastructure")[i % 2],
                total_investment=Decimal(("12000", "30000")[i % 3 == 0]),
                region=world.counties[("211302", "211303")[i % 2]],
                stage=("planning", "signed")[i % 2],
            )
        )
    return projects


@pytest.mark.parametrize("ordering", [["-id"], ["kind"], ["-total_investment"], ["region__code", "-kind"]])
def test_pages_together_hold_every_row_once_in_the_plain_order(registry, ordering):
    qs = Project.objects.select_related("region", "stage").order_by(*ordering)
    paginator = DeferredJoinPaginator(qs, 4)
    seen = [p.pk for n in paginator.page_range for p in paginator.page(n).object_list]
    assert sorted(seen) == sorted(p.pk for p in registry)  # each row exactly once
    assert paginator.count == 11 and paginator.num_pages == 3
    # The order is the requested one, ties broken by primary key.
    tie = "-pk" if ordering[0].startswith("-") else "pk"
    plain = list(qs.order_by(*ordering, tie).values_list("pk", flat=True))
    assert seen == plain


def test_a_page_is_three_queries_and_the_key_query_reads_only_keys(registry):
    qs = Project.objects.select_related("region", "stage", "chain").order_by("-id")
    paginator = DeferredJoinPaginator(qs, 4)
    with CaptureQueriesContext(connection) as ctx:
        page = paginator.page(2)
        names = [p.region.name for p in page.object_list]
    assert len(names) == 4
    assert len(ctx.captured_queries) == 3  # count, keys of the page, the page's rows with joins
    keys_sql = ctx.captured_queries[1]["sql"]
    select = keys_sql.split(" FROM ")[0]
    assert select.count(",") == 0 and '"id"' in select and "OFFSET 4" in keys_sql


def test_pages_above_the_threshold_are_one_query_with_the_same_rows(monkeypatch, registry):
    qs = Project.objects.select_related("region").order_by("-total_investment")
    deep = [p.pk for p in page_rows(qs, 2, 6)]
    monkeypatch.setattr(pagination, "DEFER_FROM", 1000)
    with CaptureQueriesContext(connection) as ctx:
        shallow = [p.pk for p in page_rows(qs, 2, 6)]
    assert len(ctx.captured_queries) == 1
    assert shallow == deep == list(qs.order_by("-total_investment", "-pk").values_list("pk", flat=True))[2:6]


def test_distinct_over_forward_keys_is_dropped_but_kept_over_many_to_many(world, registry):
    params = {"stage": ["planning", "signed"]}  # a multiple-choice filter: django-filter adds DISTINCT
    qs = ProjectFilterSet(params, queryset=Project.objects.all()).qs
    assert qs.query.distinct
    assert not without_needless_distinct(qs).query.distinct
    assert count_rows(qs) == qs.count() == 11
    # A project in two departments shows twice through the many-to-many join without DISTINCT.
    registry[0].departments.add(world.department, world.other_department)
    registry[1].departments.add(world.department)
    joined = Project.objects.filter(departments__in=[world.department, world.other_department])
    assert joined.count() == 3
    distinct = joined.distinct()
    assert without_needless_distinct(distinct).query.distinct
    assert count_rows(distinct) == 2
    assert sorted(p.pk for p in page_rows(distinct.order_by("-id"), 0, 10)) == sorted(
        [registry[0].pk, registry[1].pk]
    )


def test_running_totals_stay_whole_on_a_page(world):
    project = building_project(world, start_months_ago=6)
    actor = world.users["city"]
    for n, amount in ((5, "100"), (4, "200"), (3, "300"), (2, "400")):
        save(actor, project, months_ago(n), investment=amount)
    qs = report_queryset(user=actor).order_by("month")
    plain = [(r.pk, r.cumulative_investment) for r in qs[2:4]]
    paged = [(r.pk, r.cumulative_investment) for r in DeferredJoinPaginator(qs, 2).page(2).object_list]
    assert paged == plain == [(plain[0][0], Decimal("600")), (plain[1][0], Decimal("1000"))]


def test_table_pages_match_django_paginator(world, registry):
    request = RequestFactory().get("/projects/", {"sort": "-total_investment", "page": "2"})
    request.user = world.users["city"]

    def rows(paginator_class):
        table = ProjectTable(Project.objects.select_related("region", "stage", "chain").order_by("-id"))
        RequestConfig(request, paginate={"per_page": 4, "paginator_class": paginator_class}).configure(table)
        return [row.record.pk for row in table.paginated_rows], table.paginator.count

    deferred, count = rows(DeferredJoinPaginator)
    assert count == 11 and len(deferred) == 4
    plain_order = list(Project.objects.order_by("-total_investment", "-pk").values_list("pk", flat=True))
    assert deferred == plain_order[4:8]
    assert set(rows(Paginator)[0]) <= set(plain_order)


def test_list_page_and_api_slices(client, world, registry):
    client.force_login(world.users["city"])
    newest_first = sorted(registry, key=lambda p: -p.pk)
    body = client.get(reverse("projects:project_list")).content.decode()
    assert all(p.code in body for p in registry) and "共 11 条" in body
    response = client.get(reverse("api:project-list"), {"limit": 4, "offset": 4})
    data = response.json()
    assert set(data) == {"count", "next", "previous", "results"}
    assert data["count"] == 11
    assert [row["id"] for row in data["results"]] == [p.pk for p in newest_first[4:8]]
    assert "offset=8" in data["next"] and "limit=4" in data["previous"]


def test_api_offset_past_the_end_is_empty_and_filters_count_exactly(client, world, registry):
    client.force_login(world.users["city"])
    data = client.get(reverse("api:project-list"), {"offset": 50}).json()
    assert data["count"] == 11 and data["results"] == []
    filtered = client.get(reverse("api:project-list"), {"stage": ["planning"], "region": "211302"}).json()
    expected = [p.pk for p in sorted(registry, key=lambda p: -p.pk) if p.stage.code == "planning"]
    assert filtered["count"] == len(expected) == 6
    assert [row["id"] for row in filtered["results"]] == expected


def test_unordered_querysets_get_a_total_order(world, registry):
    qs = Project.objects.order_by()
    rows = page_rows(qs, 0, 20)
    assert [p.pk for p in rows] == sorted(p.pk for p in registry)
    assert page_rows(qs, 5, 5) == []
