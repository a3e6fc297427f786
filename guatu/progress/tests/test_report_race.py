"""Two editors saving the same version at the same moment, on two real connections (PostgreSQL).

A transactional test empties the database when it ends, so it is marked `serial`: `make test` runs
it alone, after the rest."""

import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connections

from guatu.core.exceptions import Conflict
from guatu.core.testing import make_world
from guatu.progress.tests.report_helpers import building_project, months_ago, save
from guatu.projects.models import Stage


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="SQLite runs one writer at a time; PostgreSQL shows real concurrency",
)
@pytest.mark.serial
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_threads_saving_the_same_version_one_wins_and_one_gets_409():
    world = make_world()
    project = building_project(world)
    city = world.users["city"]
    report = save(city, project, months_ago(1), investment="100")
    barrier = threading.Barrier(2)
    results: dict[str, tuple[str, str]] = {}

    def edit(name: str, amount: str) -> None:
        try:
            barrier.wait(timeout=10)
            save(city, project, months_ago(1), investment=amount, version=1)
            results[name] = ("saved", amount)
        except Conflict as err:
            results[name] = ("conflict", err.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=edit, args=(n, a)) for n, a in (("甲", "111"), ("乙", "222"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(kind for kind, _ in results.values()) == ["conflict", "saved"]
    winner = next(value for kind, value in results.values() if kind == "saved")
    loser = next(value for kind, value in results.values() if kind == "conflict")
    assert "已被他人修改" in loser
    report.refresh_from_db()
    assert (report.investment_done, report.version) == (Decimal(winner), 2)
    assert Stage.objects.filter(code="started").exists()
