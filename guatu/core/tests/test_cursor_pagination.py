"""API lists paged by cursor (`?cursor=`): every row once, in the list's order, both ways; a deep
page asks the database as many times as the first; `?limit=&offset=` answers as before."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.pagination import decode_cursor, encode_cursor, sort_keys
from guatu.core.testing import make_project
from guatu.core.testing_api import api_client
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db

URL = "api:project-list"


def _walk(client, url: str, params: dict) -> tuple[list, list[dict]]:
    """Follow `next` from the first page to the last: the ids seen and every page's answer."""
    answer = client.get(url, {**params, "cursor": ""})
    assert answer.status_code == 200, answer.content
    pages = [answer.json()]
    while pages[-1]["next"]:
        answer = client.get(pages[-1]["next"])
        assert answer.status_code == 200, answer.content
        pages.append(answer.json())
    return [row["id"] for page in pages for row in page["results"]], pages


def _walk_back(client, last_page: dict) -> list:
    ids, page = [], last_page
    while page["previous"]:
        page = client.get(page["previous"]).json()
        ids = [row["id"] for row in page["results"]] + ids
    return ids


@pytest.fixture
def projects(world):
    # Ties on purpose: three investments for eleven projects, so the order rests on the key.
    return [
        make_project(
            world, total_investment=Decimal(10000 * (i % 3 + 1)), annual_planned_investment=Decimal(5000)
        )
        for i in range(11)
    ]


@pytest.mark.parametrize(
    "ordering", ["", "total_investment", "-total_investment", "region,-total_investment"]
)
def test_walking_by_cursor_returns_every_row_once_in_the_list_order(world, projects, ordering):
    client = api_client(world.users["city"])
    params = {"ordering": ordering} if ordering else {}
    by_offset = client.get(reverse(URL), {**params, "limit": 100}).json()
    expected = [row["id"] for row in by_offset["results"]]
    assert len(expected) == Project.objects.count() == 11

    seen, pages = _walk(client, reverse(URL), {**params, "limit": 3})

    assert seen == expected  # same order as the offset pages, none twice, none missing
    assert [len(page["results"]) for page in pages] == [3, 3, 3, 2]
    assert pages[0]["previous"] is None and pages[-1]["next"] is None
    assert "count" not in pages[0]  # a cursor page takes no count
    # And back again from the last page by `previous`.
    assert _walk_back(client, pages[-1]) + [row["id"] for row in pages[-1]["results"]] == expected


def test_the_cursor_walks_a_list_ordered_through_related_rows(world, projects):
    # Approvals order by project (whose own ordering is -id), kind order, id.
    client = api_client(world.users["city"])
    expected = [
        row["id"] for row in client.get(reverse("api:approval-list"), {"limit": 1000}).json()["results"]
    ]
    assert len(expected) > 11

    seen, _pages = _walk(client, reverse("api:approval-list"), {"limit": 7})

    assert seen == expected


def test_a_row_added_between_pages_is_not_shown_twice(world, projects):
    client = api_client(world.users["city"])
    first = client.get(reverse(URL), {"cursor": "", "limit": 4}).json()
    make_project(world)  # newest first: it sorts before the page already read
    second = client.get(first["next"]).json()
    shown = [row["id"] for row in first["results"] + second["results"]]
    assert len(shown) == len(set(shown)) == 8


def test_a_deep_cursor_page_costs_the_queries_of_the_first(world, projects):
    client = api_client(world.users["city"])
    counts, answer = [], None
    for _page in range(5):
        url = answer["next"] if answer else reverse(URL) + "?cursor=&limit=2"
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        answer = response.json()
        assert len(answer["results"]) == 2
        counts.append(len(ctx.captured_queries))
    assert counts[-1] == counts[0], counts
    # The keys of the page are sought by value, not counted off from the start.
    keys_query = next(
        q["sql"] for q in ctx.captured_queries if "OFFSET" not in q["sql"] and "LIMIT 3" in q["sql"]
    )
    assert '"projects_project"."id" <' in keys_query


def test_offset_pages_answer_as_before(world, projects):
    client = api_client(world.users["city"])
    answer = client.get(reverse(URL), {"limit": 5, "offset": 5}).json()
    assert set(answer) == {"count", "next", "previous", "results"}
    assert answer["count"] == 11 and len(answer["results"]) == 5
    assert "offset=10" in answer["next"] and "cursor" not in answer["next"]


def test_a_broken_cursor_is_refused(world, projects):
    client = api_client(world.users["city"])
    answer = client.get(reverse(URL), {"cursor": "bm90IGEgY3Vyc29y"})
    assert answer.status_code == 404
    assert "翻页游标" in answer.json()["detail"]


def test_a_list_whose_order_has_no_stable_key_refuses_the_cursor(world):
    # Speeches rank by a computed relevance: there is no column to seek by.
    answer = api_client(world.users["city"]).get(reverse("api:speech-list"), {"cursor": ""})
    assert answer.status_code == 400
    assert "limit" in answer.json()["cursor"]


def test_a_cursor_reads_back_the_values_it_carries(world, projects):
    keys = sort_keys(Project.objects.order_by("updated_at", "total_investment", "pk"))
    project = projects[0]
    values = [project.updated_at, project.total_investment, project.pk]
    assert decode_cursor(encode_cursor(values, reverse=True), keys) == (values, True)
    with pytest.raises(ValueError):
        decode_cursor(encode_cursor(values[:2], reverse=False), keys)
