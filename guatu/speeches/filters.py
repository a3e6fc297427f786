"""Speeches: filters. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

import datetime as dt

import django_filters as filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import BooleanWidget

from guatu.core.forms import StyledFilterMixin
from guatu.org.models import Region, Unit
from guatu.problems.models import EscalationLevel, ProblemStatus
from guatu.speeches.models import Speech, SupervisedTask

# --- library


class SpeechFilterSet(StyledFilterMixin, filters.FilterSet):
    """The speech list page and GET /api/speeches/: full-text search (best hits first), speaker,
    year, and the document a speech came from."""

    q = filters.CharFilter(method="search", label=_("全文检索"))
    speaker = filters.CharFilter(field_name="speaker", lookup_expr="icontains", label=_("讲话人"))
    # Bounded: a year the date type cannot hold (0, 10000) is a 400, not a crash in the lookup.
    year = filters.NumberFilter(field_name="date__year", label=_("年份"), min_value=1, max_value=9999)
    document = filters.NumberFilter(field_name="document", label=_("来源文件编号"))

    class Meta:
        model = Speech
        fields = ["q", "speaker", "year", "document"]

    def search(self, queryset, name, value):
        from guatu.speeches.selectors import apply_search

        return apply_search(queryset, value)


# --- breakdown


class TaskFilterSet(StyledFilterMixin, filters.FilterSet):
    """The task list, the API and the exports filter through this one set."""

    q = filters.CharFilter(method="search", label=gettext_lazy("关键词"))
    status = filters.ModelMultipleChoiceFilter(
        queryset=ProblemStatus.objects.all(), field_name="status__code", to_field_name="code",
        label=gettext_lazy("状态"),
    )  # fmt: skip
    escalation = filters.ModelMultipleChoiceFilter(
        queryset=EscalationLevel.objects.all(), field_name="level__code", to_field_name="code",
        label=gettext_lazy("督办层级"),
    )  # fmt: skip
    owner_unit = filters.ModelChoiceFilter(
        queryset=Unit.objects.exclude(kind=Unit.Kind.ENTERPRISE), label=gettext_lazy("牵头单位")
    )
    unit = filters.ModelChoiceFilter(
        queryset=Unit.objects.exclude(kind=Unit.Kind.ENTERPRISE), method="of_unit",
        label=gettext_lazy("单位（牵头或责任）"),
    )  # fmt: skip
    overdue = filters.BooleanFilter(
        method="is_overdue", label=gettext_lazy("是否逾期"), widget=BooleanWidget()
    )
    category = filters.CharFilter(field_name="category", label=gettext_lazy("类别"))
    speech = filters.NumberFilter(field_name="speech_id", label=gettext_lazy("来源讲话编号"))
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.all(), to_field_name="code", method="in_region", label=gettext_lazy("地区")
    )
    ordering = filters.OrderingFilter(
        fields=(("deadline", "deadline"), ("code", "code"), ("status__order", "status"),
                ("level__order", "escalation"), ("created_at", "created_at")),
        label=gettext_lazy("排序"),
    )  # fmt: skip

    class Meta:
        model = SupervisedTask
        fields = [
            "q",
            "status",
            "escalation",
            "owner_unit",
            "unit",
            "overdue",
            "category",
            "speech",
            "region",
        ]

    def __init__(self, data=None, queryset=None, *, today: dt.date | None = None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.today = today or timezone.localdate()
        for name in ("owner_unit", "unit"):
            self.form.fields[name].error_messages["invalid_choice"] = gettext_lazy(
                "单位：编号为 %(value)s 的单位不存在"
            )
        self.form.fields["region"].error_messages["invalid_choice"] = gettext_lazy(
            "地区：代码为 %(value)s 的地区不存在"
        )

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value) | Q(description__icontains=value) | Q(code=value)
            | Q(lead_leader__icontains=value)
        )  # fmt: skip

    def is_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status__is_closed=False, deadline__lt=self.today)
        return queryset.filter(late) if value else queryset.exclude(late)

    def of_unit(self, queryset, name, value):
        if value is None:
            return queryset
        supported = SupervisedTask.supporting_units.through.objects.filter(unit=value).values(
            "supervisedtask_id"
        )
        return queryset.filter(Q(owner_unit=value) | Q(pk__in=supported))

    def in_region(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(Q(region=value) | Q(region__parent=value))
