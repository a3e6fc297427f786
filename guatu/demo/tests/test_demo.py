import datetime as dt
import io
import signal
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from guatu.accounts.models import Role, User
from guatu.core.models import ChangeRecord
from guatu.demo import catalogue as cat
from guatu.demo.generator import STAGES, map_centres, plan_projects
from guatu.demo.management.commands import demo as demo_command
from guatu.org.models import Chain, Region, Unit
from guatu.projects.models import GateStatus, Project, Stage, StageChange
from guatu.projects.services import project_update

pytestmark = pytest.mark.django_db

COUNTY_ACCOUNTS = {
    "shuangta": "211302", "longcheng": "211303", "chaoyangxian": "211321", "jianping": "211322",
    "kazuo": "211324", "beipiao": "211381", "lingyuan": "211382",
}  # fmt: skip
ROLES = {
    "city": Role.CITY_ADMIN, "leader": Role.LEADER, "auditor": Role.AUDITOR, "sysadmin": Role.SYSADMIN,
    "secadmin": Role.SECADMIN, "fagai": Role.DEPARTMENT, "qiye": Role.ENTERPRISE, "guanjia": Role.STEWARD,
    **dict.fromkeys(COUNTY_ACCOUNTS, Role.COUNTY),
}  # fmt: skip


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """Build the demo once for this module inside a transaction that is rolled back afterwards:
    each test runs in a savepoint within it, and the other modules still start from empty tables."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        out = io.StringIO()
        try:
            call_command("demo", "--no-serve", stdout=out)
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield out.getvalue()
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def counts() -> dict[str, int]:
    return {
        "regions": Region.objects.count(),
        "units": Unit.objects.count(),
        "chains": Chain.objects.count(),
        "users": User.objects.count(),
        "projects": Project.objects.count(),
        "stage_changes": StageChange.objects.count(),
        "change_records": ChangeRecord.objects.count(),
    }


def test_output_labels_the_data_as_demo_and_lists_url_and_logins(built):
    assert "演示数据" in built and "is_demo" in built
    assert "http://127.0.0.1:8000/" in built
    for username in ROLES:
        assert f"\n  {username} " in built
    assert "guatu-demo-2022" in built
    assert "达产达效" in built


def test_campaign_has_the_city_its_divisions_zone_departments_and_chains(built):
    counties = Region.objects.filter(level=Region.Level.COUNTY)
    assert set(counties.values_list("code", flat=True)) == {c.code for c in cat.COUNTIES}
    assert Region.objects.get(code="211324").label == "喀左县"
    assert Region.objects.get(level=Region.Level.CITY).code == "211300"
    zone = Unit.objects.get(kind=Unit.Kind.ZONE)
    assert (zone.name, zone.region.code) == ("柳城经济开发区", "211303")
    assert Unit.objects.filter(kind=Unit.Kind.COUNTY).count() == 7
    assert set(Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).values_list("name", flat=True)) == set(
        cat.DEPARTMENTS
    )
    chains = Chain.objects.filter(is_demo=True)
    assert chains.count() == 17 == Chain.objects.count()
    assert set(chains.values_list("sector", flat=True)) == {"原字号", "老字号", "新字号"}
    assert not Unit.objects.filter(kind=Unit.Kind.ENTERPRISE, is_demo=False).exists()


def test_projects_cover_every_stage_with_realistic_spreads(built):
    projects = Project.objects.all()
    assert projects.count() >= 300
    assert not projects.filter(is_demo=False).exists()
    by_stage = dict(projects.values_list("stage__code").annotate(n=Count("id")))
    assert set(by_stage) == set(STAGES) == set(Stage.objects.values_list("code", flat=True))
    assert all(n >= 5 for n in by_stage.values())
    assert set(projects.values_list("kind", flat=True)) == {"industry", "infrastructure", "livelihood"}
    assert set(projects.values_list("build_type", flat=True)) == {"new", "continuing"}
    money = sorted(projects.values_list("total_investment", flat=True))
    assert money[0] < 1000 and money[-1] > 100_000  # a few hundred 万元 to tens of 亿
    assert money[len(money) // 2] < Decimal("50000")  # most are small: the spread is skewed
    assert set(projects.values_list("region__code", flat=True)) == {c.code for c in cat.COUNTIES}
    assert projects.values("name").distinct().count() == projects.count()
    year = timezone.localdate().year
    assert not projects.filter(build_type="new").exclude(planned_start__year=year).exists()


def test_every_project_passes_full_clean_and_its_code_names_its_county(built):
    for project in Project.objects.select_related("region"):
        project.full_clean()
        assert project.code.split("-")[1] == project.region.code
        assert project.planned_completion >= project.planned_start
        assert project.annual_planned_investment <= project.total_investment


def test_gates_stewards_leaders_and_locations_follow_the_rules(built):
    projects = Project.objects.all()
    past_planning = projects.exclude(stage__code="planning")
    planning = projects.filter(stage__code="planning")
    for gate in Project.GATE_FIELDS:
        assert not past_planning.exclude(**{gate: GateStatus.PASSED}).exists()
    assert (
        planning.filter(environment_gate=GateStatus.FAILED).exists()
        or planning.filter(capacity_gate=GateStatus.FAILED).exists()
    )
    assert planning.filter(safety_gate=GateStatus.PENDING).exists()
    assert not past_planning.filter(is_two_high=True, two_high_approval="").exists()
    assert past_planning.filter(is_two_high=True).exists()
    assert planning.filter(is_two_high=True, two_high_approval="").exists()
    assert planning.filter(is_six_small=True).exists()
    big = projects.filter(total_investment__gte=5000)
    # Most big projects have a steward; a few are left without, so the coverage page has work to show.
    without = big.filter(steward__isnull=True).count()
    assert big.exists() and 0 < without <= big.count() // 10
    assert not projects.filter(total_investment__lt=5000, steward__isnull=False).exists()
    assert not projects.filter(lead_leader="").exists()
    assert not projects.annotate(n=Count("departments")).filter(n=0).exists()
    located = projects.filter(latitude__isnull=False)
    assert located.count() > projects.count() // 2
    centres = map_centres()
    for project in located.select_related("region"):
        lat, lon = centres[project.region.name]
        assert abs(float(project.latitude) - lat) < 0.2 and abs(float(project.longitude) - lon) < 0.2


def test_some_projects_are_late_to_start(built):
    today = timezone.localdate()
    not_started = Project.objects.filter(stage__code__in=["planning", "signed", "preparing"])
    assert not_started.filter(planned_start__lt=today).exists()
    assert not_started.filter(planned_start__gt=today).exists() or (today.month, today.day) == (12, 31)


def test_stage_history_is_recorded_step_by_step_and_dated_in_the_past(built):
    changes = StageChange.objects.select_related("from_stage", "to_stage", "project__stage")
    assert changes.count() >= 50
    now = timezone.now()
    for change in changes:
        assert change.to_stage.order == change.from_stage.order + 1
        assert not change.is_override
        assert change.at < now
    latest = {}
    for change in changes.order_by("project_id", "at", "id"):
        latest[change.project_id] = change
    assert all(c.to_stage == c.project.stage for c in latest.values())


@pytest.mark.parametrize("username", sorted(ROLES))
def test_demo_account_has_its_role_and_logs_in_with_the_demo_password(built, client, username):
    user = User.objects.get(username=username)
    assert user.role == ROLES[username]
    assert user.last_name and user.first_name
    if username in COUNTY_ACCOUNTS:
        assert user.region.code == COUNTY_ACCOUNTS[username]
    assert client.login(username=username, password="guatu-demo-2022")
    assert not client.login(username=username, password="wrong-password-1")


def test_department_enterprise_and_steward_accounts_have_work_to_see(built):
    fagai = User.objects.get(username="fagai")
    assert fagai.unit.name == "市发展和改革委员会"
    assert Project.objects.filter(departments=fagai.unit).count() >= 100
    qiye = User.objects.get(username="qiye")
    assert qiye.unit.kind == Unit.Kind.ENTERPRISE and qiye.unit.is_demo
    owned = Project.objects.filter(enterprise=qiye.unit)
    assert owned.count() >= 5
    assert owned.values("stage").distinct().count() >= 4
    assert Project.objects.filter(steward__username="guanjia").count() >= 10


def test_running_twice_changes_nothing(built):
    before = counts()
    call_command("demo", "--no-serve", stdout=io.StringIO())
    assert counts() == before


def test_reset_deletes_and_rebuilds_the_same_campaign_keeping_accounts_that_acted(built):
    city = User.objects.get(username="city")
    acted_on = Project.objects.filter(stage__code="planning").first()
    project_update(
        actor=city, project_id=acted_on.pk, version=acted_on.version, data={"name": "改过名的项目"}
    )
    old = dict(Project.objects.values_list("code", "pk"))
    before = counts()
    call_command("demo", "--no-serve", "--reset", stdout=io.StringIO())
    new = dict(Project.objects.values_list("code", "pk"))
    assert set(new) == set(old)
    assert min(new.values()) > max(old.values())  # rebuilt, not kept
    assert Project.objects.get(code=acted_on.code).name != "改过名的项目"
    after = counts()
    del before["change_records"], after["change_records"]
    assert after == before
    deleted = ChangeRecord.objects.filter(
        action="delete", content_type=ContentType.objects.get_for_model(Project)
    ).values_list("object_id", flat=True)
    assert set(deleted) == {str(pk) for pk in old.values()}
    # Deleting an account that acted would rewrite its change records' actor and break the chain.
    assert User.objects.get(username="city").pk == city.pk
    assert User.objects.get(username="qiye").unit.name == cat.FLAGSHIP_ENTERPRISE
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "变更记录链完整" in out.getvalue()


def test_audit_chain_verifies_after_the_build(built):
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "变更记录链完整" in out.getvalue()
    system = ChangeRecord.objects.filter(actor__isnull=True, actor_name="system")
    assert system.filter(action="create").count() >= Project.objects.count()


def test_demo_password_setting_is_respected(built, settings, client):
    settings.DEMO_PASSWORD = "Another-demo-2026"
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    assert "Another-demo-2026" in out.getvalue()
    assert client.login(username="jianping", password="Another-demo-2026")
    assert not client.login(username="jianping", password="guatu-demo-2022")
    reset = ChangeRecord.objects.filter(
        action="update", object_repr=str(User.objects.get(username="jianping"))
    )
    assert reset.filter(after__password="已重置为演示密码").exists()


def test_a_password_the_rules_refuse_is_reported_before_anything_is_written(built, settings):
    settings.DEMO_PASSWORD = "short"
    before = counts()
    with pytest.raises(CommandError, match="密码"):
        call_command("demo", "--no-serve", stdout=io.StringIO())
    assert counts() == before


def test_another_city_is_refused(built, settings):
    settings.CITY_CODE = "210100"
    with pytest.raises(CommandError, match="211300"):
        call_command("demo", "--no-serve", stdout=io.StringIO())


def test_the_plan_does_not_depend_on_the_day_it_is_run():
    centres = {c.name: (41.5, 120.0) for c in cat.COUNTIES}
    bbox = (40.0, 43.0, 118.0, 122.0)
    spring, _ = plan_projects(today=dt.date(2026, 3, 2), centres=centres, bbox=bbox)
    autumn, _ = plan_projects(today=dt.date(2026, 11, 20), centres=centres, bbox=bbox)
    assert [(s.code, s.name, s.total, s.stage) for s in spring] == [
        (s.code, s.name, s.total, s.stage) for s in autumn
    ]
    assert [s.start for s in spring] != [s.start for s in autumn]
    assert all(s.start.year == 2026 for s in spring if s.build_type == "new")
    late_in_spring = [
        s for s in spring if s.stage in {"planning", "signed", "preparing"} and s.start < dt.date(2026, 3, 2)
    ]
    assert late_in_spring


class _FakeWorker:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.terminated = False

    def terminate(self):
        self.terminated = True

    def wait(self, timeout=None):
        return 0


def test_serve_runs_worker_and_server_and_ctrl_c_stops_both(monkeypatch, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    workers = []

    def popen(*args, **kwargs):
        workers.append(_FakeWorker(*args, **kwargs))
        return workers[-1]

    calls = []

    def runserver(name, *args, **kwargs):
        calls.append((name, args, kwargs))
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_command.subprocess, "Popen", popen)
    monkeypatch.setattr(demo_command, "call_command", runserver)
    sigterm = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        demo_command.Command().serve(host="127.0.0.1", port=0)
    assert signal.getsignal(signal.SIGTERM) is sigterm
    assert calls == [("runserver", ("127.0.0.1:0",), {"use_reloader": False})]
    assert "db_worker" in workers[0].args[0] and workers[0].terminated


def test_serve_refuses_a_busy_port_before_starting_anything(monkeypatch):
    import socket

    monkeypatch.setattr(demo_command.subprocess, "Popen", lambda *a, **k: pytest.fail("worker started"))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=str(port)):
            demo_command.Command().serve(host="127.0.0.1", port=port)
