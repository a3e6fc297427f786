"""The forecast of a target (以月保季, 以季保年): where its metric will stand at the period's end.

    projected value = actual so far + what the pipeline should still deliver

Three methods, chosen by the metric:

1. Event counts with a planned day (``Metric.event`` and ``Metric.planned`` set: 开工, 开复工,
   竣工, 投产). The pipeline is the scope's projects that do not have the event yet and whose
   planned day (the ``Metric.planned`` field, e.g. ``planned_start``) falls after today and within
   the period: n projects. Each is expected to deliver with the scope's on-time rate p: among the
   scope's projects whose planned day fell in the 365 days up to today, the share whose event
   happened by the planned day + 30 days (``ON_TIME_GRACE_DAYS``); 0.5 when fewer than 5 such
   projects (too few to tell). Then

       forecast = actual + n·p
       band     = forecast ± 1.28·√(n·p·(1−p)), clipped to [actual, actual + n]

   (1.28 is the normal quantile of 90 %: the band holds the outcome four times in five.)

2. Counts without a planned day (签约 新引进, 达产达效) and amounts (完成投资): run rate.

       forecast = actual ÷ elapsed share of the period (``Period.elapsed(today)``)
       band     = forecast ± 20 % of the part still to come (forecast − actual)

   Before the period begins there is no rate to run on: no forecast (``no_data``).

3. Rates (开工率, 计划完成率): the rate so far is the forecast, band ± 5 points.

Status: after the period's end the target is ``met`` or ``missed`` against its comparator. Before
it: ``on_track`` when the whole band satisfies the comparator, ``at_risk`` when the forecast does
but the band does not, ``off_track`` otherwise; ``no_data`` when nothing can be computed.

Actuals and forecasts read every project in the target's scope, not a user's view of them: a
target's actual is a fact of the city. Who may see the target is decided by restrict() on targets.
"""

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guatu.targets import rollups
from guatu.targets.metrics import METRICS, Metric, Scope, actuals_batch, get_metric, metric_name
from guatu.targets.models import Comparator, Target
from guatu.targets.periods import Period

ON_TIME_GRACE_DAYS = 30
HISTORY_DAYS = 365
MIN_HISTORY = 5
FALLBACK_RATE = Decimal("0.5")
Z90 = Decimal("1.28")
RUN_RATE_BAND = Decimal("0.2")
RATE_BAND = Decimal(5)
CENT = Decimal("0.01")

STATUS_LABELS = {
    "met": _("已完成"),
    "missed": _("未完成"),
    "on_track": _("有望完成"),
    "at_risk": _("有风险"),
    "off_track": _("难以完成"),
    "no_data": _("暂无数据"),
}
STATUS_COLORS = {
    "met": "green",
    "missed": "red",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "secondary",
}
METHOD_LABELS = {
    "pipeline": _("按在途项目和按期率推算"),
    "run_rate": _("按时间进度外推"),
    "rate": _("比率按当前值"),
    "final": _("期间已结束"),
    "none": _("期间未开始"),
}


@dataclass
class TargetRow:
    """One target with its actual, forecast band and status, ready for a page, the API or scoring."""

    target: Target
    actual: Decimal | None
    forecast: Decimal | None
    forecast_low: Decimal | None
    forecast_high: Decimal | None
    status: str  # met, missed, on_track, at_risk, off_track, no_data
    status_label: str
    parts_total: Decimal | None = None  # sum of the split parts' values; None when not split
    parts_gap: Decimal | None = None  # parts_total − value; non-zero when the parts do not add up
    method: str = ""  # pipeline, run_rate, rate, final, none
    pipeline: int | None = None  # n: projects planned to reach the metric before the period's end
    on_time_rate: Decimal | None = None  # p: the scope's on-time rate used for the pipeline
    extra: dict = field(default_factory=dict)

    @property
    def metric_name(self) -> str:
        return metric_name(self.target.metric)

    @property
    def metric_unit(self) -> str:
        metric = METRICS.get(self.target.metric)
        return metric.unit if metric else ""

    @property
    def status_color(self) -> str:
        return STATUS_COLORS.get(self.status, "secondary")

    @property
    def method_label(self) -> str:
        return str(METHOD_LABELS.get(self.method, ""))

    @property
    def parts_mismatch(self) -> bool:
        return self.parts_gap is not None and self.parts_gap != 0

    @property
    def parts_gap_abs(self) -> Decimal | None:
        return abs(self.parts_gap) if self.parts_gap is not None else None

    @property
    def is_missed(self) -> bool:
        return self.status == "missed"


def satisfies(value: Decimal | None, comparator: str, target: Decimal) -> bool:
    if value is None:
        return False
    if comparator == Comparator.GE:
        return value >= target
    if comparator == Comparator.LE:
        return value <= target
    return value == target


def band_satisfies(low: Decimal, high: Decimal, comparator: str, target: Decimal) -> bool:
    if comparator == Comparator.GE:
        return low >= target
    if comparator == Comparator.LE:
        return high <= target
    return low == target == high


def judge(*, comparator: str, value: Decimal, forecast, low, high, period: Period, today: dt.date) -> str:
    """The status of a target from its forecast band (or its final actual after the period)."""
    if forecast is None:
        return "no_data"
    if today > period.end:
        return "met" if satisfies(forecast, comparator, value) else "missed"
    if band_satisfies(low, high, comparator, value):
        return "on_track"
    if satisfies(forecast, comparator, value):
        return "at_risk"
    return "off_track"


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def pipeline_counts(index, metric: Metric, periods: dict, today: dt.date) -> dict:
    """Per scope of `index`, the projects without the metric's event yet, planned to reach it
    after today and within the scope's period (`periods`: scope key → Period)."""
    spans = {k: (max(today, p.start - dt.timedelta(days=1)), p.end) for k, p in periods.items()}
    return index.count(metric.planned, spans, **{f"{metric.event}__isnull": True})


