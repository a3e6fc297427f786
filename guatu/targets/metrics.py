"""The metric catalogue: every target's actual is computed here from project facts, never typed.

A metric reads a queryset of projects (already scoped and restricted by the caller) and a period.
Event metrics count projects whose event date (开工, 竣工 …) falls in the period; the event date is
the milestone's actual date where one is recorded, else the day the project entered the stage,
else its planned date (a project past 开工 without a recorded date started when planned).

Each metric also has a grouped form (``Metric.grouped``, read through ``actuals``): its value for
many scopes (regions, units) at once, in a fixed number of queries however many scopes there are,
equal scope for scope to ``actual``. Rankings and the war map read it, so that they do not issue a
query per division and metric.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.progress.models import MonthlyReport
from guatu.projects.models import Milestone, MilestoneKind, Project, StageChange
from guatu.targets import rollups
from guatu.targets.periods import Period

if TYPE_CHECKING:
    from guatu.org.models import Region, Unit

REPORTED_STATUSES = ("submitted", "approved")  # a draft or returned report is not yet a fact
START_GRACE_DAYS = 30  # started within a month of the planned day counts as on time


@dataclass(frozen=True)
class Metric:
    code: str
    name: str
    unit: str  # 个, 万元, %
    kind: str  # count, amount, rate
    description: str
    compute: Callable[..., Decimal | None]
    # For event counts: the annotation holding the event day, and the project field with the day it
    # was planned for (the forecast's pipeline); None where the metric is not such a count.
    event: str | None = None
    planned: str | None = None
    # A scoped metric reads other rows than projects (招商 leads, funds in place): its compute takes
    # (region, unit, period, today), the scope of the target or ranked unit, instead of projects.
    scoped: bool = False
    # The metric for many scopes at once in a fixed number of queries, whatever their number:
    # grouped(scopes, period, today) -> {scope key: value}, each value what `actual` gives for that
    # scope (a project metric over all projects of the scope, as rankings read them). None where
    # the metric has no such form; callers then compute it scope by scope.
    grouped: Callable[..., dict[Hashable, Decimal | None]] | None = None
    # The metric for many scopes, each with its own period, in a fixed number of queries:
    # batched(index, {scope key: period}, today) over a rollups.ScopeIndex of the scopes. Where
    # given, the grouped form is this one with one period for all.
    batched: Callable[..., dict[Hashable, Decimal | None]] | None = None

    def __post_init__(self) -> None:
        if self.batched is not None and self.grouped is None:
            batched = self.batched

            def grouped(scopes, period, today):
                index = rollups.ScopeIndex(scopes)
                return batched(index, dict.fromkeys(index.keys, period), today)

            object.__setattr__(self, "grouped", grouped)


class Scope(NamedTuple):
    """A scope to compute a metric for: a region (and its divisions), a unit, or neither (all)."""

    key: Hashable
    region: "Region | None" = None
    unit: "Unit | None" = None


def _scope_index(scopes: Iterable[Scope]) -> tuple[dict, dict, list]:
    """Scope keys by region pk, by unit pk, and the keys of the scopes that cover everything."""
    by_region: dict[int, list] = defaultdict(list)
    by_unit: dict[int, list] = defaultdict(list)
    everything = []
    for scope in scopes:
        if scope.region is not None:
            by_region[scope.region.pk].append(scope.key)
        elif scope.unit is not None:
            by_unit[scope.unit.pk].append(scope.key)
        else:
            everything.append(scope.key)
    return by_region, by_unit, everything


def grouped_totals(
    scopes: Iterable[Scope], qs: QuerySet, *, region: str, unit: str, **aggregates
) -> dict[Hashable, dict[str, Decimal]]:
    """Additive aggregates (Count, Sum) of the rows of `qs` per scope, in one query per kind of
    scope present: a region scope takes the rows whose `region` field is the region or one of its
    divisions (as scope_projects does), a unit scope the rows whose `unit` field is the unit (a
    many-to-many row counts once for each of its units). A scope without rows gets 0 for each."""
    scopes = list(scopes)
    by_region, by_unit, everything = _scope_index(scopes)
    totals = {s.key: dict.fromkeys(aggregates, Decimal(0)) for s in scopes}

    def add(keys, row) -> None:
        for key in keys:
            for name in aggregates:
                totals[key][name] += row[name] or 0

    qs = qs.order_by()
    if by_region:
        ids = list(by_region)
        parent = f"{region}__parent"
        rows = (
            qs.filter(Q(**{f"{region}__in": ids}) | Q(**{f"{parent}__in": ids}))
            .values(region, parent)
            .annotate(**aggregates)
        )
        for row in rows:
            # A row counts for its own region's scope and its parent's (never both the same).
            add(by_region.get(row[region], ()), row)
            add(by_region.get(row[parent], ()), row)
    if by_unit:
        rows = qs.filter(**{f"{unit}__in": list(by_unit)}).values(unit).annotate(**aggregates)
        for row in rows:
            add(by_unit.get(row[unit], ()), row)
    if everything:
        row = qs.aggregate(**aggregates)
        add(everything, row)
    return totals


def grouped_rows(
    scopes: Iterable[Scope], qs: QuerySet, *, region: str, unit: str, fields: Iterable[str]
) -> dict[Hashable, list[tuple]]:
    """The `fields` of the rows of `qs` per scope (the scopes as in grouped_totals), in the order
    of `qs`, in one query per kind of scope: for what must be computed in Python (a mean, a median)."""
    scopes = list(scopes)
    fields = list(fields)
    by_region, by_unit, everything = _scope_index(scopes)
    found: dict[Hashable, list[tuple]] = {s.key: [] for s in scopes}
    if by_region:
        ids = list(by_region)
        parent = f"{region}__parent"
        rows = qs.filter(Q(**{f"{region}__in": ids}) | Q(**{f"{parent}__in": ids})).values_list(
            region, parent, *fields
        )
        for own, up, *values in rows:
            for key in (*by_region.get(own, ()), *by_region.get(up, ())):
                found[key].append(tuple(values))
    if by_unit:
        rows = qs.filter(**{f"{unit}__in": list(by_unit)}).values_list(unit, *fields)
        for owner, *values in rows:
            for key in by_unit.get(owner, ()):
                found[key].append(tuple(values))
    if everything:
        rows = [tuple(values) for values in qs.values_list(*fields)]
        for key in everything:
            found[key].extend(rows)
    return found


def _project_totals(
    scopes: Iterable[Scope], qs: QuerySet, **aggregates
) -> dict[Hashable, dict[str, Decimal]]:
    return grouped_totals(scopes, qs, region="region", unit="departments", **aggregates)


def _report_totals(scopes: Iterable[Scope], qs: QuerySet, **aggregates) -> dict[Hashable, dict[str, Decimal]]:
    return grouped_totals(scopes, qs, region="project__region", unit="project__departments", **aggregates)


def _stage_order(code: str) -> Subquery:
    from guatu.projects.models import Stage

    return Subquery(Stage.objects.filter(code=code).values("order")[:1])


def _entered(stage: str) -> Subquery:
    """The first day the project entered this stage or a later one, from its stage history."""
    from guatu.projects.models import Stage

    later = Stage.objects.filter(order__gte=Subquery(Stage.objects.filter(code=stage).values("order")[:1]))
    first = (
        StageChange.objects.filter(project=OuterRef("pk"), to_stage__in=later)
        .order_by("at")
        .annotate(day=Cast("at", DateField()))
        .values("day")[:1]
    )
    return Subquery(first, output_field=DateField())


def _milestone(kind: str) -> Subquery:
    actual = Milestone.objects.filter(project=OuterRef("pk"), kind=kind).values("actual_date")[:1]
    return Subquery(actual, output_field=DateField())


# Event day per stage: recorded milestone, else the stage history, else the plan.
EVENTS: dict[str, tuple[str, Callable[[], object]]] = {
    "signed_day": (
        "signed",
        lambda: Coalesce(F("signed_on"), _entered("signed"), Cast("created_at", DateField())),
    ),
    "started_day": ("started", lambda: Coalesce(_milestone(MilestoneKind.STARTED), F("planned_start"))),
    "completed_day": (
        "completed",
        lambda: Coalesce(_milestone(MilestoneKind.COMPLETED), _entered("completed"), F("planned_completion")),
    ),
    "in_production_day": (
        "in_production",
        lambda: Coalesce(
            _milestone(MilestoneKind.IN_PRODUCTION), _entered("in_production"), F("planned_completion")
        ),
    ),
    "at_capacity_day": ("at_capacity", lambda: _entered("at_capacity")),
}


def with_events(projects: QuerySet, *names: str) -> QuerySet:
    """Annotate each named event day; a project not yet at that stage gets none."""
    from django.db.models import Case, When

    annotations = {}
    for name in names:
        stage, expression = EVENTS[name]
        annotations[name] = Case(
            When(stage__order__gte=_stage_order(stage), then=expression()),
            default=None,
            output_field=DateField(),
        )
    return projects.annotate(**annotations)


def _event_count(event: str) -> Callable[[QuerySet, Period, dt.date], Decimal]:
    def compute(projects: QuerySet, period: Period, today: dt.date) -> Decimal:
        until = min(period.end, today)
        qs = with_events(projects, event).filter(**{f"{event}__gte": period.start, f"{event}__lte": until})
        return Decimal(qs.count())

    return compute


Periods = Mapping[Hashable, Period]


def _until(periods: Periods, today: dt.date) -> dict[Hashable, tuple[dt.date, dt.date]]:
    return {key: (p.start, min(p.end, today)) for key, p in periods.items()}


def _event_count_batched(event: str) -> Callable[..., dict[Hashable, Decimal]]:
    def batched(index: "rollups.ScopeIndex", periods: Periods, today: dt.date) -> dict[Hashable, Decimal]:
        found = index.flow(event, event, _until(periods, today))
        return {key: Decimal(v) for key, v in found.items()}

    return batched


def _counts(totals: Mapping[Hashable, Mapping[str, Decimal]], name: str = "n") -> dict[Hashable, Decimal]:
    return {key: Decimal(values[name]) for key, values in totals.items()}


def _started_or_resumed(projects: QuerySet, period: Period, today: dt.date) -> Decimal:
    """开复工: projects under way at some point of the period: started by its end (or today) and
    not completed before it began."""
    return Decimal(_started_or_resumed_qs(projects, period, today).count())


def _started_or_resumed_qs(projects: QuerySet, period: Period, today: dt.date) -> QuerySet:
    until = min(period.end, today)
    qs = with_events(projects, "started_day", "completed_day").filter(started_day__lte=until)
    # A completion recorded before the start is read as ending on the start (the rollups'
    # "ended" month is the later of the two).
    ended = Case(
        When(completed_day__isnull=True, then=None),
        default=Greatest("completed_day", "started_day"),
        output_field=DateField(),
    )
    return qs.annotate(ended_day=ended).filter(Q(ended_day__isnull=True) | Q(ended_day__gte=period.start))


def _started_or_resumed_batched(index: "rollups.ScopeIndex", periods: Periods, today: dt.date) -> dict:
    """Started by the period's end (or today), minus those that ended before it began: from the
    rollups while the period has begun; a period still to come is counted from the projects."""
    begun = {key: p for key, p in periods.items() if min(p.end, today) >= p.start}
    started = index.flow(
        "started_day", "started_day", {key: (rollups.STOCK, min(p.end, today)) for key, p in begun.items()}
    )
    ended = index.sum(
        "ended",
        {key: (rollups.STOCK, rollups.month_of(p.start - dt.timedelta(days=1))) for key, p in begun.items()},
    )
    found = {key: Decimal(started[key] - ended[key]) for key in begun}
    for period in {p for key, p in periods.items() if key not in begun}:
        scopes = [index.scopes[key] for key, p in periods.items() if p == period and key not in begun]
        qs = _started_or_resumed_qs(Project.objects.all(), period, today)
        found.update(_counts(_project_totals(scopes, qs, n=Count("pk"))))
    return found


def _months(period: Period, today: dt.date) -> tuple[dt.date, dt.date]:
    return period.start, min(period.end, today)


def _reports(start: dt.date, until: dt.date) -> QuerySet:
    return MonthlyReport.objects.filter(
        month__gte=start.replace(day=1), month__lte=until, status__code__in=REPORTED_STATUSES
    )


def investment_done(projects: QuerySet, start: dt.date, until: dt.date) -> Decimal:
    reports = _reports(start, until).filter(project__in=projects.values("pk"))
    total = reports.aggregate(total=Sum("investment_done"))["total"]
    return (total or Decimal(0)).quantize(Decimal("0.01"))


def investment_done_grouped(
    scopes: Iterable[Scope], start: dt.date, until: dt.date
) -> dict[Hashable, Decimal]:
    scopes = list(scopes)
    return _investment_between(
        rollups.ScopeIndex(scopes), dict.fromkeys((s.key for s in scopes), (start, until))
    )


def _investment_between(index: "rollups.ScopeIndex", spans: Mapping) -> dict[Hashable, Decimal]:
    """Reported investment per scope over its own (start, until)."""
    found = index.sum("investment_done", {key: (a.replace(day=1), b) for key, (a, b) in spans.items()})
    return {key: rollups.amount(v) for key, v in found.items()}


def _investment(projects: QuerySet, period: Period, today: dt.date) -> Decimal:
    return investment_done(projects, *_months(period, today))


def _investment_batched(
    index: "rollups.ScopeIndex", periods: Periods, today: dt.date
) -> dict[Hashable, Decimal]:
    return _investment_between(index, _until(periods, today))


def percent(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(100) * numerator / denominator).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _planned_starts(projects: QuerySet, period: Period, today: dt.date) -> QuerySet:
    return projects.filter(planned_start__gte=period.start, planned_start__lte=min(period.end, today))


def _start_rate(projects: QuerySet, period: Period, today: dt.date) -> Decimal | None:
    """开工率: of the projects planned to start in the period (up to today), the share started."""
    planned = _planned_starts(projects, period, today)
    started = with_events(planned, "started_day").filter(started_day__isnull=False, started_day__lte=today)
    return percent(Decimal(started.count()), Decimal(planned.count()))


def _start_rate_batched(
    index: "rollups.ScopeIndex", periods: Periods, today: dt.date
) -> dict[Hashable, Decimal | None]:
    """The planned and, of them, the started, from the rollups; a start recorded after today
    (a date typed ahead) is taken off as the raw count leaves it out."""
    spans = _until(periods, today)
    planned = index.flow("planned_start", "planned_start", spans)
    started = index.flow("planned_started", "planned_start", spans, started_day__isnull=False)
    before = {key: (a - dt.timedelta(days=1), b) for key, (a, b) in spans.items()}
    ahead = index.count("planned_start", before, started_day__gt=today)
    return {key: percent(Decimal(started[key] - ahead[key]), Decimal(planned[key])) for key in periods}


def _not_started_on_time(projects: QuerySet, period: Period, today: dt.date) -> Decimal:
    """Planned to start in the period, the day gone by a month, and not started within that month."""
    return Decimal(_not_started_on_time_qs(projects, period, today).count())


def _not_started_on_time_qs(projects: QuerySet, period: Period, today: dt.date) -> QuerySet:
    cutoff = today - dt.timedelta(days=START_GRACE_DAYS)
    planned = projects.filter(planned_start__gte=period.start, planned_start__lte=min(period.end, cutoff))
    return with_events(planned, "started_day").filter(
        Q(started_day__isnull=True)
        | Q(started_day__gt=F("planned_start") + dt.timedelta(days=START_GRACE_DAYS))
    )


def _not_started_on_time_batched(index: "rollups.ScopeIndex", periods: Periods, today: dt.date) -> dict:
    cutoff = today - dt.timedelta(days=START_GRACE_DAYS)
    spans = {key: (p.start, min(p.end, cutoff)) for key, p in periods.items()}
    found = index.flow("late_start", "planned_start", spans, late_start=True)
    return {key: Decimal(found[key]) for key in periods}


def annual_plan(projects: QuerySet) -> Decimal:
    total = projects.aggregate(total=Sum("annual_planned_investment", output_field=DecimalField()))["total"]
    return total or Decimal(0)


def _plan_completion(projects: QuerySet, period: Period, today: dt.date) -> Decimal | None:
    """计划完成率 (序时): investment done from January to the period's end, against the annual plan
    pro rata to the months gone by then."""
    year_start = dt.date(period.year, 1, 1)
    done = investment_done(projects, year_start, min(period.end, today))
    plan = annual_plan(projects) * Decimal(period.last_month) / Decimal(12)
    return percent(done, plan)


def _plan_completion_batched(index: "rollups.ScopeIndex", periods: Periods, today: dt.date) -> dict:
    done = _investment_between(
        index, {key: (dt.date(p.year, 1, 1), min(p.end, today)) for key, p in periods.items()}
    )
    plans = index.sum("annual_plan")
    return {
        key: percent(done[key], rollups.amount(plans[key]) * Decimal(p.last_month) / Decimal(12))
        for key, p in periods.items()
    }


_CATALOGUE = [
    Metric("started", gettext_lazy("开工项目数"), "个", "count",
           gettext_lazy("期间内开工的项目"), _event_count("started_day"), "started_day", "planned_start",
           batched=_event_count_batched("started_day")),
    Metric("started_or_resumed", gettext_lazy("开复工项目数"), "个", "count",
           gettext_lazy("期间内在建的项目：期末前已开工、期初前未竣工"), _started_or_resumed,
           "started_day", "planned_start", batched=_started_or_resumed_batched),
    Metric("completed", gettext_lazy("竣工项目数"), "个", "count",
           gettext_lazy("期间内竣工的项目"), _event_count("completed_day"), "completed_day", "planned_completion",
           batched=_event_count_batched("completed_day")),
    Metric("in_production", gettext_lazy("投产项目数"), "个", "count",
           gettext_lazy("期间内投产的项目"), _event_count("in_production_day"), "in_production_day",
           "planned_completion", batched=_event_count_batched("in_production_day")),
    Metric("at_capacity", gettext_lazy("达产达效项目数"), "个", "count",
           gettext_lazy("期间内达产达效的项目"), _event_count("at_capacity_day"), "at_capacity_day", None,
           batched=_event_count_batched("at_capacity_day")),
    Metric("signed", gettext_lazy("新引进项目数"), "个", "count",
           gettext_lazy("期间内签约引进的项目"), _event_count("signed_day"), "signed_day", None,
           batched=_event_count_batched("signed_day")),
    Metric("investment_done", gettext_lazy("完成投资"), "万元", "amount",
           gettext_lazy("期间内已报送月报的完成投资之和"), _investment, batched=_investment_batched),
    Metric("start_rate", gettext_lazy("开工率"), "%", "rate",
           gettext_lazy("计划期间内开工的项目中已开工的比例"), _start_rate, batched=_start_rate_batched),
    Metric("plan_completion_rate", gettext_lazy("计划完成率"), "%", "rate",
           gettext_lazy("年初至期末完成投资占年度计划（按月序时）的比例"), _plan_completion,
           batched=_plan_completion_batched),
    Metric("not_started_on_time", gettext_lazy("未按期开工项目数"), "个", "count",
           gettext_lazy("计划期间内开工、超过一个月仍未开工的项目（用于扣分）"), _not_started_on_time,
           batched=_not_started_on_time_batched),
]  # fmt: skip
METRICS: dict[str, Metric] = {m.code: m for m in _CATALOGUE}


def register(metric: Metric) -> None:
    """Later apps add their metrics (funds in place, signed amount) to the one catalogue."""
    METRICS[metric.code] = metric


def get_metric(code: str) -> Metric:
    try:
        return METRICS[code]
    except KeyError:
        raise ValidationError(
            {"metric": _("未知指标：%(code)s（可用：%(all)s）") % {"code": code, "all": "、".join(METRICS)}}
        ) from None


def metric_name(code: str) -> str:
    metric = METRICS.get(code)
    return str(metric.name) if metric else code


def metric_choices() -> list[tuple[str, str]]:
    return [(m.code, f"{m.name}（{m.unit}）") for m in METRICS.values()]


def scope_projects(*, region=None, unit=None, projects: QuerySet | None = None) -> QuerySet:
    """The projects a scope covers: a region and its divisions, or a unit's (zone, department)."""
    qs = projects if projects is not None else Project.objects.all()
    if region is not None:
        return qs.filter(Q(region=region) | Q(region__parent=region))
    if unit is not None:
        return qs.filter(departments=unit)
    return qs


