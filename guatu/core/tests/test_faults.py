"""Faults: a process killed (SIGKILL) inside an import or a monthly report submission leaves nothing
half written, and the change log's chain still verifies; a backup runs beside an open write
transaction and copies only what was committed; PostgreSQL restarted under traffic makes
requests fail cleanly (a Chinese 503, no traceback, no hang) and the server recovers by itself.

Each test runs real guatu processes against a database of its own, never the test database: a
temporary SQLite file, or on PostgreSQL (GUATU_TEST_DATABASE_URL) a database created for the test on
the same server. They are `serial`: they kill processes, run a server and (the restart) stop the
PostgreSQL cluster every other test uses."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings

from guatu.core.models import ChangeRecord
from guatu.org.models import Unit
from guatu.progress.models import MonthlyReport
from guatu.projects.models import Project

pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
APP_NAME = "guatu-fault-test"  # the PostgreSQL application_name of the processes under test
IMPORT_ROWS = 3000  # enough for the import's transaction to last seconds

SETUP = """
import json
import django

django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token

from guatu.core.testing import make_world
from guatu.progress.tests.report_helpers import building_project, months_ago, save

world = make_world()
city = world.users["city"]
project = building_project(world, actor=city, name="故障测试在建项目")
report = save(city, project, months_ago(1), investment="300", percent="15")
# A signed-in browser's session, for the pages.
session = SessionStore()
session[SESSION_KEY] = str(city.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = city.get_session_auth_hash()
session.create()
token = Token.objects.create(user=city).key
print(json.dumps({"report": report.pk, "token": token, "session": session.session_key}))
"""

# Submits the report; with "pause", stops for good right after the service wrote its change record,
# inside the service's transaction, and says so on standard output.
SUBMIT = """
import sys
import time
import django

django.setup()
from guatu.accounts.models import User
from guatu.progress import services
from guatu.progress.models import MonthlyReport

if sys.argv[2] == "pause":
    original = services.record_change

    def record_and_wait(**kwargs):
        original(**kwargs)
        print("INSIDE", flush=True)
        time.sleep(600)

    services.record_change = record_and_wait
report = MonthlyReport.objects.get(pk=int(sys.argv[1]))
services.report_submit(actor=User.objects.get(username="t_city"), report_id=report.pk, version=report.version)
print("SUBMITTED", flush=True)
"""


def _base_env(database_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "GUATU_TESTING",
        "GUATU_TEST_DATABASE_URL",
        "GUATU_READ_DATABASE_URL",
        "GUATU_PRODUCTION",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "guatu.settings",
            "GUATU_DATABASE_URL": database_url,
            "GUATU_VAR_DIR": str(var_dir),
            "PGAPPNAME": APP_NAME,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class FaultDatabase:
    """A migrated database with a world, a project under construction and its draft report."""

    vendor: str
    url: str
    env: dict[str, str]
    path: Path | None = None  # SQLite
    pg: dict = field(default_factory=dict)  # PostgreSQL: host, port, user, password, dbname
    report: int = 0
    token: str = ""
    session: str = ""

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(args), env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )

    def guatu(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "guatu"), *args, timeout=timeout)

    def popen(self, *args: str, log=None) -> subprocess.Popen:
        """Output to pipes, or to `log` (a server's: it writes more than a pipe holds)."""
        out = log or subprocess.PIPE
        return subprocess.Popen(
            list(args),
            env=self.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            text=True,
        )

    def scalar(self, sql: str, params: tuple = ()):
        if self.vendor == "sqlite":
            import sqlite3

            connection = sqlite3.connect(self.path, timeout=30)
            try:
                return connection.execute(sql.replace("%s", "?"), params).fetchone()[0]
            finally:
                connection.close()
        import psycopg

        with psycopg.connect(**self.pg, autocommit=True) as connection:
            return connection.execute(sql, params).fetchone()[0]

    def count(self, model) -> int:
        return self.scalar(f'SELECT COUNT(*) FROM "{model._meta.db_table}"')

    def writing(self) -> bool:
        """Whether a process under test holds an open transaction that has written something."""
        if self.vendor == "sqlite":
            import sqlite3

            # The import writes under BEGIN IMMEDIATE: while it is inside, nobody else can begin a write.
            probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError as err:
                if "locked" in str(err):
                    return True
                raise
            finally:
                probe.close()
        # A transaction gets an xid at its first write.
        return bool(
            self.scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
                " AND backend_xid IS NOT NULL",
                (self.pg["dbname"], APP_NAME),
            )
        )

    def chain_verifies(self) -> subprocess.CompletedProcess:
        return self.guatu("audit_verify")


def _pg_params() -> dict:
    config = settings.DATABASES["default"]
    return {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }


def _pg_url(params: dict, dbname: str) -> str:
    auth = params["user"] or ""
    if params["password"]:
        auth += f":{params['password']}"
    return f"postgres://{auth}@{params['host'] or ''}:{params['port'] or 5432}/{dbname}"


@pytest.fixture
def fault_db(tmp_path):
    vendor = "sqlite" if "sqlite" in settings.DATABASES["default"]["ENGINE"] else "postgresql"
    pg: dict = {}
    path = None
    if vendor == "sqlite":
        path = tmp_path / "guatu.sqlite3"
        url = f"sqlite:///{path}"
    else:
        import psycopg

        params = _pg_params()
        name = f"guatu_faults_{os.getpid()}"
        with psycopg.connect(**params, dbname="postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        pg = {**params, "dbname": name}
        url = _pg_url(params, name)
    database = FaultDatabase(vendor, url, _base_env(url, tmp_path), path=path, pg=pg)
    try:
        migrated = database.guatu("migrate", "--no-input", "-v", "0", timeout=600)
        assert migrated.returncode == 0, migrated.stderr
        setup = database.run(str(BIN / "python"), "-c", SETUP)
        assert setup.returncode == 0, setup.stderr
        made = json.loads(setup.stdout.strip().splitlines()[-1])
        database.report, database.token, database.session = made["report"], made["token"], made["session"]
        yield database
    finally:
        if vendor == "postgresql":
            import psycopg

            _wait_for_postgresql()
            with psycopg.connect(**_pg_params(), dbname="postgres", autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{pg["dbname"]}" WITH (FORCE)')


def _kill_when(process: subprocess.Popen, inside, *, what: str, timeout: float = 240) -> str:
    """SIGKILL the process once `inside()` has held on three polls in a row; fail if it ended first."""
    deadline = time.monotonic() + timeout
    held = 0
    while held < 3:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"{what}在被杀掉之前就结束了（退出码 {process.returncode}）：{out}{err[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{what}在 {timeout} 秒内没有进入事务")
        held = held + 1 if inside() else 0
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, f"{what}不是被 SIGKILL 结束的：{process.returncode}"
    return out


def test_an_import_killed_inside_its_transaction_leaves_nothing(fault_db, tmp_path):
    from guatu.projects.tests.test_import import write
    from guatu.projects.tests.test_import_bulk import many_rows

    sheet = write(tmp_path / "projects.xlsx", many_rows(IMPORT_ROWS))
    before = {model: fault_db.count(model) for model in (Project, ChangeRecord, Unit)}
    assert before[ChangeRecord] > 0  # the world and its report were written through the services

    process = fault_db.popen(str(BIN / "guatu"), "import_projects", str(sheet))
    out = _kill_when(process, fault_db.writing, what="导入")
    assert "导入完成" not in out

    after = {model: fault_db.count(model) for model in (Project, ChangeRecord, Unit)}
    assert after == before, f"被杀掉的导入留下了数据：之前 {before}，之后 {after}"
    assert (
        fault_db.scalar("SELECT COUNT(*) FROM projects_project WHERE name LIKE %s", ("批量导入项目%",)) == 0
    )
    verified = fault_db.chain_verifies()
    assert verified.returncode == 0, verified.stderr
    assert "变更记录链完整" in verified.stdout


def test_a_report_submission_killed_inside_its_transaction_leaves_nothing(fault_db):
    report = fault_db.report
    status = (
        "SELECT s.code FROM progress_monthlyreport r JOIN progress_reportstatus s ON s.id = r.status_id"
        " WHERE r.id = %s"
    )
    version = "SELECT version FROM progress_monthlyreport WHERE id = %s"
    assert fault_db.scalar(status, (report,)) == "draft"
    before_version = fault_db.scalar(version, (report,))
    records = fault_db.count(ChangeRecord)
    reports = fault_db.count(MonthlyReport)

    process = fault_db.popen(str(BIN / "python"), "-c", SUBMIT, str(report), "pause")
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the service has written its change record
    assert line.strip() == "INSIDE", line + process.stderr.read()
    assert fault_db.writing()
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert fault_db.scalar(status, (report,)) == "draft"
    assert fault_db.scalar(version, (report,)) == before_version
    assert fault_db.scalar("SELECT submitted_at FROM progress_monthlyreport WHERE id = %s", (report,)) is None
    assert fault_db.count(ChangeRecord) == records
    assert fault_db.count(MonthlyReport) == reports
    verified = fault_db.chain_verifies()
    assert verified.returncode == 0, verified.stderr

    # Nothing is left locked: the same submission goes through, and the chain goes on.
    again = fault_db.run(str(BIN / "python"), "-c", SUBMIT, str(report), "go", timeout=120)
    assert again.returncode == 0 and "SUBMITTED" in again.stdout, again.stderr
    assert fault_db.scalar(status, (report,)) == "submitted"
    assert fault_db.count(ChangeRecord) == records + 1
    assert fault_db.chain_verifies().returncode == 0


# --- PostgreSQL restarted under traffic -------------------------------------------------------


def _cluster_of_port(port: int) -> tuple[str, str] | None:
    """(version, name) of the Debian cluster listening on the port, from pg_lsclusters."""
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2] == str(port):
            return parts[0], parts[1]
    return None


def _wait_for_postgresql(timeout: float = 120) -> None:
    params = _pg_params()
    args = ["pg_isready", "-q"]
    if params["host"]:
        args += ["-h", params["host"]]
    if params["port"]:
        args += ["-p", str(params["port"])]
    deadline = time.monotonic() + timeout
    while subprocess.run(args).returncode != 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"PostgreSQL 在 {timeout} 秒内没有恢复（pg_isready）")
        time.sleep(0.5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    at: float
    status: int  # 0: no HTTP answer (connection refused, timeout)
    body: str
    seconds: float
    error: str = ""


CLIENT_TIMEOUT = 15


def _get(url: str, headers: dict[str, str]) -> Answer:
    started = time.monotonic()
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
            return Answer(started, response.status, response.read().decode(), time.monotonic() - started)
    except urllib.error.HTTPError as err:
        return Answer(started, err.code, err.read().decode(), time.monotonic() - started)
    except OSError as err:
        return Answer(started, 0, "", time.monotonic() - started, repr(err))


def test_postgresql_restart_under_traffic_fails_cleanly_and_recovers(request, tmp_path):
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("测试数据库不是 PostgreSQL（设 GUATU_TEST_DATABASE_URL 可运行）")
    if os.geteuid() != 0 or not shutil.which("pg_ctlcluster"):
        pytest.skip("需要 root 与 pg_ctlcluster 才能重启 PostgreSQL")
    # The cluster that serves the test database, whatever its port (5432: the Debian cluster 15 main).
    cluster = _cluster_of_port(int(_pg_params()["port"] or 5432))
    if cluster is None:
        pytest.skip("测试数据库所在的 PostgreSQL 不是本机的 Debian 集群")
    fault_db = request.getfixturevalue("fault_db")

    port = _free_port()
    # Two sync workers keeping their connections (CONN_MAX_AGE 60): after the restart each worker's
    # connection is dead, and the health check must replace it without a restart of guatu.
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed in the finally below)
    server = fault_db.popen(
        str(BIN / "gunicorn"),
        "guatu.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        log=log,
    )
    base = f"http://127.0.0.1:{port}"
    # The API by token and a page by session cookie, in turn.
    targets = [
        (f"{base}/api/projects/?" + urlencode({"limit": 5}), {"Authorization": f"Token {fault_db.token}"}),
        (f"{base}/projects/", {"Cookie": f"{settings.SESSION_COOKIE_NAME}={fault_db.session}"}),
    ]
    answers: list[Answer] = []
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while True:
            first = _get(*targets[0])
            if first.status == 200:
                break
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, f"guatu 在 60 秒内没有启动：{first}"
            time.sleep(0.5)
        assert "故障测试在建项目" in first.body
        page = _get(*targets[1])
        assert page.status == 200 and "故障测试在建项目" in page.body, page

        def traffic():
            # Bounded: at most 2,000 requests or until told to stop, whichever comes first.
            for n in range(2000):
                if stop.is_set():
                    return
                answers.append(_get(*targets[n % 2]))
                time.sleep(0.05)

        sender = threading.Thread(target=traffic, daemon=True)
        sender.start()
        time.sleep(2)
        restart_started = time.monotonic()
        restarted = subprocess.run(["pg_ctlcluster", *cluster, "restart"], capture_output=True, text=True)
        restart_ended = time.monotonic()
        assert restarted.returncode == 0, restarted.stderr
        _wait_for_postgresql()
        ready = time.monotonic()
        # Go on sending until a run of successes after the restart, at most 60 seconds.
        deadline = ready + 60
        while time.monotonic() < deadline:
            late = [a for a in answers if a.at > ready]
            if len(late) >= 20 and all(a.status == 200 for a in late[-10:]):
                break
            time.sleep(0.2)
        stop.set()
        sender.join(timeout=CLIENT_TIMEOUT + 5)
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        _wait_for_postgresql()

    failed = [a for a in answers if a.status != 200]
    for answer in failed:
        # Fails cleanly: an HTTP answer within the client's timeout, 503 with the Chinese message.
        assert answer.status == 503, f"重启期间的请求没有得到 503：{answer}"
        assert answer.seconds < CLIENT_TIMEOUT
        assert "数据库暂时无法连接" in answer.body, answer.body[:500]
        assert "Traceback" not in answer.body and "psycopg" not in answer.body
    late = [a for a in answers if a.at > ready]
    assert late and all(a.status == 200 for a in late[-10:]), [a.status for a in late]
    recovered = next(a for a in answers if a.at > restart_ended and a.status == 200)
    report = {
        "requests": len(answers),
        "failed": len(failed),
        "restart_seconds": round(restart_ended - restart_started, 2),
        "first_success_after_restart_began_seconds": round(recovered.at - restart_started, 2),
    }
    print("PostgreSQL restart under traffic:", json.dumps(report))


