"""等保2.0 level 3 identity controls: password rules and age, lockout, idle sessions, the login log,
the second factor and 三员分立."""

import datetime as dt
import itertools
import re

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from guatu.accounts import services
from guatu.accounts.models import Role, SecurityPolicy, User
from guatu.core import permissions
from guatu.core.models import ChangeRecord, LoginRecord
from guatu.core.testing import make_user
from guatu.core.testing_api import api_client

pytestmark = pytest.mark.django_db

PASSWORD = "Guatu-test-2026"
TOKEN_URL = "/api/auth/token/"


def login(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def events(username):
    return list(LoginRecord.objects.filter(username=username).order_by("id").values_list("event", flat=True))


def code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


# --- passwords -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1-", "密码长度太短"),
        ("abcdefghij", "至少 3 类"),  # one class
        ("abcd12345", "至少 3 类"),  # two classes
        ("ABCD-EFGH", "至少 3 类"),
        ("重点项目建设2026", "至少 3 类"),  # 汉字 are not a class of their own
    ],
)
def test_a_weak_password_is_refused_with_the_rule_it_breaks(world, password, message):
    with pytest.raises(ValidationError) as err:
        validate_password(password, world.users["county"])
    assert any(message in m for m in err.value.messages)


@pytest.mark.parametrize("password", ["abcd-12345", "Abcd12345", "ABCD-1234", "Chaoyang-2026"])
def test_three_classes_of_eight_characters_are_enough(world, password):
    validate_password(password, world.users["county"])


def test_none_of_the_last_five_passwords_may_come_back(world):
    user = world.users["county"]
    used = [PASSWORD, *(f"Mima-{n}-2026" for n in range(1, 6))]
    for old, new in itertools.pairwise(used):
        services.password_change(actor=user, old_password=old, new_password=new)
        user.refresh_from_db()
    # The current one and the four before it are refused; the sixth back is allowed again.
    for reused in used[-5:]:
        with pytest.raises(ValidationError) as err:
            services.password_change(actor=user, old_password=used[-1], new_password=reused)
        assert "最近 5 次" in str(err.value)
    services.password_change(actor=user, old_password=used[-1], new_password=used[0])
    user.refresh_from_db()
    assert user.check_password(used[0])
    assert len(user.previous_passwords) == 4


def test_the_change_log_never_holds_a_password_hash(world):
    user = world.users["county"]
    services.password_change(actor=user, old_password=PASSWORD, new_password="Xin-mima-2026")
    record = ChangeRecord.objects.order_by("-id").first()
    text = str(record.before) + str(record.after)
    assert "argon2" not in text and "md5$" not in text and "pbkdf2" not in text
    assert record.after["password"] == "（已重置）"
    assert "previous_passwords" not in record.after


def test_an_expired_password_must_be_changed_before_anything_else(client, world):
    user = world.users["county"]
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=91))
    assert login(client, user.username).status_code == 302
    response = client.get(reverse("projects:project_list"))
    assert response.status_code == 302 and response.url == reverse("accounts:password_change")
    api = client.get("/api/projects/")
    assert api.status_code == 403 and "密码已过期" in api.json()["detail"]
    page = client.get(reverse("accounts:password_change"))
    assert "密码已过期" in page.content.decode()
    # Wrong old password, then the same one again: refused, with the reason, nothing changed.
    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "password": "Xin-mima-2026", "password2": "Xin-mima-2026"},
    )
    assert wrong.status_code == 400 and "原密码不正确" in wrong.content.decode()
    same = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "password": PASSWORD, "password2": PASSWORD},
    )
    assert same.status_code == 400 and "最近 5 次" in same.content.decode()
    done = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "password": "Xin-mima-2026", "password2": "Xin-mima-2026"},
    )
    assert done.status_code == 302
    # The session survives its own change, and the pages open again.
    assert client.get(reverse("projects:project_list")).status_code == 200
    assert events(user.username)[-1] == "password_changed"


def test_eighty_nine_days_is_not_yet_expired(client, world):
    user = world.users["county"]
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - dt.timedelta(days=89))
    login(client, user.username)
    assert client.get(reverse("projects:project_list")).status_code == 200


