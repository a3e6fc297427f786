"""Every API operation in the OpenAPI schema, fuzzed with schemathesis as the city admin (token
auth): no answer is a server error, and every answer matches the schema the API publishes.

The schema is the one /api/schema/ serves, generated in process (so the test needs no server); each
operation is its own test with its own database, and a few derandomised examples each keep the run
reproducible and short."""

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from guatu.core.testing import make_project

EXAMPLES = 5


def _load(*phases: str):
    # Each schema gets its own configuration: the phases set on one must not leak into the other.
    config = schemathesis.Config.from_dict(
        {"phases": {name: {"enabled": name in phases} for name in ALL_PHASES}}
    )
    loaded = schemathesis.openapi.from_dict(
        SchemaGenerator().get_schema(request=None, public=True), config=config
    )
    loaded.app = get_wsgi_application()
    return loaded


ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Every operation: the schema's examples, then EXAMPLES generated cases.
schema = _load("examples", "fuzzing")
# Reads also get the coverage phase (boundary values of every query parameter: year=0, limit=-1 …):
# cheap for reads, and where the crashes were.
reads = _load("coverage").include(method="GET")


CASES_RUN: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    yield
    # Shown with -s: how many requests the fuzzing made, by test.
    print(f"\nschemathesis cases: {dict(CASES_RUN)}, total {sum(CASES_RUN.values())}")


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Schemathesis calls the WSGI application itself, not through Django's test client, so each
    # request's end would close (at its start and end) the database connection inside the test's transaction (PostgreSQL then
    # answers the next request "connection is closed"). The test client does the same as this.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def city_token(world):
    # A few rows, so that list and detail operations have something to serialise.
    for _ in range(2):
        make_project(world)
    return Token.objects.create(user=world.users["city"]).key


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_schema(case, city_token):
    CASES_RUN["all operations"] += 1
    case.call_and_validate(
        headers={"Authorization": f"Token {city_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )


@pytest.mark.django_db
@reads.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_read_answers_boundary_values_within_its_schema(case, city_token):
    CASES_RUN["reads, boundary values"] += 1
    case.call_and_validate(
        headers={"Authorization": f"Token {city_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
