"""Account management under 三员分立: the system administrator keeps accounts, the security
administrator grants roles, the auditor only reads the log, and nobody else touches accounts."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guatu.accounts import services
from guatu.accounts.models import Role, User
from guatu.core.changelog import verify_chain
from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_user

pytestmark = pytest.mark.django_db

NEW = {
    "username": "zhangsan",
    "last_name": "张",
    "first_name": "三",
    "email": "zs@example.cn",
    "phone": "0421-1234567",
    "password": "Chaoyang-2026",
    "password2": "Chaoyang-2026",
}


def user_log():
    return ChangeRecord.objects.filter(content_type=ContentType.objects.get_for_model(User)).order_by("id")


def post(client, name, data, *args):
    return client.post(reverse(f"accounts:{name}", args=args), data)


# --- who may open which page ---------------------------------------------------------------

PAGES = ["user_list", "user_add", "user_detail", "user_edit", "user_role", "user_password"]
# status of GET for each role; the target account is the county account
EXPECTED = {
    "sysadmin": [200, 200, 200, 200, 403, 200],
    "secadmin": [200, 403, 200, 403, 200, 403],
    "auditor": [403] * 6,
    **{role: [403] * 6 for role in ("city", "leader", "county", "department", "enterprise", "steward")},
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_permission_matrix_of_account_pages(client, world, who):
    target = world.users["county"]
    client.force_login(world.users[who])
    seen = []
    for page in PAGES:
        args = [] if page in {"user_list", "user_add"} else [target.pk]
        seen.append(client.get(reverse(f"accounts:{page}", args=args)).status_code)
    assert seen == EXPECTED[who]


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(reverse("accounts:user_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    ("who", "lands"),
    [
        ("sysadmin", "/accounts/"),
        ("secadmin", "/accounts/"),
        ("auditor", "/core/changes/"),
        ("city", "/dashboard/"),
        ("leader", "/dashboard/"),
        ("county", "/dashboard/"),
        ("enterprise", "/projects/"),
    ],
)
def test_each_role_starts_on_its_own_page(client, world, who, lands):
    client.force_login(world.users[who])
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == lands


# --- the system administrator --------------------------------------------------------------


def test_sysadmin_creates_an_account_without_a_role_and_the_log_holds_no_hash(client, world):
    client.force_login(world.users["sysadmin"])
    before = user_log().count()
    response = post(client, "user_add", NEW)
    assert response.status_code == 302
    user = User.objects.get(username="zhangsan")
    assert (user.role, user.region, user.unit, str(user)) == ("", None, None, "张三")
    assert authenticate(username="zhangsan", password="Chaoyang-2026") == user
    assert user_log().count() == before + 1
    record = user_log().last()
    assert record.action == "create" and record.actor == world.users["sysadmin"]
    assert record.after["password"] == "（已重置）"
    assert user.password not in str(record.after)
    assert list(verify_chain()) == []


def test_role_sent_with_the_create_form_is_ignored(client, world):
    client.force_login(world.users["sysadmin"])
    post(client, "user_add", NEW | {"role": Role.CITY_ADMIN})
    assert User.objects.get(username="zhangsan").role == ""


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"password": "short", "password2": "short"}, "密码长度太短"),
        ({"password2": "Other-2026x"}, "两次输入的密码不一致"),
        ({"username": "t_city"}, "已存在"),
        ({"username": "有 空格"}, "用户名"),
    ],
)
def test_bad_account_input_is_refused_with_a_reason_and_nothing_written(client, world, change, field_message):
    client.force_login(world.users["sysadmin"])
    users, log = User.objects.count(), ChangeRecord.objects.count()
    response = post(client, "user_add", NEW | change)
    assert response.status_code == 400
    body = response.content.decode()
    assert field_message in body
    assert "0421-1234567" in body  # what was typed comes back
    assert (User.objects.count(), ChangeRecord.objects.count()) == (users, log)


def test_sysadmin_edits_and_deactivates_an_account_who_then_cannot_log_in(client, world):
    target = world.users["enterprise"]
    client.force_login(world.users["sysadmin"])
    data = {
        "last_name": "李",
        "first_name": "四",
        "email": "",
        "phone": "13800000000",
        "version": target.version,
    }
    response = post(client, "user_edit", data | {"is_active": ""}, target.pk)
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.last_name, target.is_active, target.version, target.role) == (
        "李",
        False,
        2,
        Role.ENTERPRISE,
    )
    record = user_log().last()
    assert (record.before["is_active"], record.after["is_active"]) == (True, False)
    assert "password" not in record.after
    assert authenticate(username=target.username, password="Guatu-test-2026") is None


def test_edit_form_cannot_change_role_or_username(client, world):
    target = world.users["county"]
    client.force_login(world.users["sysadmin"])
    data = {"username": "renamed", "role": Role.CITY_ADMIN, "last_name": "王", "is_active": "on"}
    post(client, "user_edit", data | {"version": target.version}, target.pk)
    target.refresh_from_db()
    assert (target.username, target.role, target.last_name) == ("t_shuangta", Role.COUNTY, "王")


def test_two_administrators_editing_one_account_do_not_overwrite_each_other(client, world):
    target = world.users["department"]
    client.force_login(world.users["sysadmin"])
    data = {"first_name": "", "email": "", "phone": "", "is_active": "on", "version": target.version}
    assert post(client, "user_edit", data | {"last_name": "甲"}, target.pk).status_code == 302
    second = post(client, "user_edit", data | {"last_name": "乙"}, target.pk)
    assert second.status_code == 409
    assert "已被他人修改" in second.content.decode() and "乙" in second.content.decode()
    target.refresh_from_db()
    assert target.last_name == "甲"


def test_sysadmin_cannot_deactivate_itself(world):
    admin = world.users["sysadmin"]
    with pytest.raises(ValidationError) as err:
        services.user_update(actor=admin, user_id=admin.pk, version=admin.version, data={"is_active": False})
    assert "不能停用自己的账号" in str(err.value)
    admin.refresh_from_db()
    assert admin.is_active


def test_password_reset_takes_effect_and_logs_without_the_hash(client, world):
    target = world.users["steward"]
    client.force_login(world.users["sysadmin"])
    weak = post(client, "user_password", {"password": "1234", "password2": "1234"}, target.pk)
    assert weak.status_code == 400 and "密码长度太短" in weak.content.decode()
    response = post(
        client, "user_password", {"password": "Xin-mima-2026", "password2": "Xin-mima-2026"}, target.pk
    )
    assert response.status_code == 302
    assert authenticate(username=target.username, password="Xin-mima-2026") is not None
    record = user_log().last()
    assert (record.before["password"], record.after["password"]) == ("", "（已重置）")


def test_sysadmin_cannot_grant_roles_nor_read_the_log(client, world):
    admin, target = world.users["sysadmin"], world.users["steward"]
    with pytest.raises(User.DoesNotExist):
        services.user_grant_role(actor=admin, user_id=target.pk, version=target.version, role=Role.CITY_ADMIN)
    client.force_login(admin)
    response = post(client, "user_role", {"role": Role.CITY_ADMIN, "version": target.version}, target.pk)
    assert response.status_code == 403
    assert client.get(reverse("core:changelog")).status_code == 403
    target.refresh_from_db()
    assert target.role == Role.STEWARD


# --- the security administrator ------------------------------------------------------------


def test_secadmin_grants_a_county_role_with_its_division(client, world):
    target = make_user(Role.NONE, username="newbie")
    client.force_login(world.users["secadmin"])
    kazuo = world.counties["211324"]
    response = post(client, "user_role", {"role": Role.COUNTY, "region": kazuo.pk, "version": 1}, target.pk)
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.role, target.region, target.unit, target.version) == (Role.COUNTY, kazuo, None, 2)
    record = user_log().last()
    assert (record.actor, record.before["role"], record.after["role"]) == (
        world.users["secadmin"],
        "",
        "county",
    )


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        (Role.COUNTY, {}, "须选择一个县(市)区"),
        (Role.COUNTY, {"region": "city"}, "须选择一个县(市)区"),
        (Role.DEPARTMENT, {}, "须选择所属单位"),
        (Role.DEPARTMENT, {"unit": "enterprise"}, "只能属于"),
        (Role.ENTERPRISE, {"unit": "department"}, "只能属于：项目单位"),
    ],
)
def test_a_role_without_its_scope_is_refused(client, world, role, scope, message):
    target = make_user(Role.NONE, username="newbie")
    client.force_login(world.users["secadmin"])
    values = {"city": world.city.pk, "enterprise": world.enterprise.pk, "department": world.department.pk}
    data = {"role": role, "version": 1} | {k: values[v] for k, v in scope.items()}
    log = ChangeRecord.objects.count()
    response = post(client, "user_role", data, target.pk)
    assert response.status_code == 400
    assert message in response.content.decode()
    target.refresh_from_db()
    assert target.role == "" and ChangeRecord.objects.count() == log


def test_enterprise_account_takes_its_units_region_and_city_roles_keep_no_scope(world):
    secadmin = world.users["secadmin"]
    target = make_user(Role.NONE, username="newbie", region=world.counties["211302"])
    user = services.user_grant_role(
        actor=secadmin, user_id=target.pk, version=1, role=Role.ENTERPRISE, unit=world.other_enterprise
    )
    assert (user.unit, user.region) == (world.other_enterprise, world.other_enterprise.region)
    user = services.user_grant_role(
        actor=secadmin, user_id=target.pk, version=user.version, role=Role.LEADER, unit=world.enterprise
    )
    assert (user.role, user.unit, user.region) == (Role.LEADER, None, None)


def test_secadmin_cannot_change_its_own_role_nor_edit_accounts(client, world):
    secadmin = world.users["secadmin"]
    with pytest.raises(PermissionDenied):
        services.user_grant_role(actor=secadmin, user_id=secadmin.pk, version=1, role=Role.CITY_ADMIN)
    client.force_login(secadmin)
    assert post(client, "user_role", {"role": "city_admin", "version": 1}, secadmin.pk).status_code == 404
    assert post(client, "user_add", NEW).status_code == 403
    target = world.users["county"]
    edit = post(client, "user_edit", {"last_name": "改", "version": target.version}, target.pk)
    assert edit.status_code == 403
    with pytest.raises(User.DoesNotExist):
        services.user_set_password(actor=secadmin, user_id=target.pk, password="Xin-mima-2026")
    secadmin.refresh_from_db()
    assert secadmin.role == Role.SECADMIN


def test_stale_role_grant_is_refused(world):
    target = make_user(Role.NONE, username="newbie")
    secadmin = world.users["secadmin"]
    services.user_grant_role(actor=secadmin, user_id=target.pk, version=1, role=Role.LEADER)
    with pytest.raises(Conflict):
        services.user_grant_role(actor=secadmin, user_id=target.pk, version=1, role=Role.CITY_ADMIN)
    target.refresh_from_db()
    assert target.role == Role.LEADER


def test_admins_see_no_business_data(client, world):
    for who in ("sysadmin", "secadmin", "auditor"):
        client.force_login(world.users[who])
        assert client.get(reverse("projects:project_list")).status_code == 403, who


# --- the auditor and the account without a role --------------------------------------------


def test_auditor_reads_the_account_changes_in_the_log(client, world):
    admin = world.users["sysadmin"]
    services.user_create(actor=admin, data={k: v for k, v in NEW.items() if k != "password2"})
    client.force_login(world.users["auditor"])
    response = client.get(reverse("core:changelog"), {"q": "张三"})
    assert response.status_code == 200
    assert "张三" in response.content.decode()


def test_account_without_a_role_sees_nothing(client, world):
    user = make_user(Role.NONE, username="newbie")
    client.force_login(user)
    response = client.get("/", follow=True)
    assert "尚未授予角色" in response.content.decode()
    assert client.get(reverse("projects:project_list")).status_code == 403
    assert client.get(reverse("accounts:user_list")).status_code == 403


def test_list_filters_by_role_including_no_role(client, world):
    make_user(Role.NONE, username="newbie")
    client.force_login(world.users["secadmin"])
    body = client.get(reverse("accounts:user_list"), {"role": "none"}).content.decode()
    assert "newbie" in body and "t_shuangta" not in body
    body = client.get(reverse("accounts:user_list"), {"role": "county"}).content.decode()
    assert "t_shuangta" in body and "t_longcheng" in body and "newbie" not in body
    body = client.get(reverse("accounts:user_list"), {"q": "shuang"}).content.decode()
    assert "t_shuangta" in body and "t_longcheng" not in body


def test_grant_role_command_bootstraps_the_first_security_administrator(world):
    from django.core.management import CommandError, call_command

    user = make_user(Role.NONE, username="first_secadmin")
    call_command("grant_role", "first_secadmin", "secadmin")
    user.refresh_from_db()
    assert user.role == Role.SECADMIN
    assert user_log().last().actor is None
    with pytest.raises(CommandError, match="须选择一个县"):
        call_command("grant_role", "first_secadmin", "county")
    with pytest.raises(CommandError, match="找不到：nobody"):
        call_command("grant_role", "nobody", "leader")
