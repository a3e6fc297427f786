"""The permission matrix: every role against every project action, through pages and API alike.

Three projects (see three_projects): A in 双塔区, the test enterprise's, with the test steward;
B in 双塔区, another enterprise's, the test department involved; C in 龙城区, another enterprise's,
another department involved. The county user is 双塔区's, other_county is 龙城区's.
"""

import io
import re
from typing import NamedTuple

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from guatu.core.testing_api import api_client
from guatu.projects.models import Project
from guatu.projects.tests.test_api import GATES_PASSED, new_project_data, three_projects

pytestmark = pytest.mark.django_db


class Rights(NamedTuple):
    """Which of A, B, C the role may view / change / delete; None: that action not at all (403).
    add and export: whether the role may create projects (in its own region) and export its list."""

    view: str | None
    add: bool
    change: str | None
    delete: str | None
    export: bool


MATRIX = {
    "city": Rights(view="ABC", add=True, change="ABC", delete="ABC", export=True),  # 项目办
    "leader": Rights(view="ABC", add=False, change=None, delete=None, export=True),  # reads all
    "county": Rights(view="AB", add=True, change="AB", delete=None, export=True),  # own region
    "other_county": Rights(view="C", add=True, change="C", delete=None, export=True),
    "department": Rights(view="B", add=False, change=None, delete=None, export=True),  # involved in
    "enterprise": Rights(view="A", add=False, change="A", delete=None, export=True),  # its own
    "steward": Rights(view="A", add=False, change="A", delete=None, export=True),  # assigned
    # 三员分立: the three administrators handle no business data.
    "sysadmin": Rights(view=None, add=False, change=None, delete=None, export=False),
    "secadmin": Rights(view=None, add=False, change=None, delete=None, export=False),
    "auditor": Rights(view=None, add=False, change=None, delete=None, export=False),
}
ROLES = list(MATRIX)
CODE = re.compile(r"\d{4}-\d{6}-\d{2}-\d{2}-\d{6}")


def status_for(scope: str | None, name: str, success: int) -> int:
    if scope is None:
        return 403
    return success if name in scope else 404


@pytest.fixture
def projects(world) -> dict[str, Project]:
    return three_projects(world, **GATES_PASSED)


@pytest.fixture
def page():
    return Client()


@pytest.fixture
def api():
    return api_client()


def test_the_matrix_covers_every_role_of_the_world(world):
    assert set(MATRIX) == set(world.users)


def names_of_codes(codes: set[str], projects: dict[str, Project]) -> str:
    by_code = {p.code: name for name, p in projects.items()}
    return "".join(sorted(by_code[c] for c in codes if c in by_code))


# --- API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_api_list(world, api, projects, role):
    response = api_client(world.users[role], api).get("/api/projects/")
    rights = MATRIX[role]
    if rights.view is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    codes = {item["code"] for item in response.json()["results"]}
    assert names_of_codes(codes, projects) == rights.view
    assert response.json()["count"] == len(rights.view)


@pytest.mark.parametrize("role", ROLES)
def test_api_detail(world, api, projects, role):
    client = api_client(world.users[role], api)
    actual = {name: client.get(f"/api/projects/{p.pk}/").status_code for name, p in projects.items()}
    assert actual == {name: status_for(MATRIX[role].view, name, 200) for name in projects}


@pytest.mark.parametrize("role", ROLES)
def test_api_create(world, api, role):
    region = "211303" if role == "other_county" else "211302"
    response = api_client(world.users[role], api).post(
        "/api/projects/", new_project_data(world, region), format="json"
    )
    assert response.status_code == (201 if MATRIX[role].add else 403)
    assert Project.objects.count() == (1 if MATRIX[role].add else 0)


@pytest.mark.parametrize("role", ROLES)
def test_api_update(world, api, projects, role):
    client = api_client(world.users[role], api)
    actual = {
        name: client.patch(
            f"/api/projects/{p.pk}/", {"name": f"{role}改名", "version": 1}, format="json"
        ).status_code
        for name, p in projects.items()
    }
    assert actual == {name: status_for(MATRIX[role].change, name, 200) for name in projects}
    changed = "".join(sorted(n for n, p in projects.items() if Project.objects.get(pk=p.pk).version == 2))
    assert changed == (MATRIX[role].change or "")


@pytest.mark.parametrize("role", ROLES)
def test_api_stage_change(world, api, projects, role):
    client = api_client(world.users[role], api)
    body = {"to_stage": "signed", "version": 1}
    actual = {
        name: client.post(f"/api/projects/{p.pk}/stage/", body, format="json").status_code
        for name, p in projects.items()
    }
    # Stages are the government's record: an enterprise or steward that may edit its project's
    # facts is refused (403) on its own project's stage, and sees no other project (404).
    governing = role in {"city", "county", "other_county"}
    expected = {name: status_for(MATRIX[role].change, name, 200 if governing else 403) for name in projects}
    assert actual == expected


