"""Speeches: tables. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

import datetime as dt

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from guatu.core.tables import WIDE_ONLY
from guatu.speeches import selectors
from guatu.speeches.models import Speech, SupervisedTask
from guatu.speeches.selectors import snippet

# --- library


class SpeechTable(tables.Table):
    """The speech library. With a search, each title carries the text around its first hit."""

    title = tables.Column(verbose_name=_("标题"), empty_values=(), attrs={"td": {"class": "cell-name"}})
    speaker = tables.Column(default="—")
    position = tables.Column(default="—")
    date = tables.DateColumn(format="Y-m-d", default="—")
    chars = tables.Column(verbose_name=_("字数"), attrs={"td": {"class": "text-end text-nowrap"}})
    reading_minutes = tables.Column(
        verbose_name=_("阅读时长"), attrs={"td": {"class": "text-end text-nowrap"}}
    )
    item_count = tables.Column(
        verbose_name=_("提取条目"), attrs={"td": {"class": "text-end"}}, orderable=True
    )

    class Meta:
        model = Speech
        fields = ("title", "speaker", "position", "date", "chars", "reading_minutes", "item_count")
        attrs = {"class": "table table-vcenter card-table table-striped"}
        empty_text = _("没有符合条件的讲话")

    def __init__(self, *args, terms: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.terms = terms or []

    def render_title(self, value, record):
        title = value or _("（无标题残篇）")
        link = format_html('<a href="{}">{}</a>', reverse("speeches:speech_detail", args=[record.pk]), title)
        if record.is_fragment:
            link = format_html('{} <span class="badge bg-secondary-lt">{}</span>', link, _("残篇"))
        if self.terms:
            found = snippet(record.text, self.terms)
            if found:
                link = format_html('{}<div class="text-secondary small speech-snippet">{}</div>', link, found)
        return link

    def render_chars(self, value):
        return format_html("{} {}", value, _("字"))

    def render_reading_minutes(self, value):
        return format_html("{} {}", value, _("分钟"))


# --- breakdown


class TaskTable(tables.Table):
    """The task list: what, whose, by when (overdue in red), where it stands."""

    code = tables.Column(verbose_name=gettext_lazy("序号"), attrs=WIDE_ONLY)
    title = tables.Column(
        linkify=lambda record: reverse("speeches:task_detail", args=[record.pk]),
        verbose_name=gettext_lazy("任务"),
        attrs={"td": {"class": "cell-name"}},
    )
    category = tables.Column(verbose_name=gettext_lazy("类别"), attrs=WIDE_ONLY)
    lead_leader = tables.Column(verbose_name=gettext_lazy("牵头领导"), attrs=WIDE_ONLY)
    owner_unit = tables.Column(verbose_name=gettext_lazy("牵头单位"), order_by="owner_unit__name")
    supporting_units = tables.Column(
        verbose_name=gettext_lazy("责任单位"), orderable=False, empty_values=(), attrs=WIDE_ONLY
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
        verbose_name=gettext_lazy("督办层级"),
        attrs=WIDE_ONLY,
    )
    progress = tables.Column(verbose_name=gettext_lazy("进度"), attrs={"td": {"class": "text-nowrap"}})
    deadline = tables.Column(verbose_name=gettext_lazy("完成时限"), attrs={"td": {"class": "text-nowrap"}})

    class Meta:
        model = SupervisedTask
        fields = (
            "code", "title", "category", "lead_leader", "owner_unit", "supporting_units", "status", "level",
            "progress", "deadline",
        )  # fmt: skip
        attrs = {"class": "table table-vcenter card-table table-striped"}
        order_by = ("status", "deadline")
        empty_text = gettext_lazy("没有符合条件的督办任务")

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def render_supporting_units(self, record):
        return "、".join(unit.name for unit in record.supporting_units.all()) or "—"

    def render_progress(self, value):
        return f"{value}%"

    def render_deadline(self, value, record):
        days = selectors.overdue_days(record, self.today)
        text = f"{value:%Y-%m-%d}"
        if not days:
            return text
        badge = gettext("逾期 %(days)s 天") % {"days": days}
        return format_html(
            '<span class="text-red">{}</span> <span class="badge bg-red-lt">{}</span>', text, badge
        )
