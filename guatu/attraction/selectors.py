"""Reads of the attraction app; every read starts from restrict()."""

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.accounts.models import Role
from guatu.attraction.filters import LeadFilterSet
from guatu.attraction.models import (
    ChainLeader,
    ChainLink,
    FundsInPlace,
    Lead,
    LeadStage,
    LeadStageChange,
    LinkPosition,
)
from guatu.core.permissions import restrict
from guatu.org.models import Chain, Region, Unit
from guatu.projects.models import Stage as ProjectStage
from guatu.targets.periods import YEAR, Period

# --- leads


def lead_queryset(*, user, action: str = "view") -> QuerySet[Lead]:
    return restrict(Lead.objects, user, action).select_related(
        "stage", "chain", "link", "region", "attracting_unit", "project"
    )


def lead_filterset(*, user, params: Mapping[str, str], action: str = "view") -> LeadFilterSet:
    return LeadFilterSet(params, queryset=lead_queryset(user=user, action=action))


def lead_list(*, user, params: Mapping[str, str], action: str = "view") -> QuerySet[Lead]:
    filterset = lead_filterset(user=user, params=params, action=action)
    # An invalid filter shows nothing rather than everything.
    return filterset.qs if filterset.is_valid() else Lead.objects.none()


def lead_get(*, user, pk: int, action: str = "view") -> Lead:
    return lead_queryset(user=user, action=action).get(pk=pk)


@dataclass
class TimelineStep:
    stage: LeadStage
    entered_on: dt.date | None  # None: a stage the lead has not reached
    days: int | None  # days spent in it (to the next stage, the drop, or today)
    is_current: bool
    note: str = ""
    actor: str = ""


def lead_timeline(*, user, lead: Lead, today: dt.date | None = None) -> list[TimelineStep]:
    """Every stage in order with the day the lead entered it and the days it spent there; stages not
    reached come last, without dates."""
    today = today or timezone.localdate()
    changes = list(
        restrict(LeadStageChange.objects, user, "view")
        .filter(lead=lead)
        .select_related("to_stage", "actor")
        .order_by("on", "id")
    )
    end = lead.dropped_at or today
    steps = []
    reached = set()
    for index, change in enumerate(changes):
        following = changes[index + 1].on if index + 1 < len(changes) else end
        reached.add(change.to_stage_id)
        steps.append(
            TimelineStep(
                stage=change.to_stage,
                entered_on=change.on,
                days=max((following - change.on).days, 0),
                is_current=change.to_stage_id == lead.stage_id and index == len(changes) - 1,
                note=change.note,
                actor=str(change.actor or ""),
            )
        )
    for stage in LeadStage.objects.filter(order__gt=lead.stage.order):
        if stage.pk not in reached:
            steps.append(TimelineStep(stage=stage, entered_on=None, days=None, is_current=False))
    return steps


def lead_funds(*, user, lead: Lead) -> QuerySet[FundsInPlace]:
    return restrict(FundsInPlace.objects, user, "view").filter(lead=lead).order_by("received_on", "id")


def funds_total(funds: QuerySet[FundsInPlace]):
    return funds.aggregate(total=Sum("amount"))["total"]


# --- funnel and chain map
#
# The funnel reads the dates of LeadStageChange (the day a lead entered each stage); the chain map
# reads ChainLink, ChainLeader and the leads on each link. Both run a fixed number of queries,
# however many leads there are: rows are read once and counted here, per stage and per county.

FUNNEL_RATES = (
    ("landing_rate", gettext_lazy("核准落户率")),
    ("start_completion_rate", gettext_lazy("开工竣工率")),
    ("production_rate", gettext_lazy("投产达效率")),
)
POSITION_ORDER = (LinkPosition.UPSTREAM, LinkPosition.MIDSTREAM, LinkPosition.DOWNSTREAM)


