"""GET /api/targets/: each target with actual, forecast band, status and its county parts."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from guatu.core.testing_api import BUSINESS_ROLES, APITestCases, api_client
from guatu.targets.models import Target
from guatu.targets.services import target_create, target_split
from guatu.targets.tests.helpers import milestone, project

pytestmark = pytest.mark.django_db


def make(region=None, unit=None, metric="started", period="2026Q1", value=12):
    return target_create(
        actor=None,
        data={"metric": metric, "period": period, "value": Decimal(value), "region": region, "unit": unit},
    )


class TestTargetAPI(APITestCases.Retrieve):
    model = Target
    basename = "target"
    view_roles = BUSINESS_ROLES

    def make_objects(self, world):
        return [
            make(region=world.city, value=120),
            make(region=world.counties["211302"]),
            make(region=world.counties["211303"]),
            make(unit=world.department),
        ]


def test_list_per_role_scope(world):
    city = make(region=world.city, value=120)
    own = make(region=world.counties["211302"])
    other = make(region=world.counties["211303"])

    def ids(role):
        response = api_client(world.users[role]).get(reverse("api:target-list"))
        return {r["id"] for r in response.json()["results"]}

    assert ids("county") == {city.pk, own.pk}
    assert ids("other_county") == {city.pk, other.pk}
    assert ids("city") == {city.pk, own.pk, other.pk}
    assert api_client(world.users["auditor"]).get(reverse("api:target-list")).status_code == 403
    assert api_client(None).get(reverse("api:target-list")).status_code == 401


def test_fields_actual_forecast_status_and_parts(world):
    # A past period, so the numbers are final: 双塔区 started 2 projects in Q1 2025, 龙城区 none.
    for day in (dt.date(2025, 1, 20), dt.date(2025, 3, 2)):
        p = project(world, stage="started", signed_on=dt.date(2024, 1, 1))
        milestone(p, "started", day)
    city = make(region=world.city, period="2025Q1", value=3)
    target_split(actor=None, target_id=city.pk, parts={"211302": 2, "211303": 2})
    body = api_client(world.users["city"]).get(reverse("api:target-detail", args=[city.pk])).json()
    assert body["metric"] == "started" and body["metric_name"] == "开工项目数"
    assert (body["region"], body["period"], body["period_kind"], body["comparator"]) == (
        "211300", "2025Q1", "quarter", "ge",
    )  # fmt: skip
    assert (body["actual"], body["forecast"], body["forecast_low"], body["forecast_high"]) == (
        "2.00", "2.00", "2.00", "2.00",
    )  # fmt: skip
    assert (body["status"], body["status_label"]) == ("missed", "未完成")
    assert (body["parts_total"], body["parts_gap"]) == ("4.00", "1.00")
    parts = {p["region"]: (p["value"], p["actual"], p["status"]) for p in body["parts"]}
    assert parts == {"211302": ("2.00", "2.00", "met"), "211303": ("2.00", "0.00", "missed")}
    # A county sees the city target, and of its parts only its own.
    county = api_client(world.users["county"]).get(reverse("api:target-detail", args=[city.pk])).json()
    assert [p["region"] for p in county["parts"]] == ["211302"]


def test_filters_period_metric_region(world):
    make(region=world.city, value=120)
    make(region=world.city, metric="signed", period="2026", value=200)
    make(region=world.counties["211302"])
    client = api_client(world.users["city"])
    url = reverse("api:target-list")

    def count(**params):
        response = client.get(url, params)
        assert response.status_code == 200, response.json()
        return response.json()["count"]

    assert count(period="2026Q1") == 2
    assert count(metric="signed") == 1
    assert count(region="211302") == 1
    assert count(period="2026Q1", region="211300") == 1
    bad = client.get(url, {"period": "2026Q5"})
    assert bad.status_code == 400 and "季度须为 1–4" in str(bad.json())


def test_read_only(world):
    target = make(region=world.city, value=120)
    client = api_client(world.users["city"])
    assert client.post(reverse("api:target-list"), {"metric": "started"}, format="json").status_code == 405
    assert client.delete(reverse("api:target-detail", args=[target.pk])).status_code == 405
    assert Target.objects.count() == 1
