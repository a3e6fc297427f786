"""The warnings list pages by the count of each (level, region) and sorts only the groups a page
falls in: every page holds the rows the plain sort puts there, in the same order, on the page and
in the API, with filters or without."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.pagination import grouped_page_rows, sort_groups
from guatu.core.testing_api import api_client
from guatu.demo.scale import generate
from guatu.progress import selectors, views
from guatu.progress.models import ProjectWarning

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def lights(world):
    generate(projects=60, today=TODAY, seed=11)
    levels = set(ProjectWarning.objects.values_list("level__code", flat=True))
    regions = set(ProjectWarning.objects.values_list("region_id", flat=True))
    assert len(levels) >= 2 and len(regions) >= 3  # several groups, or the test proves nothing
    return ProjectWarning.objects.count()


def _plain_order(user, params=None) -> list[int]:
    return list(selectors.warning_list(user=user, params=params or {}).values_list("project_id", flat=True))


@pytest.mark.parametrize("params", [{}, {"level": "green"}, {"region": "211300"}, {"region": "211302"}])
def test_api_pages_hold_the_rows_of_the_plain_sort(world, lights, params):
    client = api_client(world.users["city"])
    expected = _plain_order(world.users["city"], params)
    assert expected
    seen = []
    for offset in range(0, len(expected) + 7, 7):
        answer = client.get(reverse("api:warning-list"), {**params, "limit": 7, "offset": offset}).json()
        assert answer["count"] == len(expected)
        seen += [row["project"] for row in answer["results"]]
    assert seen == expected


def test_the_page_holds_the_rows_of_the_plain_sort(world, client, lights, monkeypatch):
    monkeypatch.setattr(views, "WARNINGS_PER_PAGE", 9)
    user = world.users["city"]
    client.force_login(user)
    expected = list(selectors.warning_list(user=user, params={}).values_list("project__name", flat=True))
    pages = -(-len(expected) // 9)
    shown = []
    for number in range(1, pages + 1):
        page = client.get(reverse("progress:warning_list"), {"page": number}).content.decode()
        assert f"共 {len(expected)} 个项目" in page
        # The names on this page, in the order they appear.
        on_page = sorted((page.index(f">{name}</a>"), name) for name in expected if f">{name}</a>" in page)
        shown += [name for _at, name in on_page]
    assert shown == expected


def test_a_page_sorts_only_the_groups_it_falls_in(world, lights):
    queryset = selectors.warning_list(user=world.users["city"], params={})
    groups = sort_groups(queryset, selectors.WARNING_GROUPS)
    assert sum(group.count for group in groups) == lights
    assert len(groups) > 2
    first = groups[0]
    with CaptureQueriesContext(connection) as ctx:
        rows = grouped_page_rows(queryset, groups, 0, min(first.count, 5))
    worst = max(ProjectWarning.objects.values_list("level__order", flat=True))
    first_region = min(
        ProjectWarning.objects.filter(level__order=worst).values_list("region__code", flat=True)
    )
    assert rows and {(w.level.order, w.region.code) for w in rows} == {(worst, first_region)}
    (sql,) = [q["sql"] for q in ctx.captured_queries]
    assert '"level_id" =' in sql and '"region_id" =' in sql  # narrowed to the group before sorting


def test_a_county_sees_its_own_lights_paged_the_same_way(world, lights):
    county = world.users["county"]
    expected = _plain_order(county)
    answer = api_client(county).get(reverse("api:warning-list"), {"limit": 1000}).json()
    assert answer["count"] == len(expected) < lights
    assert [row["project"] for row in answer["results"]] == expected
