"""The multi-process shape on one PostgreSQL: two real `guatu db_worker` processes share a hundred
jobs, and each job runs exactly once.

The workers are separate processes on the test database, so the jobs must be committed where they can
see them: a transactional test, which empties the database when it ends, hence `serial` (`make test`
runs it alone, after the rest)."""

import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from guatu.core.tests.worker_tasks import record_job

JOBS = 100
TIMEOUT = 60  # seconds for all the jobs to finish, once both workers poll
STARTUP = 90  # seconds for both workers to start: Django's start-up is slow on a busy machine
# Poll often, start at once, and never fork a reloader (its pid would not be the one that runs jobs).
WORKER_OPTIONS = ["--interval", "0.1", "--no-startup-delay", "--no-reload"]


def database_url(cfg: dict) -> str:
    """The URL of the database this test runs on (the test database), for GUATU_DATABASE_URL."""
    auth = quote(cfg["USER"] or "", safe="")
    if cfg["PASSWORD"]:
        auth += ":" + quote(cfg["PASSWORD"], safe="")
    return f"postgres://{auth}@{cfg['HOST'] or 'localhost'}:{cfg['PORT'] or 5432}/{quote(cfg['NAME'])}"


def worker_env(var_dir: Path) -> dict[str, str]:
    # Outside pytest the settings choose the database backend for tasks (not the immediate one);
    # drop every variable that would make the worker think it is under test or look elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUATU_", "DJANGO_"))}
    env |= {
        "GUATU_DATABASE_URL": database_url(connections["default"].settings_dict),
        "GUATU_VAR_DIR": str(var_dir),
        "PYTHONUNBUFFERED": "1",
    }
    return env


def guatu_command() -> list[str]:
    script = Path(sys.executable).with_name("guatu")
    if script.exists():
        return [str(script)]
    found = shutil.which("guatu")
    return [found] if found else [sys.executable, "-m", "guatu.cli"]


def wait_for(predicate, *, timeout: float, workers) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if any(w.poll() is not None for w in workers):
            return False  # a worker died: no point waiting
        time.sleep(0.2)
    return predicate()


def stop(workers) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # graceful: the current job finishes first
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="several worker processes on one database is the PostgreSQL deployment (SELECT … SKIP LOCKED)",
)
@pytest.mark.serial
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_db_workers_share_a_hundred_jobs_and_run_each_exactly_once(tmp_path, settings):
    jobs_log = tmp_path / "jobs.log"
    env = worker_env(tmp_path)
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers = []
    try:
        for i, log in enumerate(logs):
            with log.open("wb") as out:
                workers.append(
                    subprocess.Popen(
                        [*guatu_command(), "db_worker", "--worker-id", f"worker{i}", *WORKER_OPTIONS],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )

        def output() -> str:
            return "\n".join(
                f"--- worker{i}\n{log.read_text(errors='replace')}" for i, log in enumerate(logs)
            )

        # Both polling before the first job exists, so neither has a head start.
        started = wait_for(
            lambda: all("Starting worker" in log.read_text(errors="replace") for log in logs),
            timeout=STARTUP,
            workers=workers,
        )
        assert started, output()

        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
        results = [record_job.enqueue(path=str(jobs_log), number=n) for n in range(JOBS)]
        assert {r.status for r in results} == {TaskResultStatus.READY}

        finished = DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED]
        )
        done = wait_for(lambda: finished.count() == JOBS, timeout=TIMEOUT, workers=workers)
        assert done, f"{finished.count()} of {JOBS} jobs finished\n{output()}"
    finally:
        stop(workers)

    # Each job ran exactly once: a job taken by both workers would have written two lines.
    lines = [line.split() for line in jobs_log.read_text().splitlines()]
    numbers = sorted(int(number) for number, _pid in lines)
    assert numbers == list(range(JOBS))

    # Both workers took some, and each result names the one worker that ran it.
    per_pid = collections.Counter(int(pid) for _number, pid in lines)
    assert set(per_pid) == {w.pid for w in workers}
    assert all(count > 0 for count in per_pid.values()), per_pid
    rows = DBTaskResult.objects.filter(task_path=record_job.module_path)
    assert rows.count() == JOBS
    assert set(rows.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}
    by_worker = collections.Counter(w for ids in rows.values_list("worker_ids", flat=True) for w in ids)
    assert sum(by_worker.values()) == JOBS  # one claim per job
    assert sorted(by_worker.values()) == sorted(per_pid.values())
    assert sorted(r.return_value for r in rows) == list(range(JOBS))
