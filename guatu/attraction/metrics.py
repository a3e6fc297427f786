"""The attraction app's metrics, added to the targets catalogue (guatu.targets.metrics) when the app
loads: signings (count and amount) and funds in place (到位资金).

They are scoped metrics: they read leads, not projects, so they take the target's scope (a region,
the city meaning all its counties, by the lead's 拟落地 region; or a unit, by the attracting unit).
A lead signed on the day it first entered 正式签约 or a later stage; a dropped lead still counts for
a signing that happened."""

import datetime as dt
from collections.abc import Hashable, Iterable
from decimal import Decimal

from django.db.models import Count, DateField, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils.translation import gettext_lazy

from guatu.targets.metrics import Metric, Scope, grouped_totals, register
from guatu.targets.periods import Period

SIGNED = "signed"


def scope_leads(*, region=None, unit=None, leads: QuerySet | None = None) -> QuerySet:
    """The leads a scope covers: those landing in a region or its divisions, or attracted by a unit."""
    from guatu.attraction.models import Lead

    qs = leads if leads is not None else Lead.objects.all()
    if region is not None:
        return qs.filter(Q(region=region) | Q(region__parent=region))
    if unit is not None:
        return qs.filter(attracting_unit=unit)
    return qs


def entered(stage: str = SIGNED) -> Subquery:
    """The first day the lead entered this stage or a later one (an import may start past it)."""
    from guatu.attraction.models import LeadStage, LeadStageChange

    order = LeadStage.objects.filter(code=stage).values("order")[:1]
    first = (
        LeadStageChange.objects.filter(lead=OuterRef("pk"), to_stage__order__gte=Subquery(order))
        .order_by("on", "id")
        .values("on")[:1]
    )
    return Subquery(first, output_field=DateField())


def signed_in(region, unit, period: Period, today: dt.date) -> QuerySet:
    until = min(period.end, today)
    return (
        scope_leads(region=region, unit=unit)
        .annotate(signed_day=entered(SIGNED))
        .filter(signed_day__gte=period.start, signed_day__lte=until)
    )


def _signed_totals(scopes: Iterable[Scope], period: Period, today: dt.date) -> dict[Hashable, dict]:
    """Signings per scope (count and amount), one query per kind of scope: a lead lands in one
    region and has one attracting unit, so no lead is summed twice for a scope."""
    from guatu.attraction.models import Lead

    until = min(period.end, today)
    leads = Lead.objects.annotate(signed_day=entered(SIGNED)).filter(
        signed_day__gte=period.start, signed_day__lte=until
    )
    return grouped_totals(
        scopes, leads, region="region", unit="attracting_unit", n=Count("pk"), total=Sum("amount")
    )


def leads_signed(region, unit, period: Period, today: dt.date) -> Decimal:
    """签约项目数: leads that entered 正式签约 in the period (up to today)."""
    return Decimal(signed_in(region, unit, period, today).count())


def leads_signed_amount(region, unit, period: Period, today: dt.date) -> Decimal:
    """签约金额: the intended investment of the leads signed in the period (万元)."""
    ids = signed_in(region, unit, period, today).values("pk")
    from guatu.attraction.models import Lead

    total = Lead.objects.filter(pk__in=ids).aggregate(total=Sum("amount"))["total"]
    return (total or Decimal(0)).quantize(Decimal("0.01"))


def leads_signed_grouped(scopes: Iterable[Scope], period: Period, today: dt.date) -> dict[Hashable, Decimal]:
    return {key: Decimal(v["n"]) for key, v in _signed_totals(scopes, period, today).items()}


def leads_signed_amount_grouped(
    scopes: Iterable[Scope], period: Period, today: dt.date
) -> dict[Hashable, Decimal]:
    totals = _signed_totals(scopes, period, today)
    return {key: v["total"].quantize(Decimal("0.01")) for key, v in totals.items()}


def funds_in_place(region, unit, period: Period, today: dt.date) -> Decimal:
    """到位资金: funds received in the period (up to today) against the scope's leads (万元)."""
    from guatu.attraction.models import FundsInPlace

    qs = FundsInPlace.objects.filter(received_on__gte=period.start, received_on__lte=min(period.end, today))
    if region is not None:
        qs = qs.filter(Q(region=region) | Q(region__parent=region))
    elif unit is not None:
        qs = qs.filter(lead__attracting_unit=unit)
    total = qs.aggregate(total=Sum("amount"))["total"]
    return (total or Decimal(0)).quantize(Decimal("0.01"))


def funds_in_place_grouped(
    scopes: Iterable[Scope], period: Period, today: dt.date
) -> dict[Hashable, Decimal]:
    from guatu.attraction.models import FundsInPlace

    qs = FundsInPlace.objects.filter(received_on__gte=period.start, received_on__lte=min(period.end, today))
    totals = grouped_totals(scopes, qs, region="region", unit="lead__attracting_unit", total=Sum("amount"))
    return {key: v["total"].quantize(Decimal("0.01")) for key, v in totals.items()}


ATTRACTION_METRICS = (
    Metric(
        "leads_signed",
        gettext_lazy("签约项目数"),
        "个",
        "count",
        gettext_lazy("期间内正式签约的招商项目（放弃的线索仍计入已发生的签约）"),
        leads_signed,
        scoped=True,
        grouped=leads_signed_grouped,
    ),
    Metric(
        "leads_signed_amount",
        gettext_lazy("签约金额"),
        "万元",
        "amount",
        gettext_lazy("期间内正式签约的招商项目的意向投资之和"),
        leads_signed_amount,
        scoped=True,
        grouped=leads_signed_amount_grouped,
    ),
    Metric(
        "funds_in_place",
        gettext_lazy("到位资金"),
        "万元",
        "amount",
        gettext_lazy("期间内登记到位的招商引资资金之和"),
        funds_in_place,
        scoped=True,
        grouped=funds_in_place_grouped,
    ),
)


def register_metrics() -> None:
    for metric in ATTRACTION_METRICS:
        register(metric)
