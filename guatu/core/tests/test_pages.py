import pytest
from django.urls import reverse

from guatu.core.testing import make_project

pytestmark = pytest.mark.django_db


def test_login_page_logs_in_and_refuses_a_wrong_password(client, world):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and "登录" in page.content.decode()
    bad = client.post(reverse("login"), {"username": "t_city", "password": "wrong-password"})
    assert bad.status_code == 200 and "用户名或密码不正确" in bad.content.decode()
    good = client.post(reverse("login"), {"username": "t_city", "password": "Guatu-test-2026"})
    assert good.status_code == 302 and good["Location"] == reverse("home")


@pytest.mark.parametrize(
    ("role", "status"),
    [("auditor", 200), ("city", 403), ("sysadmin", 403), ("secadmin", 403), ("leader", 403)],
)
def test_only_the_auditor_reads_the_change_log(client, world, role, status):
    client.force_login(world.users[role])
    assert client.get(reverse("core:changelog")).status_code == status


def test_change_log_is_searchable(client, world):
    project = make_project(world, name="凌源市光伏电站")
    make_project(world, name="北票市冷链物流园")
    client.force_login(world.users["auditor"])
    body = client.get(reverse("core:changelog"), {"q": "光伏", "action": "create"}).content.decode()
    assert "凌源市光伏电站" in body and "北票市冷链物流园" not in body
    # The project's record and one for each of its approvals ("凌源市光伏电站 · 施工许可" …).
    assert f"共 {1 + project.approvals.count()} 条" in body


def test_english_is_available(client, world):
    client.force_login(world.users["auditor"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get(reverse("core:changelog")).content.decode()
    assert "Change log" in body
