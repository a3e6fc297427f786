"""The 擂台 over HTTP: the rankings API and the ranking and scheme pages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Max
from django.urls import reverse

from guatu.core.testing import make_project
from guatu.core.testing_api import api_client
from guatu.org.models import Unit
from guatu.targets.models import SchemeItem, ScoringScheme, Target
from guatu.targets.periods import Period

pytestmark = pytest.mark.django_db

URL = "/api/rankings/"
# The seeded default scheme's items (migration 0002): 7 metric queries per unit and period.
DEFAULT_ITEMS = [
    {
        "metric": "plan_completion_rate",
        "label": "计划完成率",
        "kind": "weighted",
        "weight": 40,
        "ratio_cap": "1.2",
    },
    {"metric": "started", "label": "新开工项目", "kind": "weighted", "weight": 25, "ratio_cap": "1.2"},
    {"metric": "signed", "label": "新签约项目", "kind": "weighted", "weight": 15, "ratio_cap": "1.2"},
    {"metric": "start_rate", "label": "开工率", "kind": "weighted", "weight": 20, "ratio_cap": "1"},
    {"metric": "not_started_on_time", "label": "未按期开工", "kind": "deduction", "per": 3, "cap": 15},
]


def make_scheme(items, *, bonuses=(), year=2026, group="county", name="擂台测试方案") -> ScoringScheme:
    latest = ScoringScheme.objects.filter(year=year, group=group).aggregate(v=Max("version"))["v"] or 0
    scheme = ScoringScheme.objects.create(
        year=year, group=group, version=latest + 1, name=name, ranking_bonuses=list(bonuses)
    )
    for order, values in enumerate(items, start=1):
        SchemeItem.objects.create(scheme=scheme, order=order, **values)
    return scheme


def make_target(metric, value, *, period, region=None, unit=None) -> Target:
    p = Period.parse(period)
    return Target.objects.create(
        metric=metric, region=region, unit=unit, period=str(p), period_kind=p.kind, start=p.start, end=p.end,
        value=Decimal(value),
    )  # fmt: skip


def started(world, region, n, day, **extra):
    for _ in range(n):
        make_project(
            world, region=region, stage="started", planned_start=day, signed_on=dt.date(2025, 6, 1), **extra
        )


@pytest.fixture
def q1(world):
    """First quarter 2026 (long past, so "today" changes nothing): 双塔 3 starts against a target of
    2 (capped at 120 %), 龙城 1 of 4; 龙城 also has one project planned for 10 January and not started."""
    shuangta, longcheng = world.counties["211302"], world.counties["211303"]
    started(world, shuangta, 3, dt.date(2026, 2, 10))
    started(world, longcheng, 1, dt.date(2026, 2, 10))
    make_project(world, region=longcheng, stage="preparing", planned_start=dt.date(2026, 1, 10))
    make_target("started", 2, period="2026Q1", region=shuangta)
    make_target("started", 4, period="2026Q1", region=longcheng)
    items = [
        {"metric": "started", "label": "新开工", "kind": "weighted", "weight": 60, "ratio_cap": "1.2"},
        {"metric": "start_rate", "label": "开工率", "kind": "weighted", "weight": 40},
        {"metric": "not_started_on_time", "label": "未按期开工", "kind": "deduction", "per": 3, "cap": 15},
    ]
    return make_scheme(items, bonuses=[7, 5, 3])


def test_api_answers_units_with_score_rank_and_breakdown(world, q1):
    response = api_client(world.users["county"]).get(URL, {"period": "2026Q1"})
    assert response.status_code == 200
    body = response.json()
    assert (body["period"], body["period_label"], body["group"]) == ("2026Q1", "2026年第一季度", "county")
    assert body["scheme"]["id"] == q1.pk and body["scheme"]["ranking_bonuses"] == [7, 5, 3]
    results = body["results"]
    assert len(results) == 7  # the seven county-level divisions (the test world has no zone)
    first = results[0]
    assert set(first) == {
        "key", "name", "region", "unit", "rank", "score", "items_total", "bonus", "movement", "is_leader",
        "is_bottom", "breakdown",
    }  # fmt: skip
    # 双塔: started 3 ÷ 2 → 120 % × 60 = 72; start rate 100 % × 40 = 40; first: +7.
    assert (first["key"], first["name"], first["region"], first["rank"]) == ("211302", "双塔区", "211302", 1)
    assert (first["score"], first["items_total"], first["bonus"]) == ("119.00", "112.00", "7.00")
    assert first["is_leader"] and first["movement"] is None  # no scheme for 2025: nothing to compare
    assert [
        (line["label"], line["actual"], line["target"], line["points"]) for line in first["breakdown"]
    ] == [
        ("新开工", "3.00", "2.00", "72.00"),
        ("开工率", "100.00", "100.00", "40.00"),
        ("未按期开工", "0.00", None, "0.00"),
        ("名次加分", None, None, "7.00"),
    ]
    assert [line["measure"] for line in first["breakdown"]] == ["个", "%", "个", ""]
    assert first["breakdown"][0]["kind"] == "weighted" and first["breakdown"][-1]["kind"] == "bonus"
    # 龙城: 1 ÷ 4 × 60 = 15; 1 of 2 due started: 50 % × 40 = 20; one not on time: −3; second: +5.
    second = results[1]
    assert (second["name"], second["rank"], second["score"]) == ("龙城区", 2, "37.00")
    for unit in results:
        assert sum(Decimal(line["points"]) for line in unit["breakdown"]) == Decimal(unit["score"])
    assert [u["rank"] for u in results] == [1, 2, 3, 3, 3, 3, 3]
    assert not any(u["is_bottom"] for u in results)  # five tied third: no clear last three


def test_api_refuses_bad_input_in_chinese(world, q1):
    client = api_client(world.users["city"])
    response = client.get(URL, {"period": "2026Q5"})
    assert response.status_code == 400
    assert response.json()["period"] == ["期间“2026Q5”有误：季度须为 1–4"]
    response = client.get(URL, {"period": "2026Q1", "group": "province"})
    assert response.status_code == 400
    assert "考核对象“province”有误" in response.json()["group"][0]


def test_api_is_for_business_roles_only(world, q1):
    assert api_client(None).get(URL, {"period": "2026Q1"}).status_code == 401
    client = None
    for role in ("sysadmin", "secadmin", "auditor"):
        client = api_client(world.users[role], client)
        assert client.get(URL, {"period": "2026Q1"}).status_code == 403, role
    for role in ("city", "leader", "county", "department", "enterprise", "steward"):
        client = api_client(world.users[role], client)
        response = client.get(URL, {"period": "2026Q1"})
        assert response.status_code == 200 and len(response.json()["results"]) == 7, role


def test_api_without_a_scheme_answers_empty(world):
    response = api_client(world.users["leader"]).get(URL, {"period": "2031-05", "group": "department"})
    assert response.status_code == 200
    assert (response.json()["scheme"], response.json()["results"]) == (None, [])


def test_api_query_count_is_bounded(world, django_assert_max_num_queries):
    """8 units (7 counties and a zone), the default scheme's five items, a month (so last month is
    ranked too, for movement), several projects per unit.

    Per ranking: the items, the counties, the zones and all targets (4 queries) + per unit 7 metric
    queries (计划完成率 2: investment done and the annual plan; 开工率 2: due and started; 新开工,
    新签约, 未按期开工 1 each) = 4 + 8 × 7 = 60. Two rankings (this month and last) = 120, plus finding
    each month's scheme (2) and the token (1): exactly 123. The count grows with units × items (the
    metric catalogue reads one scope at a time), never with projects or targets."""
    zone = Unit.objects.create(name="柳城经济开发区", kind=Unit.Kind.ZONE, region=world.city)
    for n, region in enumerate(world.counties.values(), start=1):
        started(world, region, n % 3 + 1, dt.date(2026, 3, 5))
        make_target("started", 2, period="2026-03", region=region)
    started(world, world.city, 2, dt.date(2026, 2, 5), departments=[zone])
    make_target("started", 1, period="2026-03", unit=zone)
    make_scheme(DEFAULT_ITEMS, bonuses=[7, 5, 3])
    client = api_client(world.users["city"])
    with django_assert_max_num_queries(123):
        response = client.get(URL, {"period": "2026-03"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 8
    assert {u["movement"] is not None for u in results} == {True}
    assert [u["is_bottom"] for u in results].count(True) >= 1


# --- pages


@pytest.fixture
def march(world):
    """March 2026 against February: 龙城 led February (2 starts), 双塔 leads March (3 starts)."""
    shuangta, longcheng, chaoyang, jianping = (
        world.counties[c] for c in ("211302", "211303", "211321", "211322")
    )
    started(world, longcheng, 2, dt.date(2026, 2, 10))
    started(world, shuangta, 3, dt.date(2026, 3, 10))
    started(world, chaoyang, 2, dt.date(2026, 3, 10))
    started(world, jianping, 1, dt.date(2026, 3, 10))
    return make_scheme(
        [{"metric": "started", "label": "新开工", "kind": "count", "per": 2}], bonuses=[3, 2, 1]
    )


def test_ranking_page_shows_leader_movement_bottom_three_and_breakdown(client, world, march):
    client.force_login(world.users["county"])
    response = client.get(reverse("targets:ranking"), {"period": "2026-03", "group": "county"})
    assert response.status_code == 200
    html = response.content.decode()
    rows = response.context["rows"]
    assert [(r["score"].name, r["score"].rank, str(r["score"].score)) for r in rows[:4]] == [
        ("双塔区", 1, "9.00"),  # 3 × 2 + 3
        ("朝阳县", 2, "6.00"),  # 2 × 2 + 2
        ("建平县", 3, "3.00"),  # 1 × 2 + 1
        ("北票市", 4, "0.00"),
    ]
    movement = {r["score"].name: r["movement"][0] for r in rows}
    # February: 龙城 1st, the other six 2nd. March: 龙城 tied 4th.
    assert (movement["双塔区"], movement["朝阳县"], movement["龙城区"], movement["北票市"]) == (
        "▲1",
        "—",
        "▼3",
        "▼2",
    )
    assert "擂主" in html and "后三位" in html and "▲1" in html
    flagged = [r["score"].name for r in rows if r["score"].is_bottom]
    assert flagged == []  # four tied at 4th reach across the last three places
    assert "新开工" in html and "名次加分" in html  # the breakdown lines
    assert 'id="ranking-data"' in html and "vendor/echarts/echarts.min.js" in html
    assert "擂台测试方案" in html


def test_ranking_page_flags_the_bottom_three(client, world):
    for n, region in enumerate(world.counties.values()):
        started(world, region, 7 - n, dt.date(2026, 3, 10))  # 7, 6, … 1: no ties
    make_scheme([{"metric": "started", "kind": "count", "per": 1}])
    client.force_login(world.users["department"])
    response = client.get(reverse("targets:ranking"), {"period": "2026-03"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r["score"].name for r in rows if r["score"].is_bottom] == [
        "喀喇沁左翼蒙古族自治县",
        "北票市",
        "凌源市",
    ]
    assert response.content.decode().count('class="table-danger"') == 3


def test_ranking_page_defaults_to_this_month_and_refuses_a_bad_period(client, world, march):
    client.force_login(world.users["leader"])
    response = client.get(reverse("targets:ranking"))
    assert response.status_code == 200
    assert response.context["period"].kind == "month" and response.context["group"] == "county"
    response = client.get(reverse("targets:ranking"), {"period": "2026-13"})
    assert response.status_code == 400
    assert "期间“2026-13”有误：月份须为 1–12" in response.content.decode()


def test_pages_closed_to_the_three_administrators(client, world, march):
    for role in ("auditor", "sysadmin"):
        client.force_login(world.users[role])
        assert client.get(reverse("targets:ranking")).status_code == 403
        assert client.get(reverse("targets:scheme_list")).status_code == 403
        assert client.get(reverse("targets:scheme_detail", args=[march.pk])).status_code == 403


def test_scheme_pages_show_items_weights_note_and_versions(client, world):
    first = make_scheme(DEFAULT_ITEMS, bonuses=[7, 5, 3], year=2027, name="2027年县区考核")
    first.note = "计划完成率40、新开工25"
    first.save()
    second = make_scheme(DEFAULT_ITEMS, bonuses=[7, 5, 3], year=2027, name="2027年县区考核（修订）")
    client.force_login(world.users["county"])
    response = client.get(reverse("targets:scheme_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "2027年县区考核（修订）" in html and "计分中" in html
    response = client.get(reverse("targets:scheme_detail", args=[first.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "计划完成率40、新开工25" in html and "已被新版本取代" in html
    assert response.context["weight_total"] == Decimal(100)
    assert [v.pk for v in response.context["versions"]] == [second.pk, first.pk]
    assert "120%" in html and "−3" in html  # ratio cap of 新开工; 3 points off per late start
    assert client.get(reverse("targets:scheme_detail", args=[999999])).status_code == 404
