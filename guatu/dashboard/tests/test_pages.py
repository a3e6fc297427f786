"""The war-map page, the big screen and the print view: figures, drill-down, scope, filters in the
URL, the map outline served by guatu, and a query count that does not grow with the data."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.testing import make_project
from guatu.dashboard.tests.conftest import TODAY, light, report
from guatu.targets.models import SchemeItem, ScoringScheme

pytestmark = pytest.mark.django_db

PAGE = reverse("dashboard:war_map")


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)


def map_data(response) -> dict:
    match = re.search(
        r'<script id="map-data" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    return json.loads(match.group(1))


def division_rows(response) -> list[str]:
    return re.findall(r'<tr data-division="(\d{6})">', response.content.decode())


def project_rows(response) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-project="(\d+)" data-region="(\d{6})">', response.content.decode())


def test_city_sees_every_division_with_the_summary_figures(client, world, data):
    client.force_login(world.users["city"])
    response = client.get(PAGE, {"year": 2026, "quarter": 2})
    assert response.status_code == 200
    assert len(division_rows(response)) == 7
    divisions = {d["code"]: d for d in map_data(response)["divisions"]}
    assert divisions["211302"]["projects"] == "3" and divisions["211302"]["investment_done"] == "550.00"
    assert divisions["211303"]["red"] == "1"
    # Each division drills into the same page, the other filters kept.
    assert divisions["211302"]["drill"] == "?year=2026&quarter=2&division=211302"
    body = response.content.decode()
    assert "第二季度" in body or "2026年第二季度" in body
    assert 'data-total-projects="4"' in body
    assert "dash-projects" not in body  # no project list before a division is chosen


def test_the_page_equals_the_api(client, world, data):
    city = world.users["city"]
    client.force_login(city)
    page = map_data(client.get(PAGE, {"year": 2026, "quarter": 2, "kind": "industry"}))
    api = client.get("/api/dashboard/summary/", {"year": 2026, "quarter": 2, "kind": "industry"}).json()
    for row in api["divisions"]:
        shown = next(d for d in page["divisions"] if d["code"] == row["code"])
        for key in ("projects", "red", "yellow", "green", "started", "planned_starts"):
            assert int(shown[key]) == row[key], (row["code"], key)
        assert Decimal(shown["investment_done"]) == Decimal(row["investment_done"])


def test_drilling_into_a_division_lists_its_projects(client, world, data):
    client.force_login(world.users["city"])
    response = client.get(PAGE, {"year": 2026, "quarter": 2, "division": "211302"})
    assert response.status_code == 200
    assert division_rows(response) == ["211302"]
    rows = project_rows(response)
    assert {int(pk) for pk, _region in rows} == {data["a"].pk, data["b"].pk, data["c"].pk}
    assert {region for _pk, region in rows} == {"211302"}
    assert rows[0][0] == str(data["a"].pk)  # the red light first
    body = response.content.decode()
    assert 'data-total-projects="3"' in body
    assert "/projects/?region=211302" in body  # the whole list in the project registry
    assert map_data(response)["drillable"] is False
    assert "返回全市" in body


def test_county_sees_its_own_division_only(client, world, data):
    client.force_login(world.users["county"])
    response = client.get(PAGE, {"year": 2026, "quarter": 2})
    assert division_rows(response) == ["211302"]
    assert {region for _pk, region in project_rows(response)} == {"211302"}
    assert 'data-total-projects="3"' in response.content.decode()
    refused = client.get(PAGE, {"division": "211303"})
    assert refused.status_code == 400
    assert "县(市)区“211303”不存在或不在本账号范围内" in refused.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"quarter": "5"}, "季度"),
        ({"year": "abc"}, "年度“abc”不是整数"),
        ({"kind": "nope"}, "项目类型“nope”有误"),
        ({"division": "999999"}, "县(市)区“999999”不存在"),
    ],
)
def test_bad_filters_are_named_in_chinese(client, world, params, message):
    client.force_login(world.users["city"])
    response = client.get(PAGE, params)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "auditor"])
def test_account_administrators_have_no_war_map(client, world, role):
    client.force_login(world.users[role])
    for name in ("war_map", "screen", "print", "map_geojson"):
        assert client.get(reverse(f"dashboard:{name}")).status_code == 403


def test_filters_stay_in_the_url_of_screen_print_and_the_form(client, world, data):
    client.force_login(world.users["city"])
    response = client.get(PAGE, {"year": 2026, "quarter": 2, "kind": "industry", "measure": "red"})
    body = response.content.decode()
    assert "/dashboard/screen/?year=2026&amp;quarter=2&amp;kind=industry&amp;measure=red" in body
    assert map_data(response)["measure"] == "red"
    assert re.search(r'<option value="2" selected>2季度</option>', body)
    for name in ("screen", "print"):
        other = client.get(reverse(f"dashboard:{name}"), {"year": 2026, "quarter": 2, "measure": "red"})
        assert other.status_code == 200
        assert map_data(other)["measure"] == "red"
        assert len(map_data(other)["divisions"]) == 7


def test_big_screen_is_dark_and_reloads_itself(client, world, settings):
    settings.GUATU_SCREEN_REFRESH_SECONDS = 120
    client.force_login(world.users["leader"])
    body = client.get(reverse("dashboard:screen")).content.decode()
    assert 'data-bs-theme="dark"' in body and 'data-echarts-theme="dark"' in body
    assert '<meta http-equiv="refresh" content="120">' in body


def test_map_outline_is_served_for_the_visible_divisions(client, world):
    client.force_login(world.users["city"])
    city = client.get(reverse("dashboard:map_geojson")).json()
    names = {f["properties"]["name"] for f in city["features"]}
    assert len(names) == 7 and "双塔区" in names and "喀喇沁左翼蒙古族自治县" in names
    client.force_login(world.users["county"])
    county = client.get(reverse("dashboard:map_geojson")).json()
    assert [f["properties"]["name"] for f in county["features"]] == ["双塔区"]


def test_projects_with_coordinates_are_points_coloured_by_light(client, world, data):
    data["a"].latitude, data["a"].longitude = Decimal("41.56"), Decimal("120.45")
    data["a"].save(update_fields=["latitude", "longitude"])
    client.force_login(world.users["city"])
    points = map_data(client.get(PAGE, {"year": 2026}))["points"]
    assert points == [
        {
            "id": data["a"].pk,
            "code": data["a"].code,
            "name": "风电甲",
            "region": "双塔区",
            "light": "red",
            "value": [120.45, 41.56],
        }
    ]


def test_home_opens_the_war_map_for_those_who_command(client, world):
    client.force_login(world.users["leader"])
    assert client.get("/")["Location"] == PAGE


def _spread(world, n, start=0):
    regions = list(world.counties.values())
    for i in range(start, start + n):
        project = make_project(
            world,
            region=regions[i % len(regions)],
            stage="started",
            planned_start=dt.date(2026, 4, 1 + i % 28),
            latitude=Decimal("41.5"),
            longitude=Decimal("120.4"),
        )
        report(project, dt.date(2026, 4, 1), "10")
        light(project, ("red", "yellow", "green")[i % 3])


def _queries(client, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PAGE, params).status_code == 200
    return len(captured.captured_queries)


def _scheme() -> None:
    """A county scheme with a weighted, a count and a rate item: the ranking board is drawn too."""
    scheme = ScoringScheme.objects.create(year=2026, group="county", version=99, name="查询数测试方案")
    SchemeItem.objects.create(scheme=scheme, order=1, metric="started", label="新开工", kind="count", per=2)
    SchemeItem.objects.create(
        scheme=scheme, order=2, metric="investment_done", label="完成投资", kind="count", per=1
    )
    SchemeItem.objects.create(
        scheme=scheme, order=3, metric="start_rate", label="开工率", kind="count", per=1
    )


# The page's queries, pinned: the figures are read from the rollups grouped by division and the
# ranking by kind of scope, so neither more projects nor more divisions add a query.
@pytest.mark.parametrize(
    ("params", "pinned"),
    [({"year": 2026, "quarter": 2}, 57), ({"year": 2026, "division": "211302"}, 48)],
)
def test_query_count_does_not_grow_with_projects(client, world, params, pinned):
    client.force_login(world.users["city"])
    _scheme()
    _spread(world, 3)
    _queries(client, params)  # warm the per-process caches
    few = _queries(client, params)
    _spread(world, 40, start=3)
    assert _queries(client, params) == few == pinned
