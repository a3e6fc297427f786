"""The problems app's assessment metrics, added to the targets catalogue (guatu.targets.metrics)
when the app loads: overdue problems and the average days to close one.

Like every metric they read the scope's projects (already restricted by the caller) and a period;
the problems counted are those of those projects."""

import datetime as dt
from collections.abc import Hashable, Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from guatu.targets.metrics import Metric, Scope, grouped_rows, grouped_totals, register
from guatu.targets.periods import Period


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _problems(region=None, unit=None) -> QuerySet:
    """Scoped metrics: a region counts the problems of its projects (the city: all), a unit the
    problems it owns (推进主体) — "per unit" in the assessment means the unit that must clear them."""
    from guatu.problems.models import Problem

    qs = Problem.objects.all()
    if region is not None:
        return qs.filter(Q(region=region) | Q(region__parent=region))
    if unit is not None:
        return qs.filter(owner_unit=unit)
    return qs


def _overdue(problems: QuerySet, period: Period, today: dt.date) -> QuerySet:
    as_of = min(period.end, today)
    after = _day_start(as_of + dt.timedelta(days=1))
    open_then = Q(closed_at__isnull=True) | Q(closed_at__gte=after)
    return problems.filter(open_then, created_at__lt=after, due_date__lt=as_of)


def problems_overdue(region, unit, period: Period, today: dt.date) -> Decimal:
    """逾期未办结问题数: on min(period end, today), problems raised by then, past their due date and
    not closed then (closed later, or not at all)."""
    return Decimal(_overdue(_problems(region, unit), period, today).count())


def problems_overdue_grouped(
    scopes: Iterable[Scope], period: Period, today: dt.date
) -> dict[Hashable, Decimal]:
    totals = grouped_totals(
        scopes, _overdue(_problems(), period, today), region="region", unit="owner_unit", n=Count("pk")
    )
    return {key: Decimal(v["n"]) for key, v in totals.items()}


def _closed_in(problems: QuerySet, period: Period, today: dt.date) -> QuerySet:
    start, until = _day_start(period.start), _day_start(min(period.end, today) + dt.timedelta(days=1))
    return problems.filter(status__is_closed=True, closed_at__gte=start, closed_at__lt=until)


def _mean_days(spans: Iterable[tuple[dt.datetime, dt.datetime]]) -> Decimal | None:
    days = [(closed - created).total_seconds() / 86400 for created, closed in spans]
    if not days:
        return None
    return Decimal(str(sum(days) / len(days))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def problem_days_to_close(region, unit, period: Period, today: dt.date) -> Decimal | None:
    """问题平均办结天数: of the problems closed (销号) in the period up to today, the average of the
    days from being raised to being closed, to one decimal; None when none was closed."""
    return _mean_days(
        _closed_in(_problems(region, unit), period, today).values_list("created_at", "closed_at")
    )


def problem_days_to_close_grouped(
    scopes: Iterable[Scope], period: Period, today: dt.date
) -> dict[Hashable, Decimal | None]:
    """The closed problems' spans of every scope in one query per kind of scope, averaged here; the
    rows keep the model's order, so each scope sums the same floats in the same order as alone."""
    spans = grouped_rows(
        scopes,
        _closed_in(_problems(), period, today),
        region="region",
        unit="owner_unit",
        fields=("created_at", "closed_at"),
    )
    return {key: _mean_days(rows) for key, rows in spans.items()}


PROBLEM_METRICS = (
    Metric(
        "problems_overdue",
        gettext_lazy("逾期未办结问题数"),
        "个",
        "count",
        gettext_lazy("期末（或今天）已过办结时限仍未销号的问题"),
        problems_overdue,
        scoped=True,
        grouped=problems_overdue_grouped,
    ),
    # An average, not a sum: it carries over as it stands (like a rate), never pro rata.
    Metric(
        "problem_days_to_close",
        gettext_lazy("问题平均办结天数"),
        "天",
        "rate",
        gettext_lazy("期间内销号的问题从提出到销号的平均天数"),
        problem_days_to_close,
        scoped=True,
        grouped=problem_days_to_close_grouped,
    ),
)


def register_metrics() -> None:
    for metric in PROBLEM_METRICS:
        register(metric)