def test_a_backup_taken_while_a_writer_is_inside_its_transaction(fault_db, tmp_path):
    """`guatu backup` does not wait for, nor copy, a transaction still open in another process: the
    server goes on while it runs, and the backup holds only what was committed."""
    process = fault_db.popen(str(BIN / "python"), "-c", SUBMIT, str(fault_db.report), "pause")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "INSIDE", line + (process.stderr.read() if process.stderr else "")
        target = tmp_path / ("backup.sqlite3" if fault_db.vendor == "sqlite" else "backup.dump")
        made = fault_db.guatu("backup", "--output", str(target), timeout=120)
        assert made.returncode == 0, made.stderr
        assert "备份完成" in made.stdout and target.stat().st_size > 0
        assert fault_db.writing()  # the writer was inside its transaction all along
    finally:
        process.kill()
        process.communicate(timeout=30)
    if fault_db.vendor == "sqlite":
        import sqlite3

        copy = sqlite3.connect(target)
        try:
            status = copy.execute(
                "SELECT s.code FROM progress_monthlyreport r JOIN progress_reportstatus s"
                " ON s.id = r.status_id WHERE r.id = ?",
                (fault_db.report,),
            ).fetchone()[0]
        finally:
            copy.close()
        assert status == "draft"  # the submission was not committed when the backup ran
    else:
        listing = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True)
        assert "progress_monthlyreport" in listing.stdout
