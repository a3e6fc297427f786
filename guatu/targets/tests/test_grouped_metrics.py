"""Grouped metrics: every metric computed for all ranked units at once must equal the metric
computed unit by unit, and a ranking must cost the same number of queries however many units."""

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from guatu.attraction import services as attraction
from guatu.attraction.tests.leads_helpers import make_lead
from guatu.org.models import Region, Unit
from guatu.problems.models import EscalationLevel, Problem, ProblemStatus
from guatu.targets.metrics import METRICS, Scope, actual, actuals, scope_projects
from guatu.targets.models import SchemeItem, ScoringScheme, Target
from guatu.targets.periods import Period
from guatu.targets.scoring import rank_units, ranked_units
from guatu.targets.tests.helpers import entered, milestone, project, report

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 20)
# A year, quarters and months, wholly past and still running on TODAY.
PERIODS = ("2026", "2026Q1", "2026Q2", "2026-03", "2026-05")
STAGE_CODES = (
    "planning",
    "signed",
    "preparing",
    "started",
    "under_construction",
    "completed",
    "in_production",
    "at_capacity",
)
ORDER = {code: n for n, code in enumerate(STAGE_CODES)}
# A ranking with every metric costs, per metric, a few rollup reads (the divisions of the ranked
# regions, then one query per kind of unit for each whole-month sum and each cut at today), plus 4
# for the scheme's items, the counties, the zones and the targets: at most 6 per metric.
MOST_QUERIES = 4 + 6 * len(METRICS)


def day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def at(d: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(d.year, d.month, d.day, hour))


@pytest.fixture
def rich(world):
    """Seeded random facts over every county, two zones and three departments: projects in every
    stage with plans, milestones, stage history, reports of every status and shared departments;
    leads signed (one dropped) with funds; problems overdue, closed in time and closed late."""
    rng = random.Random(20261127)
    counties = list(world.counties.values())
    third = Unit.objects.create(name="市工业和信息化局", kind=Unit.Kind.DEPARTMENT, region=world.city)
    zones = [
        Unit.objects.create(name="朝阳经济技术开发区", kind=Unit.Kind.ZONE, region=counties[0]),
        Unit.objects.create(name="龙城经济开发区", kind=Unit.Kind.ZONE, region=counties[1]),
    ]
    owners = [world.department, world.other_department, third, *zones]
    statuses = ("submitted", "approved", "draft", "returned")
    projects = []
    for n in range(56):
        stage = STAGE_CODES[n % len(STAGE_CODES)] if n < 16 else rng.choice(STAGE_CODES)
        planned_start = day(rng, dt.date(2025, 11, 1), dt.date(2026, 7, 31)) if rng.random() < 0.85 else None
        p = project(
            world,
            region=counties[n % len(counties)],
            stage=stage,
            signed_on=day(rng, dt.date(2025, 10, 1), dt.date(2026, 6, 30)) if rng.random() < 0.7 else None,
            planned_start=planned_start,
            planned_completion=(
                planned_start + dt.timedelta(days=rng.randint(60, 300))
                if planned_start and rng.random() < 0.8
                else None
            ),
            annual_planned_investment=Decimal(rng.choice((0, 1200, 3000, 4500, 8000))),
        )
        p.departments.set(rng.sample(owners, rng.choice((0, 1, 1, 2, 3))))
        order = ORDER[stage]
        for kind, needed in (("started", 3), ("completed", 5), ("in_production", 6)):
            if order >= needed and rng.random() < 0.6:
                milestone(p, kind, day(rng, dt.date(2025, 12, 1), dt.date(2026, 6, 10)))
        for code in STAGE_CODES[1 : order + 1]:
            # The day the project entered its present stage is mostly known; earlier ones less so.
            if rng.random() < (0.8 if code == stage else 0.4):
                entered(p, code, day(rng, dt.date(2025, 12, 1), dt.date(2026, 6, 10)))
        for month in sorted(rng.sample(range(1, 7), rng.randint(0, 4))):
            report(p, dt.date(2026, month, 1), rng.choice((80, 150.5, 300, 1200)), rng.choice(statuses))
        if rng.random() < 0.3:
            report(p, dt.date(2025, 12, 1), 99)
        projects.append(p)
    dropped = False
    for n in range(14):
        start = day(rng, dt.date(2025, 12, 1), dt.date(2026, 4, 30))
        lead = make_lead(
            world,
            stage=rng.choice(("framework", "signed", "signed", "registered")),
            start=start,
            region=counties[n % len(counties)],
            attracting_unit=rng.choice(owners),
            amount=Decimal(rng.choice((1000, 2500, 6000, 15000))),
        )
        if lead.stage.code in ("signed", "registered"):
            signed = start + dt.timedelta(days=21)
            for _n in range(rng.randint(0, 2)):
                received = day(rng, signed, dt.date(2026, 6, 30))
                attraction.funds_add(
                    actor=None,
                    lead_id=lead.pk,
                    received_on=received,
                    amount=rng.choice((300, 700, 1000)),
                    today=dt.date(2026, 6, 30),
                )
            if not dropped:  # a dropped lead's signing still counts
                dropped = True
                lead.refresh_from_db()
                attraction.lead_drop(
                    actor=None,
                    lead_id=lead.pk,
                    version=lead.version,
                    reason="投资方撤回",
                    today=dt.date(2026, 6, 30),
                )
    closed, open_ = ProblemStatus.objects.get(code="closed"), ProblemStatus.objects.get(code="in_progress")
    level = EscalationLevel.objects.get(code="county")
    for n in range(40):
        p = projects[(n * 5) % len(projects)]
        raised = day(rng, dt.date(2026, 1, 1), dt.date(2026, 5, 31))
        is_closed = rng.random() < 0.5
        problem = Problem.objects.create(
            project=p,
            region=p.region,
            title=f"测试问题{n}",
            category="land",
            owner_unit=rng.choice(owners),
            due_date=raised + dt.timedelta(days=rng.randint(5, 60)),
            status=closed if is_closed else open_,
            level=level,
        )
        closed_at = (
            at(raised + dt.timedelta(days=rng.randint(1, 70)), rng.randint(8, 20)) if is_closed else None
        )
        Problem.objects.filter(pk=problem.pk).update(
            created_at=at(raised, rng.randint(8, 20)), closed_at=closed_at
        )
    return {"zones": zones, "departments": [world.department, world.other_department, third]}


