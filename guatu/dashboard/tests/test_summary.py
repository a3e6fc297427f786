import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guatu.core.testing import make_project
from guatu.core.testing_api import api_client
from guatu.dashboard.selectors import DashboardFilter, summary
from guatu.dashboard.tests.conftest import TODAY, light, report
from guatu.org.models import Chain
from guatu.problems.tests.problem_helpers import make_problem
from guatu.targets.metrics import actual, scope_projects
from guatu.targets.models import QuarterPhase, Target
from guatu.targets.periods import Period

pytestmark = pytest.mark.django_db

URL = reverse("api:dashboard-summary")
Q2 = DashboardFilter(year=2026, quarter=2)


def by_code(result):
    return {row["code"]: row for row in result["divisions"]}


def test_divisions_and_total_from_hand_built_data(world, data):
    result = summary(user=world.users["city"], flt=Q2, today=TODAY)
    st, lc = by_code(result)["211302"], by_code(result)["211303"]
    assert (st["projects"], st["total_investment"], st["annual_plan"]) == (
        3,
        Decimal("15000"),
        Decimal("2800"),
    )
    assert st["investment_done"] == Decimal("550.00")  # 300 + 200 + 50; the draft and January left out
    assert (st["red"], st["yellow"], st["green"]) == (1, 1, 1)
    assert (lc["projects"], lc["red"], lc["investment_done"]) == (1, 1, Decimal("400.00"))
    total = result["total"]
    assert total["projects"] == 4 and total["total_investment"] == Decimal("22000")
    assert total["investment_done"] == Decimal("950.00") and total["red"] == 2
    # 开工率: a and b planned to start in the quarter; a has started (its stage), b has not.
    assert (st["planned_starts"], st["started"], st["start_rate"]) == (2, 1, Decimal("50.0"))
    stages = {s["code"]: s["count"] for s in result["stages"]}
    assert stages["started"] == 2 and sum(stages.values()) == 4
    assert [r["warning"].project for r in result["red"]] == [data["a"], data["d"]]
    assert result["red"][1]["reasons"] and "工程进度滞后" in result["red"][1]["reasons"][0]


def test_investment_equals_the_metric(world, data):
    result = summary(user=world.users["city"], flt=Q2, today=TODAY)
    period = Period.parse("2026Q2")
    for code, region in (("211302", data["shuangta"]), ("211303", data["longcheng"])):
        metric = actual("investment_done", scope_projects(region=region), period, TODAY)
        assert by_code(result)[code]["investment_done"] == metric
        rate = actual("plan_completion_rate", scope_projects(region=region), period, TODAY)
        assert by_code(result)[code]["plan_completion"] == rate


def test_figures_equal_the_project_api_list_page_and_warnings_api(world, data, client):
    city = world.users["city"]
    api = api_client(city)
    client.force_login(city)
    flt = DashboardFilter(year=2026, quarter=2, kind="industry")
    result = summary(user=city, flt=flt, today=TODAY)
    for code, row in by_code(result).items():
        listed = api.get("/api/projects/", {"region": code, "kind": "industry"}).json()
        assert listed["count"] == row["projects"]
        total = sum(Decimal(p["total_investment"]) for p in listed["results"])
        assert total == row["total_investment"]
        page = client.get(reverse("projects:project_list"), {"region": code, "kind": "industry"})
        assert f"共 {row['projects']} 条" in page.content.decode()
    for code, row in by_code(summary(user=city, flt=Q2, today=TODAY)).items():
        for level in ("red", "yellow", "green"):
            lights = api.get("/api/warnings/", {"region": code, "level": level}).json()
            assert lights["count"] == row[level], (code, level)
    assert by_code(result)["211302"]["projects"] == 2  # the road is infrastructure


def test_api_returns_the_same_numbers(world, data, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: TODAY)
    body = api_client(world.users["city"]).get(URL, {"year": 2026, "quarter": 2}).json()
    assert body["period"]["code"] == "2026Q2"
    assert body["filters"]["quarter"] == 2
    assert body["total"]["projects"] == 4 and Decimal(body["total"]["investment_done"]) == Decimal("950")
    divisions = {d["code"]: d for d in body["divisions"]}
    assert divisions["211302"]["projects"] == 3 and divisions["211302"]["red"] == 1
    assert divisions["211303"]["name"]
    assert {r["name"] for r in body["red"]} == {"风电甲", "园区丁"}
    for key in ("stages", "targets", "ranking", "attraction", "overdue_problems", "direct_line"):
        assert key in body


def test_county_sees_its_own_division_and_totals(world, data):
    result = summary(user=world.users["county"], flt=Q2, today=TODAY)
    assert [row["code"] for row in result["divisions"]] == ["211302"]
    own = result["divisions"][0]
    assert result["total"]["projects"] == own["projects"] == 3
    assert result["total"]["investment_done"] == own["investment_done"] == Decimal("550.00")
    assert result["total"]["red"] == 1
    assert [r["warning"].project for r in result["red"]] == [data["a"]]
    body = api_client(world.users["other_county"]).get(URL, {"year": 2026, "quarter": 2}).json()
    assert [d["code"] for d in body["divisions"]] == ["211303"]
    assert body["total"]["projects"] == 1


