"""Supervised tasks on the problems' machinery: the flow, progress notes, overdue escalation and
notifications, scope, the pages and the API."""

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.accounts.models import Role
from guatu.core.exceptions import Conflict
from guatu.core.testing import make_user
from guatu.problems.models import Notification
from guatu.problems.services import actor_kinds
from guatu.speeches import selectors, services
from guatu.speeches.models import SupervisedTask, TaskNote
from guatu.speeches.tests.breakdown_helpers import TODAY, county_unit, task_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(world):
    return services.task_create(actor=world.users["city"], data=task_data(world), today=TODAY)


def act(user, task, action, comment=""):
    task.refresh_from_db()
    return services.task_act(
        actor=user, task_id=task.pk, action=action, version=task.version, comment=comment
    )


def test_create_hands_the_task_out_and_tells_the_owner_unit(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        task = services.task_create(actor=world.users["city"], data=task_data(world), today=TODAY)
    assert task.status.code == "assigned" and task.level.code == "department"
    assert task.region == world.city and task.version == 1
    assert [n.action for n in task.notes.all()] == ["assign"]
    assert list(Notification.objects.values_list("user__username", "event")) == [("t_fagai", "assignment")]


def test_a_county_task_starts_on_the_county_rung(world):
    owner = county_unit(world)
    task = services.task_create(
        actor=world.users["city"], data=task_data(world, owner_unit=owner, supporting_units=[]), today=TODAY
    )
    assert task.region == world.counties["211302"] and task.level.code == "county"


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"title": " "}, "title", "请填写任务名称"),
        ({"owner_unit": None}, "owner_unit", "请选择牵头单位"),
        ({"owner_unit": 999999}, "owner_unit", "编号为 999999 的单位不存在"),
        ({"deadline": TODAY - dt.timedelta(days=1)}, "deadline", "早于今天"),
        ({"deadline": None}, "deadline", "请填写完成时限"),
        ({"deadline": "明年"}, "deadline", "“明年”不是日期"),
        ({"supporting_units": "same"}, "supporting_units", "与牵头单位相同"),
        ({"progress": 50}, "progress", "不能填写的字段"),
    ],
)
def test_bad_task_input_names_the_field(world, extra, field, words):
    if extra.get("supporting_units") == "same":
        extra = {"supporting_units": [world.department]}
    with pytest.raises(ValidationError) as caught:
        services.task_create(actor=world.users["city"], data=task_data(world, **extra), today=TODAY)
    assert any(words in m for m in caught.value.message_dict[field])
    assert SupervisedTask.objects.count() == 0


def test_owner_unit_must_be_a_government_body(world):
    with pytest.raises(ValidationError) as caught:
        services.task_create(
            actor=world.users["city"], data=task_data(world, owner_unit=world.enterprise), today=TODAY
        )
    assert "须为县(市)区政府、开发区或市直部门" in caught.value.message_dict["owner_unit"][0]


@pytest.mark.parametrize("role", ["county", "department", "leader", "sysadmin"])
def test_only_the_project_office_gives_tasks(world, role):
    with pytest.raises(PermissionDenied):
        services.task_create(actor=world.users[role], data=task_data(world), today=TODAY)


def test_the_flow_runs_as_the_problems_flow_table_says(world, task, django_capture_on_commit_callbacks):
    owner, city = world.users["department"], world.users["city"]
    act(owner, task, "accept")
    act(owner, task, "start")
    with pytest.raises(ValidationError) as caught:
        act(owner, task, "resolve")
    assert caught.value.message_dict["comment"] == ["“反馈办结”须填写理由或说明"]
    act(owner, task, "resolve", "已全面推行")
    with pytest.raises(PermissionDenied, match="“复核销号”只能由"):
        act(owner, task, "verify")
    with django_capture_on_commit_callbacks(execute=True):
        done = act(city, task, "verify")
    assert done.status.code == "closed" and done.closed_at is not None and done.progress == 100
    assert [n.action for n in done.notes.order_by("at", "pk")] == [
        "assign", "accept", "start", "resolve", "verify"
    ]  # fmt: skip
    assert Notification.objects.filter(event="closure", user=owner).count() == 1
    reopened = act(city, task, "reopen", "复查发现仍有材料需纸质提交")
    assert reopened.status.code == "in_progress" and reopened.closed_at is None


def test_a_step_not_open_from_the_status_is_refused_naming_both(world, task):
    with pytest.raises(Conflict, match="督办任务当前为“已交办”，不能“复核销号”"):
        act(world.users["city"], task, "verify")
    with pytest.raises(ValidationError):
        act(world.users["city"], task, "fly")


