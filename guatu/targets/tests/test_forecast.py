"""The forecast on hand-built cases whose answers are worked out by hand (see forecast.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from guatu.targets.forecast import forecast_target, on_time_rate, pipeline_count
from guatu.targets.metrics import Scope, get_metric
from guatu.targets.periods import Period
from guatu.targets.services import target_create, target_split
from guatu.targets.tests.helpers import milestone, project, report

pytestmark = pytest.mark.django_db

D = dt.date
OLD = D(2024, 1, 1)


def target(region, metric, period, value, comparator="ge"):
    return target_create(
        actor=None,
        data={"metric": metric, "period": period, "value": Decimal(value), "comparator": comparator,
              "region": region},
    )  # fmt: skip


@pytest.fixture
def chaoyang(world):
    """朝阳县: five projects planned to start last July, four of them on time (p = 0.8); one started
    this April with no planned day (actual 1 in Q2); five more planned for 1 June (the pipeline),
    one for 15 July (next quarter)."""
    county = world.counties["211321"]
    for i in range(5):
        p = project(world, region=county, stage="started" if i < 4 else "planning", signed_on=OLD,
                    planned_start=D(2025, 7, 1))  # fmt: skip
        if i < 4:
            milestone(p, "started", D(2025, 7, 10))
    started = project(world, region=county, stage="started", signed_on=OLD)
    milestone(started, "started", D(2026, 4, 10))
    for _ in range(5):
        project(world, region=county, planned_start=D(2026, 6, 1))
    project(world, region=county, planned_start=D(2026, 7, 15))
    return county


def test_pipeline_forecast_and_band(chaoyang):
    today = D(2026, 5, 15)
    row = forecast_target(target(chaoyang, "started", "2026Q2", 4), today=today)
    # actual 1; n = 5, p = 0.8: 1 + 4 = 5; 1.28·√(5·0.8·0.2) = 1.1449 → 3.86 … 6.14, clipped at 1 + 5.
    assert (row.actual, row.pipeline, row.on_time_rate) == (Decimal(1), 5, Decimal("0.80"))
    assert (row.forecast, row.forecast_low, row.forecast_high) == (
        Decimal("5.00"), Decimal("3.86"), Decimal("6.00"),
    )  # fmt: skip
    assert row.method == "pipeline"
    assert row.status == "at_risk"  # the forecast reaches 4, the low end does not
    assert row.status_label == "有风险"


@pytest.mark.parametrize(("value", "status"), [(3, "on_track"), (4, "at_risk"), (6, "off_track")])
def test_pipeline_status_against_target(chaoyang, value, status):
    row = forecast_target(target(chaoyang, "started", "2026Q2", value), today=D(2026, 5, 15))
    assert row.status == status


def test_pipeline_of_a_later_period_starts_at_its_first_day(chaoyang):
    metric = get_metric("started")
    projects = Scope("朝阳", region=chaoyang)
    # Q3 seen from May: the June projects start before Q3 and are not its pipeline; July's is.
    assert pipeline_count(projects, metric, Period.parse("2026Q3"), D(2026, 5, 15)) == 1
    assert pipeline_count(projects, metric, Period.parse("2026"), D(2026, 5, 15)) == 6


def test_on_time_rate_falls_back_below_five_projects_and_counts_thirty_days_grace(world):
    county = world.counties["211322"]
    metric = get_metric("started")
    on_time = project(world, region=county, stage="started", signed_on=OLD, planned_start=D(2026, 1, 1))
    milestone(on_time, "started", D(2026, 1, 31))  # 30 days after: on time
    late = project(world, region=county, stage="started", signed_on=OLD, planned_start=D(2026, 1, 1))
    milestone(late, "started", D(2026, 2, 1))  # 31 days after: late
    projects = Scope("县", region=county)
    assert on_time_rate(projects, metric, D(2026, 5, 15)) == (Decimal("0.5"), 2)  # too few: 0.5
    for _ in range(3):
        p = project(world, region=county, stage="started", signed_on=OLD, planned_start=D(2026, 2, 1))
        milestone(p, "started", D(2026, 2, 1))
    rate, count = on_time_rate(projects, metric, D(2026, 5, 15))
    assert (rate, count) == (Decimal("0.8"), 5)  # 4 of 5: the 31-day start is late
    # Projects planned more than a year before today leave the history.
    assert on_time_rate(projects, metric, D(2027, 1, 20))[1] == 3


def test_pipeline_with_fallback_rate(world):
    county = world.counties["211322"]
    for _ in range(4):
        project(world, region=county, planned_start=D(2026, 6, 10))
    row = forecast_target(target(county, "started", "2026Q2", 2), today=D(2026, 5, 15))
    # n = 4, p = 0.5 (no history): 0 + 2; 1.28·√(4·0.5·0.5) = 1.28.
    assert (row.actual, row.forecast, row.forecast_low, row.forecast_high) == (
        Decimal(0), Decimal("2.00"), Decimal("0.72"), Decimal("3.28"),
    )  # fmt: skip
    assert row.status == "at_risk"


def test_run_rate_for_signings(world):
    county = world.counties["211324"]
    for day in range(1, 7):
        project(world, region=county, stage="signed", signed_on=D(2026, 1, day * 5))
    # 14 February: 45 of Q1's 90 days gone, 6 signed → 12; the 6 still to come ± 20 %.
    today = D(2026, 2, 14)
    row = forecast_target(target(county, "signed", "2026Q1", 10), today=today)
    assert (row.actual, row.forecast, row.forecast_low, row.forecast_high) == (
        Decimal(6), Decimal("12.00"), Decimal("10.80"), Decimal("13.20"),
    )  # fmt: skip
    assert (row.method, row.status) == ("run_rate", "on_track")
    assert forecast_target(target(county, "signed", "2026-01", 0), today=today).status == "met"
    other = target(county, "at_capacity", "2026Q1", 1)
    assert forecast_target(other, today=today).status == "off_track"  # 0 so far runs to 0


def test_run_rate_for_an_amount(world):
    county = world.counties["211324"]
    p = project(world, region=county, stage="under_construction", signed_on=OLD)
    report(p, D(2026, 2, 1), 500)
    row = forecast_target(target(county, "investment_done", "2026-02", 1000), today=D(2026, 2, 14))
    # 14 of February's 28 days: 500 → 1000 ± 100.
    assert (row.forecast, row.forecast_low, row.forecast_high) == (
        Decimal("1000.00"), Decimal("900.00"), Decimal("1100.00"),
    )  # fmt: skip
    assert row.status == "at_risk"


def test_run_rate_before_the_period_begins_has_no_forecast(world):
    row = forecast_target(target(world.counties["211324"], "signed", "2026Q3", 5), today=D(2026, 5, 15))
    assert (row.forecast, row.status, row.status_label) == (None, "no_data", "暂无数据")


@pytest.fixture
def planned(world):
    county = world.counties["211381"]
    p1 = project(world, region=county, annual_planned_investment=Decimal(1200))
    p2 = project(world, region=county, annual_planned_investment=Decimal(2400))
    report(p1, D(2026, 1, 1), 200)
    report(p2, D(2026, 3, 1), 250)
    return county


@pytest.mark.parametrize(
    ("comparator", "value", "status"),
    [("ge", 45, "on_track"), ("ge", 50, "at_risk"), ("ge", 60, "off_track"), ("le", 60, "on_track"),
     ("eq", 50, "at_risk"), ("eq", 51, "off_track")],
)  # fmt: skip
def test_rate_keeps_its_value_with_five_points_band(planned, comparator, value, status):
    row = forecast_target(
        target(planned, "plan_completion_rate", "2026Q1", value, comparator), today=D(2026, 3, 20)
    )
    # 450 done of 3600 × 3/12 = 900: 50 %, band 45 … 55.
    assert (row.actual, row.forecast, row.forecast_low, row.forecast_high) == (
        Decimal("50.0"), Decimal("50.0"), Decimal("45.00"), Decimal("55.00"),
    )  # fmt: skip
    assert row.status == status


def test_after_the_period_ends_met_or_missed(chaoyang):
    today = D(2026, 7, 5)
    met = forecast_target(target(chaoyang, "started", "2026-04", 1), today=today)
    assert (met.actual, met.forecast, met.forecast_low, met.forecast_high) == (1, 1, 1, 1)
    assert (met.method, met.status, met.status_label) == ("final", "met", "已完成")
    missed = forecast_target(target(chaoyang, "started", "2026Q2", 2), today=today)
    assert (missed.status, missed.status_label) == ("missed", "未完成")
    at_most = forecast_target(target(chaoyang, "started", "2026-05", 0, "le"), today=today)
    assert at_most.status == "met"


def test_rate_without_a_denominator_has_no_data(world):
    row = forecast_target(target(world.counties["211382"], "start_rate", "2026Q2", 80), today=D(2026, 5, 15))
    assert (row.actual, row.forecast, row.status) == (None, None, "no_data")


def test_parts_total_and_gap(world):
    whole = target(world.city, "started", "2026Q1", 120)
    assert (forecast_target(whole, today=D(2026, 2, 1)).parts_total, forecast_target(whole).parts_gap) == (
        None, None,
    )  # fmt: skip
    target_split(actor=None, target_id=whole.pk, parts={"211302": 50, "211303": 60})
    row = forecast_target(whole, today=D(2026, 2, 1))
    assert (row.parts_total, row.parts_gap, row.parts_mismatch) == (Decimal(110), Decimal(-10), True)
    target_split(actor=None, target_id=whole.pk, parts={"211321": 10})
    row = forecast_target(whole, today=D(2026, 2, 1))
    assert (row.parts_total, row.parts_gap, row.parts_mismatch) == (Decimal(120), Decimal(0), False)
