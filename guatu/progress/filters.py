"""One FilterSet per list: monthly reports (API) and the month sheet of projects with their report
(the report list page)."""

# --- monthly reports

import datetime as dt
import re

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.core.forms import StyledFilterMixin
from guatu.org.models import Region
from guatu.progress.models import MonthlyReport, ProjectWarning, ReportStatus, WarningLevel, WarningRule

_MONTH_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月|[-/.]\s*0?1\s*日?)?\s*$")


def parse_month(value) -> dt.date | None:
    """ "2026-10", "2026/10", "2026年10月", "2026-10-01" or a date → the month's first day; None if
    the text is not a month."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1) if value.day == 1 else None
    match = _MONTH_RE.match(str(value or ""))
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12 or year < 1900:
        return None
    return dt.date(year, month, 1)


class MonthField(forms.Field):
    """A month typed as 2026-10 (the browser's <input type="month">) → its first day."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "month", "placeholder": "2026-10"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(_("月份格式应为 2026-10，收到“%(value)s”") % {"value": value})
        return month

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, dt.date) else value


class MonthFilter(filters.Filter):
    field_class = MonthField


def region_filter(queryset, field: str, region: Region | None):
    # Choosing the city means every division in it (regions are a two-level tree).
    if region is None:
        return queryset
    return queryset.filter(Q(**{field: region}) | Q(**{f"{field}__parent": region}))


class MonthlyReportFilterSet(StyledFilterMixin, filters.FilterSet):
    """On a queryset that carries the running total as a window (selectors.with_cumulative), filters
    on a report's own month and status run after it is summed over the project's months
    (selectors.filter_rows), so picking one month keeps the total right. A list whose total is a
    sum per row (selectors.report_rows_queryset) filters them plainly, on its indexes."""

    project = filters.NumberFilter(field_name="project_id", label=gettext_lazy("项目编号"))
    month = MonthFilter(method="in_month", label=gettext_lazy("月份"))
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.all(),
        to_field_name="code",
        method="in_region",
        label=gettext_lazy("地区"),
    )
    status = filters.ModelMultipleChoiceFilter(
        queryset=ReportStatus.objects.all(),
        to_field_name="code",
        method="in_status",
        label=gettext_lazy("状态"),
    )

    class Meta:
        model = MonthlyReport
        fields = ["project", "month", "region", "status"]

    def _rows(self, queryset, **lookups):
        from guatu.progress.selectors import filter_rows

        total = queryset.query.annotations.get("cumulative_investment")
        if getattr(total, "contains_over_clause", False):
            return filter_rows(queryset, **lookups)
        return queryset.filter(**lookups)

    def in_month(self, queryset, name, value):
        return self._rows(queryset, month=value) if value else queryset

    def in_status(self, queryset, name, value):
        return self._rows(queryset, status__code__in=[s.code for s in value]) if value else queryset

    def in_region(self, queryset, name, value):
        # A project's reports all carry its region, so this keeps each project's months together.
        return region_filter(queryset, "project__region", value)


SHEET_FLAGS = (
    ("missing", gettext_lazy("缺报")),
    ("late", gettext_lazy("迟报")),
    ("on_time", gettext_lazy("按时报送")),
    ("pending", gettext_lazy("未到截止日")),
)
NO_REPORT = "none"


class ReportSheetFilterSet(StyledFilterMixin, filters.FilterSet):
    """The month sheet: every project that owes a report for the month (or has one), in the user's
    scope. The queryset comes annotated by selectors.month_sheet_queryset (report_status,
    report_submitted_at, reported, overdue)."""

    month = MonthFilter(method="keep", label=gettext_lazy("月份"))
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.all(),
        to_field_name="code",
        method="in_region",
        label=gettext_lazy("地区"),
        empty_label=gettext_lazy("全部地区"),
    )
    status = filters.ChoiceFilter(
        choices=(), method="in_status", label=gettext_lazy("月报状态"), empty_label=gettext_lazy("全部状态")
    )
    flag = filters.ChoiceFilter(
        choices=SHEET_FLAGS,
        method="in_flag",
        label=gettext_lazy("报送情况"),
        empty_label=gettext_lazy("全部"),
    )

    def __init__(self, *args, due_end: dt.datetime, overdue: bool, statuses=None, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.due_end, self.overdue = due_end, overdue
        statuses = statuses if statuses is not None else ReportStatus.objects.all()
        self.filters["status"].extra["choices"] = [
            (NO_REPORT, _("未填报")),
            *((s.code, s.name) for s in statuses),
        ]
        if regions is not None:
            self.filters["region"].queryset = regions

    def keep(self, queryset, name, value):
        return queryset  # the month shapes the queryset itself (see selectors.month_sheet_queryset)

    def in_region(self, queryset, name, value):
        return region_filter(queryset, "region", value)

    def in_status(self, queryset, name, value):
        if value == NO_REPORT:
            return queryset.filter(report_status__isnull=True)
        return queryset.filter(report_status=value)

    def in_flag(self, queryset, name, value):
        from guatu.progress.services import REPORTED

        reported = Q(report_status__in=REPORTED)
        on_time = reported & (Q(report_submitted_at__isnull=True) | Q(report_submitted_at__lt=self.due_end))
        not_reported = Q(report_status__isnull=True) | ~Q(report_status__in=REPORTED)
        wanted = {
            "late": reported & Q(report_submitted_at__gte=self.due_end),
            "on_time": on_time,
            "missing": not_reported if self.overdue else Q(pk__in=[]),
            "pending": Q(pk__in=[]) if self.overdue else not_reported,
        }[value]
        return queryset.filter(wanted)


# --- warnings


class WarningFilterSet(StyledFilterMixin, filters.FilterSet):
    """Lights by level, region (the city means all its divisions) and the rule that fired."""

    q = filters.CharFilter(method="search", label=gettext_lazy("项目"))
    level = filters.ModelChoiceFilter(
        queryset=WarningLevel.objects.all(),
        to_field_name="code",
        label=gettext_lazy("预警等级"),
        empty_label=gettext_lazy("全部等级"),
    )
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.all(),
        to_field_name="code",
        method="in_region",
        label=gettext_lazy("地区"),
        empty_label=gettext_lazy("全部地区"),
    )
    rule = filters.ModelChoiceFilter(
        queryset=WarningRule.objects.all(),
        to_field_name="code",
        method="by_rule",
        label=gettext_lazy("预警规则"),
        empty_label=gettext_lazy("全部规则"),
    )

    class Meta:
        model = ProjectWarning
        fields = ["q", "level", "region", "rule"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(project__name__icontains=value) | Q(project__code__icontains=value))

    def in_region(self, queryset, name, value):
        return region_filter(queryset, "region", value)

    def by_rule(self, queryset, name, value):
        # ProjectWarning.rules holds the fired codes comma-wrapped: ",start,deadline,".
        return queryset.filter(rules__contains=f",{value.code},") if value else queryset
