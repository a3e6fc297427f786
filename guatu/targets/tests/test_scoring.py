"""Scores, ranks and schemes: hand-built counties and projects with answers worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project
from guatu.org.models import Unit
from guatu.targets import scoring
from guatu.targets.models import SchemeItem, ScoringScheme, Target
from guatu.targets.periods import Period
from guatu.targets.selectors import target_for

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
NOV = Period.parse("2026-11")
OCT = Period.parse("2026-10")


def make_scheme(items, *, bonuses=(), year=2026, group="county") -> ScoringScheme:
    """A scheme straight into the database (any weights), newer than every other of its year."""
    latest = ScoringScheme.objects.filter(year=year, group=group).aggregate(v=Max("version"))["v"] or 0
    scheme = ScoringScheme.objects.create(
        year=year, group=group, version=latest + 1, name="测试方案", ranking_bonuses=list(bonuses)
    )
    for order, values in enumerate(items, start=1):
        SchemeItem.objects.create(scheme=scheme, order=order, **values)
    return scheme


def make_target(metric, value, *, period="2026-11", region=None, unit=None) -> Target:
    p = Period.parse(period)
    return Target.objects.create(
        metric=metric, region=region, unit=unit, period=str(p), period_kind=p.kind, start=p.start, end=p.end,
        value=Decimal(value),
    )  # fmt: skip


def projects(
    world,
    region,
    n,
    *,
    stage="started",
    planned_start=dt.date(2026, 11, 5),
    signed_on=dt.date(2025, 6, 1),
    **extra,
):
    """n projects of a region; started ones count as started on their planned day."""
    for _ in range(n):
        make_project(
            world, region=region, stage=stage, planned_start=planned_start, signed_on=signed_on, **extra
        )


def by_name(scores):
    return {s.name: s for s in scores}


def only_line(score):
    lines = [line for line in score.breakdown if line.kind != "bonus"]
    assert len(lines) == 1
    return lines[0]


@pytest.fixture
def shuangta(world):
    return world.counties["211302"]  # 双塔区


@pytest.fixture
def longcheng(world):
    return world.counties["211303"]  # 龙城区


@pytest.fixture
def chaoyang(world):
    return world.counties["211321"]  # 朝阳县


def test_weighted_item_uses_the_target_and_caps_the_ratio(world, shuangta, longcheng):
    projects(world, shuangta, 3)
    projects(world, longcheng, 1)
    make_target("started", 2, region=shuangta)
    make_target("started", 4, region=longcheng)
    capped = make_scheme([{"metric": "started", "kind": "weighted", "weight": 25, "ratio_cap": "1.20"}])
    scores = by_name(scoring.rank_units(scheme=capped, period=NOV, today=TODAY))
    line = only_line(scores["双塔区"])
    # 3 ÷ 2 = 150 %, counted as 120 %: 25 × 1.2
    assert (line.actual, line.target, line.points) == (Decimal(3), Decimal(2), Decimal("30.00"))
    assert "按 120%" in line.note
    assert only_line(scores["龙城区"]).points == Decimal("6.25")  # 25 × 1/4
    # Without a ratio cap the ratio counts up to 100 %.
    uncapped = make_scheme([{"metric": "started", "kind": "weighted", "weight": 25}])
    scores = by_name(scoring.rank_units(scheme=uncapped, period=NOV, today=TODAY))
    assert only_line(scores["双塔区"]).points == Decimal("25.00")


def test_count_item_is_capped(world, shuangta, longcheng):
    projects(world, shuangta, 3)
    projects(world, longcheng, 1)
    scheme = make_scheme([{"metric": "started", "kind": "count", "per": 5, "cap": 10}])
    scores = by_name(scoring.rank_units(scheme=scheme, period=NOV, today=TODAY))
    assert only_line(scores["双塔区"]).points == Decimal("10.00")  # 3 × 5 = 15, capped at 10
    assert only_line(scores["双塔区"]).note == "封顶 10 分"
    assert only_line(scores["龙城区"]).points == Decimal("5.00")
    assert only_line(scores["朝阳县"]).points == Decimal("0.00")


def test_deduction_is_floored(world, shuangta, longcheng):
    # Planned for 5 October, still in 前期 on 20 November: past the month's grace, not started.
    projects(world, shuangta, 2, stage="preparing", planned_start=dt.date(2026, 10, 5))
    projects(world, longcheng, 1, stage="preparing", planned_start=dt.date(2026, 10, 5))
    scheme = make_scheme([{"metric": "not_started_on_time", "kind": "deduction", "per": 3, "cap": 5}])
    scores = by_name(scoring.rank_units(scheme=scheme, period=OCT, today=TODAY))
    assert only_line(scores["双塔区"]).points == Decimal("-5.00")  # −3 × 2 = −6, at most −5
    assert only_line(scores["双塔区"]).note == "最多扣 5 分"
    assert only_line(scores["龙城区"]).points == Decimal("-3.00")
    assert only_line(scores["朝阳县"]).points == Decimal("0.00")
    assert str(only_line(scores["朝阳县"]).points) == "0.00"  # never "-0.00"


def test_count_metric_without_a_target_scores_nothing_and_says_why(world, shuangta, longcheng):
    projects(world, shuangta, 2, stage="signed", planned_start=None, signed_on=dt.date(2026, 11, 3))
    projects(world, longcheng, 2, stage="signed", planned_start=None, signed_on=dt.date(2026, 11, 3))
    make_target("signed", 4, region=longcheng)
    scheme = make_scheme([{"metric": "signed", "kind": "weighted", "weight": 15}])
    scores = by_name(scoring.rank_units(scheme=scheme, period=NOV, today=TODAY))
    line = only_line(scores["双塔区"])
    assert (line.actual, line.target, line.points, line.note) == (
        Decimal(2),
        None,
        Decimal("0.00"),
        "未下达目标",
    )
    assert only_line(scores["龙城区"]).points == Decimal("7.50")  # 15 × 2/4


def test_rate_without_a_target_is_judged_against_100(world, shuangta, longcheng):
    for region in (shuangta, longcheng):  # 4 due to start in November, 3 started
        projects(world, region, 3, planned_start=dt.date(2026, 11, 2))
        projects(world, region, 1, stage="preparing", planned_start=dt.date(2026, 11, 2))
    make_target("start_rate", 80, region=longcheng)
    scheme = make_scheme([{"metric": "start_rate", "kind": "weighted", "weight": 20}])
    scores = by_name(scoring.rank_units(scheme=scheme, period=NOV, today=TODAY))
    line = only_line(scores["双塔区"])
    assert (line.actual, line.target, line.points) == (Decimal("75.0"), Decimal(100), Decimal("15.00"))
    assert only_line(scores["龙城区"]).points == Decimal("18.75")  # 20 × 75/80
    # Nothing due to start: no rate to judge.
    assert only_line(scores["朝阳县"]).actual is None
    assert (only_line(scores["朝阳县"]).points, only_line(scores["朝阳县"]).note) == (
        Decimal("0.00"),
        "本期无数据",
    )


def test_ties_share_the_rank_and_its_bonus(world, shuangta, longcheng, chaoyang):
    projects(world, shuangta, 2)
    projects(world, longcheng, 2)
    projects(world, chaoyang, 1)
    scheme = make_scheme([{"metric": "started", "kind": "count", "per": 1}], bonuses=[7, 5, 3])
    scores = scoring.rank_units(scheme=scheme, period=NOV, today=TODAY)
    assert [(s.name, s.rank, s.items_total, s.bonus, s.score) for s in scores[:3]] == [
        ("龙城区", 1, Decimal("2.00"), Decimal("7.00"), Decimal("9.00")),  # tied: listed by name (pinyin)
        ("双塔区", 1, Decimal("2.00"), Decimal("7.00"), Decimal("9.00")),
        ("朝阳县", 3, Decimal("1.00"), Decimal("3.00"), Decimal("4.00")),  # rank 2 is skipped: bonus of 3rd
    ]
    assert [s.rank for s in scores] == [1, 1, 3, 4, 4, 4, 4]
    assert {s.bonus for s in scores[3:]} == {Decimal("0.00")}
    assert scores[2].breakdown[-1].note == "项目得分第 3 名"


def test_a_bonus_can_tie_the_final_scores(world, shuangta, longcheng):
    projects(world, shuangta, 3)
    projects(world, longcheng, 2)
    scheme = make_scheme([{"metric": "started", "kind": "count", "per": 2}], bonuses=[1, 3])
    scores = scoring.rank_units(scheme=scheme, period=NOV, today=TODAY)
    # 双塔 6 + 1 and 龙城 4 + 3: both 7, both first; the rest 0, third.
    assert [(s.name, s.rank, s.score) for s in scores[:3]] == [
        ("龙城区", 1, Decimal("7.00")),
        ("双塔区", 1, Decimal("7.00")),
        ("北票市", 3, Decimal("0.00")),
    ]


def test_breakdown_adds_up_to_the_score(world, shuangta, longcheng):
    projects(world, shuangta, 2, planned_start=dt.date(2026, 11, 2))  # 2 of 3 due started
    projects(world, shuangta, 1, stage="preparing", planned_start=dt.date(2026, 11, 2))
    projects(world, longcheng, 1, planned_start=dt.date(2026, 11, 2))
    projects(world, longcheng, 2, stage="preparing", planned_start=dt.date(2026, 10, 5))
    make_target("started", 3, region=shuangta, period="2026Q4")
    make_target("started", 3, region=longcheng, period="2026Q4")
    scheme = make_scheme(
        [
            {"metric": "start_rate", "kind": "weighted", "weight": 20},
            {"metric": "started", "kind": "weighted", "weight": 80},
            {"metric": "not_started_on_time", "kind": "deduction", "per": "1.5"},
        ],
        bonuses=["7.5", 5, 3],
    )
    scores = scoring.rank_units(scheme=scheme, period=Period.parse("2026Q4"), today=TODAY)
    for score in scores:
        assert sum(line.points for line in score.breakdown) == score.score
        assert score.items_total + score.bonus == score.score
        assert score.score.as_tuple().exponent == -2
        assert score.breakdown[-1].kind == "bonus"
    shuangta_score = by_name(scores)["双塔区"]
    # start rate 66.7 % × 20 = 13.34; started 2 of 3 × 80 = 53.33; first: +7.5
    assert [line.points for line in shuangta_score.breakdown] == [
        Decimal("13.34"), Decimal("53.33"), Decimal("0.00"), Decimal("7.50"),
    ]  # fmt: skip
    assert shuangta_score.score == Decimal("74.17")
    # 龙城: 1 of 3 due started = 33.3 % × 20 = 6.66; 1 of 3 × 80 = 26.67; 2 not started: −3; second: +5
    assert by_name(scores)["龙城区"].score == Decimal("35.33")


def test_movement_since_the_previous_month(world, shuangta, longcheng):
    projects(world, longcheng, 2, planned_start=dt.date(2026, 10, 10))
    projects(world, shuangta, 2, planned_start=dt.date(2026, 11, 10))
    make_scheme([{"metric": "started", "kind": "count", "per": 1}])
    scheme, scores = scoring.ranking_for(user=world.users["leader"], period="2026-11", today=TODAY)
    assert scheme is not None
    moves = {s.name: (s.rank, s.movement) for s in scores}
    assert moves["双塔区"] == (1, 1)  # 2nd in October, 1st now
    assert moves["龙城区"] == (2, -1)  # 1st in October, 2nd now
    assert moves["朝阳县"] == (2, 0)
    # January's previous month is in a year without a scheme: no movement to show.
    make_scheme([{"metric": "started", "kind": "count", "per": 1}], year=2030)
    _, january = scoring.ranking_for(user=world.users["leader"], period="2030-01", today=TODAY)
    assert january and {s.movement for s in january} == {None}


def test_bottom_three_and_the_leader(world):
    zone = Unit.objects.create(name="柳城经济开发区", kind=Unit.Kind.ZONE, region=world.city)
    units = scoring.ranked_units("county")
    assert len(units) == 8 and units[-1].unit == zone
    # One project started in each unit; targets 1…8, so scores 25/1, 25/2, … 25/8 in that order.
    for value, ranked in enumerate(units, start=1):
        if ranked.region is not None:
            projects(world, ranked.region, 1)
            make_target("started", value, region=ranked.region)
        else:
            projects(world, world.city, 1, departments=[zone])
            make_target("started", value, unit=zone)
    scheme = make_scheme([{"metric": "started", "kind": "weighted", "weight": 25}])
    scores = scoring.rank_units(scheme=scheme, period=NOV, today=TODAY)
    assert [s.key for s in scores] == [u.key for u in units]
    assert [s.rank for s in scores] == list(range(1, 9))
    assert [s.name for s in scores if s.is_leader] == [units[0].name]
    assert [s.key for s in scores if s.is_bottom] == [u.key for u in units[5:]]
    assert scores[-1].key == f"unit:{zone.pk}" and scores[-1].score == Decimal("3.13")  # 25/8


def test_tie_across_the_bottom_line_and_small_groups_flag_nobody(world, shuangta):
    projects(world, shuangta, 1)  # 双塔 first, the other six tied second: no clear last three
    scheme = make_scheme([{"metric": "started", "kind": "count", "per": 1}])
    scores = scoring.rank_units(scheme=scheme, period=NOV, today=TODAY)
    assert [s.rank for s in scores] == [1, 2, 2, 2, 2, 2, 2]
    assert not any(s.is_bottom for s in scores)
    departments = make_scheme([{"metric": "started", "kind": "count", "per": 1}], group="department")
    scores = scoring.rank_units(scheme=departments, period=NOV, today=TODAY)
    assert len(scores) == 2 and not any(s.is_bottom for s in scores)


def test_department_scores_count_the_projects_they_handle(world, shuangta, longcheng):
    projects(world, shuangta, 2, departments=[world.department])
    projects(world, longcheng, 1, departments=[world.other_department])
    scheme = make_scheme([{"metric": "started", "kind": "count", "per": 1}], group="department")
    scores = scoring.rank_units(scheme=scheme, period=NOV, today=TODAY)
    assert [(s.name, s.score, s.key) for s in scores] == [
        ("市发展和改革委员会", Decimal("2.00"), f"unit:{world.department.pk}"),
        ("市商务局", Decimal("1.00"), f"unit:{world.other_department.pk}"),
    ]


def test_the_highest_active_version_of_the_year_scores(world):
    old = make_scheme([{"metric": "started", "kind": "count", "per": 1}])
    newer = make_scheme([{"metric": "started", "kind": "count", "per": 2}])
    assert scoring.scheme_for(period=NOV) == newer
    newer.is_active = False
    newer.save()
    assert scoring.scheme_for(period=NOV) == old
    assert scoring.scheme_for(period=NOV, group="department") is None


def test_rankings_only_for_those_who_may_read_schemes(world):
    make_scheme([{"metric": "started", "kind": "count", "per": 1}])
    assert scoring.ranking_for(user=world.users["county"], period=NOV, today=TODAY)[1]
    for role in ("auditor", "sysadmin", "secadmin"):
        assert scoring.ranking_for(user=world.users[role], period=NOV, today=TODAY) == (None, [])


def test_bulk_targets_agree_with_target_for(world, shuangta):
    zone = Unit.objects.create(name="柳城经济开发区", kind=Unit.Kind.ZONE, region=world.city)
    make_target("started", 2, region=shuangta)
    make_target("started", 9, region=shuangta, period="2026Q4")  # another period: not this one's
    make_target("signed", 5, unit=zone)
    units = scoring.ranked_units("county")
    found = scoring._targets(NOV, ["started", "signed"], units)
    for unit in units:
        for metric in ("started", "signed"):
            expected = target_for(metric=metric, period=NOV, region=unit.region, unit=unit.unit)
            assert scoring._target_of(found, metric, unit) == (expected.value if expected else None)


# --- scheme writes

ITEMS = [
    {
        "metric": "plan_completion_rate",
        "label": "计划完成率",
        "kind": "weighted",
        "weight": 40,
        "ratio_cap": "1.2",
    },
    {"metric": "started", "label": "新开工", "kind": "weighted", "weight": 25, "ratio_cap": "1.2"},
    {"metric": "signed", "label": "新签约", "kind": "weighted", "weight": 15},
    {"metric": "start_rate", "label": "开工率", "kind": "weighted", "weight": 20},
    {"metric": "not_started_on_time", "label": "未按期开工", "kind": "deduction", "per": 3, "cap": 15},
]


def _counts():
    return ScoringScheme.objects.count(), SchemeItem.objects.count(), ChangeRecord.objects.count()


def test_weights_not_adding_up_to_100_are_refused_and_nothing_is_written(world):
    items = [dict(item) for item in ITEMS]
    items[3]["weight"] = 15  # 40 + 25 + 15 + 15 = 95
    before = _counts()
    with pytest.raises(ValidationError) as err:
        scoring.scheme_create(
            actor=world.users["city"], year=2027, group="county", data={"name": "2027年考核"}, items=items
        )
    assert err.value.message_dict["items"] == ["权重合计为 95，应为 100"]
    assert _counts() == before
    base = make_scheme(ITEMS, year=2027)
    before = _counts()
    with pytest.raises(ValidationError, match="权重合计为 95，应为 100"):
        scoring.scheme_new_version(actor=world.users["city"], scheme_id=base.pk, items=items)
    assert _counts() == before


def test_each_bad_item_is_named(world):
    items = [dict(item) for item in ITEMS]
    items[0]["metric"] = "no_such_metric"
    items[1]["ratio_cap"] = "0.8"
    items[4]["cap"] = -1
    before = _counts()
    with pytest.raises(ValidationError) as err:
        scoring.scheme_create(
            actor=world.users["city"], year=2027, group="county", data={"name": "x"}, items=items
        )
    messages = err.value.message_dict["items"]
    assert messages[0].startswith("第 1 项“计划完成率”：未知指标：no_such_metric")
    assert "第 2 项“新开工”：完成率上限须不小于 1（现为 0.8）" in messages
    assert "第 5 项“未按期开工”：封顶分须不小于 0（现为 -1）" in messages
    assert _counts() == before


def test_create_then_new_version_keeps_history_and_logs_every_row(world):
    city = world.users["city"]
    first = scoring.scheme_create(
        actor=city,
        year=2027,
        group="county",
        data={"name": "2027年考核", "ranking_bonuses": "7，5，3"},
        items=ITEMS,
    )
    assert (first.version, first.ranking_bonuses, first.items.count()) == (1, [7, 5, 3], 5)
    assert ChangeRecord.objects.filter(actor=city, action="create").count() == 6  # the scheme and 5 items
    items = [dict(item) for item in ITEMS]
    items[0]["weight"], items[1]["weight"] = 35, 30
    second = scoring.scheme_new_version(
        actor=city, scheme_id=first.pk, data={"note": "新开工加权"}, items=items
    )
    assert (second.version, second.name, second.note) == (2, "2027年考核", "新开工加权")
    assert [i.weight for i in second.items.order_by("order")][:2] == [Decimal(35), Decimal(30)]
    assert [i.weight for i in first.items.order_by("order")][:2] == [Decimal(40), Decimal(25)]  # untouched
    assert scoring.scheme_for(period=Period.parse("2027-03")) == second
    with pytest.raises(ValidationError, match="已有考核方案"):
        scoring.scheme_create(actor=city, year=2027, group="county", data={"name": "again"}, items=ITEMS)


def test_new_version_from_an_old_version_is_a_conflict(world):
    first = make_scheme(ITEMS, year=2027)
    scoring.scheme_new_version(actor=world.users["city"], scheme_id=first.pk)
    before = _counts()
    with pytest.raises(Conflict, match="已有更新的版本 v2"):
        scoring.scheme_new_version(actor=world.users["city"], scheme_id=first.pk, data={"note": "stale"})
    assert _counts() == before


def test_only_the_project_office_writes_schemes(world):
    before = _counts()
    for role in ("leader", "county", "department", "auditor"):
        with pytest.raises(PermissionDenied):
            scoring.scheme_create(
                actor=world.users[role], year=2027, group="county", data={"name": "x"}, items=ITEMS
            )
    assert _counts() == before
