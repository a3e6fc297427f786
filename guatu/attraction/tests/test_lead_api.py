import itertools

import pytest

from guatu.attraction.models import Lead
from guatu.attraction.tests.leads_helpers import county_unit, make_lead
from guatu.core.testing_api import APITestCases, api_client
from guatu.org.models import Chain

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)
URL = "/api/attraction/leads/"


class TestLeadAPI(APITestCases.List, APITestCases.Retrieve, APITestCases.Create):
    model = Lead
    basename = "attraction-lead"
    view_roles = frozenset({"city", "leader", "county", "other_county", "department"})
    add_roles = frozenset({"city", "county", "other_county", "department"})

    def make_object(self, world):
        return make_lead(world)

    def make_objects(self, world):
        return [
            make_lead(world),  # 双塔, by the department
            make_lead(world, region=world.counties["211303"], attracting_unit=world.other_department),
            make_lead(world, region=world.counties["211303"], attracting_unit=county_unit(world)),
        ]

    def create_data(self, world, role):
        region = "211303" if role == "other_county" else "211302"
        return {
            "name": f"接口新建线索{next(_seq)}",
            "investor": "北京测试新能源有限公司",
            "investor_region": "北京市",
            "chain": {"id": world.chain.pk},
            "amount": "12000",
            "attracting_unit": {"id": world.department.pk},
            "region": region,
        }

    def invalid_create_data(self, world):
        return {**self.create_data(world, "city"), "amount": "-1"}, "amount"


def test_created_leads_start_at_clue(world):
    response = api_client(world.users["city"]).post(
        URL,
        {
            "name": "接口线索", "investor": "天津测试有限公司", "investor_region": "天津市",
            "chain": world.chain.pk, "amount": "500", "attracting_unit": world.department.pk,
            "region": "211302", "entered_on": "2026-02-01",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["stage"] == "clue" and body["stage_name"] == "线索"
    assert body["screening_failures"] == ["产业契合尚未研判"]
    lead = Lead.objects.get(pk=body["id"])
    assert str(lead.stage_changes.get().on) == "2026-02-01"


def test_filters(world):
    other_chain = Chain.objects.create(name="钢铁深加工", order=2)
    zone_unit = county_unit(world, "211303")
    a = make_lead(world, stage="signed")
    b = make_lead(world, chain=other_chain, region=world.counties["211303"], attracting_unit=zone_unit)
    c = make_lead(world, stage="negotiating", attracting_unit=world.other_department)
    client = api_client(world.users["city"])

    def ids(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["results"]}

    assert ids(stage="signed") == {a.pk}
    assert ids(stage=["signed", "negotiating"]) == {a.pk, c.pk}
    assert ids(chain=other_chain.pk) == {b.pk}
    assert ids(county="211303") == {b.pk}
    assert ids(county=world.city.code) == {a.pk, b.pk, c.pk}  # the city means every county
    assert ids(attracting_unit=world.other_department.pk) == {c.pk}
    assert ids(attracting_unit=zone_unit.name) == {b.pk}
    assert ids(county="211302", stage="clue") == set()
    response = client.get(URL, {"stage": "nonsense"})
    assert response.status_code == 400


def test_detail_names_the_screening_failures(world):
    lead = make_lead(world, is_two_high=True, relocation="squeezed")
    body = api_client(world.users["leader"]).get(f"{URL}{lead.pk}/").json()
    assert body["screening_failures"] == ["属于“挤出”项目", "两高项目"]
    assert body["chain"] == {"id": world.chain.pk, "name": "新能源"}
    assert body["region"] == "211302"