@pytest.mark.parametrize("role", ["sysadmin", "secadmin", "auditor"])
def test_admins_get_403(world, role):
    assert api_client(world.users[role]).get(URL).status_code == 403


def test_anonymous_is_refused(world):
    assert api_client(None).get(URL).status_code in (401, 403)


@pytest.mark.parametrize(
    ("params", "field", "word"),
    [
        ({"year": "二〇二六"}, "year", "年度"),
        ({"year": "1900"}, "year", "年份"),
        ({"quarter": "5"}, "quarter", "季度"),
        ({"month": "13"}, "month", "月份"),
        ({"quarter": "1", "month": "5"}, "month", "季度"),
        ({"chain": "99999"}, "chain", "产业链"),
        ({"kind": "farm"}, "kind", "项目类型"),
    ],
)
def test_bad_filters_give_400_in_chinese(world, params, field, word):
    response = api_client(world.users["city"]).get(URL, params)
    assert response.status_code == 400
    message = " ".join(response.json()[field])
    assert word in message


def test_filter_parses_period_chain_and_kind(world):
    chain = Chain.objects.first()
    flt = DashboardFilter.from_params(
        {"year": "2026", "month": "5", "chain": str(chain.pk), "kind": "industry"}
    )
    assert str(flt.period) == str(Period.parse("2026-05")) and flt.chain == chain
    assert str(DashboardFilter.from_params({}, today=TODAY).period) == "2026"
    with pytest.raises(ValidationError):
        DashboardFilter.from_params({"quarter": "0x"})


def test_chain_filter_narrows_the_projects(world, data):
    other = Chain.objects.create(name="装备制造", order=2)
    make_project(world, name="装备戊", chain=other, total_investment=Decimal("8000"))
    result = summary(user=world.users["city"], flt=DashboardFilter(year=2026, chain=other), today=TODAY)
    assert result["total"]["projects"] == 1 and result["total"]["total_investment"] == Decimal("8000")
    assert result["red"] == [] and by_code(result)["211302"]["projects"] == 1


def test_overdue_problems_and_direct_line(world, data):
    late = make_problem(world, project=data["a"], due_date=dt.date(2026, 5, 1))
    later = make_problem(world, project=data["d"], due_date=dt.date(2026, 6, 1), level="direct_line")
    make_problem(world, project=data["b"], due_date=dt.date(2026, 7, 1))  # not yet due
    result = summary(user=world.users["city"], flt=Q2, today=TODAY)
    assert [r["problem"] for r in result["overdue_problems"]] == [late, later]
    assert result["overdue_problems"][0]["overdue_days"] == 45
    assert [row.problem for row in result["direct_line"]] == [later]
    assert result["direct_line_count"] == 1
    county = summary(user=world.users["county"], flt=Q2, today=TODAY)
    assert [r["problem"] for r in county["overdue_problems"]] == [late]


def _spread(world, n):
    regions = list(world.counties.values())
    for i in range(n):
        project = make_project(world, region=regions[i % len(regions)], stage="started",
                               planned_start=dt.date(2026, 4, 1 + i % 28))  # fmt: skip
        report(project, dt.date(2026, 4, 1), "10")
        light(project, ("red", "yellow", "green")[i % 3])
        make_problem(world, project=project, due_date=dt.date(2026, 5, 1), level="direct_line")


def test_query_count_does_not_grow_with_projects(world, django_assert_max_num_queries):
    user = world.users["city"]
    _spread(world, 3)
    summary(user=user, flt=Q2, today=TODAY)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        summary(user=user, flt=Q2, today=TODAY)
    _spread(world, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        result = summary(user=user, flt=Q2, today=TODAY)
    assert result["total"]["projects"] == 33
    # The 直通车 card: the ten waiting longest, and how many wait in all.
    assert result["direct_line_count"] == 33 and len(result["direct_line"]) == 10


def make_target(metric, value, *, period, region):
    p = Period.parse(period)
    return Target.objects.create(
        metric=metric, region=region, period=str(p), period_kind=p.kind, start=p.start, end=p.end,
        value=Decimal(value),
    )  # fmt: skip


def test_targets_of_the_period_city_and_own_with_the_phase(world, data):
    city_target = make_target("investment_done", "2000", period="2026Q2", region=world.city)
    own = make_target("investment_done", "1000", period="2026Q2", region=data["shuangta"])
    other = make_target("investment_done", "800", period="2026Q2", region=data["longcheng"])
    make_target("investment_done", "9000", period="2026", region=world.city)  # another period
    result = summary(user=world.users["county"], flt=Q2, today=TODAY)
    rows = {row.target: row for row in result["targets"]}
    assert set(rows) == {city_target, own}
    assert rows[city_target].actual == Decimal("950.00") and rows[own].actual == Decimal("550.00")
    assert result["period"]["phase"]["name"] == QuarterPhase.objects.get(quarter=2).name
    city = summary(user=world.users["city"], flt=Q2, today=TODAY)
    assert {row.target for row in city["targets"]} == {city_target}
    assert other not in {row.target for row in city["targets"]}
