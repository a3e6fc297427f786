"""The metric catalogue: every target's actual is computed here from project facts, never typed.

A metric reads a queryset of projects (already scoped and restricted by the caller) and a period.
Event metrics count projects whose event date (开工, 竣工 …) falls in the period; the event date is
the milestone's actual date where one is recorded, else the day the project entered the stage,
else its planned date (a project past 开工 without a recorded date started when planned).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import (
    DateField,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.progress.models import MonthlyReport
from guatu.projects.models import Milestone, MilestoneKind, Project, StageChange
from guatu.targets.periods import Period

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


def _started_or_resumed(projects: QuerySet, period: Period, today: dt.date) -> Decimal:
    """开复工: projects under way at some point of the period: started by its end (or today) and
    not completed before it began."""
    until = min(period.end, today)
    qs = with_events(projects, "started_day", "completed_day").filter(started_day__lte=until)
    qs = qs.filter(Q(completed_day__isnull=True) | Q(completed_day__gte=period.start))
    return Decimal(qs.count())


def _months(period: Period, today: dt.date) -> tuple[dt.date, dt.date]:
    return period.start, min(period.end, today)


def investment_done(projects: QuerySet, start: dt.date, until: dt.date) -> Decimal:
    total = MonthlyReport.objects.filter(
        project__in=projects.values("pk"), month__gte=start.replace(day=1), month__lte=until,
        status__code__in=REPORTED_STATUSES,
    ).aggregate(total=Sum("investment_done"))["total"]  # fmt: skip
    return (total or Decimal(0)).quantize(Decimal("0.01"))


def _investment(projects: QuerySet, period: Period, today: dt.date) -> Decimal:
    return investment_done(projects, *_months(period, today))


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


def _not_started_on_time(projects: QuerySet, period: Period, today: dt.date) -> Decimal:
    """Planned to start in the period, the day gone by a month, and not started within that month."""
    cutoff = today - dt.timedelta(days=START_GRACE_DAYS)
    planned = projects.filter(planned_start__gte=period.start, planned_start__lte=min(period.end, cutoff))
    qs = with_events(planned, "started_day").filter(
        Q(started_day__isnull=True)
        | Q(started_day__gt=F("planned_start") + dt.timedelta(days=START_GRACE_DAYS))
    )
    return Decimal(qs.count())


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


_CATALOGUE = [
    Metric("started", gettext_lazy("开工项目数"), "个", "count",
           gettext_lazy("期间内开工的项目"), _event_count("started_day"), "started_day", "planned_start"),
    Metric("started_or_resumed", gettext_lazy("开复工项目数"), "个", "count",
           gettext_lazy("期间内在建的项目：期末前已开工、期初前未竣工"), _started_or_resumed,
           "started_day", "planned_start"),
    Metric("completed", gettext_lazy("竣工项目数"), "个", "count",
           gettext_lazy("期间内竣工的项目"), _event_count("completed_day"), "completed_day", "planned_completion"),
    Metric("in_production", gettext_lazy("投产项目数"), "个", "count",
           gettext_lazy("期间内投产的项目"), _event_count("in_production_day"), "in_production_day",
           "planned_completion"),
    Metric("at_capacity", gettext_lazy("达产达效项目数"), "个", "count",
           gettext_lazy("期间内达产达效的项目"), _event_count("at_capacity_day"), "at_capacity_day", None),
    Metric("signed", gettext_lazy("新引进项目数"), "个", "count",
           gettext_lazy("期间内签约引进的项目"), _event_count("signed_day"), "signed_day", None),
    Metric("investment_done", gettext_lazy("完成投资"), "万元", "amount",
           gettext_lazy("期间内已报送月报的完成投资之和"), _investment),
    Metric("start_rate", gettext_lazy("开工率"), "%", "rate",
           gettext_lazy("计划期间内开工的项目中已开工的比例"), _start_rate),
    Metric("plan_completion_rate", gettext_lazy("计划完成率"), "%", "rate",
           gettext_lazy("年初至期末完成投资占年度计划（按月序时）的比例"), _plan_completion),
    Metric("not_started_on_time", gettext_lazy("未按期开工项目数"), "个", "count",
           gettext_lazy("计划期间内开工、超过一个月仍未开工的项目（用于扣分）"), _not_started_on_time),
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