def test_a_supporting_department_cannot_take_the_owners_steps(world, task):
    other = make_user(Role.DEPARTMENT, unit=world.other_department, region=world.city)
    with pytest.raises(PermissionDenied, match="“签收”只能由推进主体操作"):
        act(other, task, "accept")
    # It reads the task (it shares it) but may not write its progress.
    assert services.task_scope(other).filter(pk=task.pk).exists()
    with pytest.raises(SupervisedTask.DoesNotExist):
        services.task_note(actor=other, task_id=task.pk, version=task.version, text="配合推进")


def test_stale_version_is_a_conflict(world, task):
    owner = world.users["department"]
    services.task_act(actor=owner, task_id=task.pk, action="accept", version=1)
    with pytest.raises(Conflict, match="已被他人修改（当前版本 2，您看到的是版本 1）"):
        services.task_act(actor=owner, task_id=task.pk, action="start", version=1)
    with pytest.raises(Conflict):
        services.task_note(actor=owner, task_id=task.pk, version=1, text="进展")
    with pytest.raises(Conflict):
        services.task_update(actor=world.users["city"], task_id=task.pk, version=1, data={"title": "新"})


def test_progress_notes_build_the_timeline(world, task):
    owner = world.users["department"]
    note = services.task_note(actor=owner, task_id=task.pk, version=1, text="已完成系统改造", progress="60")
    task.refresh_from_db()
    assert (task.progress, task.version, note.progress, note.actor) == (60, 2, 60, owner)
    with pytest.raises(ValidationError) as caught:
        services.task_note(actor=owner, task_id=task.pk, version=2, text="超额", progress=120)
    assert caught.value.message_dict["progress"] == ["进度须为 0 到 100 之间的整数"]
    with pytest.raises(ValidationError) as caught:
        services.task_note(actor=owner, task_id=task.pk, version=2, text=" ", progress=70)
    assert caught.value.message_dict["text"] == ["请填写进展说明"]
    labels = [selectors.note_label(n) for n in selectors.task_notes(user=owner, task=task)]
    assert labels == ["交办", "进展"]


def test_only_a_governor_changes_whose_task_it_is(world, task, django_capture_on_commit_callbacks):
    owner = world.users["department"]
    with pytest.raises(PermissionDenied, match=re.escape("“完成时限”只能由项目办或所在县(市)区修改")):
        services.task_update(
            actor=owner,
            task_id=task.pk,
            version=1,
            data={"deadline": TODAY + dt.timedelta(days=90)},
            today=TODAY,
        )
    renamed = services.task_update(
        actor=owner, task_id=task.pk, version=1, data={"title": "企业开办一网通办"}
    )
    assert renamed.title == "企业开办一网通办"
    act(owner, task, "accept")
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.task_update(
            actor=world.users["city"], task_id=task.pk, version=3, data={"owner_unit": world.other_department.pk},
            today=TODAY,
        )  # fmt: skip
    # The new owner signs again; it stops being a supporting unit.
    assert moved.status.code == "assigned" and moved.owner_unit == world.other_department
    assert list(moved.supporting_units.all()) == []
    assert moved.notes.last().text.startswith("修改了：")


# --- overdue escalation


def test_overdue_tasks_climb_after_the_rungs_days_at_the_boundary(world, django_capture_on_commit_callbacks):
    city = world.users["city"]
    deadline = TODAY + dt.timedelta(days=5)
    county_task = services.task_create(
        actor=city, data=task_data(world, owner_unit=county_unit(world), supporting_units=[], deadline=deadline),
        today=TODAY,
    )  # fmt: skip
    limit = county_task.level.climb_after_days  # 7 on the county rung
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue_tasks(today=deadline) == []  # due today is not overdue
        assert services.escalate_overdue_tasks(today=deadline + dt.timedelta(days=limit)) == []
    county_task.refresh_from_db()
    assert county_task.level.code == "county"
    with django_capture_on_commit_callbacks(execute=True):
        climbed = services.escalate_overdue_tasks(today=deadline + dt.timedelta(days=limit + 1))
    assert [t.pk for t in climbed] == [county_task.pk]
    county_task.refresh_from_db()
    assert county_task.level.code == "department" and county_task.version == 2
    assert county_task.escalated_at.date() == deadline + dt.timedelta(days=limit + 1)
    note = county_task.notes.get(action="escalate")
    assert f"逾期 {limit + 1} 天未办结" in note.text
    # The next rung counts from the escalation: a day later it does not climb again.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.escalate_overdue_tasks(today=deadline + dt.timedelta(days=limit + 2)) == []