@dataclass
class StageFigures:
    """One stage of the funnel: leads that reached it in the period, their intended investment,
    leads dropped at it in the period, and the days leads spent in it."""

    code: str
    name: str
    order: int
    color: str
    count: int = 0
    amount: Decimal = Decimal("0")
    dropped: int = 0
    median_days: float | None = None
    mean_days: float | None = None
    stays: int = 0  # how many finished stays the days are taken from
    _days: list[int] = field(default_factory=list, repr=False)

    @property
    def amount_wan(self) -> Decimal:
        return self.amount.quantize(Decimal("0.01"))


@dataclass
class Rate:
    code: str
    name: str
    numerator: int = 0
    denominator: int = 0

    @property
    def value(self) -> Decimal | None:
        """numerator ÷ denominator as a fraction (0.7500), None when nothing is in the denominator."""
        if not self.denominator:
            return None
        return (Decimal(self.numerator) / Decimal(self.denominator)).quantize(Decimal("0.0001"))

    @property
    def percent(self) -> Decimal | None:
        value = self.value
        return None if value is None else (value * 100).quantize(Decimal("0.1"))


@dataclass
class FunnelFigures:
    stages: list[StageFigures]
    rates: dict[str, Rate]
    at_capacity: int = 0  # of the leads started in the period: registry project at 达产达效

    def stage(self, code: str) -> StageFigures:
        return next(s for s in self.stages if s.code == code)

    @property
    def by_code(self) -> dict[str, StageFigures]:
        return {s.code: s for s in self.stages}

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self.stages)


@dataclass
class CountyFunnel:
    region: Region
    figures: FunnelFigures


@dataclass
class Funnel:
    period: Period
    region: Region | None
    chain: Chain | None
    today: dt.date
    total: FunnelFigures
    counties: list[CountyFunnel]

    @property
    def stages(self) -> list[StageFigures]:
        return self.total.stages

    @property
    def rates(self) -> dict[str, Rate]:
        return self.total.rates


class _Tally:
    """Adds leads up into one FunnelFigures (the whole scope, or one county)."""

    def __init__(self, stages: list[LeadStage]):
        self.figures = FunnelFigures(
            stages=[StageFigures(code=s.code, name=s.name, order=s.order, color=s.color) for s in stages],
            rates={code: Rate(code=code, name=str(name)) for code, name in FUNNEL_RATES},
        )
        self.by_order = {s.order: s for s in self.figures.stages}

    def finish(self) -> FunnelFigures:
        for stage in self.figures.stages:
            days = stage._days
            stage.stays = len(days)
            if days:
                stage.median_days = round(float(statistics.median(days)), 1)
                stage.mean_days = round(sum(days) / len(days), 1)
        return self.figures


def _region_of(value) -> Region | None:
    if value in (None, ""):
        return None
    if isinstance(value, Region):
        return value
    lookup = {"pk": value} if isinstance(value, int) else {"code": str(value).strip()}
    try:
        return Region.objects.get(**lookup)
    except Region.DoesNotExist:
        raise ValidationError(_("县(市)区“%(value)s”不存在") % {"value": value}, code="region") from None


def _chain_of(value) -> Chain | None:
    if value in (None, ""):
        return None
    if isinstance(value, Chain):
        return value
    try:
        return Chain.objects.get(pk=int(value))
    except (Chain.DoesNotExist, TypeError, ValueError):
        raise ValidationError(_("产业链“%(value)s”不存在") % {"value": value}, code="chain") from None