def actual(
    code: str, projects: QuerySet, period: Period, today: dt.date, *, region=None, unit=None
) -> Decimal | None:
    """The metric's value over the projects, or over the scope (region or unit) for a scoped metric."""
    metric = get_metric(code)
    if metric.scoped:
        return metric.compute(region, unit, period, today)
    return metric.compute(projects, period, today)


def actuals(
    code: str, scopes: Iterable[Scope], period: Period, today: dt.date
) -> dict[Hashable, Decimal | None]:
    """The metric's value for each scope (key → value, as `actual` gives it over all the scope's
    projects): in a fixed number of queries where the metric has a grouped form, else scope by
    scope."""
    metric = get_metric(code)
    scopes = list(scopes)
    if metric.grouped is not None:
        return metric.grouped(scopes, period, today)
    return {
        s.key: actual(
            code, scope_projects(region=s.region, unit=s.unit), period, today, region=s.region, unit=s.unit
        )
        for s in scopes
    }


def actuals_batch(
    items: Iterable[tuple[Hashable, str, Scope, Period]], today: dt.date
) -> dict[Hashable, Decimal | None]:
    """The value of each (key, metric, scope, period): one batched read per metric where it has a
    batched form, whatever the periods; otherwise per period (grouped) or one by one."""
    by_code: dict[str, list] = defaultdict(list)
    for key, code, scope, period in items:
        by_code[code].append((Scope(key, scope.region, scope.unit), period))
    found: dict[Hashable, Decimal | None] = {}
    for code, rows in by_code.items():
        metric = get_metric(code)
        if metric.batched is not None:
            index = rollups.ScopeIndex([scope for scope, _p in rows])
            found.update(metric.batched(index, {scope.key: period for scope, period in rows}, today))
            continue
        for period in dict.fromkeys(p for _s, p in rows):
            found.update(actuals(code, [s for s, p in rows if p == period], period, today))
    return found
