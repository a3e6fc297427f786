import pytest

from guatu.core.testing_api import api_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["9" * 30, "²"])
def test_a_unit_filter_that_is_no_database_id_finds_no_lead_instead_of_failing(world, value):
    response = api_client(world.users["city"]).get("/api/attraction/leads/", {"attracting_unit": value})
    assert response.status_code == 200 and response.json()["results"] == []