def test_a_password_an_administrator_set_is_changed_by_its_owner_at_next_login(client, world):
    target = world.users["steward"]
    services.user_set_password(actor=world.users["sysadmin"], user_id=target.pk, password="Chongzhi-2026")
    assert events(target.username) == ["password_changed"]
    login(client, target.username, "Chongzhi-2026")
    assert client.get(reverse("projects:project_list")).url == reverse("accounts:password_change")
    # Nor does the API hand out a token until then.
    response = api_client().post(TOKEN_URL, {"username": target.username, "password": "Chongzhi-2026"})
    assert response.status_code == 403 and not Token.objects.filter(user=target).exists()


def test_a_new_account_made_by_the_administrator_changes_its_password_first(world):
    data = {"username": "lisi", "last_name": "李", "first_name": "四", "password": "Chushi-mima-2026"}
    user = services.user_create(actor=world.users["sysadmin"], data=data)
    assert user.must_change_password


# --- lockout -------------------------------------------------------------------------------------


@override_settings(AXES_ENABLED=True)
@pytest.mark.parametrize("username", ["t_shuangta", "no_such_user"])
def test_five_failures_lock_the_name_for_thirty_minutes_without_saying_whether_it_exists(
    client, world, username
):
    for _ in range(4):
        failed = login(client, username, "wrong-Password-1")
        assert failed.status_code == 200 and "用户名或密码不正确" in failed.content.decode()
    fifth = login(client, username, "wrong-Password-1")
    assert fifth.status_code == 429
    locked = login(client, username, PASSWORD)  # even the right password, for an account that exists
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "已被锁定 30 分钟" in page
    assert "_auth_user_id" not in client.session
    log = events(username)
    assert log.count("failed") >= 5 and "locked" in log and "login" not in log
    # After thirty minutes the account may log in again (if it exists).
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=31))
    again = login(client, username, PASSWORD)
    assert again.status_code == (302 if username == "t_shuangta" else 200)


@override_settings(AXES_ENABLED=True)
def test_the_answer_to_a_locked_name_is_the_same_whether_it_exists_or_not(world):
    answers = []
    for username in ("t_shuangta", "no_such_user"):
        client = Client()
        for _ in range(6):
            response = login(client, username, "wrong-Password-1")
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
        answers.append((response.status_code, page.replace(username, "NAME")))
    assert answers[0] == answers[1]


@override_settings(AXES_ENABLED=True)
def test_the_token_endpoint_locks_with_the_same_count_and_chinese_words(world):
    api = api_client()
    for _ in range(5):
        api.post(TOKEN_URL, {"username": "no_such_user", "password": "x"})
    response = api.post(TOKEN_URL, {"username": "no_such_user", "password": "x"})
    assert response.status_code == 429 and "已被锁定 30 分钟" in response.json()["detail"]


@override_settings(AXES_ENABLED=True)
def test_the_security_administrator_sets_the_lockout(client, world):
    policy = services.security_policy_update(
        actor=world.users["secadmin"], version=1, data={"lockout_failures": 3, "lockout_minutes": 60}
    )
    assert policy.version == 2
    for _ in range(3):
        login(client, "t_shuangta", "wrong-Password-1")
    response = login(client, "t_shuangta", PASSWORD)
    assert response.status_code == 429 and "已被锁定 60 分钟" in response.content.decode()


# --- sessions ------------------------------------------------------------------------------------