@pytest.mark.parametrize("role", ["enterprise", "steward"])
def test_enterprise_and_steward_cannot_touch_gates(world, api, projects, role):
    client = api_client(world.users[role], api)
    response = client.patch(
        f"/api/projects/{projects['A'].pk}/", {"capacity_gate": "failed", "version": 1}, format="json"
    )
    assert response.status_code == 403
    assert "产能关" in response.json()["detail"]
    assert Project.objects.get(pk=projects["A"].pk).capacity_gate == "passed"


@pytest.mark.parametrize("role", ROLES)
def test_api_delete(world, api, projects, role):
    client = api_client(world.users[role], api)
    actual = {name: client.delete(f"/api/projects/{p.pk}/").status_code for name, p in projects.items()}
    assert actual == {name: status_for(MATRIX[role].delete, name, 204) for name in projects}
    left = "".join(sorted(n for n, p in projects.items() if Project.objects.filter(pk=p.pk).exists()))
    assert left == "".join(n for n in "ABC" if n not in (MATRIX[role].delete or ""))


def test_api_anonymous_gets_401_everywhere(api, projects):
    project = projects["A"]
    calls = [
        api.get("/api/projects/"),
        api.get(f"/api/projects/{project.pk}/"),
        api.post("/api/projects/", {}, format="json"),
        api.patch(f"/api/projects/{project.pk}/", {"version": 1}, format="json"),
        api.delete(f"/api/projects/{project.pk}/"),
        api.post(f"/api/projects/{project.pk}/stage/", {}, format="json"),
    ]
    assert [r.status_code for r in calls] == [401] * len(calls)
    assert Project.objects.count() == 3


# --- pages -------------------------------------------------------------------------------------


def signed_in(page: Client, user) -> Client:
    page.force_login(user)
    return page


@pytest.mark.parametrize("role", ROLES)
def test_page_list(world, page, projects, role):
    response = signed_in(page, world.users[role]).get(reverse("projects:project_list"))
    rights = MATRIX[role]
    if rights.view is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    codes = set(CODE.findall(response.content.decode()))
    assert names_of_codes(codes, projects) == rights.view


@pytest.mark.parametrize("role", ROLES)
def test_page_detail(world, page, projects, role):
    client = signed_in(page, world.users[role])
    actual = {
        name: client.get(reverse("projects:project_detail", args=[p.pk])).status_code
        for name, p in projects.items()
    }
    assert actual == {name: status_for(MATRIX[role].view, name, 200) for name in projects}


@pytest.mark.parametrize("role", ROLES)
def test_page_add(world, page, role):
    response = signed_in(page, world.users[role]).get(reverse("projects:project_add"))
    assert response.status_code == (200 if MATRIX[role].add else 403)


@pytest.mark.parametrize("role", ROLES)
def test_page_edit(world, page, projects, role):
    client = signed_in(page, world.users[role])
    actual = {
        name: client.get(reverse("projects:project_edit", args=[p.pk])).status_code
        for name, p in projects.items()
    }
    assert actual == {name: status_for(MATRIX[role].change, name, 200) for name in projects}


@pytest.mark.parametrize("role", ROLES)
def test_page_delete(world, page, projects, role):
    client = signed_in(page, world.users[role])
    actual = {
        name: client.get(reverse("projects:project_delete", args=[p.pk])).status_code
        for name, p in projects.items()
    }
    assert actual == {name: status_for(MATRIX[role].delete, name, 200) for name in projects}
    # A refused POST deletes nothing; an allowed one deletes exactly the project.
    target = projects["A"]
    response = client.post(reverse("projects:project_delete", args=[target.pk]))
    assert response.status_code == status_for(MATRIX[role].delete, "A", 302)
    assert Project.objects.filter(pk=target.pk).exists() is ("A" not in (MATRIX[role].delete or ""))


@pytest.mark.parametrize("role", ROLES)
def test_page_export(world, page, projects, role):
    response = signed_in(page, world.users[role]).get(reverse("projects:project_export"))
    if not MATRIX[role].export:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    cells = " ".join(
        str(value)
        for sheet in workbook
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value
    )
    assert names_of_codes(set(CODE.findall(cells)), projects) == MATRIX[role].view


@pytest.mark.parametrize(
    "url",
    [
        lambda p: reverse("projects:project_list"),
        lambda p: reverse("projects:project_detail", args=[p.pk]),
        lambda p: reverse("projects:project_add"),
        lambda p: reverse("projects:project_edit", args=[p.pk]),
        lambda p: reverse("projects:project_delete", args=[p.pk]),
        lambda p: reverse("projects:project_export"),
    ],
)
def test_pages_send_anonymous_to_login(page, projects, url):
    response = page.get(url(projects["A"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
