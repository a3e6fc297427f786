"""The dashboard's filter bar. DashboardFilter.from_params() reads the values (the page and the API
share it); this form only draws the controls with the URL's values in them."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Chain, Region
from guatu.projects.models import ProjectKind

# What colours the divisions on the map; the key is the figure's name in the summary.
MEASURES = {
    "projects": _("项目数"),
    "plan_completion": _("计划完成率"),
    "red": _("红灯项目"),
    "start_rate": _("开工率"),
}


class DashboardFilterForm(forms.Form):
    year = forms.ChoiceField(label=_("年度"), required=False)
    quarter = forms.ChoiceField(
        label=_("季度"),
        required=False,
        choices=[("", _("全年")), *((str(q), f"{q}季度") for q in range(1, 5))],
    )
    month = forms.ChoiceField(
        label=_("月份"),
        required=False,
        choices=[("", _("全部")), *((str(m), f"{m}月") for m in range(1, 13))],
    )
    chain = forms.ModelChoiceField(
        label=_("产业链"), required=False, queryset=Chain.objects.none(), empty_label=_("全部产业链")
    )
    kind = forms.ChoiceField(
        label=_("项目类型"), required=False, choices=[("", _("全部")), *ProjectKind.choices]
    )
    division = forms.ChoiceField(label=_("县(市)区"), required=False)
    measure = forms.ChoiceField(label=_("地图着色"), required=False, choices=list(MEASURES.items()))

    def __init__(self, data, *, user, divisions: list[Region], today: dt.date):
        super().__init__(data)
        years = range(today.year - 4, today.year + 2)
        self.fields["year"].choices = [(str(y), f"{y}年") for y in reversed(years)]
        self.fields["year"].initial = str(today.year)
        self.fields["chain"].queryset = restrict(Chain.objects, user, "view").order_by("order", "name")
        self.fields["division"].choices = [
            *([("", _("全市"))] if len(divisions) > 1 else []),
            *((r.code, r.name) for r in divisions),
        ]
        style_form(self)