def scalar(code: str, scope: Scope, period: Period):
    return actual(
        code,
        scope_projects(region=scope.region, unit=scope.unit),
        period,
        TODAY,
        region=scope.region,
        unit=scope.unit,
    )


@pytest.mark.parametrize("period", PERIODS)
def test_every_metric_grouped_equals_the_metric_unit_by_unit(world, rich, period):
    period = Period.parse(period)
    units = ranked_units("county") + ranked_units("department")
    assert len(units) == len(world.counties) + 2 + 3
    scopes = [Scope(u.key, u.region, u.unit) for u in units]
    # Beyond the ranked units: the city (a region with divisions) and everything.
    scopes += [Scope("city", world.city, None), Scope("all")]
    varied = 0
    for code, metric in METRICS.items():
        assert metric.grouped is not None, code
        grouped = actuals(code, scopes, period, TODAY)
        assert set(grouped) == {s.key for s in scopes}
        for unit in units:
            expected = actual(code, unit.projects, period, TODAY, region=unit.region, unit=unit.unit)
            assert grouped[unit.key] == expected, (code, str(period), unit.name)
        for scope in scopes[-2:]:
            assert grouped[scope.key] == scalar(code, scope, period), (code, str(period), scope.key)
        varied += len({grouped[u.key] for u in units}) > 2
    # The data must tell units apart, or equal values would prove nothing.
    assert varied >= len(METRICS) // 2


def test_the_data_set_exercises_every_metric(world, rich):
    """Each metric takes at least three different values over the units in some period."""
    units = ranked_units("county") + ranked_units("department")
    scopes = [Scope(u.key, u.region, u.unit) for u in units]
    for code in METRICS:
        spread = max(len(set(actuals(code, scopes, Period.parse(p), TODAY).values())) for p in PERIODS)
        assert spread >= 3, code


def test_a_metric_without_a_grouped_form_is_computed_unit_by_unit(world, rich, monkeypatch):
    from dataclasses import replace

    monkeypatch.setitem(METRICS, "started", replace(METRICS["started"], grouped=None, batched=None))
    units = ranked_units("county")
    scopes = [Scope(u.key, u.region, u.unit) for u in units]
    period = Period.parse("2026Q1")
    with CaptureQueriesContext(connection) as queries:
        found = actuals("started", scopes, period, TODAY)
    assert len(queries) == len(units)
    assert found == {s.key: scalar("started", s, period) for s in scopes}


def every_metric_scheme(group: str, *, year: int = 2026) -> ScoringScheme:
    """Every metric of the catalogue, rates and amounts weighted, counts by turns weighted, counted
    and deducted; capped and not."""
    latest = ScoringScheme.objects.filter(year=year, group=group).aggregate(v=Max("version"))["v"] or 0
    scheme = ScoringScheme.objects.create(
        year=year, group=group, version=latest + 1, name="全指标测试方案", ranking_bonuses=[5, 3, 1]
    )
    kinds = ("weighted", "count", "deduction")
    for order, (code, metric) in enumerate(METRICS.items(), start=1):
        kind = "weighted" if metric.kind != "count" else kinds[order % 3]
        SchemeItem.objects.create(
            scheme=scheme,
            order=order,
            metric=code,
            kind=kind,
            weight=Decimal(10) if kind == "weighted" else Decimal(0),
            per=Decimal("1.5") if kind != "weighted" else Decimal(0),
            ratio_cap=Decimal("1.2") if order % 2 else None,
            cap=Decimal(4) if kind != "weighted" and order % 2 else None,
        )
    return scheme