def funnel(
    *,
    user,
    year: int | None = None,
    period: Period | None = None,
    region=None,
    chain=None,
    today: dt.date | None = None,
) -> Funnel:
    """The attraction funnel of the leads the user may see, for a period (`period`, else the year
    `year`, else this year), optionally one county (a Region or its code) and one chain.

    Stages — cumulative, a classic funnel: a lead *reached* a stage on the earliest day it entered
    that stage or any later one (a lead that has signed has passed 洽谈 and 框架协议, even when it was
    entered at 正式签约 by an import). It counts at the stage, with its intended investment (万元), when
    that day lies in the period. Within one period the counts shrink stage by stage, except where
    leads that entered the pipeline in an earlier period move on in this one. Leads are never taken
    out of the stages they reached: a lead dropped at 框架协议 still counts at 线索, 洽谈 and 框架协议.

    Dropped: leads whose 放弃日期 lies in the period, at the stage they had reached when dropped.

    Days in stage: from the day a lead entered a stage to the day it entered the next one
    (consecutive LeadStageChange dates), for stays that *ended* in the period. Open stays (a lead
    still in the stage, or dropped there) are excluded: they would understate how long a stage
    takes. Median and mean are in days, to one decimal; None when no stay ended in the period.

    Rates — a fraction from 0 to 1 (four decimals), None when the denominator is 0. Each follows
    the leads of one stage in the period (a cohort), so it never exceeds 1:
    - landing_rate 核准落户率 = leads that reached 注册落户 by the period's end
      ÷ leads that reached 正式签约 in the period (the funnel's 正式签约 count).
    - start_completion_rate 开工竣工率 = leads whose registry project (the project the lead was
      converted to at 开工) is now at 竣工 or a later project stage, or that reached 投产 by the
      period's end ÷ leads that reached 开工 in the period (the funnel's 开工 count).
    - production_rate 投产达效率 = leads that reached 投产 by the period's end, or whose registry
      project is now at 投产 or 达产达效 ÷ the same 开工 count. `at_capacity` counts those of them
      whose project has reached 达产达效 (the registry holds that fact, not the lead).
    Project stages are the registry's current ones (the registry dates its stage changes by the
    second, not by the day of the event).

    Per county: the same figures for each county-level division (by the lead's 拟落地县(市)区): every
    division for a user who sees the whole city, the divisions the user has leads in otherwise.

    Five queries, however many leads: the stages, the leads, their stage changes, the registry's
    stage orders and the divisions; one more for a county or a chain given by code or id."""
    today = today or timezone.localdate()
    if period is None:
        period = Period(year or today.year, YEAR)
    region, chain = _region_of(region), _chain_of(chain)
    stages = list(restrict(LeadStage.objects, user, "view").order_by("order"))
    leads = restrict(Lead.objects, user, "view")
    if region is not None:
        leads = leads.filter(Q(region=region) | Q(region__parent=region))
    if chain is not None:
        leads = leads.filter(chain=chain)
    rows = list(
        leads.values_list("pk", "region_id", "amount", "stage__order", "dropped_at", "project__stage__order")
    )
    entries: dict[int, dict[int, dt.date]] = defaultdict(dict)
    changes = (
        restrict(LeadStageChange.objects, user, "view")
        .filter(lead__in=leads.values("pk"))
        .order_by("lead_id", "on", "id")
        .values_list("lead_id", "to_stage__order", "on")
    )
    for lead_id, order, on in changes:
        entries[lead_id].setdefault(order, on)  # the first time it entered the stage
    project_orders = dict(
        ProjectStage.objects.filter(code__in=("completed", "in_production", "at_capacity")).values_list(
            "code", "order"
        )
    )
    counties = _funnel_counties(user=user, region=region, present={row[1] for row in rows})

    order_of = {s.code: s.order for s in stages}
    total = _Tally(stages)
    by_county = {c.pk: _Tally(stages) for c in counties}
    for pk, region_id, amount, stage_order, dropped_at, project_order in rows:
        tallies = [total] + ([by_county[region_id]] if region_id in by_county else [])
        reached = _reached(entries.get(pk, {}), [s.order for s in stages])
        for tally in tallies:
            _count_lead(
                tally,
                period=period,
                reached=reached,
                entered=entries.get(pk, {}),
                amount=amount,
                stage_order=stage_order,
                dropped_at=dropped_at,
                project_order=project_order,
                order_of=order_of,
                project_orders=project_orders,
            )
    return Funnel(
        period=period,
        region=region,
        chain=chain,
        today=today,
        total=total.finish(),
        counties=[CountyFunnel(region=c, figures=by_county[c.pk].finish()) for c in counties],
    )


def _funnel_counties(*, user, region: Region | None, present: set[int]) -> list[Region]:
    counties = Region.objects.filter(level=Region.Level.COUNTY).order_by("code")
    if region is not None:
        return [c for c in counties if c.pk == region.pk or c.parent_id == region.pk]
    if user.role == Role.COUNTY:
        return [c for c in counties if c.pk == user.region_id or c.pk in present]
    if user.role == Role.DEPARTMENT:
        return [c for c in counties if c.pk in present]
    return list(counties)