def test_a_session_ends_after_ten_idle_minutes(client, world):
    login(client, "t_shuangta")
    assert client.session.get_expiry_age() == 600
    assert client.get(reverse("projects:project_list")).status_code == 200
    # Ten minutes without a request: the session is gone and the next page asks for a login.
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(reverse("projects:project_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_idle_timeout_is_the_security_administrators_to_set(client, world):
    services.security_policy_update(actor=world.users["secadmin"], version=1, data={"idle_minutes": 5})
    login(client, "t_shuangta")
    assert client.session.get_expiry_age() == 300


def test_logging_in_from_a_second_browser_is_recorded(world):
    first, second = Client(), Client()
    login(first, "t_shuangta")
    assert events("t_shuangta") == ["login"]
    login(second, "t_shuangta")
    assert events("t_shuangta") == ["login", "login", "other_browser"]
    # After the second browser logs out, a fresh login elsewhere is no longer "another browser".
    second.post(reverse("logout"))
    first.post(reverse("logout"))
    login(Client(), "t_shuangta")
    assert events("t_shuangta")[-1] == "login"


@pytest.mark.parametrize("who", ["sysadmin", "secadmin", "auditor", "city", "enterprise"])
def test_the_login_log_covers_every_account_the_three_administrators_too(client, world, who):
    user = world.users[who]
    login(client, user.username, "wrong-Password-1")
    login(client, user.username)
    client.post(reverse("logout"))
    assert events(user.username) == ["failed", "login", "logout"]
    record = LoginRecord.objects.filter(username=user.username).last()
    assert record.user_id == user.pk and record.ip == "127.0.0.1"


# --- the second factor ---------------------------------------------------------------------------


@override_settings(REQUIRE_2FA=True)
@pytest.mark.parametrize("who", ["city", "sysadmin", "secadmin", "auditor"])
def test_the_project_office_and_the_three_administrators_must_pass_a_second_factor(client, world, who):
    user = world.users[who]
    login(client, user.username)
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home.url == reverse("accounts:second_factor")
    page = client.get(home.url).content.decode()
    assert "<svg" in page and 'data-testid="otp-secret"' in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(
        reverse("accounts:second_factor"), {"token": "000000" if code(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 400 and "动态口令不正确" in wrong.content.decode()
    assert events(user.username)[-1] == "otp_failed"
    device.refresh_from_db()
    device.throttle_reset()  # a failure makes the next try wait a second; the test does not wait
    assert client.post(reverse("accounts:second_factor"), {"token": code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code == 302
    assert client.get(client.get(reverse("home")).url).status_code == 200
    # The device's secret never reaches the change log.
    record = ChangeRecord.objects.filter(content_type__model="totpdevice").last()
    assert record.after == {"user": user.pk, "name": device.name, "confirmed": True}


@override_settings(REQUIRE_2FA=True)
def test_other_roles_are_not_held_at_the_second_factor(client, world):
    login(client, "t_shuangta")
    assert client.get(reverse("projects:project_list")).status_code == 200


def test_off_in_the_demo_but_once_set_up_always_asked(client, world):
    user = world.users["county"]  # optional for this role; it chose to set one up
    device = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    login(client, user.username)
    assert client.get(reverse("projects:project_list")).url == reverse("accounts:second_factor")
    assert client.get("/api/projects/").status_code == 403
    assert client.post(reverse("accounts:second_factor"), {"token": code(device)}).status_code == 302
    assert client.get("/api/projects/").status_code == 200


@override_settings(REQUIRE_2FA=True)
def test_api_tokens_for_these_roles_only_after_the_second_factor(world):
    user = world.users["city"]
    api = api_client()
    without = api.post(TOKEN_URL, {"username": user.username, "password": PASSWORD})
    assert without.status_code == 400 and "动态口令" in without.json()["otp"][0]
    device = TOTPDevice.objects.create(user=user, name="手机", confirmed=True)
    wrong = api.post(TOKEN_URL, {"username": user.username, "password": PASSWORD, "otp": "12345x"})
    assert wrong.status_code == 400 and not Token.objects.exists()
    right = api.post(TOKEN_URL, {"username": user.username, "password": PASSWORD, "otp": code(device)})
    assert right.status_code == 200 and Token.objects.get(user=user).key == right.json()["token"]
    # Other roles keep user name and password alone.
    county = api.post(TOKEN_URL, {"username": "t_shuangta", "password": PASSWORD})
    assert county.status_code == 200


def test_the_system_administrator_resets_a_lost_device(client, world):
    target = world.users["city"]
    TOTPDevice.objects.create(user=target, name="手机", confirmed=True)
    client.force_login(world.users["sysadmin"])
    response = client.post(reverse("accounts:user_second_factor_reset", args=[target.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=target).exists()
    # The security administrator may not (it grants roles; accounts are the system administrator's).
    TOTPDevice.objects.create(user=target, name="手机", confirmed=True)
    client.force_login(world.users["secadmin"])
    assert client.post(reverse("accounts:user_second_factor_reset", args=[target.pk])).status_code == 403
    assert TOTPDevice.objects.filter(user=target).exists()


# --- 三员分立 --------------------------------------------------------------------------------------

# Everything each of the three may do, over every model guatu guards: nothing more, nothing less.
OWN = {"problems.Notification": {"view", "export", "change", "add"}}
OWN["problems.NotificationPreference"] = OWN["problems.Notification"]
THREE = {
    "sysadmin": {"accounts.User": {"view", "export", "add", "change"}, **OWN},
    "secadmin": {
        "accounts.User": {"view", "grant"},
        "accounts.SecurityPolicy": {"view", "change"},
        "org.Region": {"view"},
        "org.Unit": {"view"},
        **OWN,
    },
    "auditor": {"core.ChangeRecord": {"view", "export"}, "core.LoginRecord": {"view", "export"}, **OWN},
}


@pytest.mark.parametrize("who", sorted(THREE))
def test_each_of_the_three_administrators_holds_only_its_own_powers(world, who):
    from django.apps import apps

    user = world.users[who]
    held = {}
    for label in permissions._POLICIES:
        model = apps.get_model(label)
        actions = {a for a in permissions.ACTIONS if permissions.can(user, a, model)}
        if actions:
            held[label] = actions
    assert held == THREE[who]


@pytest.mark.parametrize(
    ("who", "changelog", "logins", "policy"),
    [
        ("sysadmin", 403, 403, 403),
        ("secadmin", 403, 403, 200),
        ("auditor", 200, 200, 403),
        ("city", 403, 403, 403),  # business users read a project's history on its own page
    ],
)
def test_pages_of_the_three(client, world, who, changelog, logins, policy):
    client.force_login(world.users[who])
    assert client.get(reverse("core:changelog")).status_code == changelog
    assert client.get(reverse("core:login_log")).status_code == logins
    assert client.get(reverse("accounts:security_policy")).status_code == policy


def test_only_the_security_administrator_changes_the_policy_and_it_is_logged(client, world):
    client.force_login(world.users["sysadmin"])
    assert (
        client.post(reverse("accounts:security_policy"), {"idle_minutes": 30, "version": 1}).status_code
        == 403
    )
    with pytest.raises(PermissionDenied):
        services.security_policy_update(actor=world.users["city"], version=1, data={"idle_minutes": 30})
    assert not SecurityPolicy.objects.exists()
    client.force_login(world.users["secadmin"])
    data = {"idle_minutes": 15, "password_max_age_days": 60, "lockout_failures": 5, "lockout_minutes": 30}
    too_long = client.post(reverse("accounts:security_policy"), {**data, "idle_minutes": 45, "version": 1})
    assert too_long.status_code == 400 and not SecurityPolicy.objects.exists()
    assert client.post(reverse("accounts:security_policy"), {**data, "version": 1}).status_code == 302
    record = ChangeRecord.objects.filter(content_type__model="securitypolicy").get()
    assert (record.before["idle_minutes"], record.after["idle_minutes"]) == (10, 15)
    assert record.actor == world.users["secadmin"]
    stale = client.post(reverse("accounts:security_policy"), {**data, "idle_minutes": 20, "version": 1})
    assert stale.status_code == 409 and SecurityPolicy.objects.get().idle_minutes == 15


def test_no_account_holds_two_of_the_three(world):
    # One role per account: granting another administrator role replaces the first.
    target = world.users["sysadmin"]
    services.user_grant_role(
        actor=world.users["secadmin"], user_id=target.pk, version=target.version, role=Role.AUDITOR
    )
    target.refresh_from_db()
    assert target.role == Role.AUDITOR
    assert not permissions.can(target, "add", User)
    # Django's superuser flag grants nothing here: every permission goes through the role.
    boss = make_user(Role.NONE, username="t_super", is_superuser=True, is_staff=True)
    assert not any(
        permissions.can(boss, action, User) for action in permissions.ACTIONS
    ) and not permissions.can(boss, "view", ChangeRecord)
