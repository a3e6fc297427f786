"""Tables of the problems app (django-tables2)."""

import datetime as dt

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from guatu.core.tables import WIDE_ONLY
from guatu.problems import selectors
from guatu.problems.models import Problem

# --- problems and the 直通车


class ProblemTable(tables.Table):
    """The problem list: what, whose, by when (with the days overdue), where it stands."""

    title = tables.Column(
        linkify=True, verbose_name=gettext_lazy("问题"), attrs={"td": {"class": "cell-name"}}
    )
    project = tables.Column(
        accessor="project__name",
        linkify=lambda record: record.project.get_absolute_url(),
        verbose_name=gettext_lazy("项目"),
        order_by="project__name",
    )
    # On a phone the list keeps what, whose project, where it stands and by when.
    region = tables.Column(
        accessor="region", order_by="region__code", verbose_name=gettext_lazy("地区"), attrs=WIDE_ONLY
    )
    category = tables.Column(verbose_name=gettext_lazy("类别"), attrs=WIDE_ONLY)
    owner_unit = tables.Column(
        verbose_name=gettext_lazy("推进主体"), order_by="owner_unit__name", attrs=WIDE_ONLY
    )
    status = tables.TemplateColumn(
        '<span class="badge bg-{{ record.status.color }}-lt">{{ record.status.name }}</span>',
        order_by="status__order",
        verbose_name=gettext_lazy("状态"),
        attrs={"td": {"class": "text-nowrap"}},
    )
    level = tables.TemplateColumn(
        '<span class="badge bg-{{ record.level.color }}-lt">{{ record.level.name }}</span>',
        order_by="level__order",
        verbose_name=gettext_lazy("协调层级"),
        attrs={"td": {"class": "text-nowrap"}},
    )
    due_date = tables.Column(verbose_name=gettext_lazy("办结时限"), attrs={"td": {"class": "text-nowrap"}})

    class Meta:
        model = Problem
        fields = ("title", "project", "region", "category", "owner_unit", "status", "level", "due_date")
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = ("status", "due_date")  # open problems first, the most pressing on top
        empty_text = gettext_lazy("没有符合条件的问题")

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def render_region(self, value):
        return value.label

    def render_due_date(self, value, record):
        days = selectors.overdue_days(record, self.today)
        text = f"{value:%Y-%m-%d}"
        if not days:
            return text
        badge = gettext("逾期 %(days)s 天") % {"days": days}
        return format_html('{} <span class="badge bg-red-lt">{}</span>', text, badge)


# --- stewards, contacts, visits and agency requests

# --- notifications