def test_overdue_and_escalation_notices_are_sent_once(world, django_capture_on_commit_callbacks):
    city = world.users["city"]
    task = services.task_create(
        actor=city, data=task_data(world, deadline=TODAY + dt.timedelta(days=1)), today=TODAY
    )
    late = TODAY + dt.timedelta(days=1 + task.level.climb_after_days + 1)
    for _run in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            services.escalate_overdue_tasks(today=late)
    owner = world.users["department"]
    assert Notification.objects.filter(user=owner, event="overdue").count() == 1
    assert Notification.objects.filter(user=owner, event="escalation").count() == 1
    # On the 直通车 the leaders hear of it, once.
    assert Notification.objects.filter(user=world.users["leader"], event="escalation").count() == 1
    task.refresh_from_db()
    assert task.level.code == "direct_line"
    # A leader may now verify it (the leader kind of actor on the top rung).
    assert "leader" in actor_kinds(world.users["leader"], task)


def test_closed_tasks_do_not_climb(world, task):
    owner = world.users["department"]
    act(owner, task, "accept")
    act(owner, task, "resolve", "已完成")
    act(world.users["city"], task, "verify")
    assert services.escalate_overdue_tasks(today=task.deadline + dt.timedelta(days=60)) == []


def test_escalate_tasks_command(world, capsys):
    services.task_create(actor=world.users["city"], data=task_data(world), today=TODAY)
    call_command("escalate_tasks", "--date", (TODAY + dt.timedelta(days=60)).isoformat())
    assert "已上升 1 项督办任务：至“书记市长直通车” 1 项" in capsys.readouterr().out
    call_command("escalate_tasks", "--date", (TODAY + dt.timedelta(days=60)).isoformat())
    assert "没有需要上升的逾期督办任务" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="格式不对"):
        call_command("escalate_tasks", "--date", "2026/13/01")


# --- scope, pages, API


@pytest.fixture
def spread(world):
    """A city task of the department, one shared with it, and a task of each of two counties."""
    city = world.users["city"]
    shuangta, longcheng = county_unit(world), county_unit(world, "211303", "龙城区人民政府")
    return {
        "own": services.task_create(actor=city, data=task_data(world, title="部门牵头"), today=TODAY),
        "shared": services.task_create(
            actor=city,
            data=task_data(
                world,
                title="部门配合",
                owner_unit=world.other_department,
                supporting_units=[world.department],
            ),
            today=TODAY,
        ),
        "shuangta": services.task_create(
            actor=city,
            data=task_data(world, title="双塔任务", owner_unit=shuangta, supporting_units=[]),
            today=TODAY,
        ),
        "longcheng": services.task_create(
            actor=city,
            data=task_data(world, title="龙城任务", owner_unit=longcheng, supporting_units=[]),
            today=TODAY,
        ),
    }


def titles(user, **params):
    query = QueryDict(mutable=True)
    query.update(params)
    return sorted(selectors.task_list(user=user, params=query).values_list("title", flat=True))


def test_scope_of_each_role(world, spread):
    assert titles(world.users["city"]) == sorted(t.title for t in spread.values())
    assert titles(world.users["leader"]) == sorted(t.title for t in spread.values())
    assert titles(world.users["department"]) == ["部门牵头", "部门配合"]
    assert titles(world.users["county"]) == ["双塔任务"]
    assert titles(world.users["other_county"]) == ["龙城任务"]
    assert titles(world.users["sysadmin"]) == [] and titles(world.users["enterprise"]) == []


def test_a_county_acts_on_its_own_task_only(world, spread):
    county = world.users["county"]
    done = act(county, spread["shuangta"], "accept")
    assert done.status.code == "accepted"
    with pytest.raises(SupervisedTask.DoesNotExist):
        act(county, spread["longcheng"], "accept")


def test_filters(world, spread):
    city = world.users["city"]
    assert titles(city, owner_unit=str(world.department.pk)) == ["部门牵头"]
    assert titles(city, unit=str(world.department.pk)) == ["部门牵头", "部门配合"]
    assert titles(city, region="211302") == ["双塔任务"]
    act(world.users["county"], spread["shuangta"], "accept")
    assert titles(city, status="accepted") == ["双塔任务"]
    assert titles(city, category="营商环境") == sorted(t.title for t in spread.values())
    assert titles(city, category="其他") == []
    late = TODAY + dt.timedelta(days=31)
    assert len(selectors.task_list(user=city, params={"overdue": "true"}, today=late)) == 4
    assert len(selectors.task_list(user=city, params={"overdue": "true"}, today=TODAY)) == 0
    assert titles(city, owner_unit="999999") == []  # an invalid filter shows nothing
    from guatu.speeches.tests.breakdown_helpers import plain_speech

    speech = plain_speech()
    services.task_create(actor=city, data=task_data(world, title="讲话任务", speech=speech), today=TODAY)
    assert titles(city, speech=str(speech.pk)) == ["讲话任务"]


