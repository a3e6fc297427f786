"""/api/problems/: the generic list, retrieve, create and versioned-update tests per role, the
filters, and the flow's sub-routes with their 409s, 400s and 403s."""

import datetime as dt
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from guatu.core.testing import make_project
from guatu.core.testing_api import BUSINESS_ROLES, APITestCases, api_client
from guatu.problems.models import Problem, ProblemStep
from guatu.problems.tests.problem_helpers import make_problem

pytestmark = pytest.mark.django_db

_titles = itertools.count(1)


def _future(days: int = 30) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


class TestProblemAPI(APITestCases.List, APITestCases.Retrieve, APITestCases.Create, APITestCases.Versioned):
    model = Problem
    basename = "problem"
    view_roles = BUSINESS_ROLES
    # A leader reads everything but raises nothing (a new problem starts below the 直通车).
    add_roles = frozenset({"city", "county", "other_county", "department", "enterprise", "steward"})
    change_roles = BUSINESS_ROLES

    def make_object(self, world):
        return make_problem(world, title=f"问题{next(_titles)}")

    def make_objects(self, world):
        longcheng = world.counties["211303"]
        return [
            make_problem(world, title="双塔区用地问题"),
            make_problem(
                world,
                project=make_project(world, region=longcheng, enterprise=world.other_enterprise),
                owner_unit=world.other_department,
                supporting_units=[],
                title="龙城区资金问题",
            ),
            make_problem(
                world,
                project=make_project(
                    world, steward=world.users["steward"], enterprise=world.other_enterprise
                ),
                owner_unit=world.other_department,
                supporting_units=[world.department],
                level="direct_line",
                title="直通车上的审批问题",
            ),
        ]

    def create_data(self, world, role):
        project_kwargs = {}
        owner = world.department
        if role == "other_county":
            project_kwargs = {"region": world.counties["211303"], "enterprise": world.other_enterprise}
        elif role == "steward":
            project_kwargs = {"steward": world.users["steward"]}
        elif role == "department":
            project_kwargs = {"departments": [world.department]}
        project = make_project(world, **project_kwargs)
        return {
            "project": project.pk,
            "title": f"施工用水未接通{next(_titles)}",
            "category": "utilities",
            "owner_unit": owner.pk,
            "supporting_units": [world.other_department.pk],
            "due_date": _future(),
            "lead_leader": "副市长陈晓明",
        }

    def invalid_create_data(self, world):
        data = self.create_data(world, "city")
        del data["owner_unit"]
        return data, "owner_unit"

    def update_data(self, world, obj):
        return {"title": f"修改后的问题{next(_titles)}"}


# ---------------------------------------------------------------- filters


@pytest.fixture
def listed(world):
    today = timezone.localdate()
    longcheng = world.counties["211303"]
    problems = {
        "late": make_problem(world, title="late", due_date=today - dt.timedelta(days=3), today=today - dt.timedelta(days=30)),
        "top": make_problem(world, title="top", level="direct_line", due_date=today + dt.timedelta(days=5), today=today),
        "closed": make_problem(world, title="closed", status="closed", due_date=today - dt.timedelta(days=9), today=today - dt.timedelta(days=30)),
        "longcheng": make_problem(
            world,
            title="longcheng",
            project=make_project(world, region=longcheng, enterprise=world.other_enterprise),
            owner_unit=world.other_department,
            supporting_units=[],
            due_date=today + dt.timedelta(days=5),
            today=today,
        ),
    }  # fmt: skip
    return problems


def _listed(client, params) -> set[str]:
    response = client.get(reverse("api:problem-list"), params)
    assert response.status_code == 200, response.json()
    return {row["title"] for row in response.json()["results"]}


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, {"late", "top", "closed", "longcheng"}),
        ({"status": "closed"}, {"closed"}),
        ({"status": ["assigned", "closed"]}, {"late", "top", "closed", "longcheng"}),
        ({"escalation": "direct_line"}, {"top"}),
        ({"escalation": "county"}, {"late", "closed", "longcheng"}),
        ({"overdue": "true"}, {"late"}),
        ({"overdue": "false"}, {"top", "closed", "longcheng"}),
        ({"region": "211303"}, {"longcheng"}),
        ({"region": "211300"}, {"late", "top", "closed", "longcheng"}),  # the city: all its divisions
        ({"q": "longch"}, {"longcheng"}),
    ],
)
def test_the_list_filters(world, listed, params, expected):
    assert _listed(api_client(world.users["city"]), params) == expected


def test_the_unit_filter_takes_owned_and_supported_problems(world, listed):
    client = api_client(world.users["city"])
    # 商务局 supports late/top/closed (the helper's default) and owns longcheng.
    assert _listed(client, {"unit": world.other_department.pk}) == {"late", "top", "closed", "longcheng"}
    assert _listed(client, {"unit": world.department.pk}) == {"late", "top", "closed"}


@pytest.mark.parametrize("params,field", [({"unit": 999999}, "unit"), ({"region": "999999"}, "region"),
                                          ({"escalation": "moon"}, "escalation")])  # fmt: skip
def test_a_bad_filter_is_a_400_naming_it(world, listed, params, field):
    response = api_client(world.users["city"]).get(reverse("api:problem-list"), params)
    assert response.status_code == 400
    assert response.json()[field]


def test_the_list_answers_overdue_days(world, listed):
    rows = {
        r["title"]: r
        for r in api_client(world.users["city"]).get(reverse("api:problem-list")).json()["results"]
    }
    assert rows["late"]["overdue_days"] == 3
    assert rows["closed"]["overdue_days"] == 0
    assert rows["top"]["escalation"] == "direct_line" and rows["top"]["escalation_name"] == "书记市长直通车"


# ---------------------------------------------------------------- creating: bad input writes nothing


