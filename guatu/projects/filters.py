"""One FilterSet per model: the list page, the API and the Excel export all filter through it."""

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guatu.core.forms import StyledFilterMixin
from guatu.org.models import Chain, Region
from guatu.projects.models import BuildType, Project, ProjectKind, Stage


class ProjectFilterSet(StyledFilterMixin, filters.FilterSet):
    q = filters.CharFilter(method="search", label=_("关键词"))
    region = filters.ModelMultipleChoiceFilter(
        queryset=Region.objects.all(),
        field_name="region__code",
        to_field_name="code",
        method="in_region",
        label=_("地区"),
    )
    stage = filters.ModelMultipleChoiceFilter(
        queryset=Stage.objects.all(), field_name="stage__code", to_field_name="code", label=_("阶段")
    )
    chain = filters.ModelMultipleChoiceFilter(queryset=Chain.objects.all(), label=_("产业链"))
    kind = filters.MultipleChoiceFilter(choices=ProjectKind.choices, label=_("项目类型"))
    build_type = filters.ChoiceFilter(choices=BuildType.choices, label=_("建设性质"))
    investment_min = filters.NumberFilter(
        field_name="total_investment", lookup_expr="gte", label=_("总投资不少于(万元)")
    )
    investment_max = filters.NumberFilter(
        field_name="total_investment", lookup_expr="lte", label=_("总投资不超过(万元)")
    )
    ordering = filters.OrderingFilter(
        fields=(
            ("code", "code"),
            ("name", "name"),
            ("total_investment", "total_investment"),
            ("annual_planned_investment", "annual_planned_investment"),
            ("planned_start", "planned_start"),
            ("stage__order", "stage"),
            ("region__code", "region"),
            ("updated_at", "updated_at"),
        ),
        label=_("排序"),
    )

    class Meta:
        model = Project
        fields = ["q", "region", "stage", "chain", "kind", "build_type", "investment_min", "investment_max"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(code__icontains=value) | Q(enterprise__name__icontains=value)
        )

    def in_region(self, queryset, name, value):
        # Choosing the city means every division in it. The regions are read first, so the
        # projects are filtered on region_id alone, which the list's index serves.
        if not value:
            return queryset
        chosen = [region.pk for region in value]
        regions = Region.objects.filter(Q(pk__in=chosen) | Q(parent__in=chosen)).values("pk")
        return queryset.filter(region__in=regions)