def test_overdue_days(world, task):
    assert selectors.overdue_days(task, task.deadline) == 0
    assert selectors.overdue_days(task, task.deadline + dt.timedelta(days=3)) == 3


def test_list_page_shows_overdue_in_red_and_status_badges(client, world, spread):
    SupervisedTask.objects.filter(pk=spread["own"].pk).update(deadline=dt.date(2020, 1, 1))
    client.force_login(world.users["department"])
    response = client.get(reverse("speeches:task_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "部门牵头" in html and "部门配合" in html and "双塔任务" not in html
    assert 'class="text-red">2020-01-01' in html and "逾期" in html
    assert "已交办" in html
    assert reverse("speeches:task_export", args=["xlsx"]) in html


def test_list_page_query_count_does_not_grow_with_rows(client, world, spread):
    client.force_login(world.users["city"])
    url = reverse("speeches:task_list")
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(12):
        services.task_create(
            actor=world.users["city"],
            data=task_data(world, title=f"任务{n}", supporting_units=[world.other_department, county_unit(world, name=f"单位{n}")]),
            today=TODAY,
        )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.decode().count("/speeches/tasks/") > 16
    assert len(many) == len(few)


def test_detail_page_offers_the_flow_steps_and_the_note_form(client, world, task):
    client.force_login(world.users["department"])
    url = reverse("speeches:task_detail", args=[task.pk])
    html = client.get(url).content.decode()
    assert reverse("speeches:task_act", args=[task.pk, "accept"]) in html
    assert reverse("speeches:task_note", args=[task.pk]) in html
    response = client.post(
        reverse("speeches:task_act", args=[task.pk, "accept"]), {"accept-version": 1, "accept-comment": ""}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("speeches:task_note", args=[task.pk]), {"version": 2, "progress": 30, "text": "推进中"}
    )
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert "推进中" in html and "30%" in html
    stale = client.post(reverse("speeches:task_note", args=[task.pk]), {"version": 1, "text": "旧页面"})
    assert stale.status_code == 409 and "已被他人修改" in stale.content.decode()


def test_pages_refuse_the_security_roles(client, world, task):
    client.force_login(world.users["sysadmin"])
    assert client.get(reverse("speeches:task_list")).status_code == 403
    assert client.get(reverse("speeches:task_detail", args=[task.pk])).status_code == 403
    client.force_login(world.users["other_county"])
    assert client.get(reverse("speeches:task_detail", args=[task.pk])).status_code == 404


def test_api_lists_and_acts(client, world, spread):
    client.force_login(world.users["department"])
    listed = client.get("/api/tasks/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert sorted(r["title"] for r in rows) == ["部门牵头", "部门配合"]
    own = spread["own"]
    detail = client.get(f"/api/tasks/{own.pk}/").json()
    assert detail["status"] == "assigned" and detail["notes"][0]["action"] == "assign"
    done = client.post(f"/api/tasks/{own.pk}/accept/", {"version": 1}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "accepted"
    stale = client.post(f"/api/tasks/{own.pk}/start/", {"version": 1}, content_type="application/json")
    assert stale.status_code == 409 and "已被他人修改" in stale.json()["detail"]
    shared = spread["shared"]
    refused = client.post(f"/api/tasks/{shared.pk}/accept/", {"version": 1}, content_type="application/json")
    assert refused.status_code == 403
    note = client.post(
        f"/api/tasks/{own.pk}/note/", {"version": 2, "progress": 40, "text": "已完成一半"},
        content_type="application/json",
    )  # fmt: skip
    assert note.status_code == 200 and note.json()["progress"] == 40
    outside = client.post(
        f"/api/tasks/{spread['longcheng'].pk}/accept/", {"version": 1}, content_type="application/json"
    )
    assert outside.status_code == 404
    client.force_login(world.users["sysadmin"])
    assert client.get("/api/tasks/").status_code == 403
    assert TaskNote.objects.filter(task=own, action="note", progress=40).exists()