@pytest.mark.parametrize(
    "change,field,words",
    [
        ({"due_date": "2000-01-01"}, "due_date", "办结时限 2000-01-01 早于今天"),
        ({"owner_unit": 999999}, "owner_unit", "推进主体：编号为 999999 的单位不存在"),
        ({"supporting_units": [999998]}, "supporting_units", "配合单位：编号为 999998 的单位不存在"),
        ({"supporting_units": "OWNER"}, "supporting_units", "与推进主体相同"),
        ({"owner_unit": None}, "owner_unit", "请选择推进主体"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(world, change, field, words):
    data = {
        "project": make_project(world).pk,
        "title": "施工用电未接入",
        "category": "utilities",
        "owner_unit": world.department.pk,
        "due_date": _future(),
        **change,
    }
    if data["supporting_units" if "supporting_units" in data else "title"] == "OWNER":
        data["supporting_units"] = [world.department.pk]
    before = (Problem.objects.count(), ProblemStep.objects.count())
    response = api_client(world.users["county"]).post(reverse("api:problem-list"), data, format="json")
    assert response.status_code == 400, response.json()
    assert words in " ".join(str(m) for m in response.json()[field])
    assert (Problem.objects.count(), ProblemStep.objects.count()) == before


# ---------------------------------------------------------------- the flow over the API


def _post(user, problem, action, body):
    name = action.replace("_", "-")
    return api_client(user).post(reverse(f"api:problem-{name}", args=[problem.pk]), body, format="json")


def test_the_owner_accepts_and_resolves(world):
    problem = make_problem(world)
    owner = world.users["department"]
    response = _post(owner, problem, "accept", {"version": problem.version, "comment": "已签收"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"]) == ("accepted", problem.version + 1)
    assert [s["action"] for s in body["steps"]] == ["report", "assign", "accept"]
    assert body["steps"][-1]["action_name"] == "签收" and body["steps"][-1]["comment"] == "已签收"
    response = _post(owner, problem, "resolve", {"version": body["version"], "comment": "已协调完毕"})
    assert response.json()["status"] == "resolved"


def test_a_step_the_status_does_not_allow_is_a_409_with_the_reason(world):
    problem = make_problem(world, status="closed")
    response = _post(world.users["department"], problem, "accept", {"version": problem.version})
    assert response.status_code == 409
    assert response.json()["detail"].startswith("问题当前为“已销号”，不能“签收”")
    for action in ("resolve", "verify"):
        response = _post(world.users["city"], problem, action, {"version": problem.version, "comment": "x"})
        assert response.status_code == 409 and "已销号" in response.json()["detail"]


def test_reasons_and_versions_are_required(world):
    problem = make_problem(world, status="in_progress")
    owner = world.users["department"]
    response = _post(owner, problem, "resolve", {"version": problem.version})
    assert response.status_code == 400 and "须填写理由" in response.json()["comment"][0]
    response = _post(owner, problem, "resolve", {"comment": "好了"})
    assert response.status_code == 400 and response.json()["version"]
    response = _post(owner, problem, "resolve", {"version": problem.version + 5, "comment": "好了"})
    assert response.status_code == 409 and "已被他人修改" in response.json()["detail"]
    assert Problem.objects.get(pk=problem.pk).status.code == "in_progress"


def test_who_may_act_is_the_flows_and_scope_hides_the_rest(world):
    problem = make_problem(world, status="resolved")
    assert (
        _post(world.users["department"], problem, "verify", {"version": problem.version}).status_code == 403
    )
    assert (
        _post(world.users["other_county"], problem, "verify", {"version": problem.version}).status_code == 404
    )
    assert _post(world.users["auditor"], problem, "verify", {"version": problem.version}).status_code == 403
    response = _post(
        world.users["county"], problem, "send_back", {"version": problem.version, "comment": "证明材料不全"}
    )
    assert response.status_code == 200 and response.json()["status"] == "in_progress"
    problem.refresh_from_db()
    response = _post(world.users["city"], problem, "reopen", {"version": problem.version, "comment": "x"})
    assert response.status_code == 409


def test_escalate_over_the_api(world):
    problem = make_problem(world)
    county = world.users["county"]
    assert _post(county, problem, "escalate", {"version": problem.version}).status_code == 400
    response = _post(county, problem, "escalate", {"version": problem.version, "reason": "县里协调不动"})
    assert response.status_code == 200 and response.json()["escalation"] == "department"
    top = make_problem(world, level="direct_line")
    response = _post(county, top, "escalate", {"version": top.version, "reason": "再上"})
    assert response.status_code == 409 and "最高层级" in response.json()["detail"]


def test_instruct_over_the_api(world):
    problem = make_problem(world, level="direct_line")
    leader = world.users["leader"]
    new_due = _future(12)
    body = {
        "version": problem.version,
        "instruction": "请市商务局牵头办结",
        "new_due_date": new_due,
        "new_owner_unit": world.other_department.pk,
    }
    assert _post(world.users["county"], problem, "instruct", body).status_code == 403
    bad = _post(leader, problem, "instruct", {**body, "new_owner_unit": 999999})
    assert bad.status_code == 400 and bad.json()["new_owner_unit"] == [
        "新推进主体：编号为 999999 的单位不存在"
    ]
    response = _post(leader, problem, "instruct", body)
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["due_date"], data["owner_unit"]) == (new_due, world.other_department.pk)
    assert data["steps"][-1]["action"] == "instruct" and data["steps"][-1]["comment"] == "请市商务局牵头办结"
    below = make_problem(world)
    response = _post(leader, below, "instruct", {"version": below.version, "instruction": "x"})
    assert response.status_code == 409 and "只有“书记市长直通车”上的问题可以批示" in response.json()["detail"]