def targets_for(units, period: Period, rng: random.Random) -> None:
    for unit in units:
        for code in METRICS:
            if rng.random() < 0.7:
                Target.objects.create(
                    metric=code,
                    region=unit.region,
                    unit=unit.unit,
                    period=str(period),
                    period_kind=period.kind,
                    start=period.start,
                    end=period.end,
                    value=Decimal(rng.choice((0, 1, 2, 5, 500, 3000, 80))),
                )


def snapshot(scores) -> list:
    return [
        (
            s.key,
            s.name,
            s.score,
            s.rank,
            s.items_total,
            s.bonus,
            s.is_bottom,
            [
                (ln.label, ln.metric, ln.actual, ln.target, ln.points, str(ln.note), ln.kind)
                for ln in s.breakdown
            ],
        )
        for s in scores
    ]


@pytest.mark.parametrize("group", ["county", "department"])
@pytest.mark.parametrize("period", ["2026Q1", "2026-05", "2026"])
def test_rank_units_grouped_equals_unit_by_unit(world, rich, group, period):
    period = Period.parse(period)
    scheme = every_metric_scheme(group)
    targets_for(ranked_units(group), period, random.Random(str(period)))
    grouped = rank_units(scheme=scheme, period=period, today=TODAY)
    one_by_one = rank_units(scheme=scheme, period=period, today=TODAY, grouped=False)
    assert snapshot(grouped) == snapshot(one_by_one)
    # The reference itself reads actual() for each unit and item.
    for score in grouped:
        unit = next(u for u in ranked_units(group) if u.key == score.key)
        for line in score.breakdown[:-1]:
            assert line.actual == actual(
                line.metric, unit.projects, period, TODAY, region=unit.region, unit=unit.unit
            )
    assert len({s.score for s in grouped}) > 2


def count_queries(**kwargs) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as queries:
        scores = rank_units(**kwargs)
    return len(queries), scores


def test_a_ranking_costs_the_same_queries_however_many_units(world, rich):
    period = Period.parse("2026Q2")
    county, department = every_metric_scheme("county"), every_metric_scheme("department")
    targets_for(ranked_units("county") + ranked_units("department"), period, random.Random(7))
    codes = sorted(world.counties)
    Region.objects.filter(code__in=codes[3:]).update(parent=None)  # only 3 counties under the city
    Unit.objects.filter(pk=rich["zones"][1].pk).update(kind=Unit.Kind.ENTERPRISE)  # one zone
    Unit.objects.filter(pk=rich["departments"][2].pk).update(kind=Unit.Kind.ENTERPRISE)  # two departments
    small_county, small_scores = count_queries(scheme=county, period=period, today=TODAY)
    small_department, small_dep_scores = count_queries(scheme=department, period=period, today=TODAY)
    small_one_by_one, _scores = count_queries(scheme=county, period=period, today=TODAY, grouped=False)
    assert len(small_scores) == 3 + 1 and len(small_dep_scores) == 2

    Region.objects.filter(code__in=codes[3:]).update(parent=world.city)
    Unit.objects.filter(pk=rich["zones"][1].pk).update(kind=Unit.Kind.ZONE)
    Unit.objects.filter(pk=rich["departments"][2].pk).update(kind=Unit.Kind.DEPARTMENT)
    for n in range(3):
        Unit.objects.create(name=f"市测试局{n}", kind=Unit.Kind.DEPARTMENT, region=world.city)
    Unit.objects.create(name="测试新区", kind=Unit.Kind.ZONE, region=world.city)
    big_county, big_scores = count_queries(scheme=county, period=period, today=TODAY)
    big_department, big_dep_scores = count_queries(scheme=department, period=period, today=TODAY)
    assert len(big_scores) == 7 + 3 and len(big_dep_scores) == 6

    assert small_county == big_county <= MOST_QUERIES
    assert small_department == big_department < small_county
    # Unit by unit, the same ranking costs a query per unit and metric (two for start_rate and
    # plan_completion_rate, which read two parts).
    big_one_by_one, _scores = count_queries(scheme=county, period=period, today=TODAY, grouped=False)
    assert big_one_by_one - small_one_by_one == (len(big_scores) - len(small_scores)) * (len(METRICS) + 2)
