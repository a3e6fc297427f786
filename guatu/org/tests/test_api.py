import itertools

import pytest

from guatu.core.testing_api import BUSINESS_ROLES, APITestCases, api_client
from guatu.org.models import Chain, Region, Unit
from guatu.org.services import chain_get_or_create, unit_get_or_create

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)


class TestRegionAPI(APITestCases.ReadOnly):
    model = Region
    basename = "region"
    lookup_field = key = "code"
    missing_key = "110101"  # a real GB/T 2260 code, but not in this city
    view_roles = BUSINESS_ROLES | {"secadmin"}  # it scopes the roles it grants
    max_list_queries = 4

    def make_objects(self, world):
        # Regions are loaded from GB/T 2260 with the world, never made up.
        return [world.city, *world.counties.values()][:3]

    def make_bulk(self, world, count):
        pass


def test_regions_are_identified_by_code_with_parent_code(world):
    response = api_client(world.users["county"]).get("/api/regions/211302/")
    assert response.status_code == 200
    assert response.json() == {
        "code": "211302",
        "name": "双塔区",
        "short_name": "",
        "pinyin": "",
        "level": "county",
        "parent": "211300",
    }


def test_regions_filter_by_level(world):
    response = api_client(world.users["county"]).get("/api/regions/", {"level": "county"})
    codes = [item["code"] for item in response.json()["results"]]
    assert codes == sorted(world.counties)
    assert "211300" not in codes


class TestUnitAPI(APITestCases.ReadOnly):
    model = Unit
    basename = "unit"
    view_roles = BUSINESS_ROLES | {"secadmin"}

    def make_object(self, world):
        unit, _ = unit_get_or_create(
            actor=None,
            name=f"测试单位{next(_seq)}",
            kind=Unit.Kind.ENTERPRISE,
            region=world.counties["211303"],
        )
        return unit


def test_units_filter_by_kind_and_show_region_code(world):
    response = api_client(world.users["leader"]).get("/api/units/", {"kind": "department"})
    items = response.json()["results"]
    assert {item["name"] for item in items} == {"市发展和改革委员会", "市商务局"}
    assert {item["region"] for item in items} == {"211300"}


class TestChainAPI(APITestCases.ReadOnly):
    model = Chain
    basename = "chain"
    view_roles = BUSINESS_ROLES

    def make_object(self, world):
        chain, _ = chain_get_or_create(actor=None, name=f"测试产业链{next(_seq)}", order=next(_seq))
        return chain
