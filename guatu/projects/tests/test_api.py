import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.http import QueryDict

from guatu.core.api import exception_handler
from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project, project_code
from guatu.core.testing_api import BUSINESS_ROLES, APITestCases, api_client
from guatu.projects.models import Project, StageChange
from guatu.projects.selectors import project_list
from guatu.projects.services import project_update

pytestmark = pytest.mark.django_db

_seq = itertools.count(1)
GATES_PASSED = {"capacity_gate": "passed", "environment_gate": "passed", "safety_gate": "passed"}


def three_projects(world, **extra) -> dict[str, Project]:
    """A: 双塔区, the test enterprise's, with a steward. B: 双塔区, another enterprise's, the test
    department involved. C: 龙城区, another enterprise's, another department involved."""
    shuangta, longcheng = world.counties["211302"], world.counties["211303"]
    return {
        "A": make_project(
            world, region=shuangta, enterprise=world.enterprise, steward=world.users["steward"], **extra
        ),
        "B": make_project(
            world, region=shuangta, enterprise=world.other_enterprise, departments=[world.department], **extra
        ),
        "C": make_project(
            world,
            region=longcheng,
            enterprise=world.other_enterprise,
            departments=[world.other_department],
            **extra,
        ),
    }


def new_project_data(world, region_code: str = "211302") -> dict:
    return {
        "code": project_code(region_code),
        "name": f"接口新建项目{next(_seq)}",
        "enterprise": {"id": world.enterprise.pk},
        "region": region_code,
        "chain": {"id": world.chain.pk},
        "kind": "industry",
        "build_type": "new",
        "total_investment": "20000.00",
        "annual_planned_investment": "8000.00",
        "departments": [world.department.pk],
    }


class TestProjectAPI(APITestCases.CRUD, APITestCases.Versioned):
    model = Project
    basename = "project"
    view_roles = BUSINESS_ROLES
    add_roles = frozenset({"city", "county", "other_county"})
    change_roles = frozenset({"city", "county", "other_county", "enterprise", "steward"})
    delete_roles = frozenset({"city"})
    # token, count, page, departments: four, whatever the number of rows.
    max_list_queries = 4

    def make_object(self, world):
        return make_project(world, departments=[world.department])

    def make_objects(self, world):
        return list(three_projects(world).values())

    def create_data(self, world, role):
        return new_project_data(world, "211303" if role == "other_county" else "211302")

    def invalid_create_data(self, world):
        data = new_project_data(world)
        data["annual_planned_investment"] = "30000.00"
        return data, "annual_planned_investment"

    def update_data(self, world, obj):
        return {"name": f"改名项目{next(_seq)}"}


@pytest.fixture
def api():
    return api_client()


@pytest.fixture
def projects(world):
    return three_projects(world)


def test_representation_names_relations_readably(world, api, projects):
    project = projects["A"]
    project.departments.set([world.department])
    body = api_client(world.users["city"], api).get(f"/api/projects/{project.pk}/").json()
    assert body["region"] == "211302"
    assert body["stage"] == "planning"
    assert body["enterprise"] == {"id": world.enterprise.pk, "name": "朝阳测试实业有限公司"}
    assert body["chain"] == {"id": world.chain.pk, "name": "新能源"}
    assert body["departments"] == [world.department.pk]
    assert body["steward"] == world.users["steward"].pk
    assert body["total_investment"] == "12000.00"
    assert body["version"] == 1


def test_create_accepts_bare_ids_and_records_the_request_id(world, api):
    data = new_project_data(world) | {"enterprise": world.enterprise.pk, "chain": None}
    client = api_client(world.users["county"], api)
    response = client.post("/api/projects/", data, format="json", HTTP_X_REQUEST_ID="req-api-create-1")
    assert response.status_code == 201, response.json()
    project = Project.objects.get(pk=response.json()["id"])
    assert (project.enterprise, project.chain, project.created_by) == (
        world.enterprise,
        None,
        world.users["county"],
    )
    assert list(project.departments.all()) == [world.department]
    record = ChangeRecord.objects.get(
        object_id=str(project.pk), action="create", content_type__model="project"
    )
    assert record.request_id == "req-api-create-1"


def test_county_cannot_create_in_another_county(world, api):
    response = api_client(world.users["county"], api).post(
        "/api/projects/", new_project_data(world, "211303"), format="json"
    )
    assert response.status_code == 403
    assert "龙城区" in response.json()["detail"]
    assert not Project.objects.exists()
    assert not ChangeRecord.objects.filter(action="create", content_type__model="project").exists()


