"""前期手续 per project: which apply, the update rules, versions, milestones, the pages and the API."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project
from guatu.core.testing_api import api_client
from guatu.projects.models import ApprovalKind, Milestone, Project, ProjectApproval
from guatu.projects.services import (
    approval_kind_fingerprint,
    approval_kind_update,
    approval_update,
    milestone_override,
    milestone_set_actual,
    project_approvals_apply,
)

pytestmark = pytest.mark.django_db

D = dt.date
INDUSTRY = [
    "filing_record", "land_siting", "land_planning_permit", "engineering_planning_permit", "eia_form",
    "energy_review", "safety_review", "construction_permit",
]  # fmt: skip
LIVELIHOOD = [
    "filing_examine", "land_siting", "land_planning_permit", "engineering_planning_permit", "eia_form",
    "construction_permit",
]  # fmt: skip


def codes(project) -> list[str]:
    return list(
        ProjectApproval.objects.filter(project=project)
        .order_by("kind__order")
        .values_list("kind__code", flat=True)
    )


def row(project, code) -> ProjectApproval:
    return ProjectApproval.objects.get(project=project, kind__code=code)


@pytest.fixture
def project(world):
    return make_project(world, planned_start=D(2026, 3, 2), planned_completion=D(2027, 3, 1))


@pytest.fixture
def recomputed(monkeypatch):
    """The project ids whose warning light was asked to be recomputed."""
    calls: list[int] = []
    monkeypatch.setattr(
        "guatu.progress.tasks.schedule_recompute", lambda *, project_id: calls.append(project_id)
    )
    return calls


# ---------------------------------------------------------------- which approvals apply


def test_creating_a_project_applies_the_approvals_of_its_kind(world):
    industry = make_project(world)
    livelihood = make_project(world, kind="livelihood")
    assert codes(industry) == INDUSTRY
    assert codes(livelihood) == LIVELIHOOD
    records = ChangeRecord.objects.filter(content_type__model="projectapproval", action="create")
    assert records.count() == len(INDUSTRY) + len(LIVELIHOOD)


def test_applying_again_adds_nothing_and_keeps_a_chosen_variant(world, project, recomputed):
    approval_update(
        actor=None, approval_id=row(project, "eia_form").pk, version=1, data={"kind": "eia_report"}
    )
    recomputed.clear()
    before = ChangeRecord.objects.count()
    assert project_approvals_apply(actor=world.users["city"], project_id=project.pk) == []
    assert "eia_report" in codes(project) and "eia_form" not in codes(project)
    assert ChangeRecord.objects.count() == before and recomputed == []
    # A group missing from the project (say, deleted by mistake) comes back with its default.
    ProjectApproval.objects.filter(project=project, kind__code="safety_review").delete()
    added = project_approvals_apply(actor=world.users["city"], project_id=project.pk)
    assert [a.kind.code for a in added] == ["safety_review"] and recomputed == [project.pk]


def test_applying_is_scoped(world, project):
    with pytest.raises(Project.DoesNotExist, match="不存在或无权操作"):
        project_approvals_apply(actor=world.users["other_county"], project_id=project.pk)


# ---------------------------------------------------------------- the update rules


def test_update_records_the_change_and_asks_for_a_recompute(world, project, recomputed):
    approval = row(project, "land_siting")
    approval_update(
        actor=world.users["county"],
        approval_id=approval.pk,
        version=1,
        data={
            "status": "approved",
            "submitted_on": D(2025, 11, 20),
            "approved_on": D(2025, 12, 18),
            "handling_department": world.department,
            "document_no": " 朝自然资预〔2025〕18号 ",
        },
    )
    approval.refresh_from_db()
    assert (approval.status, approval.version, approval.document_no) == (
        "approved",
        2,
        "朝自然资预〔2025〕18号",
    )
    assert approval.updated_by == world.users["county"]
    record = ChangeRecord.objects.filter(
        content_type__model="projectapproval", object_id=str(approval.pk)
    ).first()
    assert record.action == "update" and record.before["status"] == "not_started"
    assert record.after["approved_on"] == "2025-12-18"
    assert recomputed == [project.pk]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"status": "not_needed"}, "not_needed_reason", "须填写理由"),
        ({"status": "not_needed", "not_needed_reason": "   "}, "not_needed_reason", "须填写理由"),
        ({"status": "approved", "submitted_on": D(2025, 12, 1)}, "approved_on", "须填写批复日期"),
        ({"status": "submitted"}, "submitted_on", "须填写报送日期"),
        (
            {"status": "approved", "submitted_on": D(2025, 12, 10), "approved_on": D(2025, 12, 9)},
            "approved_on",
            "批复日期（2025-12-09）不能早于报送日期（2025-12-10）",
        ),
        ({"kind": "land_planning_permit"}, "kind", "不是同一类手续"),
        ({"kind": "filing_examine"}, "kind", "不适用于产业项目"),
        ({"kind": "no_such_kind"}, "kind", "未知手续类型"),
        ({"project": 1}, "project", "不能修改的字段"),
    ],
)
def test_bad_updates_are_refused_and_nothing_written(world, project, data, field, message, recomputed):
    approval = row(project, "filing_record")
    before = ChangeRecord.objects.count()
    with pytest.raises(ValidationError) as err:
        approval_update(actor=world.users["city"], approval_id=approval.pk, version=1, data=data)
    assert message in " ".join(err.value.message_dict[field])
    approval.refresh_from_db()
    assert (approval.status, approval.version, approval.kind.code) == ("not_started", 1, "filing_record")
    assert ChangeRecord.objects.count() == before and recomputed == []


def test_dates_in_the_future_are_refused(world, project):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as err:
        approval_update(
            actor=None, approval_id=row(project, "land_siting").pk, version=1, data={"submitted_on": tomorrow}
        )
    assert "不能晚于今天" in err.value.message_dict["submitted_on"][0]
    with pytest.raises(ValidationError):
        milestone_set_actual(actor=None, project_id=project.pk, kind="started", date=tomorrow)
    assert not Milestone.objects.exists()


def test_choosing_another_variant_swaps_the_kind(world, project):
    approval = row(project, "eia_form")
    approval_update(
        actor=world.users["city"], approval_id=approval.pk, version=1, data={"kind": "eia_report"}
    )
    approval.refresh_from_db()
    assert approval.kind.code == "eia_report" and approval.version == 2


def test_a_reason_is_kept_only_while_not_needed(world, project):
    approval = row(project, "safety_review")
    approval_update(
        actor=None,
        approval_id=approval.pk,
        version=1,
        data={"status": "not_needed", "not_needed_reason": "非高危行业"},
    )
    approval.refresh_from_db()
    assert approval.not_needed_reason == "非高危行业"
    approval_update(actor=None, approval_id=approval.pk, version=2, data={"status": "not_started"})
    approval.refresh_from_db()
    assert approval.not_needed_reason == ""


def test_a_stale_version_is_a_conflict_not_an_overwrite(world, project):
    approval = row(project, "land_siting")
    city, county = world.users["city"], world.users["county"]
    approval_update(
        actor=city,
        approval_id=approval.pk,
        version=1,
        data={"status": "submitted", "submitted_on": D(2025, 11, 3)},
    )
    with pytest.raises(Conflict, match="已被他人修改"):
        approval_update(actor=county, approval_id=approval.pk, version=1, data={"status": "not_started"})
    approval.refresh_from_db()
    assert (approval.status, approval.version) == ("submitted", 2)


def test_update_is_scoped(world, project):
    approval = row(project, "land_siting")
    for user in ("other_county", "leader", "department"):
        with pytest.raises(ProjectApproval.DoesNotExist):
            approval_update(
                actor=world.users[user], approval_id=approval.pk, version=1, data={"document_no": "x"}
            )


# ---------------------------------------------------------------- milestones


def test_milestone_actual_and_override_versions(world, project):
    city = world.users["city"]
    milestone_set_actual(actor=city, project_id=project.pk, kind="started", date=D(2026, 3, 5))
    milestone = Milestone.objects.get(project=project, kind="started")
    assert (milestone.actual_date, milestone.version) == (D(2026, 3, 5), 1)
    milestone_override(
        actor=city, project_id=project.pk, kind="started", date=D(2026, 3, 4), reason="提前", version=1
    )
    with pytest.raises(Conflict):
        milestone_override(actor=city, project_id=project.pk, kind="started", date=None, reason="", version=1)
    milestone_override(actor=city, project_id=project.pk, kind="started", date=None, reason="", version=2)
    milestone.refresh_from_db()
    assert (milestone.override_date, milestone.override_reason, milestone.version) == (None, "", 3)
    assert ChangeRecord.objects.filter(content_type__model="milestone").count() == 3


def test_no_production_milestone_outside_industry(world):
    project = make_project(world, kind="infrastructure", planned_start=D(2026, 3, 2))
    with pytest.raises(ValidationError, match="没有投产节点"):
        milestone_override(
            actor=None, project_id=project.pk, kind="in_production", date=D(2027, 1, 1), reason="x"
        )
    with pytest.raises(ValidationError, match="未知节点"):
        milestone_set_actual(actor=None, project_id=project.pk, kind="topping_out", date=D(2026, 1, 1))


# ---------------------------------------------------------------- approval kinds (project office)


def test_city_admin_edits_a_kind_with_a_record_and_no_loops(world):
    kind = ApprovalKind.objects.get(code="construction_permit")
    city = world.users["city"]
    approval_kind_update(
        actor=city, kind_id=kind.pk, fingerprint=approval_kind_fingerprint(kind), data={"duration": 15}
    )
    kind.refresh_from_db()
    assert kind.duration == 15
    record = ChangeRecord.objects.filter(content_type__model="approvalkind").get()
    assert (record.before["duration"], record.after["duration"]) == (7, 15)
    with pytest.raises(Conflict):
        approval_kind_update(actor=city, kind_id=kind.pk, fingerprint="stale", data={"duration": 9})
    siting = ApprovalKind.objects.get(code="land_siting")
    with pytest.raises(ValidationError, match="循环"):
        approval_kind_update(
            actor=city,
            kind_id=siting.pk,
            fingerprint=approval_kind_fingerprint(siting),
            data={"depends_on": [kind]},
        )
    with pytest.raises(ValidationError, match="未知项目类型"):
        approval_kind_update(
            actor=city,
            kind_id=siting.pk,
            fingerprint=approval_kind_fingerprint(siting),
            data={"applies_to": ["mining"]},
        )
    with pytest.raises(ApprovalKind.DoesNotExist):
        approval_kind_update(
            actor=world.users["county"], kind_id=kind.pk, fingerprint=approval_kind_fingerprint(kind), data={}
        )


def test_approval_kind_pages(client, world):
    kind = ApprovalKind.objects.get(code="eia_report")
    client.force_login(world.users["county"])
    assert client.get(reverse("projects:approval_kind_list")).status_code == 200
    assert client.get(reverse("projects:approval_kind_edit", args=[kind.pk])).status_code == 403
    client.force_login(world.users["city"])
    body = client.get(reverse("projects:approval_kind_list")).content.decode()
    assert "环评（报告书）" in body and "60" in body
    url = reverse("projects:approval_kind_edit", args=[kind.pk])
    assert client.get(url).status_code == 200
    data = {
        "name": kind.name,
        "duration": "45",
        "duration_unit": "days",
        "extension": "0",
        "department": "市生态环境局",
        "applies_to": ["industry"],
        "note": kind.note,
        "fingerprint": approval_kind_fingerprint(kind),
    }
    assert client.post(url, data).status_code == 302
    kind.refresh_from_db()
    assert (kind.duration, kind.department, kind.applies_to) == (45, "市生态环境局", ["industry"])
    response = client.post(url, data | {"duration": "50"})  # the old fingerprint
    assert response.status_code == 409 and "已被他人修改" in response.content.decode()


# ---------------------------------------------------------------- the approvals page


def test_approvals_page_scope(client, world, project):
    url = reverse("projects:project_approvals", args=[project.pk])
    for user, status in (("city", 200), ("county", 200), ("other_county", 404), ("leader", 403)):
        client.force_login(world.users[user])
        assert client.get(url).status_code == status, user
    client.force_login(world.users["city"])
    body = client.get(url).content.decode()
    assert "建设工程规划许可" in body and "最迟批复" in body and "2026-02-14" in body
    assert "主体完工" in body and "投产" in body


def test_saving_a_row_on_the_page(client, world, project):
    approval = row(project, "land_siting")
    client.force_login(world.users["county"])
    url = reverse("projects:approval_update", args=[project.pk, approval.pk])
    prefix = f"a{approval.pk}"
    data = {
        f"{prefix}-status": "submitted",
        f"{prefix}-submitted_on": "2025-11-20",
        f"{prefix}-approved_on": "",
        f"{prefix}-handling_department": str(world.department.pk),
        f"{prefix}-document_no": "",
        f"{prefix}-not_needed_reason": "",
        f"{prefix}-version": "1",
    }
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"].endswith(f"#approval-{approval.pk}")
    approval.refresh_from_db()
    assert (approval.status, approval.submitted_on, approval.handling_department) == (
        "submitted",
        D(2025, 11, 20),
        world.department,
    )
    # The same form again: its version is stale now.
    response = client.post(url, data | {f"{prefix}-document_no": "晚到的文号"})
    body = response.content.decode()
    assert response.status_code == 409 and "已被他人修改" in body and "晚到的文号" in body
    # A rule broken: the message names it and what was typed stays.
    response = client.post(
        url,
        data | {f"{prefix}-status": "not_needed", f"{prefix}-version": "2", f"{prefix}-document_no": "留着"},
    )
    body = response.content.decode()
    assert response.status_code == 400 and "须填写理由" in body and "留着" in body
    approval.refresh_from_db()
    assert (approval.status, approval.version) == ("submitted", 2)
    other = make_project(world, region=world.counties["211303"])
    assert (
        client.post(reverse("projects:approval_update", args=[other.pk, approval.pk]), data).status_code
        == 404
    )


def test_milestone_forms_on_the_page(client, world, project):
    client.force_login(world.users["city"])
    url = reverse("projects:milestone_update", args=[project.pk, "completed", "override"])
    response = client.post(
        url, {"o-completed-override_date": "2027-06-30", "o-completed-override_reason": ""}
    )
    assert response.status_code == 400 and "须填写理由" in response.content.decode()
    response = client.post(
        url, {"o-completed-override_date": "2027-06-30", "o-completed-override_reason": "冬季停工顺延"}
    )
    assert response.status_code == 302
    milestone = Milestone.objects.get(project=project, kind="completed")
    assert (milestone.override_date, milestone.override_reason) == (D(2027, 6, 30), "冬季停工顺延")
    body = client.get(reverse("projects:project_approvals", args=[project.pk])).content.decode()
    assert "已调整" in body and "2027-03-01" in body  # marked, with the original date
    actual = reverse("projects:milestone_update", args=[project.pk, "started", "actual"])
    assert client.post(actual, {"r-started-actual_date": "2026-03-03"}).status_code == 302
    assert Milestone.objects.get(project=project, kind="started").actual_date == D(2026, 3, 3)
    stale = client.post(
        url, {"o-completed-override_date": "", "o-completed-override_reason": "", "o-completed-version": "0"}
    )
    assert stale.status_code == 409
    bad = reverse("projects:milestone_update", args=[project.pk, "completed", "delete"])
    assert client.post(bad, {}).status_code == 404


# ---------------------------------------------------------------- the API


def test_approvals_api(world, project):
    other = make_project(world, region=world.counties["211303"])
    api = api_client(world.users["county"])
    listed = api.get(reverse("api:approval-list"), {"project": project.pk}).json()
    assert listed["count"] == len(INDUSTRY)
    assert {r["kind"] for r in listed["results"]} == set(INDUSTRY)
    assert api.get(reverse("api:approval-list"), {"status": "approved"}).json()["count"] == 0
    assert api.get(reverse("api:approval-list"), {"project": other.pk}).json()["count"] == 0
    approval = row(project, "eia_form")
    url = reverse("api:approval-detail", args=[approval.pk])
    response = api.patch(
        url, {"kind": "eia_report", "status": "submitted", "submitted_on": "2025-12-01", "version": 1}
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["kind"], response.json()["version"]) == ("eia_report", 2)
    stale = api.patch(url, {"status": "approved", "approved_on": "2025-12-20", "version": 1})
    assert stale.status_code == 409 and "已被他人修改" in stale.json()["detail"]
    assert api.patch(url, {"document_no": "x"}).status_code == 400  # no version
    rule = api.patch(url, {"status": "approved", "version": 2})
    assert rule.status_code == 400 and "批复日期" in str(rule.json()["approved_on"])
    assert api.put(url, {"version": 2}).status_code == 405
    outsider = api_client(world.users["other_county"])
    assert outsider.get(url).status_code == 404
    assert outsider.patch(url, {"document_no": "x", "version": 2}).status_code == 404


def test_approvals_api_refuses_roles_without_change(world, project):
    url = reverse("api:approval-detail", args=[row(project, "eia_form").pk])
    leader = api_client(world.users["leader"])
    assert leader.get(url).status_code == 200
    assert leader.patch(url, {"document_no": "x", "version": 1}).status_code == 403


def test_service_refuses_outside_scope_before_writing(world, project):
    # A county user cannot reach another county's project rows at all.
    other = make_project(world, region=world.counties["211303"])
    with pytest.raises(Project.DoesNotExist):
        milestone_override(
            actor=world.users["county"], project_id=other.pk, kind="started", date=D(2026, 1, 5), reason="x"
        )
    assert not Milestone.objects.filter(project=other).exists()
