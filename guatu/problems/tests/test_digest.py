"""The daily digest and the due-soon / overdue notifications (notify_due)."""

import datetime as dt

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from guatu.accounts.models import Role
from guatu.core.testing import make_project, make_user
from guatu.problems import services
from guatu.problems.models import (
    AgencyRequest,
    AgencyStatus,
    DeliveryMode,
    EscalationLevel,
    Notification,
    NotificationPreference,
    Problem,
    ProblemStatus,
)
from guatu.problems.tasks import notify_due_task, send_digest_task

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 31)
YESTERDAY_NOON = timezone.make_aware(dt.datetime(2026, 3, 30, 12, 0))


@pytest.fixture
def reader(world):
    user = make_user(Role.DEPARTMENT, username="d_reader", email="reader@example.cn", unit=world.department)
    for event in ("assignment", "overdue"):
        NotificationPreference.objects.create(user=user, event=event, mode=DeliveryMode.DIGEST)
    return user


def _row(user, key, event="assignment", title="通知", at=YESTERDAY_NOON, emailed=False):
    row = Notification.objects.create(user=user, event=event, key=key, title=title, url="/problems/9/")
    Notification.objects.filter(pk=row.pk).update(created_at=at, emailed_at=at if emailed else None)
    return row


def test_digest_collects_yesterdays_unsent_digest_mode_rows_once(reader, world):
    listed_a = _row(reader, "k1", title="问题“用地指标不足”已交办给您")
    listed_b = _row(reader, "k2", event="overdue", title="问题“电力接入”已逾期 2 天")
    immediate_mode = _row(reader, "k3", event="closure", title="已办结的不应列入")
    already_sent = _row(reader, "k4", title="已发过的", emailed=True)
    today_row = _row(reader, "k5", title="今天的", at=timezone.make_aware(dt.datetime(2026, 3, 31, 8, 0)))
    two_days_ago = _row(reader, "k6", title="前天的", at=timezone.make_aware(dt.datetime(2026, 3, 29, 23, 0)))

    assert services.send_digest(today=TODAY) == {"users": 1, "notifications": 2}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.cn"]
    assert message.subject == "【挂图作战】每日通知汇总（2026-03-30，共 2 条）"
    assert "1. 【交办】问题“用地指标不足”已交办给您" in message.body
    assert "2. 【已逾期】问题“电力接入”已逾期 2 天" in message.body
    for absent in ("已办结的不应列入", "已发过的", "今天的", "前天的"):
        assert absent not in message.body
    for row in (listed_a, listed_b):
        row.refresh_from_db()
        assert row.emailed_at is not None
    for row in (immediate_mode, today_row, two_days_ago):
        row.refresh_from_db()
        assert row.emailed_at is None
    assert already_sent.pk

    assert services.send_digest(today=TODAY) == {"users": 0, "notifications": 0}
    assert len(mail.outbox) == 1


def test_digest_one_message_per_user_and_none_for_inactive_or_no_address(reader, world):
    other = make_user(Role.COUNTY, username="d_other", email="other@example.cn")
    inactive = make_user(Role.COUNTY, username="d_gone", email="gone@example.cn", is_active=False)
    no_address = make_user(Role.COUNTY, username="d_none", email="")
    for user in (other, inactive, no_address):
        NotificationPreference.objects.create(user=user, event="assignment", mode=DeliveryMode.DIGEST)
        _row(user, "k1")
    _row(reader, "k1")
    _row(reader, "k2")
    call_command("send_digest", "--date", "2026-03-31")
    assert sorted(m.to[0] for m in mail.outbox) == ["other@example.cn", "reader@example.cn"]
    assert Notification.objects.filter(user__in=[inactive, no_address], emailed_at__isnull=True).count() == 2


def test_digest_failed_send_gives_rows_back(reader, settings):
    settings.EMAIL_BACKEND = "guatu.problems.tests.test_notifications.BrokenBackend"
    row = _row(reader, "k1")
    with pytest.raises(OSError):
        services.send_digest(today=TODAY)
    row.refresh_from_db()
    assert row.emailed_at is None


def test_digest_task_and_bad_date(reader):
    _row(reader, "k1")
    result = send_digest_task.enqueue(date="2026-03-31")
    assert result.return_value == {"users": 1, "notifications": 1}
    with pytest.raises(CommandError, match="日期“2026/03/31”格式不对"):
        call_command("send_digest", "--date", "2026/03/31")


# --- notify_due


def _problem(world, project, title, due, status="in_progress"):
    return Problem.objects.create(
        project=project,
        region=project.region,
        title=title,
        category="land",
        owner_unit=world.department,
        due_date=due,
        status=ProblemStatus.objects.get(code=status),
        level=EscalationLevel.objects.get(code="county"),
    )


