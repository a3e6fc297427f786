"""GET /api/attraction/funnel/: stages in order with count, amount, dropped and days; the rates;
the same per county; filters and scope."""

from unittest import mock

import pytest

from guatu.attraction.tests.funnel_data import LONGCHENG, TODAY, build
from guatu.core.testing_api import api_client
from guatu.org.models import Chain

pytestmark = pytest.mark.django_db

URL = "/api/attraction/funnel/"
STAGES = ["clue", "negotiating", "framework", "signed", "registered", "started", "in_production"]


@pytest.fixture
def leads(world):
    return build(world)


@pytest.fixture
def today():
    """The API's today (the funnel's year defaults to it)."""
    with mock.patch("django.utils.timezone.localdate", return_value=TODAY):
        yield TODAY


def test_shape_and_order(world, leads, today):
    response = api_client(world.users["city"]).get(URL, {"year": 2026})
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"year", "period", "county", "chain", "stages", "rates", "counties"}
    assert (data["year"], data["period"], data["county"], data["chain"]) == (2026, "2026", None, None)
    assert [s["code"] for s in data["stages"]] == STAGES
    assert set(data["stages"][0]) == {
        "code",
        "name",
        "count",
        "amount",
        "dropped",
        "median_days",
        "mean_days",
    }
    assert data["stages"][0] == {
        "code": "clue",
        "name": "线索",
        "count": 5,
        "amount": "3900.00",
        "dropped": 0,
        "median_days": 10.0,
        "mean_days": 13.3,
    }
    assert [s["count"] for s in data["stages"]] == [5, 4, 4, 4, 3, 3, 1]
    assert [s["dropped"] for s in data["stages"]] == [0, 1, 0, 0, 0, 0, 0]
    assert data["stages"][-1]["median_days"] is None
    assert data["rates"] == {
        "landing_rate": "0.7500",
        "start_completion_rate": "0.6667",
        "production_rate": "0.6667",
    }
    counties = {c["code"]: c for c in data["counties"]}
    assert len(counties) == 7
    assert counties[LONGCHENG]["name"] == "龙城区"
    assert [s["count"] for s in counties[LONGCHENG]["stages"]] == [1, 1, 1, 1, 1, 2, 0]
    assert counties["211321"]["rates"] == dict.fromkeys(
        ["landing_rate", "start_completion_rate", "production_rate"]
    )


def test_year_without_starts_has_null_rates(world, leads, today):
    data = api_client(world.users["city"]).get(URL, {"year": 2025}).json()
    assert data["rates"] == {"landing_rate": "1.0000", "start_completion_rate": None, "production_rate": None}


def test_year_defaults_to_this_year_and_quarter_narrows_it(world, leads, today):
    client = api_client(world.users["city"])
    assert client.get(URL).json()["year"] == 2026
    data = client.get(URL, {"year": 2026, "quarter": 1}).json()
    assert data["period"] == "2026Q1"
    assert [s["count"] for s in data["stages"]] == [3, 3, 3, 2, 2, 1, 0]


def test_county_and_chain_parameters(world, leads, today):
    client = api_client(world.users["city"])
    data = client.get(URL, {"year": 2026, "county": LONGCHENG}).json()
    assert data["county"] == LONGCHENG
    assert [s["count"] for s in data["stages"]] == [1, 1, 1, 1, 1, 2, 0]
    assert [c["code"] for c in data["counties"]] == [LONGCHENG]
    solar = Chain.objects.get(name="光伏")
    data = client.get(URL, {"year": 2026, "chain": solar.pk}).json()
    assert data["chain"] == solar.pk
    assert [s["count"] for s in data["stages"]] == [2, 2, 1, 1, 0, 0, 0]


def test_bad_parameters_are_400_with_reasons(world, leads, today):
    response = api_client(world.users["city"]).get(URL, {"year": "abc", "county": "999999", "chain": "x"})
    assert response.status_code == 400
    body = response.json()
    assert "年度“abc”有误" in str(body["year"])
    assert "999999" in str(body["county"])
    assert "chain" in body


def test_scope_a_county_gets_its_division(world, leads, today):
    data = api_client(world.users["county"]).get(URL, {"year": 2026}).json()
    assert [s["count"] for s in data["stages"]] == [4, 3, 3, 3, 2, 1, 1]
    assert [c["code"] for c in data["counties"]] == ["211302"]
    assert data["rates"]["landing_rate"] == "0.6667"


@pytest.mark.parametrize("role", ["enterprise", "steward", "auditor", "sysadmin", "secadmin"])
def test_roles_without_leads_are_refused(world, leads, today, role):
    assert api_client(world.users[role]).get(URL, {"year": 2026}).status_code == 403


def test_anonymous_is_refused(world, today):
    assert api_client(None).get(URL).status_code in (401, 403)


def test_queries_do_not_grow_with_leads(world, leads, today, django_assert_max_num_queries):
    from guatu.attraction.tests.funnel_data import D, make_lead

    client = api_client(world.users["city"])
    client.get(URL, {"year": 2026})
    with django_assert_max_num_queries(10):
        client.get(URL, {"year": 2026})
    for n in range(6):
        make_lead(world, f"M{n}", county=LONGCHENG, amount=5, entries=[("clue", D(2026, 3, 3))])
    with django_assert_max_num_queries(10):
        data = client.get(URL, {"year": 2026}).json()
    assert data["stages"][0]["count"] == 11


def test_schema_documents_the_endpoint(world):
    response = api_client(world.users["city"]).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/attraction/funnel/" in response.content.decode()