def test_county_cannot_move_its_project_to_another_county(world, api, projects):
    project = projects["A"]
    response = api_client(world.users["county"], api).patch(
        f"/api/projects/{project.pk}/", {"region": "211303", "version": 1}, format="json"
    )
    assert response.status_code == 403
    project.refresh_from_db()
    assert (project.region.code, project.version) == ("211302", 1)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"code": "2026-211302-44-01-12345"}, "code", "格式不对"),
        ({"total_investment": "-1"}, "total_investment", "不能为负数"),
        (
            {"planned_start": "2026-05-01", "planned_completion": "2026-01-01"},
            "planned_completion",
            "不能早于",
        ),
        ({"latitude": "41.5"}, "latitude", "同时填写"),
        ({"enterprise": {"id": 999999}}, "enterprise", "不存在"),
        ({"region": "110101"}, "region", "不存在"),  # a real code, but not in this city
        ({"steward": "leader"}, "steward", "不存在"),  # a user who is not a steward
        ({"departments": "sysadmin"}, "departments", ""),
    ],
)
def test_bad_data_is_400_with_chinese_field_messages(world, api, change, field, message):
    if field in {"steward", "departments"}:
        change = {field: world.users[change[field]].pk}
    data = new_project_data(world) | change
    response = api_client(world.users["city"], api).post("/api/projects/", data, format="json")
    assert response.status_code == 400
    errors = response.json()[field]
    assert errors and message in " ".join(errors)
    assert not Project.objects.exists()


