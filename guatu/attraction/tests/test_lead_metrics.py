import datetime as dt
from decimal import Decimal

import pytest

from guatu.attraction import services
from guatu.attraction.tests.leads_helpers import TODAY, lead_data, make_lead
from guatu.org.models import Unit
from guatu.targets.forecast import forecast_target
from guatu.targets.metrics import METRICS, actual, get_metric, scope_projects
from guatu.targets.periods import Period
from guatu.targets.services import target_create

pytestmark = pytest.mark.django_db

Q1, Q2 = Period.parse("2026Q1"), Period.parse("2026Q2")


def signed_lead(world, on: dt.date, **data):
    """A lead that entered 正式签约 on `on` (线索 three weeks before)."""
    return make_lead(world, stage="signed", start=on - dt.timedelta(days=21), **data)


@pytest.fixture
def book(world):
    """Hand-built: 双塔 two signings in Q1 (one later dropped), 龙城 one in Q1 attracted by a zone of
    双塔, one signing in Q2; a lead still at 框架协议; funds in Q1 and Q2."""
    zone = Unit.objects.create(name="双塔经济开发区", kind=Unit.Kind.ZONE, region=world.counties["211302"])
    longcheng = world.counties["211303"]
    a = signed_lead(world, dt.date(2026, 1, 26), amount=Decimal("10000"))
    b = signed_lead(world, dt.date(2026, 3, 31), amount=Decimal("5000"))
    b = services.lead_drop(actor=None, lead_id=b.pk, version=b.version, reason="投资方撤回", today=TODAY)
    c = signed_lead(
        world, dt.date(2026, 2, 10), amount=Decimal("8000"), region=longcheng, attracting_unit=zone
    )
    d = signed_lead(world, dt.date(2026, 4, 1), amount=Decimal("3000"))
    make_lead(world, stage="framework", amount=Decimal("99999"))
    services.funds_add(actor=None, lead_id=a.pk, received_on=dt.date(2026, 2, 1), amount=1000, today=TODAY)
    services.funds_add(actor=None, lead_id=a.pk, received_on=dt.date(2026, 4, 2), amount=500, today=TODAY)
    services.funds_add(actor=None, lead_id=c.pk, received_on=dt.date(2026, 3, 1), amount=2500, today=TODAY)
    services.funds_add(actor=None, lead_id=d.pk, received_on=dt.date(2026, 6, 30), amount=700, today=TODAY)
    return {"zone": zone, "a": a, "b": b, "c": c, "d": d}


def value(code, period, **scope):
    return actual(code, scope_projects(**scope), period, TODAY, **scope)


def test_the_three_metrics_are_registered_as_scoped(world):
    for code, unit in (("leads_signed", "个"), ("leads_signed_amount", "万元"), ("funds_in_place", "万元")):
        metric = get_metric(code)
        assert metric.scoped and metric.unit == unit and code in METRICS
    assert str(get_metric("leads_signed").name) == "签约项目数"
    assert str(get_metric("funds_in_place").name) == "到位资金"


def test_signed_count_and_amount_by_region(world, book):
    city, shuangta, longcheng = world.city, world.counties["211302"], world.counties["211303"]
    assert value("leads_signed", Q1, region=city) == 3  # the dropped lead's signing still counts
    assert value("leads_signed_amount", Q1, region=city) == Decimal("23000.00")
    assert value("leads_signed", Q1, region=shuangta) == 2
    assert value("leads_signed_amount", Q1, region=shuangta) == Decimal("15000.00")
    assert value("leads_signed", Q1, region=longcheng) == 1
    assert value("leads_signed", Q2, region=city) == 1
    assert value("leads_signed_amount", Q2, region=city) == Decimal("3000.00")
    assert value("leads_signed", Period.parse("2026"), region=city) == 4


def test_signed_by_attracting_unit(world, book):
    assert value("leads_signed", Q1, unit=book["zone"]) == 1
    assert value("leads_signed_amount", Q1, unit=book["zone"]) == Decimal("8000.00")
    assert value("leads_signed", Q1, unit=world.department) == 2
    assert value("leads_signed", Q1, unit=world.other_department) == 0


def test_funds_in_place(world, book):
    assert value("funds_in_place", Q1, region=world.city) == Decimal("3500.00")
    assert value("funds_in_place", Q2, region=world.city) == Decimal("1200.00")
    assert value("funds_in_place", Q1, region=world.counties["211302"]) == Decimal("1000.00")
    assert value("funds_in_place", Q1, unit=book["zone"]) == Decimal("2500.00")
    # Up to today only: a period still running counts what has come in so far.
    assert actual("funds_in_place", None, Q2, dt.date(2026, 6, 29), region=world.city) == Decimal("500.00")


def test_a_lead_imported_past_signing_counts_on_the_day_it_entered(world):
    services.lead_create(
        actor=None, data={**lead_data(world, amount=Decimal("4000")), "stage": "registered"},
        on=dt.date(2026, 2, 2), today=TODAY,
    )  # fmt: skip
    assert value("leads_signed", Q1, region=world.city) == 1
    assert value("leads_signed_amount", Q1, region=world.city) == Decimal("4000.00")


def test_through_a_targets_actual(world, book):
    city = world.city
    rows = {}
    for code, target_value in (("leads_signed", 4), ("leads_signed_amount", 20000), ("funds_in_place", 5000)):
        target = target_create(
            actor=None,
            data={"metric": code, "period": "2026Q1", "region": city, "value": Decimal(target_value)},
        )
        rows[code] = forecast_target(target, today=TODAY)
    assert rows["leads_signed"].actual == 3
    assert rows["leads_signed_amount"].actual == Decimal("23000.00")
    assert rows["funds_in_place"].actual == Decimal("3500.00")
    assert rows["leads_signed"].method == "final"  # the quarter is over on TODAY
    zone_target = target_create(
        actor=None,
        data={"metric": "leads_signed", "period": "2026Q1", "unit": book["zone"], "value": Decimal(1)},
    )
    assert forecast_target(zone_target, today=TODAY).actual == 1
    county_target = target_create(
        actor=None,
        data={
            "metric": "leads_signed_amount",
            "period": "2026",
            "region": world.counties["211302"],
            "value": 1,
        },
    )
    row = forecast_target(county_target, today=TODAY)
    assert row.actual == Decimal("18000.00") and row.method == "run_rate"


def test_ranking_scores_scoped_metrics_per_ranked_unit(world, book):
    from guatu.targets.models import ItemKind, SchemeItem, ScoringScheme
    from guatu.targets.scoring import rank_units

    scheme = ScoringScheme.objects.create(year=2026, group="county", version=99, name="招商考核")
    SchemeItem.objects.create(scheme=scheme, metric="leads_signed", kind=ItemKind.COUNT, per=Decimal("2"))
    scores = {s.name: s for s in rank_units(scheme=scheme, period=Q1, today=TODAY)}
    assert scores[world.counties["211302"].label].items_total == Decimal("4.00")  # 2 signings × 2
    assert scores[world.counties["211303"].label].items_total == Decimal("2.00")
    assert scores["双塔经济开发区"].items_total == Decimal("2.00")  # by attracting unit
