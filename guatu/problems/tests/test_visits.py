"""Steward visits (走访): who may log one, for which projects, when; problems raised from a visit."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from guatu.core.models import ChangeRecord
from guatu.problems import services
from guatu.problems.models import Problem, StewardVisit
from guatu.problems.tests.service_support import TODAY, big_project
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(world):
    steward = world.users["steward"]
    return {
        "own": big_project(world, steward=steward),
        "not_mine": big_project(world),  # 双塔区, no steward
        "longcheng": big_project(
            world, region=world.counties["211303"], enterprise=world.other_enterprise, steward=steward
        ),
    }


def _visit(actor, project, **kwargs):
    values = {
        "visited_on": TODAY - dt.timedelta(days=2),
        "met_with": "项目经理张伟",
        "findings": "施工用电尚未接通",
        "today": TODAY,
    }
    values.update(kwargs)
    return services.visit_create(actor=actor, project_id=project.pk, **values)


def _problem(world, **data):
    values = {
        "title": "施工用电未接通",
        "category": "utilities",
        "owner_unit": world.department,
        "due_date": TODAY + dt.timedelta(days=20),
        "description": "变电站间隔未批",
    }
    values.update(data)
    return values


def test_steward_logs_a_visit_to_a_project_they_serve(world, projects):
    steward = world.users["steward"]
    visit = _visit(steward, projects["own"])
    assert (visit.steward, visit.region, visit.project) == (steward, projects["own"].region, projects["own"])
    assert ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(StewardVisit),
        object_id=str(visit.pk),
        action="create",
        actor=steward,
    ).exists()
    # A project they serve in another division is theirs too.
    assert _visit(steward, projects["longcheng"]).region == projects["longcheng"].region


def test_steward_may_not_log_for_a_project_they_do_not_serve(world, projects):
    with pytest.raises(PermissionDenied) as err:
        _visit(world.users["steward"], projects["not_mine"])
    assert "自己服务的项目" in str(err.value)
    assert not StewardVisit.objects.exists()


def test_visit_in_the_future_is_refused_today_is_fine(world, projects):
    with pytest.raises(ValidationError) as err:
        _visit(world.users["steward"], projects["own"], visited_on=TODAY + dt.timedelta(days=1))
    assert err.value.message_dict["visited_on"] == ["走访日期（2026-03-11）不能晚于今天（2026-03-10）"]
    assert not StewardVisit.objects.exists()
    assert _visit(world.users["steward"], projects["own"], visited_on=TODAY).visited_on == TODAY


def test_missing_fields_are_named(world, projects):
    with pytest.raises(ValidationError) as err:
        _visit(world.users["steward"], projects["own"], met_with=" ", findings="")
    assert set(err.value.message_dict) == {"met_with", "findings"}


def test_governors_log_for_the_projects_steward(world, projects):
    visit = _visit(world.users["county"], projects["own"])
    assert visit.steward == world.users["steward"]
    with pytest.raises(ValidationError) as err:
        _visit(world.users["county"], projects["not_mine"])
    assert "尚未指定项目管家" in err.value.message_dict["project"][0]
    with pytest.raises(Project.DoesNotExist):
        _visit(world.users["other_county"], projects["own"])
    for role in ("department", "enterprise", "leader"):
        with pytest.raises(PermissionDenied):
            _visit(world.users[role], projects["own"])
    assert StewardVisit.objects.count() == 1


def test_problems_raised_on_a_visit_link_back_to_it(world, projects):
    steward = world.users["steward"]
    visit = _visit(
        steward,
        projects["own"],
        problems=[_problem(world), _problem(world, title="用地指标不足", category="land")],
    )
    problems = list(Problem.objects.order_by("id"))
    assert [p.title for p in problems] == ["施工用电未接通", "用地指标不足"]
    assert all(p.source_visit == visit and p.project == projects["own"] for p in problems)
    assert all(p.raised_by == steward for p in problems)
    assert set(visit.problems.all()) == set(problems)


def test_a_bad_problem_keeps_nothing_of_the_visit(world, projects):
    with pytest.raises(ValidationError) as err:
        _visit(
            world.users["steward"],
            projects["own"],
            problems=[_problem(world), _problem(world, title="资金缺口", owner_unit=None)],
        )
    messages = err.value.message_dict["problems"]
    assert len(messages) == 1 and messages[0].startswith("第2个问题“资金缺口”")
    assert "推进主体" in messages[0]
    assert not StewardVisit.objects.exists() and not Problem.objects.exists()


def test_visit_pages_by_role(client, world, projects):
    own = _visit(world.users["steward"], projects["own"])
    by_county = _visit(world.users["county"], projects["own"], findings="县里代录")
    far = _visit(world.users["steward"], projects["longcheng"], findings="龙城走访")
    url = reverse("problems:visit_list")

    def listed(role, query=""):
        client.force_login(world.users[role])
        response = client.get(url + query)
        assert response.status_code == 200, role
        return {
            pk
            for pk in (own.pk, by_county.pk, far.pk)
            if reverse("problems:visit_detail", args=[pk]) in response.content.decode()
        }

    assert listed("steward") == {own.pk, by_county.pk, far.pk}  # their visits (and those logged for them)
    assert listed("county") == {own.pk, by_county.pk}
    assert listed("other_county") == {far.pk}
    assert listed("city") == {own.pk, by_county.pk, far.pk}
    assert listed("city", f"?project={projects['longcheng'].pk}") == {far.pk}
    client.force_login(world.users["auditor"])
    assert client.get(url).status_code == 403
    client.force_login(world.users["other_county"])
    assert client.get(reverse("problems:visit_detail", args=[own.pk])).status_code == 404
    client.force_login(world.users["county"])
    assert client.get(reverse("problems:visit_detail", args=[own.pk])).status_code == 200


def test_visit_add_page_logs_a_visit_and_its_problem(client, world, projects):
    project = projects["own"]
    client.force_login(world.users["steward"])
    url = reverse("problems:visit_add", args=[project.pk])
    assert client.get(url).status_code == 200
    today = timezone.localdate()  # the page records visits as of the real today
    data = {
        "visited_on": today.isoformat(),
        "met_with": "项目经理张伟",
        "findings": "施工用电尚未接通",
        "p-TOTAL_FORMS": "2",
        "p-INITIAL_FORMS": "0",
        "p-MIN_NUM_FORMS": "0",
        "p-MAX_NUM_FORMS": "5",
        "p-0-title": "施工用电未接通",
        "p-0-category": "utilities",
        "p-0-owner_unit": str(world.department.pk),
        "p-0-due_date": (today + dt.timedelta(days=15)).isoformat(),
    }
    response = client.post(url, data)
    assert response.status_code == 302
    visit = StewardVisit.objects.get()
    assert Problem.objects.get().source_visit == visit
    page = client.get(reverse("problems:visit_detail", args=[visit.pk])).content.decode()
    assert "施工用电未接通" in page
    # The future is refused on the page too, with the reason, and nothing more is saved.
    data["visited_on"] = (today + dt.timedelta(days=3)).isoformat()
    response = client.post(url, data)
    assert response.status_code == 400 and "不能晚于今天" in response.content.decode()
    assert StewardVisit.objects.count() == 1
    # Not their project: refused.
    assert client.get(reverse("problems:visit_add", args=[projects["not_mine"].pk])).status_code == 404
    client.force_login(world.users["county"])  # sees it, but it has no steward yet
    assert client.get(reverse("problems:visit_add", args=[projects["not_mine"].pk])).status_code == 403
