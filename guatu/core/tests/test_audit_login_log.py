"""The login log: record_login, what it keeps of a request, and the auditor's page."""

import datetime as dt

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from guatu.core.changelog import LOGINS, record_login, verify
from guatu.core.models import LoginRecord
from guatu.core.permissions import can, restrict

pytestmark = pytest.mark.django_db


def request_from(address: str, agent: str = "Mozilla/5.0 (Windows NT 10.0) Chrome/120"):
    return RequestFactory().post("/accounts/login/", REMOTE_ADDR=address, HTTP_USER_AGENT=agent)


def test_record_login_keeps_the_address_browser_and_account(world):
    user = world.users["city"]
    record = record_login(event="login", username="t_city", user=user, request=request_from("203.0.113.9"))
    record.refresh_from_db()
    assert (record.event, record.username, record.user_id) == ("login", "t_city", user.pk)
    assert (record.ip, record.user_agent) == ("203.0.113.9", "Mozilla/5.0 (Windows NT 10.0) Chrome/120")
    assert record.get_event_display() == "登录成功"
    assert list(verify(LOGINS)) == []


def test_a_failed_login_for_an_unknown_name_keeps_what_was_typed():
    typed = "x" * 200 + "\x00"
    record = record_login(event="failed", username=typed, request=request_from("unknown", "a" * 400))
    record.refresh_from_db()
    assert record.user_id is None and record.ip is None
    assert record.username == "x" * 150 and len(record.user_agent) == 300
    detail = record_login(event="locked", username="nul\x00name", detail="连续\x00失败")
    detail.refresh_from_db()
    assert detail.username == "nul\ufffdname" and detail.detail == "连续\ufffd失败"
    assert list(verify(LOGINS)) == []


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("fe80::1%eth0", None),
    ],
)
def test_addresses_are_hashed_as_the_database_returns_them(address, stored):
    record = record_login(event="logout", username="someone", request=request_from(address))
    record.refresh_from_db()
    assert record.ip == stored
    assert list(verify(LOGINS)) == []


def test_an_unknown_event_is_refused():
    with pytest.raises(ValueError, match="未知的登录事件“hacked”"):
        record_login(event="hacked", username="someone")
    assert not LoginRecord.objects.exists()


def test_the_event_values_are_the_agreed_ones():
    assert dict(LoginRecord.Event.choices) == {
        "login": "登录成功",
        "failed": "登录失败",
        "locked": "账号锁定",
        "logout": "退出",
        "password_changed": "修改密码",
        "other_browser": "异地/另一浏览器登录",
        "otp_failed": "动态口令错误",
    }


def test_a_login_through_the_page_is_logged(client, world):
    client.post(reverse("login"), {"username": "t_city", "password": "wrong-password"})
    client.post(reverse("login"), {"username": "t_city", "password": "Guatu-test-2026"})
    events = list(LoginRecord.objects.order_by("id").values_list("event", "username", "user"))
    assert events[-2:] == [
        ("failed", "t_city", world.users["city"].pk),
        ("login", "t_city", world.users["city"].pk),
    ]
    assert list(verify(LOGINS)) == []


@pytest.mark.parametrize(
    ("role", "status"),
    [("auditor", 200), ("city", 403), ("sysadmin", 403), ("secadmin", 403), ("leader", 403)],
)
def test_only_the_auditor_reads_the_login_log(client, world, role, status):
    client.force_login(world.users[role])
    assert client.get(reverse("core:login_log")).status_code == status


def test_nobody_writes_the_login_log_through_restrict(world):
    record_login(event="login", username="t_city")
    auditor = world.users["auditor"]
    assert restrict(LoginRecord.objects, auditor, "view").count() == 1
    for role, user in world.users.items():
        for action in ("add", "change", "delete"):
            assert not can(user, action, LoginRecord), (role, action)
        if role != "auditor":
            assert not restrict(LoginRecord.objects, user, "view").exists(), role


def test_the_login_log_page_lists_newest_first_and_filters(client, world):
    old = record_login(event="failed", username="zhangsan", request=request_from("198.51.100.7"))
    LoginRecord.objects.filter(pk=old.pk).update(time=timezone.make_aware(dt.datetime(2026, 3, 1, 9, 0)))
    record_login(event="login", username="lisi", request=request_from("198.51.100.8"))
    record_login(event="locked", username="wangwu", detail="连续 5 次失败")
    client.force_login(world.users["auditor"])
    url = reverse("core:login_log")

    body = client.get(url).content.decode()
    assert body.index("wangwu") < body.index("lisi") < body.index("zhangsan")
    assert "账号锁定" in body and "198.51.100.8" in body and "连续 5 次失败" in body

    failed = client.get(url, {"event": "failed"}).content.decode()
    assert "zhangsan" in failed and "lisi" not in failed and "wangwu" not in failed
    named = client.get(url, {"username": "LISI"}).content.decode()
    assert "lisi" in named and "zhangsan" not in named
    march = client.get(url, {"since": "2026-02-01", "until": "2026-03-31"}).content.decode()
    assert "zhangsan" in march and "lisi" not in march and "wangwu" not in march
    later = client.get(url, {"since": "2026-04-01"}).content.decode()
    assert "zhangsan" not in later and "lisi" in later


def test_the_auditor_finds_the_login_log_in_the_menu(client, world):
    client.force_login(world.users["auditor"])
    body = client.get(reverse("core:changelog")).content.decode()
    assert f'href="{reverse("core:login_log")}"' in body
    client.force_login(world.users["city"])
    assert reverse("core:login_log") not in client.get(reverse("home"), follow=True).content.decode()
