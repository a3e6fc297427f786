"""Tables of the targets app: a list of TargetRow (a target with its actual and forecast)."""

from decimal import Decimal

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from guatu.targets.metrics import METRICS, metric_name


def number(value) -> str:
    """A Decimal without trailing zeros (120, 37.5), or — when there is none."""
    if value is None:
        return "—"
    text = f"{value.normalize():f}" if hasattr(value, "normalize") else str(value)
    return text


def unit_of(code: str) -> str:
    metric = METRICS.get(code)
    return metric.unit if metric else ""


class TargetRowTable(tables.Table):
    scope = tables.Column(accessor="target", verbose_name=_("范围"), attrs={"td": {"class": "text-nowrap"}})
    period = tables.Column(accessor="target__period", verbose_name=_("期间"))
    metric = tables.Column(
        accessor="target__metric", verbose_name=_("指标"), attrs={"td": {"class": "text-nowrap"}}
    )
    goal = tables.Column(accessor="target", verbose_name=_("目标"), attrs={"td": {"class": "text-nowrap"}})
    actual = tables.Column(verbose_name=_("实际"), default="—", attrs={"td": {"class": "text-end"}})
    forecast = tables.TemplateColumn(
        template_name="targets/target_band.html", verbose_name=_("期末预测"), accessor="forecast"
    )
    status = tables.TemplateColumn(template_name="targets/target_status.html", verbose_name=_("状态"))
    parts = tables.TemplateColumn(
        template_name="targets/target_parts_check.html", verbose_name=_("分解"), accessor="parts_total"
    )

    class Meta:
        orderable = False
        attrs = {"class": "table table-vcenter card-table table-striped"}
        empty_text = _("没有符合条件的目标")

    def render_scope(self, value):
        return format_html(
            '<a href="{}" title="{}">{}</a>', value.get_absolute_url(), value, value.scope_label
        )

    def render_metric(self, value):
        return metric_name(value)

    def render_goal(self, value):
        return f"{value.get_comparator_display()} {number(value.value)} {unit_of(value.metric)}"

    def render_actual(self, value, record):
        return f"{number(value.quantize(Decimal('0.1')) if value % 1 else value)} {unit_of(record.target.metric)}"
