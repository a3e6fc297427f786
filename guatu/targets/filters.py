"""One FilterSet per model: the target list page and the API filter through the same one."""

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guatu.core.forms import StyledFilterMixin
from guatu.org.models import Region, Unit
from guatu.targets.metrics import metric_choices
from guatu.targets.models import Pledge, Target
from guatu.targets.periods import Period


class PeriodField(forms.CharField):
    """A period written 2026, 2026Q1 or 2026-03; anything else is a form error in Chinese."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return str(Period.parse(value))
        except ValidationError as err:
            raise ValidationError(err.messages) from None


class PeriodFilter(filters.CharFilter):
    field_class = PeriodField


class TargetFilterSet(StyledFilterMixin, filters.FilterSet):
    period = PeriodFilter(label=_("期间"), help_text=_("2026、2026Q1 或 2026-03"))
    metric = filters.ChoiceFilter(choices=metric_choices, label=_("指标"))
    scope = filters.ChoiceFilter(
        choices=[("city", _("全市")), ("county", _("县(市)区")), ("unit", _("开发区、市直部门"))],
        method="by_scope",
        label=_("范围"),
    )
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.all(), field_name="region", to_field_name="code", label=_("地区")
    )
    unit = filters.ModelChoiceFilter(
        queryset=Unit.objects.filter(kind__in=[Unit.Kind.ZONE, Unit.Kind.DEPARTMENT]), label=_("单位")
    )
    pledge = filters.ModelChoiceFilter(queryset=Pledge.objects.all(), label=_("军令状"))

    class Meta:
        model = Target
        fields = ["period", "metric", "scope", "region", "unit", "pledge"]

    def by_scope(self, queryset, name, value):
        if value == "city":
            return queryset.filter(region__isnull=False, region__parent__isnull=True)
        if value == "county":
            return queryset.filter(region__parent__isnull=False)
        if value == "unit":
            return queryset.filter(unit__isnull=False)
        return queryset


class PledgeFilterSet(StyledFilterMixin, filters.FilterSet):
    q = filters.CharFilter(method="search", label=_("关键词"))
    unit = filters.ModelChoiceFilter(
        queryset=Unit.objects.exclude(kind=Unit.Kind.ENTERPRISE), label=_("立状单位")
    )

    class Meta:
        model = Pledge
        fields = ["q", "unit"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value) | Q(signer__icontains=value) | Q(unit__name__icontains=value)
        )