def on_time_rates(index, metric: Metric, today: dt.date) -> dict:
    """Per scope of `index`: the share of its projects planned in the last year that reached the
    metric's event by the planned day + 30 days, and how many projects that share is of. 0.5
    below 5 projects."""
    history = dict.fromkeys(index.keys, (today - dt.timedelta(days=HISTORY_DAYS + 1), today))
    grace = dt.timedelta(days=ON_TIME_GRACE_DAYS)
    totals = index.count(metric.planned, history)
    on_time = index.count(metric.planned, history, **{f"{metric.event}__lte": F(metric.planned) + grace})
    return {
        k: (FALLBACK_RATE if totals[k] < MIN_HISTORY else Decimal(on_time[k]) / Decimal(totals[k]), totals[k])
        for k in index.keys
    }


def pipeline_count(scope: Scope, metric: Metric, period: Period, today: dt.date) -> int:
    return pipeline_counts(rollups.ScopeIndex([scope]), metric, {scope.key: period}, today)[scope.key]


def on_time_rate(scope: Scope, metric: Metric, today: dt.date) -> tuple[Decimal, int]:
    return on_time_rates(rollups.ScopeIndex([scope]), metric, today)[scope.key]


def _pipeline(actual: Decimal, n: int, p: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    expected = Decimal(n) * p
    spread = Z90 * Decimal(math.sqrt(float(expected * (1 - p))))
    forecast = actual + expected
    low = max(actual, forecast - spread)
    high = min(actual + n, forecast + spread)
    return _q(forecast), _q(low), _q(high)


def _run_rate(actual: Decimal, elapsed: float) -> tuple[Decimal, Decimal, Decimal]:
    forecast = actual / Decimal(str(elapsed))
    rest = (forecast - actual) * RUN_RATE_BAND
    return _q(forecast), _q(forecast - rest), _q(forecast + rest)


def _parts(target: Target) -> tuple[Decimal | None, Decimal | None]:
    if target.pk is None:
        return None, None
    values = [part.value for part in target.parts.all()]
    if not values:
        return None, None
    total = sum(values, Decimal(0))
    return total, total - target.value


def forecast_target(target: Target, *, today: dt.date | None = None) -> TargetRow:
    """The actual so far, the forecast band at the period's end and the status of one target."""
    return forecast_targets([target], today=today)[0]


def forecast_targets(targets, *, today: dt.date | None = None) -> list[TargetRow]:
    """forecast_target for many targets (a list page) in a fixed number of queries, whatever the
    number of targets and periods: the actuals, the pipelines and the on-time rates are each read
    for all targets at once (metrics without a batched form are still read one by one)."""
    today = today or timezone.localdate()
    targets = list(targets)
    periods = {i: Period.parse(t.period) for i, t in enumerate(targets)}
    scopes = {i: Scope(i, t.region, t.unit) for i, t in enumerate(targets)}
    found = actuals_batch([(i, t.metric, scopes[i], periods[i]) for i, t in enumerate(targets)], today)
    pipelines: dict = {}
    rates: dict = {}
    by_metric: dict[str, list] = {}
    for key, t in enumerate(targets):
        metric = get_metric(t.metric)
        if metric.event and metric.planned and today <= periods[key].end:
            by_metric.setdefault(t.metric, []).append(key)
    for code, keys in by_metric.items():
        metric = get_metric(code)
        index = rollups.ScopeIndex([scopes[k] for k in keys])
        pipelines.update(pipeline_counts(index, metric, {k: periods[k] for k in keys}, today))
        rates.update(on_time_rates(index, metric, today))
    return [
        _row(t, found[key], periods[key], today, pipeline=pipelines.get(key), rate=rates.get(key))
        for key, t in enumerate(targets)
    ]


def _row(target: Target, actual, period: Period, today: dt.date, *, pipeline, rate) -> TargetRow:
    metric = get_metric(target.metric)
    parts_total, parts_gap = _parts(target)
    row = TargetRow(
        target=target,
        actual=actual,
        forecast=None,
        forecast_low=None,
        forecast_high=None,
        status="no_data",
        status_label="",
        parts_total=parts_total,
        parts_gap=parts_gap,
    )
    if actual is None:
        row.method = "none"
    elif today > period.end:
        row.method = "final"
        row.forecast = row.forecast_low = row.forecast_high = actual
    elif metric.kind == "rate":
        row.method = "rate"
        row.forecast = actual
        row.forecast_low, row.forecast_high = _q(actual - RATE_BAND), _q(actual + RATE_BAND)
    elif metric.event and metric.planned:
        row.method = "pipeline"
        n, (p, _history) = pipeline, rate
        row.pipeline, row.on_time_rate = n, _q(p)
        row.forecast, row.forecast_low, row.forecast_high = _pipeline(actual, n, p)
    else:
        elapsed = period.elapsed(today)
        if elapsed <= 0:
            row.method = "none"
        else:
            row.method = "run_rate"
            row.forecast, row.forecast_low, row.forecast_high = _run_rate(actual, elapsed)
    row.status = judge(
        comparator=target.comparator,
        value=target.value,
        forecast=row.forecast,
        low=row.forecast_low,
        high=row.forecast_high,
        period=period,
        today=today,
    )
    row.status_label = str(STATUS_LABELS[row.status])
    return row
