"""One FilterSet per model: the list page, the API and the Excel export all filter through it."""

import django_filters as filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guatu.attraction.models import Lead, LeadStage
from guatu.core.forms import StyledFilterMixin
from guatu.org.models import Chain, Region, Unit

# --- leads

YES_NO = (("yes", _("是")), ("no", _("否")))


def screening_blocked_q() -> Q:
    """Leads whose screening would refuse signing (the same rules as services.screening_failures)."""
    from guatu.attraction.models import Relocation, ScreeningResult
    from guatu.attraction.services import max_energy_tce, max_land_mu

    return (
        Q(industry_fit__in=[ScreeningResult.FAILED, ScreeningResult.PENDING])
        | Q(relocation=Relocation.SQUEEZED)
        | Q(is_two_high=True)
        | Q(is_six_small=True)
        | Q(land_mu__gt=max_land_mu())
        | Q(energy_tce__gt=max_energy_tce())
    )


def unit_by_id_or_name(value: str) -> Q:
    value = (value or "").strip()
    # An id is ASCII digits that fit a database integer; anything else (², a 30-digit number) is a name.
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return Q(attracting_unit=int(value))
    return Q(attracting_unit__name=value)


class LeadFilterSet(StyledFilterMixin, filters.FilterSet):
    q = filters.CharFilter(method="search", label=_("关键词"))
    stage = filters.ModelMultipleChoiceFilter(
        queryset=LeadStage.objects.all(), field_name="stage__code", to_field_name="code", label=_("阶段")
    )
    chain = filters.ModelMultipleChoiceFilter(queryset=Chain.objects.all(), label=_("产业链"))
    county = filters.ModelMultipleChoiceFilter(
        queryset=Region.objects.all(),
        field_name="region__code",
        to_field_name="code",
        method="in_region",
        label=_("拟落地县(市)区"),
    )
    attracting_unit = filters.CharFilter(method="by_unit", label=_("招商单位"))
    dropped = filters.ChoiceFilter(choices=YES_NO, method="by_dropped", label=_("已放弃"))
    blocked = filters.ChoiceFilter(choices=YES_NO, method="by_blocked", label=_("研判未通过"))
    ordering = filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("amount", "amount"),
            ("stage__order", "stage"),
            ("region__code", "region"),
            ("expected_signing", "expected_signing"),
            ("updated_at", "updated_at"),
        ),
        label=_("排序"),
    )

    class Meta:
        model = Lead
        fields = ["q", "stage", "chain", "county", "attracting_unit", "dropped", "blocked"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The page shows the attracting units as a list; the API also takes a unit's name.
        units = Unit.objects.filter(
            kind__in=[Unit.Kind.COUNTY, Unit.Kind.ZONE, Unit.Kind.DEPARTMENT]
        ).values_list("pk", "name")
        self.filters["attracting_unit"].extra["widget"] = forms.Select(
            choices=[("", "---------"), *((str(pk), name) for pk, name in units)]
        )
        self.filters["county"].queryset = Region.objects.filter(
            Q(level=Region.Level.COUNTY) | Q(parent__isnull=True)
        )

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(investor__icontains=value)
            | Q(investor_region__icontains=value)
            | Q(contact_name__icontains=value)
        )

    def in_region(self, queryset, name, value):
        # Choosing the city means every county in it.
        if not value:
            return queryset
        q = Q()
        for region in value:
            q |= Q(region=region) | Q(region__parent=region)
        return queryset.filter(q)

    def by_unit(self, queryset, name, value):
        return queryset.filter(unit_by_id_or_name(value)) if value.strip() else queryset

    def by_dropped(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(dropped_at__isnull=False)
        if value == "no":
            return queryset.filter(dropped_at__isnull=True)
        return queryset

    def by_blocked(self, queryset, name, value):
        if value == "yes":
            return queryset.filter(screening_blocked_q())
        if value == "no":
            return queryset.exclude(screening_blocked_q())
        return queryset


# --- funnel and chain map
