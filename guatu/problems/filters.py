"""One FilterSet per model: the list page, the API and any export filter through it."""

import datetime as dt

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_filters.widgets import BooleanWidget

from guatu.accounts.models import Role, User
from guatu.core.forms import StyledFilterMixin
from guatu.org.models import Region, Unit
from guatu.problems.models import (
    AgencyRequest,
    AgencyStatus,
    EscalationLevel,
    Problem,
    ProblemCategory,
    ProblemStatus,
    StewardVisit,
)

# --- problems and the 直通车


class ProblemFilterSet(StyledFilterMixin, filters.FilterSet):
    """The problem list, the API and the 直通车 inbox filter through this one set. `today` (for
    overdue) may be given; it defaults to the local date."""

    q = filters.CharFilter(method="search", label=gettext_lazy("关键词"))
    status = filters.ModelMultipleChoiceFilter(
        queryset=ProblemStatus.objects.all(),
        field_name="status__code",
        to_field_name="code",
        label=gettext_lazy("状态"),
    )
    escalation = filters.ModelMultipleChoiceFilter(
        queryset=EscalationLevel.objects.all(),
        field_name="level__code",
        to_field_name="code",
        label=gettext_lazy("协调层级"),
    )
    overdue = filters.BooleanFilter(
        method="is_overdue", label=gettext_lazy("是否逾期"), widget=BooleanWidget()
    )
    category = filters.MultipleChoiceFilter(choices=ProblemCategory.choices, label=gettext_lazy("类别"))
    unit = filters.ModelChoiceFilter(
        queryset=Unit.objects.exclude(kind=Unit.Kind.ENTERPRISE),
        method="of_unit",
        label=gettext_lazy("单位（推进或配合）"),
    )
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.all(), to_field_name="code", method="in_region", label=gettext_lazy("地区")
    )
    project = filters.NumberFilter(field_name="project_id", label=gettext_lazy("项目编号"))
    ordering = filters.OrderingFilter(
        fields=(
            ("due_date", "due_date"),
            ("created_at", "created_at"),
            ("level__order", "escalation"),
            ("status__order", "status"),
            ("escalated_at", "escalated_at"),
        ),
        label=gettext_lazy("排序"),
    )

    class Meta:
        model = Problem
        fields = ["q", "status", "escalation", "overdue", "category", "unit", "region", "project"]

    def __init__(self, data=None, queryset=None, *, today: dt.date | None = None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.today = today or timezone.localdate()
        self.form.fields["unit"].error_messages["invalid_choice"] = gettext_lazy(
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
            Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(project__name__icontains=value)
            | Q(project__code__icontains=value)
        )

    def is_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status__is_closed=False, due_date__lt=self.today)
        return queryset.filter(late) if value else queryset.exclude(late)

    def of_unit(self, queryset, name, value):
        if value is None:
            return queryset
        supported = Problem.supporting_units.through.objects.filter(unit=value).values("problem_id")
        return queryset.filter(Q(owner_unit=value) | Q(pk__in=supported))

    def in_region(self, queryset, name, value):
        # Choosing the city means every division in it.
        if value is None:
            return queryset
        return queryset.filter(Q(region=value) | Q(region__parent=value))


# --- stewards, contacts, visits and agency requests


AGENCY_OPEN_STATUSES = (AgencyStatus.REQUESTED, AgencyStatus.ASSIGNED, AgencyStatus.IN_PROGRESS)


class _InRegionMixin:
    def in_region(self, queryset, name, value):
        # Choosing the city means every division in it.
        if not value:
            return queryset
        return queryset.filter(Q(region=value) | Q(region__parent=value))


class VisitFilterSet(_InRegionMixin, StyledFilterMixin, filters.FilterSet):
    q = filters.CharFilter(method="search", label=gettext_lazy("关键词"))
    project = filters.NumberFilter(
        field_name="project_id", widget=forms.HiddenInput, label=gettext_lazy("项目")
    )
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.order_by("code"),
        to_field_name="code",
        method="in_region",
        label=gettext_lazy("地区"),
    )
    steward = filters.ModelChoiceFilter(
        queryset=User.objects.filter(role=Role.STEWARD).order_by("username"), label=gettext_lazy("项目管家")
    )
    visited_from = filters.DateFilter(
        field_name="visited_on",
        lookup_expr="gte",
        label=gettext_lazy("走访日期自"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    visited_to = filters.DateFilter(
        field_name="visited_on",
        lookup_expr="lte",
        label=gettext_lazy("走访日期至"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = StewardVisit
        fields = ["q", "project", "region", "steward", "visited_from", "visited_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(project__name__icontains=value)
            | Q(project__code__icontains=value)
            | Q(met_with__icontains=value)
            | Q(findings__icontains=value)
        )


class AgencyFilterSet(_InRegionMixin, StyledFilterMixin, filters.FilterSet):
    q = filters.CharFilter(method="search", label=gettext_lazy("关键词"))
    project = filters.NumberFilter(
        field_name="project_id", widget=forms.HiddenInput, label=gettext_lazy("项目")
    )
    status = filters.MultipleChoiceFilter(choices=AgencyStatus.choices, label=gettext_lazy("状态"))
    overdue = filters.BooleanFilter(method="overdue_filter", label=gettext_lazy("超过服务时限"))
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.order_by("code"),
        to_field_name="code",
        method="in_region",
        label=gettext_lazy("地区"),
    )
    mine = filters.BooleanFilter(method="mine_filter", label=gettext_lazy("与我有关"))

    class Meta:
        model = AgencyRequest
        fields = ["q", "project", "status", "overdue", "region", "mine"]

    def __init__(self, *args, user=None, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.today = today or timezone.localdate()

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(project__name__icontains=value)
            | Q(project__code__icontains=value)
            | Q(approval__kind__name__icontains=value)
            | Q(note__icontains=value)
        )

    def overdue_filter(self, queryset, name, value):
        """Open and past its service deadline (as of today)."""
        if value is None:
            return queryset
        late = Q(status__in=AGENCY_OPEN_STATUSES, service_due__lt=self.today)
        return queryset.filter(late) if value else queryset.exclude(late)

    def mine_filter(self, queryset, name, value):
        if not value or self.user is None:
            return queryset
        return queryset.filter(Q(agent=self.user.pk) | Q(requested_by=self.user.pk))


# --- notifications
