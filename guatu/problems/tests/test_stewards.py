"""项目管家 coverage (the 5000万元 threshold, loads, assignment) and the "1+1+n" contacts."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guatu.accounts.models import Role
from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_user
from guatu.problems import selectors, services
from guatu.problems.models import ContactKind, ProjectContact, StewardVisit
from guatu.problems.tests.service_support import TODAY, big_project
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(world):
    """双塔区: 5000 and 4999.99 without a steward, 8000 with one; 龙城区: 20000 without one."""
    longcheng = world.counties["211303"]
    return {
        "at": big_project(world, total="5000"),
        "below": big_project(world, total="4999.99"),
        "served": big_project(world, total="8000", steward=world.users["steward"]),
        "other": big_project(world, total="20000", region=longcheng, enterprise=world.other_enterprise),
    }


# ---------------------------------------------------------------- coverage


def test_threshold_includes_5000_and_excludes_4999_99(world, spread):
    coverage = selectors.steward_coverage(user=world.users["city"], today=TODAY)
    uncovered = [p.pk for p in coverage.uncovered]
    assert uncovered == [spread["other"].pk, spread["at"].pk]  # biggest first
    assert spread["below"].pk not in uncovered
    assert (coverage.total, coverage.covered, coverage.uncovered_count) == (3, 1, 2)


def test_threshold_is_a_setting(world, spread, settings):
    settings.GUATU_STEWARD_THRESHOLD = 4999.99
    coverage = selectors.steward_coverage(user=world.users["city"], today=TODAY)
    assert {p.pk for p in coverage.uncovered} == {spread["at"].pk, spread["below"].pk, spread["other"].pk}


def test_county_sees_its_own_division_only(world, spread):
    mine = selectors.steward_coverage(user=world.users["county"], today=TODAY)
    theirs = selectors.steward_coverage(user=world.users["other_county"], today=TODAY)
    assert [p.pk for p in mine.uncovered] == [spread["at"].pk]
    assert [p.pk for p in theirs.uncovered] == [spread["other"].pk]
    assert (mine.total, theirs.total) == (2, 1)


def test_steward_load_counts_projects_recent_visits_and_last_visit(world, spread):
    steward = world.users["steward"]
    project = spread["served"]
    for days in (10, 89, 90, 200):
        StewardVisit.objects.create(
            project=project,
            region=project.region,
            steward=steward,
            visited_on=TODAY - dt.timedelta(days=days),
            met_with="项目经理",
            findings="进展正常",
        )
    make_user(Role.STEWARD, username="t_idle", region=world.counties["211302"])
    loads = {s.username: s for s in selectors.steward_loads(user=world.users["county"], today=TODAY)}
    assert (loads["t_guanjia"].projects_served, loads["t_guanjia"].recent_visits) == (1, 2)
    assert loads["t_guanjia"].last_visit == TODAY - dt.timedelta(days=10)
    assert (loads["t_idle"].projects_served, loads["t_idle"].recent_visits, loads["t_idle"].last_visit) == (
        0,
        0,
        None,
    )
    # 龙城区 sees neither the visits nor the project of 双塔区, nor its idle steward.
    other = {s.username: s for s in selectors.steward_loads(user=world.users["other_county"], today=TODAY)}
    assert "t_idle" not in other and "t_guanjia" not in other


def test_coverage_page_per_role(client, world, spread):
    url = reverse("problems:steward_coverage")
    expected = {
        "city": 200, "leader": 200, "county": 200, "other_county": 200, "department": 403,
        "enterprise": 403, "steward": 403, "sysadmin": 403, "secadmin": 403, "auditor": 403,
    }  # fmt: skip
    actual = {}
    for role, user in world.users.items():
        client.force_login(user)
        actual[role] = client.get(url).status_code
    assert actual == expected
    client.force_login(world.users["county"])
    page = client.get(url).content.decode()
    assert spread["at"].name in page and spread["other"].name not in page
    assert spread["below"].name not in page
    assert 'id="uncovered-count">1<' in page
    client.force_login(world.users["leader"])
    page = client.get(url).content.decode()
    assert spread["other"].name in page and "steward_assign" not in page and "/assign/" not in page


# ---------------------------------------------------------------- assignment


def test_county_assigns_a_steward_from_the_page(client, world, spread):
    project = spread["at"]
    client.force_login(world.users["county"])
    response = client.post(
        reverse("problems:steward_assign", args=[project.pk]),
        {"steward": world.users["steward"].pk, "version": project.version},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.steward == world.users["steward"] and project.version == 2
    record = ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(Project), object_id=str(project.pk), action="update"
    ).get()
    assert record.actor == world.users["county"]
    assert record.after["steward_id"] == world.users["steward"].pk and record.before["steward_id"] is None
    coverage = selectors.steward_coverage(user=world.users["county"], today=TODAY)
    assert coverage.uncovered_count == 0


def test_stale_version_is_a_conflict(client, world, spread):
    project = spread["at"]
    services.steward_assign(
        actor=world.users["city"], project_id=project.pk, steward_id=world.users["steward"].pk, version=1
    )
    other = make_user(Role.STEWARD, username="t_other_steward")
    client.force_login(world.users["county"])
    response = client.post(
        reverse("problems:steward_assign", args=[project.pk]), {"steward": other.pk, "version": 1}
    )
    assert response.status_code == 409
    assert "已被他人修改" in response.content.decode()
    with pytest.raises(Conflict):
        services.steward_assign(
            actor=world.users["city"], project_id=project.pk, steward_id=other.pk, version=1
        )
    project.refresh_from_db()
    assert project.steward == world.users["steward"]


def test_only_governors_assign_and_only_stewards_are_assigned(client, world, spread):
    project = spread["at"]
    for role in ("enterprise", "steward", "department", "leader"):
        with pytest.raises(PermissionDenied):
            services.steward_assign(
                actor=world.users[role],
                project_id=project.pk,
                steward_id=world.users["steward"].pk,
                version=1,
            )
    with pytest.raises(ValidationError) as err:
        services.steward_assign(
            actor=world.users["city"],
            project_id=project.pk,
            steward_id=world.users["department"].pk,
            version=1,
        )
    assert "不是在用的项目管家" in str(err.value)
    # Another county's project is not there for this county.
    with pytest.raises(Project.DoesNotExist):
        services.steward_assign(
            actor=world.users["county"],
            project_id=spread["other"].pk,
            steward_id=world.users["steward"].pk,
            version=1,
        )
    client.force_login(world.users["enterprise"])
    assert client.post(reverse("problems:steward_assign", args=[project.pk]), {}).status_code == 403
    project.refresh_from_db()
    assert project.steward is None and project.version == 1


# ---------------------------------------------------------------- contacts (1+1+n)


def test_one_enterprise_contact_per_project_with_a_message(world, spread):
    project = spread["served"]
    first = services.contact_add(
        actor=world.users["enterprise"], project_id=project.pk, data={"kind": "enterprise", "name": "王经理"}
    )
    assert first.unit == world.enterprise  # the project's enterprise, when not chosen
    with pytest.raises(ValidationError) as err:
        services.contact_add(
            actor=world.users["county"], project_id=project.pk, data={"kind": "enterprise", "name": "李总"}
        )
    message = "；".join(err.value.message_dict["kind"])
    assert "已有企业联系人“王经理”" in message and project.name in message
    assert ProjectContact.objects.filter(project=project).count() == 1
    # Changing a department contact into a second enterprise contact is refused the same way.
    dept = services.contact_add(
        actor=world.users["county"],
        project_id=project.pk,
        data={"kind": "department", "unit": world.department, "name": "赵科长", "phone": "0421-2612345"},
    )
    with pytest.raises(ValidationError):
        services.contact_update(actor=world.users["county"], contact_id=dept.pk, data={"kind": "enterprise"})
    dept.refresh_from_db()
    assert dept.kind == ContactKind.DEPARTMENT


def test_contact_rules_and_scope(world, spread):
    project = spread["served"]
    with pytest.raises(ValidationError) as err:
        services.contact_add(
            actor=world.users["city"], project_id=project.pk, data={"kind": "department", "name": "赵科长"}
        )
    assert err.value.message_dict["unit"] == ["部门联系人须选择所在部门"]
    with pytest.raises(ValidationError) as err:
        services.contact_add(
            actor=world.users["city"],
            project_id=project.pk,
            data={"kind": "enterprise", "name": "钱", "unit": world.other_enterprise},
        )
    assert "项目单位" in err.value.message_dict["unit"][0]
    with pytest.raises(ValidationError) as err:
        services.contact_add(
            actor=world.users["city"],
            project_id=project.pk,
            data={"kind": "department", "unit": world.department, "name": "孙", "phone": "call me"},
        )
    assert "格式不正确" in err.value.message_dict["phone"][0]
    # Contacts follow the project's change scope: a department reads projects, it does not change them.
    for role in ("department", "leader", "other_county"):
        with pytest.raises((PermissionDenied, Project.DoesNotExist)):
            services.contact_add(
                actor=world.users[role],
                project_id=project.pk,
                data={"kind": "department", "unit": world.department, "name": "周"},
            )
    assert not ProjectContact.objects.exists()


def test_contact_update_and_remove_are_logged(world, spread):
    project = spread["served"]
    contact = services.contact_add(
        actor=world.users["steward"],
        project_id=project.pk,
        data={"kind": "department", "unit": world.department, "name": "赵科长"},
    )
    services.contact_update(
        actor=world.users["steward"], contact_id=contact.pk, data={"phone": "13800000000"}
    )
    services.contact_remove(actor=world.users["county"], contact_id=contact.pk)
    actions = list(
        ChangeRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(ProjectContact), object_id=str(contact.pk)
        )
        .order_by("id")
        .values_list("action", "actor__username")
    )
    assert actions == [("create", "t_guanjia"), ("update", "t_guanjia"), ("delete", "t_shuangta")]
    assert not ProjectContact.objects.exists()


def test_contact_pages(client, world, spread):
    project = spread["served"]
    client.force_login(world.users["enterprise"])
    url = reverse("problems:contact_add", args=[project.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"kind": "enterprise", "name": "王经理", "phone": "13900000000"})
    assert response.status_code == 302
    response = client.post(url, {"kind": "enterprise", "name": "李总"})
    assert response.status_code == 400
    assert "已有企业联系人“王经理”" in response.content.decode()
    client.force_login(world.users["department"])
    assert client.get(url).status_code == 403
    client.force_login(world.users["other_county"])
    assert client.get(url).status_code == 404


def test_project_page_shows_the_service_card(client, world, spread):
    project = spread["served"]
    services.contact_add(
        actor=world.users["city"], project_id=project.pk, data={"kind": "enterprise", "name": "王经理"}
    )
    services.contact_add(
        actor=world.users["city"],
        project_id=project.pk,
        data={"kind": "department", "unit": world.department, "name": "赵科长"},
    )
    client.force_login(world.users["county"])
    page = client.get(reverse("projects:project_detail", args=[project.pk])).content.decode()
    assert 'id="service"' in page
    assert "王经理" in page and "赵科长" in page and str(world.users["steward"]) in page
    assert reverse("problems:visit_add", args=[project.pk]) in page  # the county may log a visit
    # A project of 5000万 without a steward says so.
    page = client.get(reverse("projects:project_detail", args=[spread["at"].pk])).content.decode()
    assert "5000万元以上项目须有项目管家" in page
    assert reverse("problems:steward_assign", args=[spread["at"].pk]) in page
