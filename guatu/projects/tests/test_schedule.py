"""倒排工期: the backward schedule, its invariants (with China's holidays), overrides, lateness, the
Gantt panel and the schedule API."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from guatu.core import workdays
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project
from guatu.core.testing_api import api_client
from guatu.projects.models import ApprovalKind, Milestone, Project, ProjectApproval
from guatu.projects.selectors import build_schedule, project_schedule
from guatu.projects.services import (
    approval_kind_fingerprint,
    approval_kind_update,
    approval_update,
    milestone_override,
)

pytestmark = pytest.mark.django_db

D = dt.date


TODAY = D(2026, 1, 15)


def schedule(world, project, today=TODAY, user="city"):
    return {
        item.code: item for item in project_schedule(user=world.users[user], project=project, today=today)
    }


def assert_invariants(items, planned_start):
    """Every item finishes no later than the latest start of each item that depends on it, and
    every approval is done before 开工 (施工许可 on a working day before it)."""
    by_code = {item.code: item for item in items}
    for item in items:
        if item.latest_start and item.latest_finish:
            assert item.latest_start <= item.latest_finish, item.code
        for code in item.depends_on:
            needed = by_code[code]
            assert needed.latest_finish <= item.latest_start, (code, item.code)
        if item.kind == "approval" and planned_start:
            assert item.latest_finish < planned_start, item.code
            assert workdays.is_workday(item.latest_start) and workdays.is_workday(item.latest_finish)
    if "construction_permit" in by_code and planned_start:
        assert by_code["construction_permit"].latest_finish < planned_start
        assert "construction_permit" in by_code["started"].depends_on


def variant(project, group, code):
    approval = ProjectApproval.objects.get(project=project, kind__group=group)
    return approval_update(actor=None, approval_id=approval.pk, version=approval.version, data={"kind": code})


def test_spring_festival_schedule_with_dates_counted_by_hand(world):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    items = schedule(world, project)
    got = {code: (i.latest_start, i.latest_finish) for code, i in items.items()}
    # Mon 2 Mar 2026: the last working day before it is Sat 28 Feb (worked after 春节).
    # 施工许可 7 days before 28 Feb is Sat 21 Feb, inside 春节 (15–23 Feb off): back to Sat 14 Feb (worked).
    # 建设工程规划许可 20 working days before 14 Feb: 13…9, 6…2 Feb, 30…26, 23…19 Jan.
    # 建设用地规划许可 20 before 19 Jan: 16…12, 9…5 Jan, Sun 4 Jan (worked), 31, 30, 29 Dec, 26…22, 19 Dec.
    # 用地预审与选址 20 before 19 Dec: 18…15, 12…8, 5…1 Dec, 28…24, 21 Nov. 备案 has no time limit.
    # 环评报告表 30 days before 28 Feb: 29 Jan. 节能审查, 安评 20 working days before 28 Feb: 27…24,
    # 14 (worked), 13…9, 6…2 Feb, 30…26 Jan.
    assert got == {
        "filing_record": (D(2025, 12, 19), D(2025, 12, 19)),
        "land_siting": (D(2025, 11, 21), D(2025, 12, 19)),
        "land_planning_permit": (D(2025, 12, 19), D(2026, 1, 19)),
        "engineering_planning_permit": (D(2026, 1, 19), D(2026, 2, 14)),
        "eia_form": (D(2026, 1, 29), D(2026, 2, 28)),
        "energy_review": (D(2026, 1, 26), D(2026, 2, 28)),
        "safety_review": (D(2026, 1, 26), D(2026, 2, 28)),
        "construction_permit": (D(2026, 2, 14), D(2026, 2, 28)),
        # 主体完工 70% of 364 days after 开工 (255 days); 投产 30 days after 竣工.
        "started": (D(2026, 3, 2), D(2026, 3, 2)),
        "main_structure": (D(2026, 11, 12), D(2026, 11, 12)),
        "completed": (D(2027, 3, 1), D(2027, 3, 1)),
        "in_production": (D(2027, 3, 31), D(2027, 3, 31)),
    }
    assert items["land_planning_permit"].depends_on == ["filing_record", "land_siting"]
    assert items["started"].depends_on == [
        "construction_permit",
        "eia_form",
        "energy_review",
        "safety_review",
    ]
    assert_invariants(list(items.values()), project.planned_start)


def test_window_spanning_national_day_2025_and_spring_festival_2026(world):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    variant(project, "filing", "filing_approve")  # 核准, 20 working days
    variant(project, "eia", "eia_report")  # 报告书, 60 days
    siting = ApprovalKind.objects.get(code="land_siting")
    approval_kind_update(
        actor=world.users["city"],
        kind_id=siting.pk,
        fingerprint=approval_kind_fingerprint(siting),
        data={"duration": 60},  # a local flow that runs 选址, 用地, 水保, 林地 together
    )
    items = schedule(world, project)
    # 用地预审与选址 60 working days before Fri 19 Dec 2025: 14 in December, 20 in November, 18 in
    # October (1–8 Oct off; 9, 10, Sat 11, 13–17, 20–24, 27–31), then 30, 29 Sep, Sun 28 Sep (worked),
    # 26, 25, 24, 23, 22 Sep.
    assert (items["land_siting"].latest_start, items["land_siting"].latest_finish) == (
        D(2025, 9, 22),
        D(2025, 12, 19),
    )
    # 核准 20 working days before 19 Dec: 21 Nov. 环评报告书 60 days before 28 Feb: 30 Dec 2025.
    assert (items["filing_approve"].latest_start, items["filing_approve"].latest_finish) == (
        D(2025, 11, 21),
        D(2025, 12, 19),
    )
    assert items["eia_report"].latest_start == D(2025, 12, 30)
    assert "eia_form" not in items and "filing_record" not in items
    assert_invariants(list(items.values()), project.planned_start)


def test_national_day_2026_for_a_livelihood_project(world):
    project = make_project(
        world, kind="livelihood", planned_start=D(2026, 10, 19), planned_completion=D(2027, 3, 1)
    )
    items = schedule(world, project)
    # Fri 16 Oct is the last working day before Mon 19 Oct; 施工许可 7 days before it is Fri 9 Oct.
    # 建设工程规划许可 20 working days before 9 Oct: 8 Oct, 30, 29, 28, 24, 23, 22, 21, Sun 20 (worked),
    # 18…14, 11…7, 4 Sep (1–7 Oct and 中秋 25 Sep off).
    assert (items["construction_permit"].latest_start, items["construction_permit"].latest_finish) == (
        D(2026, 10, 9),
        D(2026, 10, 16),
    )
    assert items["engineering_planning_permit"].latest_start == D(2026, 9, 4)
    assert "filing_examine" in items and "energy_review" not in items
    assert "in_production" not in items  # no 投产 for livelihood and infrastructure projects
    assert_invariants(list(items.values()), project.planned_start)


@pytest.fixture
def kinds(db):
    kinds = list(ApprovalKind.objects.all())
    edges = list(
        ApprovalKind.depends_on.through.objects.values_list("from_approvalkind_id", "to_approvalkind_id")
    )
    return kinds, edges


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31)),
    length=st.integers(min_value=0, max_value=1500),
    project_kind=st.sampled_from(["industry", "infrastructure", "livelihood"]),
    picks=st.lists(st.integers(min_value=0, max_value=5), min_size=12, max_size=12),
    dropped=st.sets(st.integers(min_value=0, max_value=11), max_size=3),
)
def test_invariants_hold_for_any_planned_start(kinds, start, length, project_kind, picks, dropped):
    """Random start dates, variants and not-needed approvals: the invariants always hold."""
    all_kinds, edges = kinds
    project = Project(
        kind=project_kind, planned_start=start, planned_completion=start + dt.timedelta(days=length)
    )
    groups: dict[str, list[ApprovalKind]] = {}
    for kind in all_kinds:
        if not kind.applies_to or project_kind in kind.applies_to:
            groups.setdefault(kind.group, []).append(kind)
    approvals = []
    for n, options in enumerate(groups.values()):
        status = "not_needed" if n in dropped else "not_started"
        if status != "not_needed":
            approvals.append(ProjectApproval(kind=options[picks[n] % len(options)], status=status))
    items = build_schedule(project=project, approvals=approvals, edges=edges, milestones={}, today=start)
    assert_invariants(items, start)
    assert {i.code for i in items if i.kind == "approval"} == {a.kind.code for a in approvals}


def test_not_needed_approvals_drop_out_of_the_graph(world):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    engineering = ProjectApproval.objects.get(project=project, kind__code="engineering_planning_permit")
    approval_update(
        actor=world.users["city"],
        approval_id=engineering.pk,
        version=1,
        data={"status": "not_needed", "not_needed_reason": "原址改建，沿用原建设工程规划许可"},
    )
    items = schedule(world, project)
    assert "engineering_planning_permit" not in items
    # 施工许可 no longer waits on it, and 建设用地规划许可 now finishes by the last day before 开工.
    assert items["construction_permit"].depends_on == []
    assert items["land_planning_permit"].latest_finish == D(2026, 2, 28)
    assert "land_planning_permit" in items["started"].depends_on
    assert_invariants(list(items.values()), project.planned_start)


def test_override_is_kept_marked_and_moves_what_follows(world):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    city = world.users["city"]
    with pytest.raises(ValidationError) as err:
        milestone_override(
            actor=city, project_id=project.pk, kind="completed", date=D(2027, 6, 30), reason=" "
        )
    assert "须填写理由" in str(err.value.message_dict["override_reason"])
    assert not Milestone.objects.exists()

    milestone_override(
        actor=city, project_id=project.pk, kind="completed", date=D(2027, 6, 30), reason="冬季停工，顺延竣工"
    )
    items = schedule(world, project)
    completed = items["completed"]
    assert completed.overridden and completed.override_reason == "冬季停工，顺延竣工"
    assert (completed.latest_finish, completed.planned) == (D(2027, 6, 30), D(2027, 3, 1))
    assert items["in_production"].latest_finish == D(2027, 7, 30)  # 30 days after the new 竣工
    assert not items["started"].overridden
    row = Milestone.objects.get(project=project, kind="completed")
    assert ChangeRecord.objects.filter(content_type__model="milestone", object_id=str(row.pk)).count() == 1

    # 开工 postponed: the approvals are walked back from the new start.
    milestone_override(
        actor=city, project_id=project.pk, kind="started", date=D(2026, 4, 1), reason="用地指标调整"
    )
    items = schedule(world, project)
    assert items["started"].overridden and items["started"].planned == D(2026, 3, 2)
    assert items["construction_permit"].latest_finish == D(2026, 3, 31)
    assert_invariants(list(items.values()), D(2026, 4, 1))


@pytest.mark.parametrize(("today", "late", "days"), [(D(2026, 2, 14), False, 0), (D(2026, 2, 15), True, 1)])
def test_late_flag_at_the_boundary_day(world, today, late, days):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    item = schedule(world, project, today=today)["engineering_planning_permit"]
    assert item.latest_finish == D(2026, 2, 14)
    assert (item.late, item.late_days) == (late, days)


def test_finishing_after_the_latest_date_stays_late(world):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    city = world.users["city"]
    on_time = ProjectApproval.objects.get(project=project, kind__code="land_siting")
    approval_update(
        actor=city,
        approval_id=on_time.pk,
        version=1,
        data={"status": "approved", "submitted_on": D(2025, 11, 20), "approved_on": D(2025, 12, 19)},
    )
    behind = ProjectApproval.objects.get(project=project, kind__code="filing_record")
    approval_update(
        actor=city,
        approval_id=behind.pk,
        version=1,
        data={"status": "approved", "submitted_on": D(2025, 12, 22), "approved_on": D(2025, 12, 23)},
    )
    items = schedule(world, project, today=D(2026, 1, 15))
    assert (items["land_siting"].late, items["land_siting"].actual_finish) == (False, D(2025, 12, 19))
    assert (items["filing_record"].late, items["filing_record"].late_days) == (True, 4)
    assert items["land_siting"].status == "approved"


def test_a_project_without_a_planned_start(world):
    project = make_project(world, planned_completion=D(2027, 3, 1))
    items = schedule(world, project)
    approvals = [i for i in items.values() if i.kind == "approval"]
    assert approvals and all(
        i.latest_start is None and i.latest_finish is None and not i.late for i in approvals
    )
    assert set(items) - {a.code for a in approvals} == {"completed", "in_production"}
    bare = make_project(world)
    assert {i.kind for i in project_schedule(user=world.users["city"], project=bare)} == {"approval"}


# ---------------------------------------------------------------- the page and the API


def test_project_page_draws_the_gantt_in_a_bounded_number_of_queries(
    client, world, django_assert_max_num_queries
):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    client.force_login(world.users["county"])
    url = reverse("projects:project_detail", args=[project.pk])
    client.get(url)  # warm the content-type and session caches
    with CaptureQueriesContext(connection) as first:
        body = client.get(url).content.decode()
    assert "倒排工期" in body and 'id="schedule-data"' in body and "projects/gantt.js" in body
    assert "vendor/echarts/echarts.min.js" in body
    assert "建设工程规划许可" in body and "2026-02-14" in body
    assert reverse("projects:project_approvals", args=[project.pk]) in body
    schedule_queries = [
        q
        for q in first.captured_queries
        if ("projects_approval" in q["sql"] or "milestone" in q["sql"]) and "agencyrequest" not in q["sql"]
    ]  # (the service card's 代办 requests join approvals too; they are not the schedule's)
    assert len(schedule_queries) == 3  # approvals, their kinds' dependencies, milestones
    # A project with more to show (submitted approvals, overridden and reached milestones) costs
    # no more queries: the schedule reads its rows in one go.
    second = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    for approval in ProjectApproval.objects.filter(project=second)[:4]:
        approval_update(
            actor=None,
            approval_id=approval.pk,
            version=1,
            data={"status": "submitted", "submitted_on": D(2025, 12, 1)},
        )
    for kind in ("started", "completed"):
        milestone_override(actor=None, project_id=second.pk, kind=kind, date=D(2026, 5, 4), reason="调整")
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get(reverse("projects:project_detail", args=[second.pk])).status_code == 200


def test_schedule_panel_without_change_rights_has_no_approvals_link(client, world):
    project = make_project(world, planned_start=D(2026, 3, 2))
    client.force_login(world.users["leader"])
    body = client.get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    assert "倒排工期" in body
    assert reverse("projects:project_approvals", args=[project.pk]) not in body


def test_schedule_api_shape(world, django_assert_max_num_queries):
    project = make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))
    milestone_override(actor=None, project_id=project.pk, kind="completed", date=D(2027, 5, 1), reason="顺延")
    api = api_client(world.users["county"])
    url = reverse("api:project-schedule", args=[project.pk])
    api.get(url)
    with django_assert_max_num_queries(10):
        response = api.get(url)
    assert response.status_code == 200
    data = response.json()
    assert (data["project"], data["planned_start"]) == (project.pk, "2026-03-02")
    by_kind = {item["kind"]: item for item in data["items"]}
    permit = by_kind["construction_permit"]
    assert {
        "kind", "name", "type", "latest_start", "latest_finish", "actual_finish", "late", "late_days",
        "overridden", "depends_on",
    } <= set(permit)  # fmt: skip
    assert (permit["type"], permit["latest_start"], permit["latest_finish"]) == (
        "approval",
        "2026-02-14",
        "2026-02-28",
    )
    assert permit["depends_on"] == ["engineering_planning_permit"] and permit["actual_finish"] is None
    assert isinstance(permit["late"], bool)
    assert by_kind["completed"]["type"] == "milestone" and by_kind["completed"]["overridden"] is True
    assert by_kind["completed"]["latest_finish"] == "2027-05-01"


def test_schedule_api_is_scoped(world):
    project = make_project(world, planned_start=D(2026, 3, 2))
    url = reverse("api:project-schedule", args=[project.pk])
    assert api_client(world.users["other_county"]).get(url).status_code == 404
    assert api_client(world.users["leader"]).get(url).status_code == 200
    assert APIClient().get(url).status_code in {401, 403}
