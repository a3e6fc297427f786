"""The read replica router, against a second database alias.

Under test, settings.DATABASES["replica"] is a TEST mirror of default (Django creates no database for
it). Inside the test's transaction on default, the mirror's own connection could not see the test's
rows, so the `replica` fixture lends the mirror's wrapper the default connection's session: a replica
with no lag. The wrappers stay separate, so each records only the queries routed to it."""

import json
import os
import subprocess
import sys

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.db_router import REPLICA_DB_ALIAS, lagging_reads
from guatu.core.testing import make_project
from guatu.core.testing_api import api_client
from guatu.org.models import Chain
from guatu.projects.models import Project, Stage
from guatu.targets.models import ScoringScheme

pytestmark = pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS])
ROUTER = "guatu.core.db_router.ReadReplicaRouter"


@pytest.fixture
def replica(settings):
    settings.DATABASE_ROUTERS = [ROUTER]
    default, mirror = connections[DEFAULT_DB_ALIAS], connections[REPLICA_DB_ALIAS]
    assert mirror.settings_dict["TEST"]["MIRROR"] == DEFAULT_DB_ALIAS
    default.ensure_connection()
    own, mirror.connection = mirror.connection, default.connection
    yield mirror
    # Hand back the mirror's own connection (the test case rolls back its transaction), never closing
    # the lent one, which is default's.
    mirror.connection = own


@pytest.fixture(scope="module", autouse=True)
def close_mirror():
    yield
    # The mirror's own connection stays open between tests (each test only rolls it back); closed
    # here, PostgreSQL can drop the test database at the end of the run.
    connections[REPLICA_DB_ALIAS].close()


def capture():
    return (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]),
        CaptureQueriesContext(connections[REPLICA_DB_ALIAS]),
    )


def touching(queries, model) -> list[str]:
    return [q["sql"] for q in queries if f'"{model._meta.db_table}"' in q["sql"]]


def test_reads_inside_lagging_reads_go_to_the_replica(replica):
    chain = Chain.objects.create(name="氢能", order=99)
    on_default, on_replica = capture()
    with on_default, on_replica, lagging_reads():
        found = Chain.objects.get(pk=chain.pk)
        stages = list(Stage.objects.order_by("order").values_list("code", flat=True))
    assert (found.name, found._state.db) == ("氢能", REPLICA_DB_ALIAS)
    assert stages[0] == "planning" and "started" in stages
    assert len(touching(on_replica.captured_queries, Chain)) == 1
    assert len(touching(on_replica.captured_queries, Stage)) == 1
    assert on_default.captured_queries == []


def test_reads_outside_go_to_default(replica):
    chain = Chain.objects.create(name="氢能", order=99)
    with lagging_reads():
        pass
    on_default, on_replica = capture()
    with on_default, on_replica:
        found = Chain.objects.get(pk=chain.pk)
    assert found._state.db == DEFAULT_DB_ALIAS
    assert len(touching(on_default.captured_queries, Chain)) == 1
    assert on_replica.captured_queries == []


def test_writes_inside_go_to_default_and_the_block_then_reads_its_own_write(replica):
    on_default, on_replica = capture()
    with on_default, on_replica, lagging_reads():
        before = Chain.objects.filter(name="氢能").count()  # a read: replica
        chain = Chain.objects.create(name="氢能", order=99)  # a write: default
        found = Chain.objects.get(pk=chain.pk)  # after a write: default, whatever the replica lags
    assert before == 0 and found._state.db == DEFAULT_DB_ALIAS
    replica_sql = touching(on_replica.captured_queries, Chain)
    default_sql = touching(on_default.captured_queries, Chain)
    assert len(replica_sql) == 1 and replica_sql[0].startswith("SELECT")
    assert [sql.split()[0] for sql in default_sql] == ["INSERT", "SELECT"]


def test_a_decorated_function_reads_from_the_replica_and_only_while_it_runs(replica):
    @lagging_reads()
    def stage_names():
        return [s._state.db for s in Stage.objects.all()[:2]]

    assert stage_names() == [REPLICA_DB_ALIAS, REPLICA_DB_ALIAS]
    assert Stage.objects.first()._state.db == DEFAULT_DB_ALIAS


def test_objects_from_both_aliases_may_relate_and_only_default_migrates(replica, world):
    from_replica = Chain.objects.using(REPLICA_DB_ALIAS).get(pk=world.chain.pk)
    project = make_project(world)
    project.chain = from_replica  # would raise ValueError if the router refused the relation
    assert router.allow_relation(project, from_replica) is True
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "projects", model_name="project") is True
    assert router.allow_migrate(REPLICA_DB_ALIAS, "projects", model_name="project") is False


@pytest.mark.parametrize(
    "read_url, aliases, routers",
    [
        (None, ["default"], []),
        ("postgres://guatu@replica.example:5432/guatu", ["default", "replica"], [ROUTER]),
    ],
)
def test_settings_add_the_replica_and_the_router_only_with_a_read_url(tmp_path, read_url, aliases, routers):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUATU_")}
    env |= {"GUATU_VAR_DIR": str(tmp_path), "GUATU_DATABASE_URL": "postgres://guatu@primary.example/guatu"}
    if read_url:
        env["GUATU_READ_DATABASE_URL"] = read_url
    code = (
        "import json; from guatu import settings as s; "
        "print(json.dumps([sorted(s.DATABASES), getattr(s, 'DATABASE_ROUTERS', []),"
        " {a: d['HOST'] for a, d in s.DATABASES.items()}]))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    got_aliases, got_routers, hosts = json.loads(out.stdout)
    assert (got_aliases, got_routers) == (aliases, routers)
    assert hosts["default"] == "primary.example"
    if read_url:
        assert hosts["replica"] == "replica.example"


def test_dashboard_summary_api_reads_from_the_replica(replica, world):
    make_project(world, stage="started")
    make_project(world, region=world.counties["211303"])
    client = api_client(world.users["city"])
    on_default, on_replica = capture()
    with on_default, on_replica:
        response = client.get(reverse("api:dashboard-summary"))
    assert response.status_code == 200
    assert response.json()["total"]["projects"] == 2  # the test's own rows, read through the replica
    assert touching(on_replica.captured_queries, Project)
    assert touching(on_default.captured_queries, Project) == []


@pytest.mark.parametrize(
    "url, model",
    [
        (reverse("dashboard:war_map"), Project),
        (reverse("dashboard:screen"), Project),
        (reverse("targets:ranking"), ScoringScheme),
        (reverse("api:rankings"), ScoringScheme),
    ],
)
def test_war_map_and_ranking_pages_read_from_the_replica(replica, world, client, url, model):
    make_project(world, stage="started")
    user = world.users["city"]
    if url.startswith("/api/"):
        client = api_client(user)
    else:
        client.force_login(user)
    on_default, on_replica = capture()
    with on_default, on_replica:
        response = client.get(url)
    assert response.status_code == 200
    assert touching(on_replica.captured_queries, model)
    assert touching(on_default.captured_queries, model) == []


def test_without_lagging_reads_other_pages_read_from_default(replica, world, client):
    make_project(world)
    client.force_login(world.users["city"])
    on_default, on_replica = capture()
    with on_default, on_replica:
        response = client.get(reverse("projects:project_list"))
    assert response.status_code == 200
    assert touching(on_default.captured_queries, Project)
    assert on_replica.captured_queries == []