@pytest.fixture
def due_world(world, monkeypatch):
    owner = make_user(Role.DEPARTMENT, username="d_owner", email="owner@example.cn", unit=world.department)
    # Who is involved is the problems section's to decide; here a known set.
    monkeypatch.setattr(services, "problem_people", lambda problem: {owner, world.users["county"]})
    project = make_project(world)
    return owner, project


def test_notify_due_sends_each_once_per_problem_and_due_date(
    world, due_world, django_capture_on_commit_callbacks
):
    owner, project = due_world
    soon = _problem(world, project, "施工用电未接入", TODAY + dt.timedelta(days=3))
    today_due = _problem(world, project, "今天到期的问题", TODAY)
    late = _problem(world, project, "用地指标不足", TODAY - dt.timedelta(days=2))
    later = _problem(world, project, "还早的问题", TODAY + dt.timedelta(days=4))  # in range the next day
    _problem(world, project, "远期的问题", TODAY + dt.timedelta(days=5))
    _problem(world, project, "已销号的问题", TODAY - dt.timedelta(days=5), status="closed")

    for day in (TODAY, TODAY, TODAY + dt.timedelta(days=1)):  # a daily run, twice the same day, then the next
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_due(today=day, days=3)

    keys = sorted(Notification.objects.filter(user=owner).values_list("key", flat=True))
    assert keys == sorted(
        [
            f"due_soon:problem:{soon.pk}:2026-04-03",
            f"due_soon:problem:{today_due.pk}:2026-03-31",
            f"overdue:problem:{today_due.pk}:2026-03-31",  # the next day it is overdue: a new event
            f"overdue:problem:{late.pk}:2026-03-29",
            f"due_soon:problem:{later.pk}:2026-04-04",
        ]
    )
    late_row = Notification.objects.get(user=owner, key=f"overdue:problem:{late.pk}:2026-03-29")
    assert late_row.event == "overdue" and late_row.title == "问题“用地指标不足”已逾期 2 天"
    assert late_row.url == late.get_absolute_url()
    assert Notification.objects.get(user=owner, key__startswith=f"due_soon:problem:{soon.pk}:").title == (
        "问题“施工用电未接入”将于 2026-04-03 到期（还剩 3 天）"
    )
    assert Notification.objects.filter(user=world.users["county"]).count() == 5
    assert len([m for m in mail.outbox if m.to == ["owner@example.cn"]]) == 5

    # A new due date (a leader's instruction) is a new event: overdue once more when it passes.
    Problem.objects.filter(pk=late.pk).update(due_date=TODAY + dt.timedelta(days=10))
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_due(today=TODAY + dt.timedelta(days=11), days=3)
    assert Notification.objects.filter(user=owner, key=f"overdue:problem:{late.pk}:2026-04-10").count() == 1


def test_notify_due_agency_requests_to_agent_and_requester(
    world, due_world, django_capture_on_commit_callbacks
):
    _owner, project = due_world
    agent = make_user(Role.STEWARD, username="d_agent", email="agent@example.cn")
    approval = project.approvals.first()
    late = AgencyRequest.objects.create(
        project=project,
        region=project.region,
        approval=approval,
        requested_by=world.users["enterprise"],
        agent=agent,
        status=AgencyStatus.IN_PROGRESS,
        service_due=TODAY - dt.timedelta(days=1),
    )
    AgencyRequest.objects.create(
        project=project,
        region=project.region,
        approval=approval,
        agent=agent,
        status=AgencyStatus.DONE,
        service_due=TODAY - dt.timedelta(days=1),
    )
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            counts = services.notify_due(today=TODAY)
    assert counts["agency_overdue"] == 1
    rows = Notification.objects.filter(key=f"overdue:agency:{late.pk}:2026-03-30")
    assert sorted(rows.values_list("user__username", flat=True)) == ["d_agent", "t_qiye"]
    assert {row.url for row in rows} == {reverse("problems:agency_detail", args=[late.pk])}
    assert Notification.objects.filter(key__contains=":agency:").count() == 2


def test_notify_due_command_and_task(world, due_world, django_capture_on_commit_callbacks):
    owner, project = due_world
    late = _problem(world, project, "用地指标不足", TODAY - dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("notify_due", "--date", "2026-03-31", "--days", "3")
        notify_due_task.enqueue(date="2026-03-31", days=3)
    assert Notification.objects.filter(user=owner, key=f"overdue:problem:{late.pk}:2026-03-30").count() == 1
    with pytest.raises(CommandError, match="--days 应为 0 或正整数"):
        call_command("notify_due", "--days", "-1")
