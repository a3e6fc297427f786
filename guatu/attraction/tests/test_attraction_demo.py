"""The demo's 招商引资: links and 链主 on the 17 chains, ~300 leads at every stage, some dropped, some
blocked by screening, some converted to registry projects, funds on signed leads; idempotent."""

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from guatu.accounts.models import User
from guatu.attraction.models import (
    ChainLeader,
    ChainLink,
    FundsInPlace,
    Lead,
    LeadStage,
    LeadStageChange,
    LinkPosition,
    Relocation,
)
from guatu.attraction.selectors import chain_map, funnel
from guatu.attraction.services import screening_failures
from guatu.core.models import ChangeRecord
from guatu.demo import catalogue as cat
from guatu.demo.attraction_demo import LINKS, plan_leads
from guatu.org.models import Chain, Unit
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """The demo, built once for this module inside a transaction rolled back at its end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("demo", "--no-serve", stdout=io.StringIO())
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def counts() -> dict[str, int]:
    return {
        "leads": Lead.objects.count(),
        "stage_changes": LeadStageChange.objects.count(),
        "funds": FundsInPlace.objects.count(),
        "links": ChainLink.objects.count(),
        "leaders": ChainLeader.objects.count(),
        "projects": Project.objects.count(),
        "units": Unit.objects.count(),
        "change_records": ChangeRecord.objects.count(),
    }


def test_every_chain_has_three_to_six_links_over_its_positions(built):
    chains = Chain.objects.filter(name__in=[c.name for c in cat.CHAINS])
    assert chains.count() == 17
    for chain in chains:
        links = list(ChainLink.objects.filter(chain=chain))
        assert 3 <= len(links) <= 6, chain
        assert {link.position for link in links} == set(LinkPosition.values), chain
        assert all(link.is_demo for link in links)
    blade = ChainLink.objects.get(chain__name="新能源装备", name="叶片材料")
    assert blade.position == LinkPosition.UPSTREAM
    assert (
        ChainLink.objects.get(chain__name="新能源装备", name="运维服务").position == LinkPosition.DOWNSTREAM
    )


def test_about_half_the_chains_have_a_leader_among_the_demo_enterprises(built):
    leaders = ChainLeader.objects.select_related("unit")
    assert 7 <= leaders.values("chain").distinct().count() <= 10
    assert all(leader.unit.is_demo and leader.unit.kind == Unit.Kind.ENTERPRISE for leader in leaders)


def test_chain_map_has_present_enterprises_and_missing_links(built):
    city = User.objects.get(username="city")
    cards = chain_map(user=city)
    links = [link for card in cards for link in card.links]
    assert sum(bool(link.link.enterprises.exists()) for link in links) >= 10
    assert any(link.enterprises for link in links) and any(link.landed or link.enterprises for link in links)
    missing = [link for link in links if link.missing]
    assert 5 <= len(missing) < len(links)


def test_leads_cover_every_stage_and_chain(built):
    leads = Lead.objects.filter(is_demo=True)
    assert 250 <= leads.count() <= 350
    by_stage = dict(leads.values_list("stage__code").annotate(n=Count("pk")))
    assert set(by_stage) == set(LeadStage.objects.values_list("code", flat=True))
    assert all(n >= 20 for n in by_stage.values())
    assert leads.values("chain").distinct().count() == 17
    assert not leads.filter(link__isnull=True).exists()
    for lead in leads.select_related("link"):
        assert lead.link.chain_id == lead.chain_id and lead.position == lead.link.position
    assert leads.values("name").distinct().count() == leads.count()


def test_investors_from_jingjinji_and_elsewhere(built):
    homes = Counter(Lead.objects.filter(is_demo=True).values_list("investor_region", flat=True))
    jjj = homes["北京市"] + homes["天津市"] + homes["河北省"]
    total = sum(homes.values())
    assert 0.3 * total < jjj < 0.7 * total
    assert len(homes) >= 8
    assert Lead.objects.filter(is_demo=True, relocation=Relocation.SPILLOVER).count() >= 20


def test_some_dropped_with_reasons(built):
    dropped = Lead.objects.filter(is_demo=True, dropped_at__isnull=False)
    assert dropped.count() >= 20
    assert not dropped.filter(drop_reason="").exists()
    assert dropped.values("stage").distinct().count() >= 4
    assert not dropped.filter(stage__code__in=["started", "in_production"]).exists()


def test_some_blocked_by_screening_and_none_of_them_signed(built):
    leads = list(Lead.objects.filter(is_demo=True).select_related("stage"))
    signed = LeadStage.objects.get(code="signed").order
    blocked = [lead for lead in leads if lead.stage.code != "clue" and screening_failures(lead)]
    assert len(blocked) >= 15
    assert all(lead.stage.order < signed for lead in blocked)
    reasons = " ".join(" ".join(screening_failures(lead)) for lead in blocked)
    for kind in ("挤出", "两高", "六小", "产业契合未通过"):
        assert kind in reasons
    assert any(lead.dropped_at for lead in blocked)
    assert not [lead for lead in leads if lead.stage.order >= signed and screening_failures(lead)]


def test_leads_at_start_are_converted_to_registry_projects(built):
    started = Lead.objects.filter(is_demo=True, stage__code__in=["started", "in_production"])
    assert started.count() >= 50
    assert not started.filter(project__isnull=True).exists()
    assert not Lead.objects.filter(is_demo=True, project__isnull=False).exclude(pk__in=started).exists()
    for lead in started.select_related("project__stage", "project__enterprise"):
        project = lead.project
        assert project.lead == lead and project.is_demo
        assert project.name == lead.name and project.total_investment == lead.amount
        assert project.stage.order >= 4  # 开工 or later in the registry
        assert project.enterprise.name == lead.investor and project.region_id == lead.region_id
    stages = set(started.values_list("project__stage__code", flat=True))
    assert {"started", "under_construction", "in_production"} <= stages


def test_funds_in_place_on_signed_leads_only_dated_after_signing(built):
    funds = FundsInPlace.objects.filter(lead__is_demo=True).select_related("lead__stage")
    assert funds.values("lead").distinct().count() >= 60
    signed = {
        lead_id: on
        for lead_id, on in LeadStageChange.objects.filter(to_stage__code="signed").values_list(
            "lead_id", "on"
        )
    }
    today = timezone.localdate()
    for row in funds:
        assert row.lead.stage.order >= 4 and row.amount > 0
        assert signed[row.lead_id] <= row.received_on <= today
        assert row.region_id == row.lead.region_id


def test_stage_dates_run_forward_over_this_year_and_the_last(built):
    today = timezone.localdate()
    first = dt.date(today.year - 1, 1, 1)
    by_lead: dict[int, list] = {}
    for lead_id, order, on in LeadStageChange.objects.filter(lead__is_demo=True).values_list(
        "lead_id", "to_stage__order", "on"
    ):
        by_lead.setdefault(lead_id, []).append((order, on))
        assert first <= on <= today
    years = {on.year for rows in by_lead.values() for _o, on in rows}
    assert years == {today.year - 1, today.year} or today.timetuple().tm_yday < 30
    for rows in by_lead.values():
        rows.sort()
        orders = [o for o, _on in rows]
        assert orders == list(range(orders[0], orders[0] + len(orders)))  # one stage at a time
        assert [on for _o, on in rows] == sorted(on for _o, on in rows)
    for lead in Lead.objects.filter(is_demo=True, dropped_at__isnull=False):
        assert max(on for _o, on in by_lead[lead.pk]) <= lead.dropped_at <= today


def test_the_funnel_over_the_demo_has_figures_at_every_stage(built):
    city = User.objects.get(username="city")
    today = timezone.localdate()
    both = [funnel(user=city, year=year, today=today) for year in (today.year - 1, today.year)]
    for i in range(7):
        assert sum(f.stages[i].count for f in both) > 0
    assert any(f.rates["landing_rate"].value is not None for f in both)
    assert any(f.rates["start_completion_rate"].value is not None for f in both)
    assert sum(f.total.dropped for f in both) >= 20


def test_the_plan_does_not_depend_on_the_day():
    names = [s.name for s in plan_leads(today=dt.date(2026, 3, 1))]
    assert names == [s.name for s in plan_leads(today=dt.date(2027, 11, 30))]
    assert len(set(names)) == len(names) == 300
    assert {s.chain for s in plan_leads(today=dt.date(2026, 3, 1))} == set(LINKS)


def test_running_again_creates_nothing(built):
    before = counts()
    call_command("demo", "--no-serve", stdout=io.StringIO())
    assert counts() == before
