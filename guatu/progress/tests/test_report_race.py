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


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="SQLite runs one writer at a time; PostgreSQL shows real concurrency",
)
@pytest.mark.serial
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_api_answers_the_version_its_own_write_made(monkeypatch):
    """A PATCH answers with the report as its own write left it, even when another writer is
    waiting to change it next: A is held between its write and its answer while B patches the
    version A's write made. B must wait for A, and A's answer must be A's version, not B's."""
    from rest_framework.test import APIClient

    from guatu.progress import api as report_api

    world = make_world()
    project = building_project(world)
    city = world.users["city"]
    report = save(city, project, months_ago(1), investment="100")
    a_written, b_done = threading.Event(), threading.Event()
    calls = {"A": 0}
    real_row = report_api.selectors.report_row

    def held_row(qs, pk):
        name = threading.current_thread().name
        if name == "A":
            calls["A"] += 1
            if calls["A"] == 2:  # the answer, after the write (the first call read the report)
                a_written.set()
                b_done.wait(timeout=3)  # B finishing first would mean A's lock was already gone
        return real_row(qs, pk)

    monkeypatch.setattr(report_api.selectors, "report_row", held_row)
    answers: dict[str, object] = {}

    def patch(name: str, version: int, amount: str) -> None:
        client = APIClient()
        client.force_authenticate(city)
        try:
            if name == "B":
                a_written.wait(timeout=10)
            response = client.patch(
                f"/api/reports/{report.pk}/", {"investment_done": amount, "version": version}, format="json"
            )
            answers[name] = (response.status_code, response.json().get("version"))
        finally:
            if name == "B":
                b_done.set()
            connections.close_all()

    threads = [
        threading.Thread(target=patch, args=("A", 1, "111"), name="A"),
        threading.Thread(target=patch, args=("B", 2, "222"), name="B"),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == {"A": (200, 2), "B": (200, 3)}
    report.refresh_from_db()
    assert (report.investment_done, report.version) == (Decimal("222"), 3)
