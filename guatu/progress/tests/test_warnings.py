"""Warnings end to end: recompute in bulk, after commit, by the daily command; the page, the project
page's light and the API, each within the user's scope."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project
from guatu.core.testing_api import api_client
from guatu.progress import tasks
from guatu.progress.models import MonthlyReport, ProjectWarning, ReportStatus, WarningRule
from guatu.progress.services import report_submit, warnings_recompute
from guatu.progress.tests.report_helpers import building_project, months_ago, save
from guatu.projects.models import ApprovalStatus, ProjectApproval
from guatu.projects.selectors import project_schedule
from guatu.projects.services import approval_update, milestone_set_actual

TODAY = dt.date(2026, 6, 15)


def report(project, month: dt.date, percent="50", status="approved") -> MonthlyReport:
    return MonthlyReport.objects.create(
        project=project,
        region=project.region,
        month=month,
        investment_done=Decimal("100"),
        percent_complete=Decimal(percent),
        status=ReportStatus.objects.get(code=status),
    )


def light(project) -> ProjectWarning:
    return ProjectWarning.objects.select_related("level").get(project=project)


def rules_of(project) -> dict[str, str]:
    return {r["rule"]: r["level"] for r in light(project).reasons}


def approve_all(project, day=dt.date(2026, 1, 5)) -> None:
    for approval in ProjectApproval.objects.filter(project=project):
        approval_update(
            actor=None,
            approval_id=approval.pk,
            version=approval.version,
            data={"status": ApprovalStatus.APPROVED, "submitted_on": day, "approved_on": day},
        )


@pytest.fixture
def building(world):
    """Under construction since January, 100 days to go from 5 Mar: every month reported."""
    project = make_project(
        world,
        stage="under_construction",
        planned_start=dt.date(2026, 1, 5),
        planned_completion=dt.date(2026, 12, 31),
    )
    approve_all(project)
    for month in range(1, 6):
        report(project, dt.date(2026, month, 1), percent="45")
    return project


@pytest.fixture
def late_start(world):
    """Due to start in March and still preparing: by June, red (3 months on)."""
    project = make_project(
        world, stage="preparing", planned_start=dt.date(2026, 3, 10), planned_completion=dt.date(2027, 3, 1)
    )
    approve_all(project)
    return project


# ---------------------------------------------------------------- recompute


def test_recompute_writes_one_light_per_project_with_its_reasons(world, building, late_start):
    counts = warnings_recompute(today=TODAY)
    assert counts == {"green": 1, "yellow": 0, "red": 1}
    assert light(building).level.code == "green" and light(building).reasons == []
    start = light(late_start)
    assert start.level.code == "red" and start.rules == ",start,"
    assert start.reasons == [
        {"rule": "start", "level": "red", "reason": "计划2026年3月开工，已过3个月仍未开工"}
    ]
    assert start.computed_on == TODAY and start.region_id == late_start.region_id
    assert warnings_recompute(today=TODAY) == counts  # running again changes nothing
    assert ProjectWarning.objects.count() == 2


def test_recompute_writes_no_change_records(world, building, late_start):
    before = ChangeRecord.objects.count()
    warnings_recompute(today=TODAY)
    assert ChangeRecord.objects.count() == before


def test_progress_and_report_rules_from_reports(world, building):
    # 序时进度 on 15 June: 161 of 360 days = 44.72%; 形象进度 45%: on plan.
    warnings_recompute(today=TODAY)
    assert rules_of(building) == {}
    MonthlyReport.objects.filter(project=building, month=dt.date(2026, 5, 1)).update(
        percent_complete=Decimal("20")
    )
    warnings_recompute(today=TODAY)
    assert rules_of(building) == {"progress": "yellow"}
    assert light(building).reasons[0]["reason"] == "序时进度44.72%，形象进度20%，落后24.72个百分点"
    # May's report due 5 June is there; June's is not due until 5 July. Delete May: one missing.
    MonthlyReport.objects.filter(project=building, month=dt.date(2026, 5, 1)).delete()
    warnings_recompute(today=TODAY)
    assert rules_of(building)["report"] == "yellow"
    MonthlyReport.objects.filter(project=building, month=dt.date(2026, 4, 1)).update(
        status=ReportStatus.objects.get(code="draft")
    )
    warnings_recompute(today=TODAY)
    assert rules_of(building)["report"] == "red"  # a draft is not a report


def test_deadline_rule_uses_the_backward_schedules_late_days(world):
    project = make_project(
        world, stage="preparing", planned_start=dt.date(2026, 7, 1), planned_completion=dt.date(2027, 7, 1)
    )
    warnings_recompute(today=TODAY)
    schedule = project_schedule(user=world.users["city"], project=project, today=TODAY)
    late = sorted((i for i in schedule if i.late and not i.done), key=lambda i: -i.late_days)
    assert late, "the approvals of a project starting in two weeks are late"
    reason = light(project).reasons[0]
    assert reason["rule"] == "deadline"
    assert f"{late[0].name}超过最迟办结日期{late[0].late_days}天" in reason["reason"]
    assert reason["level"] == ("red" if late[0].late_days >= 30 else "yellow")


def test_thresholds_in_the_rule_row_change_the_outcome(world, late_start):
    warnings_recompute(today=TODAY)
    assert light(late_start).level.code == "red"
    WarningRule.objects.filter(code="start").update(params={"red_after_months": 4})
    warnings_recompute(today=TODAY)
    assert rules_of(late_start) == {"start": "yellow", "recovery": "yellow"}  # left red today
    WarningRule.objects.filter(code="start").update(is_active=False)
    WarningRule.objects.filter(code="recovery").update(params={"hold_days": 0})
    warnings_recompute(today=TODAY)
    assert light(late_start).level.code == "green" and light(late_start).reasons == []


def test_worst_rule_wins(world, building):
    MonthlyReport.objects.filter(project=building).update(percent_complete=Decimal("30"))  # 14.72 behind
    MonthlyReport.objects.filter(project=building, month__gte=dt.date(2026, 4, 1)).delete()  # 2 missing: red
    warnings_recompute(today=TODAY)
    assert rules_of(building) == {"progress": "yellow", "report": "red"}
    assert light(building).level.code == "red"


def test_red_project_recovers_through_yellow(world, late_start):
    warnings_recompute(today=TODAY)
    assert light(late_start).level.code == "red"
    late_start.stage_id = late_start.stage.__class__.objects.get(code="started").pk
    late_start.save()
    for month in range(3, 7):
        report(late_start, dt.date(2026, month, 1), percent="30")
    warnings_recompute(today=TODAY)
    recovered = light(late_start)
    assert recovered.level.code == "yellow" and recovered.red_cleared_on == TODAY
    assert [r["rule"] for r in recovered.reasons] == ["recovery"]
    assert warnings_recompute(today=TODAY + dt.timedelta(days=29))["yellow"] == 1
    warnings_recompute(today=TODAY + dt.timedelta(days=30))
    assert light(late_start).level.code == "green"


def test_recompute_of_some_projects_leaves_the_others(world, building, late_start):
    assert warnings_recompute(project_ids=[late_start.pk], today=TODAY) == {"green": 0, "yellow": 0, "red": 1}
    assert not ProjectWarning.objects.filter(project=building).exists()
    assert warnings_recompute(project_ids=[], today=TODAY) == {"green": 0, "yellow": 0, "red": 0}


def test_recompute_makes_no_query_per_project(world):
    projects = [
        make_project(
            world,
            stage=("preparing", "under_construction", "completed")[i % 3],
            planned_start=dt.date(2026, 1 + i % 6, 1),
            planned_completion=dt.date(2027, 1, 1),
        )
        for i in range(30)
    ]
    for project in projects[::3]:
        report(project, dt.date(2026, 4, 1))
    warnings_recompute(project_ids=[p.pk for p in projects[:20]], today=TODAY)
    with CaptureQueriesContext(connection) as few:  # three lights, each updated
        warnings_recompute(project_ids=[p.pk for p in projects[:3]], today=TODAY)
    with CaptureQueriesContext(connection) as many:  # twenty updated, ten new
        warnings_recompute(project_ids=[p.pk for p in projects], today=TODAY)
    # The two more: the insert of the new lights and the rollups' changed sums (none when the three
    # lights stay as they were). Of the 24, 8 bring the rollups up to date.
    assert len(many) <= len(few) + 2 <= 24
    assert ProjectWarning.objects.count() == 30


def test_recompute_query_count_is_pinned(world, django_assert_max_num_queries):
    projects = [make_project(world, stage="started", planned_start=dt.date(2026, 2, 1)) for _ in range(30)]
    with django_assert_max_num_queries(24):  # 7 of them bring the lights' rollups up to date
        warnings_recompute(project_ids=[p.pk for p in projects], today=TODAY)


# ---------------------------------------------------------------- after commit


def _next_but_one_month_start() -> dt.date:
    from django.utils import timezone

    from guatu.progress.rules import add_months, month_of

    return add_months(month_of(timezone.localdate()), 2)


def test_approval_change_recomputes_after_commit(world, django_capture_on_commit_callbacks):
    # Starting in two months, no approval done: the 前期手续 chain (about three months long) is late.
    with django_capture_on_commit_callbacks(execute=True):
        project = make_project(
            world,
            stage="preparing",
            planned_start=_next_but_one_month_start(),
            planned_completion=dt.date(2030, 1, 1),
        )
    assert rules_of(project).keys() == {"deadline"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approve_all(project, day=dt.date(2026, 1, 5))
        assert rules_of(project).keys() == {"deadline"}  # nothing recomputed before commit
    assert len(callbacks) == 1  # every approval of the transaction in one recompute
    callbacks[0]()
    assert rules_of(project).keys() <= {"recovery"}


def test_milestone_change_recomputes_after_commit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        project = make_project(
            world,
            kind="infrastructure",
            stage="under_construction",
            planned_start=dt.date(2025, 3, 1),
            planned_completion=dt.date(2025, 9, 1),
        )
    assert "deadline" in rules_of(project)  # 主体完工 and 竣工 are past
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        milestone_set_actual(
            actor=world.users["city"], project_id=project.pk, kind="main_structure", date=dt.date(2025, 6, 1)
        )
        milestone_set_actual(
            actor=world.users["city"], project_id=project.pk, kind="completed", date=dt.date(2025, 9, 1)
        )
    assert len(callbacks) == 1
    assert "deadline" not in rules_of(project)


def test_report_submit_recomputes_after_commit(world, django_capture_on_commit_callbacks):
    county = world.users["county"]
    with django_capture_on_commit_callbacks(execute=True):
        project = building_project(world, start_months_ago=2)
    assert "report" in rules_of(project)  # nothing reported since the start
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for n in (2, 1):
            draft = save(county, project, months_ago(n), percent=str(10 - 4 * n))
            report_submit(actor=county, report_id=draft.pk, version=draft.version)
        assert "report" in rules_of(project)  # not before commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert "report" not in rules_of(project)


class _Queue:
    def __init__(self):
        self.queued = []

    def enqueue(self, **kwargs):
        self.queued.append(kwargs)


def test_one_transaction_queues_one_recompute(world, django_capture_on_commit_callbacks, monkeypatch):
    with django_capture_on_commit_callbacks(execute=True):
        a, b = make_project(world), make_project(world)
    queue = _Queue()
    monkeypatch.setattr(tasks, "recompute_warnings_task", queue)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for project in (a, b, a):
            tasks.schedule_recompute(project_id=project.pk)
    assert len(callbacks) == 1
    assert queue.queued == [{"project_ids": sorted([a.pk, b.pk])}]


def test_a_rolled_back_transaction_does_not_swallow_the_next_recompute(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=True):
        a, b = make_project(world), make_project(world)
    queue = _Queue()
    monkeypatch.setattr(tasks, "recompute_warnings_task", queue)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            tasks.schedule_recompute(project_id=a.pk)
            raise RuntimeError
        with transaction.atomic():
            tasks.schedule_recompute(project_id=b.pk)
    assert queue.queued == [{"project_ids": [b.pk]}]


def test_the_task_recomputes(world, late_start):
    result = tasks.recompute_warnings_task.enqueue(project_ids=[late_start.pk])
    assert result.return_value["red"] + result.return_value["yellow"] == 1
    assert ProjectWarning.objects.filter(project=late_start).exists()


# ---------------------------------------------------------------- the daily command


def test_command_prints_counts_and_time(world, building, late_start, capsys):
    call_command("recompute_warnings", "--date", "2026-06-15")
    out = capsys.readouterr().out
    assert "已计算 2 个项目的预警：红灯 1，黄灯 0，绿灯 1" in out and "用时" in out
    assert light(late_start).computed_on == TODAY


def test_command_rejects_a_bad_date(world):
    with pytest.raises(CommandError, match="2026-13-01"):
        call_command("recompute_warnings", "--date", "2026-13-01")


# ---------------------------------------------------------------- pages and API


@pytest.fixture
def lights(world, building, late_start):
    """Lights in two counties: 双塔 (building green, late_start red) and 龙城 (yellow)."""
    other = make_project(
        world,
        region=world.counties["211303"],
        enterprise=world.other_enterprise,
        stage="signed",
        planned_start=dt.date(2026, 6, 1),
        planned_completion=dt.date(2027, 6, 1),
    )
    approve_all(other)
    warnings_recompute(today=TODAY)
    return {"green": building, "red": late_start, "yellow": other}


def test_warning_page_lists_lights_worst_first_with_counts(client, world, lights):
    client.force_login(world.users["city"])
    response = client.get(reverse("progress:warning_list"))
    assert response.status_code == 200
    page = response.content.decode()
    names = [lights[c].name for c in ("red", "yellow", "green")]
    assert page.index(names[0]) < page.index(names[1]) < page.index(names[2])
    assert "计划2026年3月开工，已过3个月仍未开工" in page
    assert [n for _level, n in response.context["level_counts"]] == [1, 1, 1]


def test_warning_page_filters_by_level_region_and_rule(client, world, lights):
    client.force_login(world.users["city"])
    url = reverse("progress:warning_list")
    page = client.get(url, {"level": "red"}).content.decode()
    assert lights["red"].name in page and lights["yellow"].name not in page
    page = client.get(url, {"region": "211303"}).content.decode()
    assert lights["yellow"].name in page and lights["red"].name not in page
    page = client.get(url, {"rule": "start"}).content.decode()
    assert lights["red"].name in page and lights["yellow"].name in page and lights["green"].name not in page
    # The level cards count within the other filters.
    response = client.get(url, {"region": "211302", "level": "red"})
    assert [n for _level, n in response.context["level_counts"]] == [1, 0, 1]


def test_warning_page_scope(client, world, lights):
    client.force_login(world.users["other_county"])
    page = client.get(reverse("progress:warning_list")).content.decode()
    assert lights["yellow"].name in page and lights["red"].name not in page
    client.force_login(world.users["sysadmin"])
    assert client.get(reverse("progress:warning_list")).status_code == 403


def test_warning_page_queries_do_not_grow_with_projects(client, world, lights, django_assert_max_num_queries):
    client.force_login(world.users["city"])
    url = reverse("progress:warning_list")
    with CaptureQueriesContext(connection) as three:
        client.get(url)
    for i in range(10):
        make_project(world, stage="preparing", planned_start=dt.date(2026, 1 + i % 5, 1))
    warnings_recompute(today=TODAY)
    with django_assert_max_num_queries(len(three)):
        assert client.get(url).status_code == 200


def test_project_page_shows_the_light_and_every_reason(client, world, lights, building):
    MonthlyReport.objects.filter(project=building, month__gte=dt.date(2026, 4, 1)).delete()
    MonthlyReport.objects.filter(project=building).update(percent_complete=Decimal("10"))
    warnings_recompute(today=TODAY)
    client.force_login(world.users["city"])
    page = client.get(reverse("projects:project_detail", args=[building.pk])).content.decode()
    assert 'id="project-warning"' in page and "红灯" in page
    assert "连续2个月未报送月报" in page and "序时进度44.72%，形象进度10%" in page


def test_project_page_before_any_recompute(client, world):
    project = make_project(world)
    client.force_login(world.users["city"])
    page = client.get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    assert "预警尚未计算" in page


def test_api_lists_lights_with_reasons(world, lights):
    api = api_client(world.users["city"])
    response = api.get(reverse("api:warning-list"))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["level"] for r in rows] == ["red", "yellow", "green"]
    red = rows[0]
    assert red["project"] == lights["red"].pk and red["project_name"] == lights["red"].name
    assert red["region"] == "211302" and red["computed_on"] == "2026-06-15"
    assert red["reasons"] == [
        {"rule": "start", "level": "red", "reason": "计划2026年3月开工，已过3个月仍未开工"}
    ]
    one = api.get(reverse("api:warning-detail", args=[lights["yellow"].pk])).json()
    assert one["level"] == "yellow"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"level": "red"}, ["red"]),
        ({"level": "green"}, ["green"]),
        ({"region": "211303"}, ["yellow"]),
        ({"region": "211300"}, ["red", "yellow", "green"]),
        ({"rule": "start"}, ["red", "yellow"]),
        ({"rule": "report"}, []),
    ],
)
def test_api_filters(world, lights, params, expected):
    rows = api_client(world.users["city"]).get(reverse("api:warning-list"), params).json()["results"]
    assert [r["project"] for r in rows] == [lights[c].pk for c in expected]


def test_api_rejects_an_unknown_level(world, lights):
    response = api_client(world.users["city"]).get(reverse("api:warning-list"), {"level": "purple"})
    assert response.status_code == 400


def test_api_scope(world, lights):
    api = api_client(world.users["county"])  # 双塔区
    rows = api.get(reverse("api:warning-list")).json()["results"]
    assert {r["project"] for r in rows} == {lights["red"].pk, lights["green"].pk}
    assert api.get(reverse("api:warning-detail", args=[lights["yellow"].pk])).status_code == 404
    assert api_client(world.users["sysadmin"], api).get(reverse("api:warning-list")).status_code == 403
    assert api_client(None, api).get(reverse("api:warning-list")).status_code in {401, 403}


def test_api_is_read_only(world, lights):
    api = api_client(world.users["city"])
    url = reverse("api:warning-detail", args=[lights["red"].pk])
    assert api.patch(url, {"level": "green"}, format="json").status_code == 405
    assert light(lights["red"]).level.code == "red"


# ---------------------------------------------------------------- editing a rule's thresholds


def rule_form(rule, **changes) -> dict:
    from guatu.progress.services import warning_rule_fingerprint

    data = {"is_active": "on", "description": rule.description, "fingerprint": warning_rule_fingerprint(rule)}
    data.update({k: str(v) for k, v in rule.params.items()})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_project_office_changes_a_threshold_and_the_lights_follow(
    client, world, late_start, django_capture_on_commit_callbacks
):
    warnings_recompute(today=TODAY)
    assert light(late_start).level.code == "red"
    rule = WarningRule.objects.get(code="start")
    client.force_login(world.users["city"])
    url = reverse("progress:warning_rule_edit", args=[rule.pk])
    assert client.get(url).status_code == 200
    before = ChangeRecord.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            url, rule_form(rule, red_after_months="6", description="超过6个月仍未开工为红灯")
        )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.params == {"red_after_months": 6} and rule.description == "超过6个月仍未开工为红灯"
    assert ChangeRecord.objects.count() == before + 1
    assert len(callbacks) == 1  # every light, after commit
    page = client.get(reverse("progress:warning_list")).content.decode()
    assert "未开工转红灯的月数：<strong>6</strong>" in page


def test_a_bad_threshold_is_refused_and_nothing_written(client, world):
    rule = WarningRule.objects.get(code="progress")
    client.force_login(world.users["city"])
    url = reverse("progress:warning_rule_edit", args=[rule.pk])
    response = client.post(url, rule_form(rule, yellow_points="40", red_points="20"))
    assert response.status_code == 400
    assert "红灯阈值不能小于黄灯阈值" in response.content.decode()
    response = client.post(url, rule_form(rule, yellow_points="-1"))
    assert response.status_code == 400
    rule.refresh_from_db()
    assert rule.params == {"yellow_points": 10, "red_points": 30}


def test_a_stale_rule_form_gets_409(client, world):
    rule = WarningRule.objects.get(code="deadline")
    client.force_login(world.users["city"])
    url = reverse("progress:warning_rule_edit", args=[rule.pk])
    stale = rule_form(rule, red_after_days="20")
    assert client.post(url, rule_form(rule, red_after_days="45")).status_code == 302
    response = client.post(url, stale)
    assert response.status_code == 409 and "已被他人修改" in response.content.decode()
    rule.refresh_from_db()
    assert rule.params["red_after_days"] == 45


@pytest.mark.parametrize("role", ["county", "leader", "department", "sysadmin"])
def test_only_the_project_office_edits_rules(client, world, role):
    rule = WarningRule.objects.get(code="start")
    client.force_login(world.users[role])
    url = reverse("progress:warning_rule_edit", args=[rule.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, rule_form(rule, red_after_months="1")).status_code == 403
    rule.refresh_from_db()
    assert rule.params == {"red_after_months": 3}
