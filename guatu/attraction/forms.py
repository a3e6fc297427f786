"""Forms of the attraction app: shape and types only; the services apply the rules and write."""

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guatu.accounts.models import Role
from guatu.attraction.models import ChainLink, Lead, LeadStage
from guatu.attraction.services import ATTRACTING_KINDS, FACT_FIELDS, SCREENING_FIELDS
from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Chain, Region, Unit
from guatu.projects.models import BuildType, ProjectKind
from guatu.targets.periods import QUARTER, YEAR, Period

# --- leads

_DATE = {"type": "date"}


def _date_field(label, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
    )


class LeadForm(forms.ModelForm):
    """A lead's facts. A new lead starts at 线索 on the day given (default today)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    on = _date_field(_("登记日期"), required=False, help_text=_("进入“线索”阶段的日期，留空为今天"))

    class Meta:
        model = Lead
        fields = list(FACT_FIELDS)
        widgets = {"expected_signing": forms.DateInput(attrs=_DATE, format="%Y-%m-%d")}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["chain"].queryset = restrict(Chain.objects, user, "view")
        self.fields["link"].queryset = restrict(ChainLink.objects, user, "view").select_related("chain")
        self.fields["link"].label_from_instance = lambda link: f"{link.chain}·{link.name}"
        self.fields["link"].help_text = _("须属于所选产业链；留空则只填链上位置")
        self.fields["region"].queryset = restrict(Region.objects, user, "view").filter(
            level=Region.Level.COUNTY
        )
        self.fields["attracting_unit"].queryset = restrict(Unit.objects, user, "view").filter(
            kind__in=ATTRACTING_KINDS
        )
        if user is not None and user.role == Role.COUNTY and user.region_id:
            # A county works its own division's leads and its zones'.
            self.fields["attracting_unit"].queryset = self.fields["attracting_unit"].queryset.filter(
                Q(region=user.region_id) | Q(kind=Unit.Kind.DEPARTMENT)
            )
        if self.instance.pk:
            del self.fields["on"]
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
            if user is not None and user.role == Role.COUNTY and user.region_id:
                self.fields["region"].initial = user.region_id
            if user is not None and user.role == Role.DEPARTMENT and user.unit_id:
                self.fields["attracting_unit"].initial = user.unit_id
        style_form(self)

    def _post_clean(self):
        pass  # the service validates and writes

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in {"version", "on"}}


class LeadScreenForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Lead
        fields = list(SCREENING_FIELDS)
        widgets = {"screening_note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        style_form(self)

    def _post_clean(self):
        pass

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class LeadAdvanceForm(forms.Form):
    to_stage = forms.ModelChoiceField(
        queryset=LeadStage.objects.all(), to_field_name="code", label=_("进入阶段")
    )
    on = _date_field(_("日期"))
    note = forms.CharField(label=_("说明"), required=False, max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class LeadDropForm(forms.Form):
    reason = forms.CharField(label=_("放弃原因"), max_length=300, required=False)
    on = _date_field(_("放弃日期"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class FundsForm(forms.Form):
    received_on = _date_field(_("到位日期"))
    amount = forms.DecimalField(label=_("到位资金(万元)"), max_digits=14, decimal_places=2)
    note = forms.CharField(label=_("说明"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class LeadConvertForm(forms.Form):
    """What the registry needs that a lead does not carry; the rest comes from the lead."""

    code = forms.CharField(
        label=_("投资项目代码"), max_length=24, help_text=_("全国投资项目在线审批监管平台赋予的代码")
    )
    kind = forms.ChoiceField(label=_("项目类型"), choices=ProjectKind.choices)
    build_type = forms.ChoiceField(label=_("建设性质"), choices=BuildType.choices, initial=BuildType.NEW)
    planned_start = _date_field(_("计划开工日期"), required=False)
    planned_completion = _date_field(_("计划竣工日期"), required=False)
    on = _date_field(_("开工日期"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version" and v not in (None, "")}


# --- funnel and chain map

QUARTER_CHOICES = [
    ("", _("全年")),
    ("1", _("一季度")),
    ("2", _("二季度")),
    ("3", _("三季度")),
    ("4", _("四季度")),
]


class FunnelFilterForm(forms.Form):
    """The funnel's filters as the URL holds them (year, quarter, county, chain); the page and the
    API read the same parameters. Errors name the value given."""

    year = forms.CharField(label=_("年度"), required=False, max_length=4)
    quarter = forms.ChoiceField(label=_("季度"), required=False, choices=QUARTER_CHOICES)
    county = forms.ModelChoiceField(
        label=_("县(市)区"),
        required=False,
        queryset=Region.objects.none(),
        to_field_name="code",
        empty_label=_("全市"),
    )
    chain = forms.ModelChoiceField(
        label=_("产业链"), required=False, queryset=Chain.objects.none(), empty_label=_("全部产业链")
    )

    def __init__(self, data=None, *, user=None, today: dt.date | None = None, **kwargs):
        super().__init__(data, **kwargs)
        self.today = today or timezone.localdate()
        self.fields["year"].widget.attrs.update({"inputmode": "numeric", "placeholder": str(self.today.year)})
        self.fields["county"].queryset = restrict(
            Region.objects.filter(level=Region.Level.COUNTY), user, "view"
        ).order_by("code")
        self.fields["chain"].queryset = restrict(Chain.objects, user, "view").order_by("order", "name")
        self.fields["quarter"].error_messages["invalid_choice"] = _("季度“%(value)s”有误：须为 1–4")
        self.fields["county"].error_messages["invalid_choice"] = _("县(市)区代码“%(value)s”不存在")
        self.fields["chain"].error_messages["invalid_choice"] = _("产业链“%(value)s”不存在")
        style_form(self)

    def clean_year(self) -> int:
        value = (self.cleaned_data.get("year") or "").strip()
        if not value:
            return self.today.year
        if not value.isdigit() or not 2000 <= int(value) <= 2100:
            raise forms.ValidationError(
                _("年度“%(value)s”有误：须为 2000–2100 的四位年份") % {"value": value}
            )
        return int(value)

    def funnel_params(self) -> dict:
        """Keyword arguments of selectors.funnel(). A filter given wrong is left out (the year falls
        back to this year); the errors say which."""
        data = {}
        if self.is_bound:
            self.is_valid()  # cleaned_data keeps the filters that are right
            data = self.cleaned_data
        year = data.get("year") or self.today.year
        quarter = data.get("quarter")
        period = Period(year, QUARTER, int(quarter)) if quarter else Period(year, YEAR)
        return {"period": period, "region": data.get("county"), "chain": data.get("chain")}

    def query(self, **changes) -> str:
        """The URL's query string with some filters changed (for links that keep the rest)."""
        params = {k: v for k, v in (self.data.items() if self.is_bound else ()) if k in self.fields and v}
        params.update({k: v for k, v in changes.items() if v not in (None, "")})
        for k, v in changes.items():
            if v in (None, ""):
                params.pop(k, None)
        return urlencode(params)
