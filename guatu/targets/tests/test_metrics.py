"""Every metric of the catalogue on hand-built project facts whose answers are counted by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from guatu.targets.metrics import METRICS, actual, get_metric, metric_choices, metric_name, scope_projects
from guatu.targets.periods import Period
from guatu.targets.tests.helpers import entered, milestone, project, report

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 15)
OLD_SIGNING = dt.date(2024, 1, 1)
D = dt.date


@pytest.fixture
def facts(world):
    """双塔区 (211302) projects A…L, one 龙城区 project, and two 朝阳县 projects with plans."""
    shuangta, longcheng = world.counties["211302"], world.counties["211303"]
    p = {}
    p["A"] = project(world, stage="started", signed_on=OLD_SIGNING, planned_start=D(2026, 2, 1))
    milestone(p["A"], "started", D(2026, 2, 10))
    p["B"] = project(world, stage="under_construction", signed_on=OLD_SIGNING, planned_start=D(2026, 3, 5))
    p["C"] = project(world, stage="planning", planned_start=D(2026, 2, 1))
    p["D"] = project(world, stage="under_construction", signed_on=OLD_SIGNING)
    milestone(p["D"], "started", D(2025, 6, 1))
    p["E"] = project(world, stage="completed", signed_on=OLD_SIGNING)
    milestone(p["E"], "started", D(2024, 5, 1))
    milestone(p["E"], "completed", D(2025, 12, 20))
    p["F"] = project(world, stage="completed", signed_on=OLD_SIGNING)
    milestone(p["F"], "started", D(2025, 3, 1))
    milestone(p["F"], "completed", D(2026, 4, 10))
    p["G"] = project(world, stage="in_production", signed_on=OLD_SIGNING)
    milestone(p["G"], "in_production", D(2026, 4, 20))
    p["H"] = project(world, stage="at_capacity", signed_on=OLD_SIGNING)
    entered(p["H"], "at_capacity", D(2026, 5, 2))
    p["I"] = project(world, stage="signed", signed_on=D(2026, 1, 20))
    p["J"] = project(world, stage="preparing", signed_on=D(2025, 11, 1))
    p["K"] = project(world, stage="planning", signed_on=D(2026, 2, 1))  # not yet signed: 谋划
    p["L"] = project(world, stage="started", signed_on=OLD_SIGNING, planned_start=D(2026, 1, 10))
    milestone(p["L"], "started", D(2026, 4, 1))
    p["other"] = project(world, region=longcheng, stage="started", signed_on=OLD_SIGNING)
    milestone(p["other"], "started", D(2026, 1, 15))
    report(p["A"], D(2026, 1, 1), 100)
    report(p["A"], D(2026, 2, 1), 200, status="approved")
    report(p["A"], D(2026, 3, 1), 50, status="draft")  # a draft is not yet a fact
    report(p["A"], D(2026, 4, 1), 70, status="approved")
    report(p["A"], D(2026, 5, 1), 30)
    chaoyang = world.counties["211321"]
    plan1 = project(world, region=chaoyang, annual_planned_investment=Decimal(1200))
    plan2 = project(world, region=chaoyang, annual_planned_investment=Decimal(2400))
    report(plan1, D(2026, 1, 1), 200)
    report(plan2, D(2026, 3, 1), 250)
    return {"projects": p, "shuangta": scope_projects(region=shuangta), "city": scope_projects(region=world.city),
            "chaoyang": scope_projects(region=chaoyang)}  # fmt: skip


def value(code, scope, period):
    return actual(code, scope, Period.parse(period), TODAY)


def test_started_counts_milestone_or_planned_day_in_period(facts):
    # A (milestone 02-10) and B (past 开工, planned 03-05); C is still 谋划; L started in April.
    assert value("started", facts["shuangta"], "2026Q1") == 2
    assert value("started", facts["shuangta"], "2026Q2") == 1  # L
    # The city covers its divisions: 龙城区's January start too.
    assert value("started", facts["city"], "2026Q1") == 3


def test_started_or_resumed_counts_projects_under_way_in_the_year(facts):
    # A, B, L started this year; D started last year, still building; F finished in April.
    # E finished in December 2025: not under way in 2026.
    assert value("started_or_resumed", facts["shuangta"], "2026") == 5


def test_completed(facts):
    # F by its milestone; H entered 达产达效 (past 竣工) on 05-02: its stage history says so.
    assert value("completed", facts["shuangta"], "2026") == 2
    assert value("completed", facts["shuangta"], "2025") == 1  # E


def test_in_production_from_milestone_or_stage_history(facts):
    # G by its milestone; H entered 达产达效 (past 投产) on 05-02, with no 投产 milestone.
    assert value("in_production", facts["shuangta"], "2026Q2") == 2


def test_at_capacity_from_stage_history(facts):
    assert value("at_capacity", facts["shuangta"], "2026Q2") == 1
    assert value("at_capacity", facts["shuangta"], "2026Q1") == 0


def test_signed_counts_signing_day_of_projects_past_planning(facts):
    # I signed 01-20; J signed last year; K has a day but is still 谋划.
    assert value("signed", facts["shuangta"], "2026Q1") == 1
    assert value("signed", facts["shuangta"], "2025") == 1


def test_investment_done_counts_reported_months_only(facts):
    assert value("investment_done", facts["shuangta"], "2026Q1") == Decimal("300.00")
    # April 70 + May 30; the quarter is counted up to today.
    assert value("investment_done", facts["shuangta"], "2026Q2") == Decimal("100.00")


def test_start_rate(facts):
    # Planned to start in Q1: A, B, C, L; started by today: A, B, L.
    assert value("start_rate", facts["shuangta"], "2026Q1") == Decimal("75.0")
    assert value("start_rate", facts["chaoyang"], "2026Q1") is None  # nothing planned: no rate


def test_plan_completion_rate(facts):
    # Plans 1200 + 2400 = 3600 a year, 900 by March; done 200 + 250 = 450.
    assert value("plan_completion_rate", facts["chaoyang"], "2026Q1") == Decimal("50.0")


def test_not_started_on_time(facts):
    # Planned by 04-15 (a month before today): C never started, L started 81 days late;
    # A started 9 days after its day, within the month's grace.
    assert value("not_started_on_time", facts["shuangta"], "2026") == 2


def test_catalogue_names_and_unknown_metric():
    assert metric_name("started") == "开工项目数"
    assert ("signed", "新引进项目数（个）") in metric_choices()
    assert get_metric("at_capacity").unit == "个"
    assert {"started", "signed", "started_or_resumed", "at_capacity", "plan_completion_rate"} <= set(METRICS)
    with pytest.raises(ValidationError) as err:
        get_metric("starts")
    assert "未知指标：starts" in err.value.message_dict["metric"][0]
