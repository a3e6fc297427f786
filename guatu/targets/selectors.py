"""Reads of targets, pledges and quarter phases; every read that serves a user starts from restrict()."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from guatu.core.permissions import restrict
from guatu.targets.forecast import TargetRow, forecast_target, forecast_targets
from guatu.targets.metrics import actual, get_metric, metric_name, scope_projects
from guatu.targets.models import Pledge, QuarterPhase, Target
from guatu.targets.periods import QUARTER, YEAR, Period

# A period's shorter targets first (a quarter before its year), each city target followed by its parts.
TARGET_ORDER = ("start", "end", "metric", F("parent").asc(nulls_first=True), "region__code", "unit__name")


def target_queryset(*, user, action: str = "view") -> QuerySet[Target]:
    return (
        restrict(Target.objects, user, action)
        .select_related("region", "region__parent", "unit", "parent", "pledge", "pledge__unit")
        .order_by(*TARGET_ORDER)
    )


def _with_parts(qs: QuerySet[Target]) -> QuerySet[Target]:
    return qs.prefetch_related(Prefetch("parts", queryset=Target.objects.select_related("region", "unit")))


def target_filterset(*, user, params: Mapping[str, str]):
    from guatu.targets.filters import TargetFilterSet

    return TargetFilterSet(params, queryset=_with_parts(target_queryset(user=user)))


def target_list(*, user, params: Mapping[str, str]) -> QuerySet[Target]:
    filterset = target_filterset(user=user, params=params)
    return filterset.qs if filterset.is_valid() else Target.objects.none()


def target_get(*, user, pk: int, action: str = "view") -> Target:
    return _with_parts(target_queryset(user=user, action=action)).get(pk=pk)


def target_rows(
    *,
    user,
    period: Period | str | None = None,
    today: dt.date | None = None,
    city_only: bool = False,
    targets: QuerySet[Target] | None = None,
) -> list[TargetRow]:
    """Each visible target with its actual, forecast and status. With no period: every target whose
    period contains today; with one: the targets of exactly that period (2026, 2026Q2, 2026-05)."""
    today = today or timezone.localdate()
    qs = targets if targets is not None else target_queryset(user=user)
    in_period = Q(period=str(period)) if period is not None else Q(start__lte=today, end__gte=today)
    qs = qs.filter(in_period)
    if city_only:
        qs = qs.filter(region__isnull=False, region__parent__isnull=True)
    return forecast_targets(_with_parts(qs), today=today)


def target_part_rows(*, user, target: Target, today: dt.date | None = None) -> list[TargetRow]:
    """The county parts of a split target that the user may see, each with actual and forecast."""
    today = today or timezone.localdate()
    parts = target_queryset(user=user).filter(parent=target).order_by("region__code", "unit__name")
    return forecast_targets(parts, today=today)


def target_for(*, metric: str, period: Period | str, region=None, unit=None) -> Target | None:
    """The target of one metric, period and scope, if one is set (for scoring; no user)."""
    if region is None and unit is None:
        return None
    qs = Target.objects.filter(metric=metric, period=str(period))
    qs = qs.filter(region=region) if region is not None else qs.filter(unit=unit)
    return qs.select_related("region", "unit").first()


def current_phase(today: dt.date | None = None) -> QuarterPhase | None:
    """The quarter phase (开门红, 双过半, 攻坚, 收官) of the quarter `today` falls in."""
    today = today or timezone.localdate()
    return QuarterPhase.objects.filter(quarter=(today.month - 1) // 3 + 1).first()


@dataclass
class Headline:
    metric: str
    name: str
    unit: str
    actual: Decimal | None
    target: TargetRow | None = None


@dataclass
class PhaseView:
    phase: QuarterPhase
    period: Period
    headlines: list[Headline] = field(default_factory=list)
    time_share: Decimal | None = None  # 双过半: share of the year gone by (percent)
    task_share: Decimal | None = None  # 双过半: share of the year's targets done (percent, mean)


def phase_view(*, user, city, today: dt.date | None = None) -> PhaseView | None:
    """The current quarter's phase with its headline metrics' city actuals (quarter to date) and the
    city's quarter target of each where one is set. For 双过半 also the share of the year's time and
    the share of the year's task done (mean over the city's year targets of actual ÷ target)."""
    today = today or timezone.localdate()
    phase = current_phase(today)
    if phase is None or city is None:
        return None
    quarter = Period.containing(today, QUARTER)
    view = PhaseView(phase=phase, period=quarter)
    projects = scope_projects(region=city)
    visible = target_queryset(user=user).filter(region=city)
    for code in phase.headline_metrics:
        try:
            metric = get_metric(code)
        except Exception:  # a phase naming a metric no longer in the catalogue: skip it
            continue
        target = visible.filter(metric=code, period=str(quarter)).first()
        view.headlines.append(
            Headline(
                metric=code,
                name=metric_name(code),
                unit=metric.unit,
                actual=actual(code, projects, quarter, today, region=city),
                target=forecast_target(target, today=today) if target else None,
            )
        )
    if phase.quarter == 2:
        year = Period.containing(today, YEAR)
        view.time_share = Decimal(str(round(year.elapsed(today) * 100, 1)))
        shares = []
        for row in target_rows(user=user, period=year, today=today, city_only=True):
            metric = get_metric(row.target.metric)
            if metric.kind != "rate" and row.actual is not None and row.target.value:
                shares.append(min(Decimal(100), Decimal(100) * row.actual / row.target.value))
        if shares:
            view.task_share = (sum(shares) / len(shares)).quantize(Decimal("0.1"))
    return view


def pledge_queryset(*, user, action: str = "view") -> QuerySet[Pledge]:
    # Counties' pledges first (by division), then the departments'.
    return (
        restrict(Pledge.objects, user, action)
        .select_related("unit", "region")
        .order_by("-signed_on", "unit__kind", "region__code", "unit__name")
    )


def pledge_list(*, user, params: Mapping[str, str] | None = None) -> QuerySet[Pledge]:
    from guatu.targets.filters import PledgeFilterSet

    filterset = PledgeFilterSet(params or {}, queryset=pledge_queryset(user=user))
    return filterset.qs if filterset.is_valid() else Pledge.objects.none()


@dataclass
class PledgeRow:
    pledge: Pledge
    rows: list[TargetRow]

    @property
    def missed(self) -> list[TargetRow]:
        return [r for r in self.rows if r.status in {"missed", "off_track"}]

    @property
    def missed_count(self) -> int:
        return sum(1 for r in self.rows if r.status == "missed")

    @property
    def met_count(self) -> int:
        return sum(1 for r in self.rows if r.status == "met")


def pledge_rows(*, user, pledges, today: dt.date | None = None) -> list[PledgeRow]:
    """Each pledge with its targets against their actuals; only targets the user may see."""
    today = today or timezone.localdate()
    pledges = list(pledges)
    # One query for the targets of every pledge on the page, not one per pledge.
    by_pledge: dict[int, list[Target]] = {}
    targets = target_queryset(user=user).filter(pledge__in=[p.pk for p in pledges])
    for target in targets.order_by("start", "metric"):
        by_pledge.setdefault(target.pledge_id, []).append(target)
    rows = iter(forecast_targets([t for p in pledges for t in by_pledge.get(p.pk, [])], today=today))
    return [
        PledgeRow(pledge=pledge, rows=[next(rows) for _t in by_pledge.get(pledge.pk, [])])
        for pledge in pledges
    ]


def missed_pledge_targets(*, user, today: dt.date | None = None) -> QuerySet[Target]:
    """Pledged targets whose period has ended (for the 未完成 list; the status decides the rest)."""
    today = today or timezone.localdate()
    return target_queryset(user=user).filter(~Q(pledge=None), end__lt=today)