def _reached(entered: dict[int, dt.date], orders: list[int]) -> dict[int, dt.date]:
    """Stage order → the day the lead reached it: the earliest entry into it or any later stage."""
    reached: dict[int, dt.date] = {}
    earliest: dt.date | None = None
    for order in sorted(orders, reverse=True):
        on = entered.get(order)
        if on is not None and (earliest is None or on < earliest):
            earliest = on
        if earliest is not None:
            reached[order] = earliest
    return reached


def _count_lead(
    tally: _Tally,
    *,
    period: Period,
    reached: dict[int, dt.date],
    entered: dict[int, dt.date],
    amount: Decimal,
    stage_order: int,
    dropped_at: dt.date | None,
    project_order: int | None,
    order_of: dict[str, int],
    project_orders: dict[str, int],
) -> None:
    start, end = period.start, period.end

    def within(day: dt.date | None) -> bool:
        return day is not None and start <= day <= end

    def by_end(code: str) -> bool:
        day = reached.get(order_of.get(code, -1))
        return day is not None and day <= end

    def project_at(code: str) -> bool:
        return project_order is not None and code in project_orders and project_order >= project_orders[code]

    figures = tally.figures
    for order, day in reached.items():
        if within(day) and order in tally.by_order:
            stage = tally.by_order[order]
            stage.count += 1
            stage.amount += amount or 0
    if within(dropped_at) and stage_order in tally.by_order:
        tally.by_order[stage_order].dropped += 1
    ordered = sorted(entered.items())
    for (order, on), (_next_order, left) in itertools.pairwise(ordered):
        if within(left) and left >= on and order in tally.by_order:
            tally.by_order[order]._days.append((left - on).days)

    rates = figures.rates
    if within(reached.get(order_of.get("signed", -1))):
        rates["landing_rate"].denominator += 1
        rates["landing_rate"].numerator += by_end("registered")
    if within(reached.get(order_of.get("started", -1))):
        produced = by_end("in_production") or project_at("in_production")
        for code, done in (
            ("start_completion_rate", produced or project_at("completed")),
            ("production_rate", produced),
        ):
            rates[code].denominator += 1
            rates[code].numerator += bool(done)
        figures.at_capacity += project_at("at_capacity")


@dataclass
class LinkCard:
    """A link of a chain: the enterprises present on it, leads that landed there, leads in the works."""

    link: ChainLink
    enterprises: list[Unit] = field(default_factory=list)
    landed: list[str] = field(default_factory=list)  # investors of registered leads not yet in the registry
    pipeline: int = 0  # leads on the link not dropped and not yet at 注册落户

    @property
    def missing(self) -> bool:
        """补链: nobody is present on the link."""
        return not self.enterprises and not self.landed


@dataclass
class PositionGroup:
    position: str
    label: str
    links: list[LinkCard]


@dataclass
class ChainCard:
    chain: Chain
    leaders: list[ChainLeader]
    groups: list[PositionGroup]
    leads: int = 0  # leads on the chain in the user's scope (not dropped)

    @property
    def links(self) -> list[LinkCard]:
        return [card for group in self.groups for card in group.links]

    @property
    def missing(self) -> list[LinkCard]:
        return [card for card in self.links if card.missing]


