"""代办帮办: who may ask, for which approval, the working-day deadline, the flow
requested → assigned → in progress → done (or cancelled), the approval's result, notifications."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from guatu.accounts.models import Role
from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_user
from guatu.problems import selectors, services
from guatu.problems.models import AgencyRequest, AgencyStatus, Notification
from guatu.problems.tests.service_support import TODAY, big_project, open_approval
from guatu.projects.models import ApprovalStatus, Project, ProjectApproval

pytestmark = pytest.mark.django_db

FRIDAY = dt.date(2026, 3, 6)


@pytest.fixture
def project(world):
    return big_project(world, steward=world.users["steward"])


@pytest.fixture
def agent(world):
    # A steward of another division: agents work wherever they are sent.
    return make_user(Role.STEWARD, username="t_daiban", region=world.counties["211303"])


def _request(world, project, approval=None, actor="enterprise", today=TODAY):
    approval = approval or open_approval(project)
    return services.agency_request(
        actor=world.users[actor],
        project_id=project.pk,
        approval_id=approval.pk,
        note="请协助办理",
        today=today,
    )


def _assigned(world, project, agent):
    agency = _request(world, project)
    return services.agency_assign(
        actor=world.users["city"], request_id=agency.pk, agent_id=agent.pk, version=1
    )


def _started(world, project, agent):
    agency = _assigned(world, project, agent)
    return services.agency_start(actor=agent, request_id=agency.pk, version=agency.version)


# ---------------------------------------------------------------- asking


def test_enterprise_asks_and_the_deadline_is_in_working_days(world, project):
    agency = _request(world, project, today=FRIDAY)
    assert agency.status == AgencyStatus.REQUESTED
    assert agency.requested_by == world.users["enterprise"] and agency.region == project.region
    assert agency.service_due == dt.date(2026, 3, 20)  # 10 working days after Friday 6 March: two weekends
    assert ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(AgencyRequest),
        object_id=str(agency.pk),
        action="create",
    ).exists()


def test_the_service_days_are_a_setting_and_skip_the_weekend(world, project, settings):
    settings.GUATU_AGENCY_SERVICE_DAYS = 1
    assert _request(world, project, today=FRIDAY).service_due == dt.date(2026, 3, 9)  # Monday


def test_the_steward_may_ask_others_may_not(world, project):
    assert _request(world, project, actor="steward").requested_by == world.users["steward"]
    other = big_project(world)
    for role in ("city", "county", "department", "leader"):
        with pytest.raises(PermissionDenied):
            _request(world, other, actor=role)
    with pytest.raises(Project.DoesNotExist):
        _request(world, other, actor="steward")  # not the steward of that one: not even visible
    assert AgencyRequest.objects.count() == 1


def test_an_approval_of_another_project_is_refused(world, project):
    other = big_project(world)
    with pytest.raises(ValidationError) as err:
        _request(world, project, approval=open_approval(other))
    assert err.value.message_dict["approval"] == [f"所选手续不属于项目“{project.name}”"]
    assert not AgencyRequest.objects.exists()


def test_an_approved_or_unneeded_approval_is_refused(world, project):
    approval = open_approval(project)
    ProjectApproval.objects.filter(pk=approval.pk).update(status=ApprovalStatus.APPROVED, approved_on=FRIDAY)
    with pytest.raises(ValidationError) as err:
        _request(world, project, approval=approval)
    assert err.value.message_dict["approval"] == [f"“{approval.kind.name}”已于2026-03-06批复，无需代办"]
    ProjectApproval.objects.filter(pk=approval.pk).update(status=ApprovalStatus.NOT_NEEDED)
    with pytest.raises(ValidationError) as err:
        _request(world, project, approval=approval)
    assert "不需办理" in err.value.message_dict["approval"][0]
    assert not AgencyRequest.objects.exists()


def test_one_open_request_per_approval(world, project):
    first = _request(world, project)
    with pytest.raises(ValidationError) as err:
        _request(world, project)
    assert "已有代办申请（已申请）" in err.value.message_dict["approval"][0]
    services.agency_cancel(actor=world.users["enterprise"], request_id=first.pk, version=1)
    assert _request(world, project).status == AgencyStatus.REQUESTED  # withdrawn: may ask again


# ---------------------------------------------------------------- the flow


def test_assign_start_close_approves_the_approval(world, project, agent, django_capture_on_commit_callbacks):
    approval = open_approval(project)
    with django_capture_on_commit_callbacks(execute=True):
        agency = _request(world, project, approval=approval)
        agency = services.agency_assign(
            actor=world.users["county"], request_id=agency.pk, agent_id=agent.pk, version=1
        )
    assert (agency.status, agency.agent, agency.version) == (AgencyStatus.ASSIGNED, agent, 2)
    agency = services.agency_start(actor=agent, request_id=agency.pk, version=2)
    assert agency.status == AgencyStatus.IN_PROGRESS
    with django_capture_on_commit_callbacks(execute=True):
        agency = services.agency_close(
            actor=agent,
            request_id=agency.pk,
            version=3,
            result="approved",
            approved_on=TODAY - dt.timedelta(days=1),
            document_no="朝环审〔2026〕12号",
            today=TODAY,
        )
    assert agency.status == AgencyStatus.DONE and agency.closed_at is not None
    assert agency.result == "已批复（朝环审〔2026〕12号）"
    approval.refresh_from_db()
    assert (approval.status, approval.approved_on, approval.document_no) == (
        ApprovalStatus.APPROVED,
        TODAY - dt.timedelta(days=1),
        "朝环审〔2026〕12号",
    )
    assert approval.version == 2
    closure = Notification.objects.filter(key=f"closure:agency:{agency.pk}")
    assert {n.user.username for n in closure} == {"t_qiye", "t_guanjia"}  # the applicant and the steward
    # Once closed, nothing more may happen to it.
    for step in (
        lambda: services.agency_start(actor=agent, request_id=agency.pk, version=4),
        lambda: services.agency_cancel(actor=world.users["enterprise"], request_id=agency.pk, version=4),
        lambda: services.agency_assign(
            actor=world.users["city"], request_id=agency.pk, agent_id=agent.pk, version=4
        ),
    ):
        with pytest.raises(Conflict) as err:
            step()
        assert "当前状态为“已办结”" in err.value.message


def test_closing_rejected_records_the_refusal(world, project, agent):
    agency = _started(world, project, agent)
    services.agency_close(
        actor=agent, request_id=agency.pk, version=3, result="rejected", comment="材料不全", today=TODAY
    )
    agency.approval.refresh_from_db()
    assert agency.approval.status == ApprovalStatus.REJECTED
    assert AgencyRequest.objects.get().result == "未获批：材料不全"


def test_closing_approved_needs_a_document_number_and_changes_nothing_without(world, project, agent):
    agency = _started(world, project, agent)
    with pytest.raises(ValidationError) as err:
        services.agency_close(actor=agent, request_id=agency.pk, version=3, result="approved", today=TODAY)
    assert "须填写批复文号" in err.value.message_dict["document_no"][0]
    with pytest.raises(ValidationError) as err:
        services.agency_close(actor=agent, request_id=agency.pk, version=3, result="other", today=TODAY)
    assert err.value.message_dict["comment"]
    agency.refresh_from_db()
    agency.approval.refresh_from_db()
    assert agency.status == AgencyStatus.IN_PROGRESS and agency.approval.status != ApprovalStatus.APPROVED


def test_wrong_status_and_stale_version_are_conflicts(world, project, agent):
    agency = _assigned(world, project, agent)
    with pytest.raises(Conflict) as err:
        services.agency_close(actor=agent, request_id=agency.pk, version=2, result="rejected", today=TODAY)
    assert err.value.message == f"代办申请“{agency}”当前状态为“已指派”，不能办结"
    with pytest.raises(Conflict) as err:
        services.agency_start(actor=agent, request_id=agency.pk, version=1)  # read before the assignment
    assert "已被他人修改" in err.value.message
    services.agency_start(actor=agent, request_id=agency.pk, version=2)
    with pytest.raises(Conflict) as err:
        services.agency_start(actor=agent, request_id=agency.pk, version=3)
    assert "当前状态为“代办中”，不能开始办理" in err.value.message
    with pytest.raises(Conflict) as err:
        services.agency_assign(
            actor=world.users["city"], request_id=agency.pk, agent_id=world.users["steward"].pk, version=3
        )
    assert "当前状态为“代办中”，不能指派" in err.value.message
    agency.refresh_from_db()
    assert (agency.status, agency.agent, agency.version) == (AgencyStatus.IN_PROGRESS, agent, 3)


def test_only_the_agent_works_and_only_the_applicant_withdraws(world, project, agent):
    agency = _assigned(world, project, agent)
    with pytest.raises(PermissionDenied):
        services.agency_start(actor=world.users["steward"], request_id=agency.pk, version=2)
    with pytest.raises(PermissionDenied):
        services.agency_cancel(actor=world.users["steward"], request_id=agency.pk, version=2)
    for role in ("enterprise", "steward", "department"):
        with pytest.raises(PermissionDenied):
            services.agency_assign(
                actor=world.users[role], request_id=agency.pk, agent_id=agent.pk, version=2
            )
    with pytest.raises(AgencyRequest.DoesNotExist):
        services.agency_assign(
            actor=world.users["other_county"], request_id=agency.pk, agent_id=agent.pk, version=2
        )
    with pytest.raises(ValidationError) as err:
        services.agency_assign(
            actor=world.users["city"], request_id=agency.pk, agent_id=world.users["auditor"].pk, version=2
        )
    assert err.value.message_dict["agent"] == ["代办员须为在用的业务账号"]
    cancelled = services.agency_cancel(
        actor=world.users["enterprise"], request_id=agency.pk, version=2, reason="自行办理"
    )
    assert (cancelled.status, cancelled.result) == (AgencyStatus.CANCELLED, "已撤回：自行办理")


def test_assignment_notifies_the_agent_once(world, project, agent, django_capture_on_commit_callbacks):
    other = make_user(Role.STEWARD, username="t_daiban2")
    agency = _request(world, project)
    with django_capture_on_commit_callbacks(execute=True):
        agency = services.agency_assign(
            actor=world.users["city"], request_id=agency.pk, agent_id=agent.pk, version=1
        )
    with django_capture_on_commit_callbacks(execute=True):
        agency = services.agency_assign(
            actor=world.users["city"], request_id=agency.pk, agent_id=other.pk, version=2
        )
    with django_capture_on_commit_callbacks(execute=True):
        agency = services.agency_assign(
            actor=world.users["city"], request_id=agency.pk, agent_id=agent.pk, version=3
        )
    assert Notification.objects.filter(user=agent).count() == 1
    assert Notification.objects.filter(user=other).count() == 1
    mine = Notification.objects.get(user=agent)
    assert mine.event == "assignment" and project.name in mine.title
    assert mine.url == reverse("problems:agency_detail", args=[agency.pk])
    # The applicant hears of each agent once as well.
    assert Notification.objects.filter(user=world.users["enterprise"]).count() == 2


def test_nothing_is_notified_when_the_assignment_fails(
    world, project, agent, django_capture_on_commit_callbacks
):
    agency = _request(world, project)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        services.agency_assign(actor=world.users["city"], request_id=agency.pk, agent_id=agent.pk, version=7)
    assert not Notification.objects.exists()


# ---------------------------------------------------------------- reads and pages


def test_overdue_is_open_and_past_the_service_deadline(world, project, agent):
    late = _request(world, project, today=dt.date(2026, 2, 2))  # due 2026-02-13
    second = ProjectApproval.objects.filter(project=project).exclude(pk=late.approval_id).first()
    _request(world, project, approval=second, today=TODAY)  # due 2026-03-24
    qs = selectors.agency_queryset(user=world.users["city"])
    counts = selectors.agency_counts(qs, today=TODAY)
    assert (counts["overdue"], counts["requested"]) == (1, 2)
    filterset = selectors.agency_filterset(user=world.users["city"], params={"overdue": "true"}, today=TODAY)
    assert [a.pk for a in filterset.qs] == [late.pk]
    services.agency_cancel(actor=world.users["enterprise"], request_id=late.pk, version=1)
    assert selectors.agency_counts(qs, today=TODAY)["overdue"] == 0  # closed ones are never overdue


def test_agency_pages_by_role(client, world, project, agent):
    agency = _assigned(world, project, agent)
    list_url, detail_url = (
        reverse("problems:agency_list"),
        reverse("problems:agency_detail", args=[agency.pk]),
    )
    seen = {}
    for role, user in world.users.items():
        client.force_login(user)
        response = client.get(list_url)
        seen[role] = (
            response.status_code,
            detail_url in response.content.decode() if response.status_code == 200 else None,
        )
    assert seen == {
        "city": (200, True), "leader": (200, True), "county": (200, True), "other_county": (200, False),
        "department": (200, False), "enterprise": (200, True), "steward": (200, True),
        "sysadmin": (403, None), "secadmin": (403, None), "auditor": (403, None),
    }  # fmt: skip
    client.force_login(agent)  # the agent sees it although the project is not theirs
    assert detail_url in client.get(list_url).content.decode()
    page = client.get(detail_url).content.decode()
    assert reverse("problems:agency_action", args=[agency.pk, "start"]) in page
    client.force_login(world.users["other_county"])
    assert client.get(detail_url).status_code == 404


def test_agency_actions_on_the_page(client, world, project, agent):
    approval = open_approval(project)
    client.force_login(world.users["enterprise"])
    response = client.post(
        reverse("problems:agency_add", args=[project.pk]), {"approval": approval.pk, "note": "急"}
    )
    assert response.status_code == 302
    agency = AgencyRequest.objects.get()
    action = lambda name: reverse("problems:agency_action", args=[agency.pk, name])  # noqa: E731
    client.force_login(world.users["county"])
    assert client.post(action("assign"), {"agent": agent.pk, "version": 1}).status_code == 302
    # Starting again from a stale page: a conflict with the reason, nothing changes.
    client.force_login(agent)
    assert client.post(action("start"), {"version": 2}).status_code == 302
    response = client.post(action("start"), {"version": 3})
    assert response.status_code == 409 and "不能开始办理" in response.content.decode()
    today = timezone.localdate()  # the page closes as of the real today
    response = client.post(
        action("close"),
        {
            "version": 3,
            "result": "approved",
            "approved_on": today.isoformat(),
            "document_no": "朝发改〔2026〕3号",
        },
    )
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.document_no == "朝发改〔2026〕3号"
    client.force_login(world.users["steward"])  # not the agent
    assert client.post(action("cancel"), {"version": 4}).status_code == 403
