"""The funnel: counts, amounts, dropped, days in stage and rates on hand-built leads (worked out in
funnel_data's docstring), per county, per period, per chain and per role; and the page."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from guatu.attraction.selectors import funnel
from guatu.attraction.tests.funnel_data import LONGCHENG, SHUANGTA, TODAY, D, build, make_lead
from guatu.org.models import Chain
from guatu.targets.periods import Period

pytestmark = pytest.mark.django_db

STAGES = ["clue", "negotiating", "framework", "signed", "registered", "started", "in_production"]


@pytest.fixture
def leads(world):
    return build(world)


def counts(figures) -> list[int]:
    return [s.count for s in figures.stages]


def amounts(figures) -> list[Decimal]:
    return [s.amount for s in figures.stages]


def rates(figures) -> dict:
    return {code: rate.value for code, rate in figures.rates.items()}


def test_stages_come_in_order_with_cumulative_counts_and_amounts(world, leads):
    result = funnel(user=world.users["city"], year=2026, today=TODAY)
    assert [s.code for s in result.stages] == STAGES
    assert [s.name for s in result.stages] == [
        "线索",
        "洽谈",
        "框架协议",
        "正式签约",
        "注册落户",
        "开工",
        "投产",
    ]
    assert counts(result.total) == [5, 4, 4, 4, 3, 3, 1]
    assert amounts(result.total) == [Decimal(n) for n in (3900, 3800, 7300, 7300, 5300, 5600, 1000)]


def test_a_lead_entered_at_a_later_stage_counts_at_the_stages_before_it(world, leads):
    # E was imported at 正式签约: it counts at 线索, 洽谈 and 框架协议 too, on the day it signed.
    result = funnel(user=world.users["city"], period=Period.parse("2026-05"), today=TODAY)
    assert counts(result.total) == [1, 1, 1, 1, 0, 1, 1]  # E reached 1–4; D started, A produced


def test_dropped_counts_at_the_stage_reached_within_the_period(world, leads):
    result = funnel(user=world.users["city"], year=2026, today=TODAY)
    assert [s.dropped for s in result.stages] == [0, 1, 0, 0, 0, 0, 0]
    assert result.total.dropped == 1
    q2 = funnel(user=world.users["city"], period=Period.parse("2026Q2"), today=TODAY)
    assert q2.total.dropped == 0


def test_days_in_stage_are_median_and_mean_of_stays_that_ended_in_the_period(world, leads):
    result = funnel(user=world.users["city"], year=2026, today=TODAY)
    days = [(s.median_days, s.mean_days, s.stays) for s in result.stages]
    assert days == [
        (10.0, 13.3, 3),  # A 10, B 10, C 20 (D left 线索 in 2025)
        (30.0, 33.3, 3),  # A 30, B 30, D 40; C was dropped there: an open stay, not counted
        (20.0, 17.3, 3),  # A 10, B 20, D 22
        (30.0, 29.7, 3),  # A 30, D 28, E 31; B is still there
        (61.0, 53.7, 3),  # A 10, D 61, H 90 (entered in 2025, left in 2026)
        (30.0, 30.0, 1),  # A
        (None, None, 0),  # nobody leaves 投产
    ]


def test_rates_follow_the_stage_cohorts_of_the_period(world, leads):
    result = funnel(user=world.users["city"], year=2026, today=TODAY)
    landing = result.rates["landing_rate"]
    assert (landing.numerator, landing.denominator, landing.value) == (3, 4, Decimal("0.7500"))
    completion = result.rates["start_completion_rate"]
    assert (completion.numerator, completion.denominator, completion.value) == (2, 3, Decimal("0.6667"))
    production = result.rates["production_rate"]
    assert (production.numerator, production.denominator, production.value) == (2, 3, Decimal("0.6667"))
    assert production.percent == Decimal("66.7")
    assert result.total.at_capacity == 1


def test_a_rate_with_nothing_in_its_denominator_is_none(world, leads):
    # 2025: H signed and registered; nobody started.
    result = funnel(user=world.users["city"], year=2025, today=TODAY)
    assert counts(result.total) == [3, 2, 1, 1, 1, 0, 0]  # F H D; H D; H; H; H
    assert rates(result.total) == {
        "landing_rate": Decimal("1.0000"),
        "start_completion_rate": None,
        "production_rate": None,
    }
    assert result.rates["production_rate"].percent is None


def test_landing_counts_only_registrations_by_the_end_of_the_period(world, leads):
    # Q1: A and D signed; A registered on 03-31 (the last day), D on 03-01 → 2 of 2.
    q1 = funnel(user=world.users["city"], period=Period.parse("2026Q1"), today=TODAY)
    assert counts(q1.total) == [3, 3, 3, 2, 2, 1, 0]
    assert q1.rates["landing_rate"].value == Decimal("1.0000")
    # April: B signed on 04-02 and has not registered → 0 of 1.
    april = funnel(user=world.users["city"], period=Period.parse("2026-04"), today=TODAY)
    assert (april.rates["landing_rate"].numerator, april.rates["landing_rate"].denominator) == (0, 1)
    # May: E signed on 05-01 and registered on 06-01, after May's end → 0 of 1 for May.
    may = funnel(user=world.users["city"], period=Period.parse("2026-05"), today=TODAY)
    assert (may.rates["landing_rate"].numerator, may.rates["landing_rate"].denominator) == (0, 1)


def test_year_defaults_to_todays(world, leads):
    assert funnel(user=world.users["city"], today=TODAY).period == Period.parse("2026")
    assert counts(funnel(user=world.users["city"], today=D(2025, 12, 31)).total) == [3, 2, 1, 1, 1, 0, 0]


def test_per_county_figures_for_every_division(world, leads):
    result = funnel(user=world.users["city"], year=2026, today=TODAY)
    by_code = {c.region.code: c.figures for c in result.counties}
    assert set(by_code) == set(world.counties)  # all seven, those without leads too
    shuangta, longcheng = by_code[SHUANGTA], by_code[LONGCHENG]
    assert counts(shuangta) == [4, 3, 3, 3, 2, 1, 1]
    assert amounts(shuangta)[:2] == [Decimal(3400), Decimal(3300)]
    assert rates(shuangta) == {
        "landing_rate": Decimal("0.6667"),
        "start_completion_rate": Decimal("1.0000"),
        "production_rate": Decimal("1.0000"),
    }
    assert counts(longcheng) == [1, 1, 1, 1, 1, 2, 0]
    assert [s.dropped for s in longcheng.stages] == [0, 1, 0, 0, 0, 0, 0]
    assert rates(longcheng) == {
        "landing_rate": Decimal("1.0000"),
        "start_completion_rate": Decimal("0.5000"),
        "production_rate": Decimal("0.5000"),
    }
    empty = by_code["211321"]
    assert counts(empty) == [0] * 7
    assert rates(empty) == dict.fromkeys(["landing_rate", "start_completion_rate", "production_rate"])
    # The divisions add up to the city.
    assert [sum(c) for c in zip(*(counts(f) for f in by_code.values()), strict=True)] == counts(result.total)


def test_county_filter_gives_that_divisions_figures(world, leads):
    result = funnel(user=world.users["city"], year=2026, region=LONGCHENG, today=TODAY)
    assert result.region.code == LONGCHENG
    assert counts(result.total) == [1, 1, 1, 1, 1, 2, 0]
    assert [c.region.code for c in result.counties] == [LONGCHENG]
    with pytest.raises(ValidationError, match="999999"):
        funnel(user=world.users["city"], year=2026, region="999999", today=TODAY)


def test_chain_filter(world, leads):
    solar = Chain.objects.get(name="光伏")
    result = funnel(user=world.users["city"], year=2026, chain=solar, today=TODAY)
    assert counts(result.total) == [2, 2, 1, 1, 0, 0, 0]  # B and C
    assert result.total.dropped == 1


@pytest.mark.parametrize("role", ["county", "other_county"])
def test_a_county_sees_its_own_divisions_funnel(world, leads, role):
    user = world.users[role]
    result = funnel(user=user, year=2026, today=TODAY)
    own = funnel(user=world.users["city"], year=2026, region=user.region, today=TODAY)
    assert counts(result.total) == counts(own.total)
    assert rates(result.total) == rates(own.total)
    assert [c.region.code for c in result.counties] == [user.region.code]


def test_a_county_also_sees_leads_its_units_attracted_elsewhere(world, leads):
    from guatu.org.models import Unit

    government = Unit.objects.create(
        name="双塔区人民政府", kind=Unit.Kind.COUNTY, region=world.counties[SHUANGTA]
    )
    lead = make_lead(world, "I", county=LONGCHENG, amount=50, entries=[("clue", D(2026, 2, 1))])
    lead.attracting_unit = government
    lead.save()
    result = funnel(user=world.users["county"], year=2026, today=TODAY)
    assert counts(result.total)[0] == 5  # A B E G, and I
    assert [c.region.code for c in result.counties] == [SHUANGTA, LONGCHENG]


def test_a_department_sees_the_leads_it_attracted(world, leads):
    result = funnel(user=world.users["department"], year=2026, today=TODAY)
    assert counts(result.total) == [5, 4, 4, 4, 3, 3, 1]  # the department attracted every lead here
    other = make_lead(world, "J", county=SHUANGTA, amount=10, entries=[("clue", D(2026, 2, 1))])
    other.attracting_unit = world.other_department
    other.save()
    assert counts(funnel(user=world.users["department"], year=2026, today=TODAY).total)[0] == 5
    assert counts(funnel(user=world.users["city"], year=2026, today=TODAY).total)[0] == 6


@pytest.mark.parametrize("role", ["enterprise", "steward"])
def test_roles_without_leads_see_an_empty_funnel(world, leads, role):
    result = funnel(user=world.users[role], year=2026, today=TODAY)
    assert counts(result.total) == [0] * 7
    assert rates(result.total) == dict.fromkeys(["landing_rate", "start_completion_rate", "production_rate"])


@pytest.mark.parametrize("role", ["auditor", "sysadmin"])
def test_administrators_see_nothing_not_even_the_stages(world, leads, role):
    assert funnel(user=world.users[role], year=2026, today=TODAY).stages == []


def test_the_selector_runs_five_queries_however_many_leads(world, leads, django_assert_num_queries):
    with django_assert_num_queries(5):
        funnel(user=world.users["city"], year=2026, today=TODAY)
    for n in range(5):
        make_lead(world, f"K{n}", county=SHUANGTA, amount=1, entries=[("clue", D(2026, 2, 1))])
    with django_assert_num_queries(5):
        result = funnel(user=world.users["county"], year=2026, today=TODAY)
    assert counts(result.total)[0] == 9


# ---------------------------------------------------------------- the page


def test_page_shows_chart_stages_rates_and_counties(client, world, leads):
    client.force_login(world.users["city"])
    response = client.get(reverse("attraction:funnel"), {"year": "2026"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-funnel="funnel-data"' in html and "echarts.min.js" in html
    chart = response.context["chart"]
    assert chart["counts"] == [5, 4, 4, 4, 3, 3, 1]
    assert chart["amounts"][0] == "3900.00"
    assert "75.0%" in html and "3 / 4" in html and "66.7%" in html
    assert 'data-county="211302"' in html and 'data-county="211321"' in html
    assert "核准落户率" in html and "开工竣工率" in html and "投产达效率" in html


def test_page_filters_live_in_the_url(client, world, leads):
    client.force_login(world.users["city"])
    solar = Chain.objects.get(name="光伏")
    response = client.get(
        reverse("attraction:funnel"), {"year": "2026", "quarter": "1", "county": LONGCHENG, "chain": solar.pk}
    )
    assert response.status_code == 200
    result = response.context["funnel"]
    assert result.period == Period.parse("2026Q1") and result.region.code == LONGCHENG
    assert counts(result.total) == [1, 1, 0, 0, 0, 0, 0]  # C
    html = response.content.decode()
    assert "2026年第一季度" in html and "龙城区" in html and "光伏" in html
    assert 'value="2026"' in html  # the form keeps what was asked


def test_bad_filters_are_named_and_show_this_year(client, world, leads):
    client.force_login(world.users["city"])
    response = client.get(reverse("attraction:funnel"), {"year": "20x6", "county": "999999", "quarter": "5"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "年度“20x6”有误" in html
    assert "县(市)区代码“999999”不存在" in html
    assert "季度“5”有误" in html
    assert response.context["funnel"].period == Period.parse(str(timezone.localdate().year))


def test_a_bad_filter_leaves_the_good_ones_in_force(client, world, leads):
    client.force_login(world.users["city"])
    response = client.get(reverse("attraction:funnel"), {"year": "2025", "county": "999999"})
    assert response.status_code == 400
    assert response.context["funnel"].period == Period.parse("2025")
    assert response.context["funnel"].region is None


def test_page_for_a_county_shows_its_division_only(client, world, leads):
    client.force_login(world.users["county"])
    response = client.get(reverse("attraction:funnel"), {"year": "2026"})
    assert response.context["chart"]["counts"] == [4, 3, 3, 3, 2, 1, 1]
    html = response.content.decode()
    assert 'data-county="211302"' in html and 'data-county="211303"' not in html


@pytest.mark.parametrize("role", ["enterprise", "steward", "auditor"])
def test_page_is_refused_to_roles_without_leads(client, world, role):
    client.force_login(world.users[role])
    assert client.get(reverse("attraction:funnel")).status_code == 403


def test_page_queries_are_pinned_and_do_not_grow_with_leads(
    client, world, leads, django_assert_max_num_queries
):
    client.force_login(world.users["city"])
    url = reverse("attraction:funnel")
    client.get(url, {"year": "2026"})  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"year": "2026"})
    # Session and user, the five of the funnel, the bell's unread count, the county and chain
    # choices, and the session's save (with its savepoint).
    assert len(few) == 13, [q["sql"][:90] for q in few.captured_queries]
    for n in range(12):
        make_lead(
            world,
            f"L{n}",
            county=LONGCHENG if n % 2 else SHUANGTA,
            amount=10 + n,
            entries=[("clue", D(2026, 1, 2)), ("negotiating", D(2026, 1, 9))],
            project_stage="started" if n % 3 == 0 else None,
        )
    with django_assert_max_num_queries(len(few)):
        response = client.get(url, {"year": "2026"})
    assert response.context["chart"]["counts"][0] == 17