def chain_map(*, user, chain=None) -> list[ChainCard]:
    """Each chain the user may see with its links upstream, midstream and downstream, the
    enterprises present on each link and its 链主.

    Present on a link: the enterprises recorded on the link (ChainLink.enterprises), and the
    enterprises of the leads on the link that reached 注册落户 or later and were not dropped — for a
    lead converted to a registry project, the project's enterprise (项目单位); for one not yet
    converted, its investor's name (in `landed`). A link with neither is missing: a 补链 target.
    Leads count only when the user may see them (restrict()). Eight queries, however many chains."""
    chains = restrict(Chain.objects, user, "view").order_by("order", "name")
    if chain is not None:
        chains = chains.filter(pk=getattr(chain, "pk", chain))
    chains = list(chains)
    ids = [c.pk for c in chains]
    links = (
        restrict(ChainLink.objects, user, "view")
        .filter(chain__in=ids)
        .prefetch_related(Prefetch("enterprises", queryset=Unit.objects.order_by("name")))
    )
    leaders = (
        restrict(ChainLeader.objects, user, "view")
        .filter(chain__in=ids)
        .select_related("unit", "unit__region")
        .order_by("unit__name")
    )
    registered = LeadStage.objects.filter(code="registered").values_list("order", flat=True).first() or 10**4
    leads = restrict(Lead.objects, user, "view").filter(chain__in=ids, dropped_at__isnull=True)
    landed = (
        leads.filter(link__isnull=False, stage__order__gte=registered)
        .select_related("project__enterprise")
        .order_by("investor")
    )
    cards: dict[int, LinkCard] = {}
    for link in links:
        cards[link.pk] = LinkCard(link=link, enterprises=list(link.enterprises.all()))
    for lead in landed:
        card = cards.get(lead.link_id)
        if card is None:
            continue
        enterprise = lead.project.enterprise if lead.project_id else None
        if enterprise is not None:
            if enterprise.pk not in {u.pk for u in card.enterprises}:
                card.enterprises.append(enterprise)
        elif lead.investor not in card.landed and lead.investor not in {u.name for u in card.enterprises}:
            card.landed.append(lead.investor)
    for link_id, count in (
        leads.filter(link__isnull=False, stage__order__lt=registered)
        .values_list("link_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if link_id in cards:
            cards[link_id].pipeline = count
    per_chain = dict(leads.values_list("chain_id").annotate(n=Count("pk")).order_by())
    leaders_of: dict[int, list[ChainLeader]] = defaultdict(list)
    for leader in leaders:
        leaders_of[leader.chain_id].append(leader)
    labels = dict(LinkPosition.choices)
    result = []
    for c in chains:
        mine = sorted((card for card in cards.values() if card.link.chain_id == c.pk), key=_link_key)
        groups = [
            PositionGroup(
                position=p, label=str(labels[p]), links=[card for card in mine if card.link.position == p]
            )
            for p in POSITION_ORDER
        ]
        result.append(
            ChainCard(chain=c, leaders=leaders_of[c.pk], groups=groups, leads=per_chain.get(c.pk, 0))
        )
    return result


def _link_key(card: LinkCard) -> tuple:
    link = card.link
    return (POSITION_ORDER.index(link.position), link.order, link.name)


@dataclass
class LinkLeads:
    """Leads on one link of a chain (link None: leads with no link recorded)."""

    link: ChainLink | None
    label: str
    position_label: str
    leads: list[Lead]


def chain_leads(*, user, chain: Chain) -> list[LinkLeads]:
    """The leads along a chain that the user may see, grouped by link upstream → downstream (links
    without leads included, so gaps show), then those with no link. Two queries."""
    links = sorted(
        restrict(ChainLink.objects, user, "view").filter(chain=chain),
        key=lambda link: (POSITION_ORDER.index(link.position), link.order, link.name),
    )
    leads = (
        restrict(Lead.objects, user, "view")
        .filter(chain=chain)
        .select_related("stage", "region", "attracting_unit", "project", "link")
        .order_by("-stage__order", "-amount", "pk")
    )
    grouped: dict[int | None, list[Lead]] = defaultdict(list)
    for lead in leads:
        grouped[lead.link_id].append(lead)
    labels = dict(LinkPosition.choices)
    groups = [
        LinkLeads(
            link=link, label=link.name, position_label=str(labels[link.position]), leads=grouped[link.pk]
        )
        for link in links
    ]
    if grouped.get(None):
        unplaced = grouped[None]
        groups.append(LinkLeads(link=None, label=_("未指定环节"), position_label="", leads=unplaced))
    return groups


def chain_get(*, user, pk: int) -> Chain:
    return restrict(Chain.objects, user, "view").get(pk=pk)