def test_put_replaces_the_project_and_bumps_the_version(world, api, projects):
    project = projects["A"]
    data = new_project_data(world) | {"code": project.code, "version": 1, "departments": []}
    response = api_client(world.users["city"], api).put(f"/api/projects/{project.pk}/", data, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    project.refresh_from_db()
    assert (project.name, project.total_investment) == (data["name"], Decimal("20000.00"))
    assert not project.departments.exists()


def test_put_without_version_is_refused(world, api, projects):
    project = projects["A"]
    data = new_project_data(world) | {"code": project.code}
    response = api_client(world.users["city"], api).put(f"/api/projects/{project.pk}/", data, format="json")
    assert response.status_code == 400
    assert "version" in response.json()
    project.refresh_from_db()
    assert project.version == 1


def test_stage_is_not_changed_by_an_update(world, api, projects):
    project = projects["A"]
    response = api_client(world.users["city"], api).patch(
        f"/api/projects/{project.pk}/", {"stage": "signed", "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert "阶段变更接口" in response.json()["stage"][0]
    project.refresh_from_db()
    assert (project.stage.code, project.version) == ("planning", 1)


def test_stage_change_moves_the_project_and_logs_it(world, api):
    project = make_project(world, **GATES_PASSED)
    response = api_client(world.users["county"], api).post(
        f"/api/projects/{project.pk}/stage/",
        {"to_stage": "signed", "note": "已签约", "version": 1},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["stage"], response.json()["version"]) == ("signed", 2)
    change = StageChange.objects.get(project=project)
    assert (change.to_stage.code, change.note, change.actor) == ("signed", "已签约", world.users["county"])


def test_stage_change_refused_by_a_gate_is_400_with_the_reason(world, api):
    project = make_project(world, capacity_gate="passed", environment_gate="failed", safety_gate="passed")
    response = api_client(world.users["city"], api).post(
        f"/api/projects/{project.pk}/stage/", {"to_stage": "signed", "version": 1}, format="json"
    )
    assert response.status_code == 400
    assert "环境关未通过" in response.json()["stage"][0]
    assert not StageChange.objects.exists()


def test_stage_jump_needs_city_admin_and_a_reason(world, api):
    project = make_project(world, stage="preparing")
    client = api_client(world.users["city"], api)
    url = f"/api/projects/{project.pk}/stage/"
    refused = client.post(url, {"to_stage": "completed", "version": 1}, format="json")
    assert refused.status_code == 400
    assert "理由" in refused.json()["override_reason"][0]
    done = client.post(url, {"to_stage": "completed", "override_reason": "补录", "version": 1}, format="json")
    assert done.status_code == 200
    assert StageChange.objects.get().is_override


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [
        ("city", {"to_stage": "signed", "version": 1}, 409),  # the project is at version 2 by now
        ("city", {"to_stage": "signed"}, 400),  # no version
        ("city", {"to_stage": "nonsense", "version": 2}, 400),
        ("leader", {"to_stage": "signed", "version": 2}, 403),  # reads everything, changes nothing
        ("other_county", {"to_stage": "signed", "version": 2}, 404),  # not its county's project
        ("department", {"to_stage": "signed", "version": 2}, 403),
    ],
)
def test_stage_change_refusals_change_nothing(world, api, role, body, status):
    project = make_project(world, **GATES_PASSED)
    project_update(actor=None, project_id=project.pk, version=1, data={"name": "先改一次"})
    response = api_client(world.users[role], api).post(
        f"/api/projects/{project.pk}/stage/", body, format="json"
    )
    assert response.status_code == status
    project.refresh_from_db()
    assert (project.stage.code, project.version) == ("planning", 2)
    assert not StageChange.objects.exists()


def test_delete_with_a_stale_version_is_a_conflict(world, api, projects):
    project = projects["A"]
    client = api_client(world.users["city"], api)
    client.patch(f"/api/projects/{project.pk}/", {"name": "改过", "version": 1}, format="json")
    assert client.delete(f"/api/projects/{project.pk}/?version=1").status_code == 409
    assert client.delete(f"/api/projects/{project.pk}/?version=x").status_code == 400
    assert Project.objects.filter(pk=project.pk).exists()
    assert client.delete(f"/api/projects/{project.pk}/?version=2").status_code == 204
    assert not Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize(
    "params",
    [
        {"region": "211302"},
        {"region": "211300"},  # the city: every division in it
        {"region": ["211302", "211303"]},
        {"stage": "signed"},
        {"q": "龙城"},
        {"kind": "livelihood"},
        {"investment_min": "10000", "investment_max": "30000"},
        {"chain": "CHAIN", "build_type": "continuing"},
        {"ordering": "-total_investment"},
    ],
)
def test_list_filters_exactly_as_the_list_page_does(world, api, projects, params):
    make_project(world, stage="signed", kind="livelihood", total_investment=Decimal("50000"), **GATES_PASSED)
    make_project(
        world, build_type="continuing", total_investment=Decimal("9000"), annual_planned_investment=0
    )
    query = QueryDict(mutable=True)
    for name, value in params.items():
        query.setlist(
            name,
            [
                str(world.chain.pk) if v == "CHAIN" else v
                for v in ([value] if isinstance(value, str) else value)
            ],
        )
    user = world.users["county"]
    response = api_client(user, api).get(f"/api/projects/?{query.urlencode()}")
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["results"]]
    # The list page and the export filter through this selector and the same FilterSet.
    assert ids == list(project_list(user=user, params=query).values_list("id", flat=True))
    assert ids


def test_list_filter_selects_the_right_rows(world, api, projects):
    make_project(world, stage="signed", **GATES_PASSED)
    client = api_client(world.users["city"], api)

    def codes(params):
        return {item["code"] for item in client.get("/api/projects/", params).json()["results"]}

    assert codes({"region": "211303"}) == {projects["C"].code}
    assert codes({"region": "211300"}) == set(Project.objects.values_list("code", flat=True))
    assert len(codes({"stage": "signed"})) == 1
    assert codes({"q": projects["B"].name}) == {projects["B"].code}


def test_an_invalid_filter_is_400_not_everything(world, api, projects):
    response = api_client(world.users["city"], api).get("/api/projects/", {"stage": "nonsense"})
    assert response.status_code == 400
    assert "stage" in response.json()


@pytest.mark.parametrize("role", ["department", "county"])
def test_scoped_lists_stay_bounded_in_queries(world, api, role, django_assert_max_num_queries):
    for _ in range(50):
        make_project(world, departments=[world.department, world.other_department])
    client = api_client(world.users[role], api)
    with django_assert_max_num_queries(4):
        response = client.get("/api/projects/", {"limit": 50})
    assert len(response.json()["results"]) == 50


def test_a_bad_token_is_401(world, api, projects):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_openapi_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = (tmp_path / "schema.yml").read_text(encoding="utf-8")
    assert "/api/projects/{id}/stage/:" in schema
    assert "/api/auth/token/:" in schema


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (ValidationError("整体不对"), 400, {"non_field_errors": ["整体不对"]}),
        (
            ValidationError({"__all__": ["整体不对"], "name": ["名称不对"]}),
            400,
            {"non_field_errors": ["整体不对"], "name": ["名称不对"]},
        ),
        (Conflict("已被他人修改"), 409, {"detail": "已被他人修改"}),
        (PermissionDenied("无权在“龙城区”新建项目"), 403, {"detail": "无权在“龙城区”新建项目"}),
        (Project.DoesNotExist("项目不存在或无权操作"), 404, {"detail": "项目不存在或无权操作"}),
        # The ORM's own English message is not passed on.
        (Project.DoesNotExist("Project matching query does not exist."), 404, {"detail": "未找到。"}),
    ],
)
def test_exception_handler_maps_domain_errors_for_every_app(exc, status, body):
    response = exception_handler(exc, {})
    assert (response.status_code, response.data) == (status, body)
