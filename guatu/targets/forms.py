"""Forms check shape and types only; the services apply the rules (metric, period, duplicates) and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Region, Unit
from guatu.targets.metrics import metric_choices, metric_name
from guatu.targets.models import Pledge, Target
from guatu.targets.periods import Period


class TargetForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    metric = forms.ChoiceField(
        label=_("指标"),
        choices=metric_choices,
        error_messages={"invalid_choice": _("未知指标：%(value)s")},
    )
    period = forms.CharField(
        label=_("期间"), max_length=12, help_text=_("全年写 2026，季度写 2026Q1，月份写 2026-03")
    )

    class Meta:
        model = Target
        fields = ["metric", "period", "comparator", "value", "region", "unit", "pledge", "source"]
        widgets = {"source": forms.TextInput()}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        regions = restrict(Region.objects, user, "view").filter(
            level__in=[Region.Level.CITY, Region.Level.COUNTY]
        )
        self.fields["region"].queryset = regions
        self.fields["region"].label_from_instance = lambda r: f"{r.label}（{r.code}）"
        self.fields["unit"].queryset = restrict(Unit.objects, user, "view").filter(
            kind__in=[Unit.Kind.ZONE, Unit.Kind.DEPARTMENT]
        )
        self.fields["pledge"].queryset = restrict(Pledge.objects, user, "view").select_related("unit")
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
        style_form(self)

    def _post_clean(self):
        # The rules (known metric, valid period, one scope, no duplicate) are the service's.
        pass

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class SplitForm(forms.Form):
    """One value per county of the city target; blank removes that county's part."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, target: Target, counties, **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.counties = list(counties)
        parts = {p.region.code: f"{p.value.normalize():f}" for p in target.parts.all() if p.region_id}
        self.fields["version"].initial = target.version
        for region in self.counties:
            self.fields[f"c_{region.code}"] = forms.DecimalField(
                label=region.label,
                required=False,
                min_value=0,
                max_digits=14,
                decimal_places=2,
                initial=parts.get(region.code),
            )
        style_form(self)

    def county_fields(self):
        return [self[f"c_{region.code}"] for region in self.counties]

    def parts(self) -> dict:
        return {region.code: self.cleaned_data.get(f"c_{region.code}") for region in self.counties}

    @property
    def metric_label(self) -> str:
        return metric_name(self.target.metric)


class PledgeForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    targets = forms.ModelMultipleChoiceField(
        queryset=Target.objects.none(),
        required=False,
        label=_("承诺目标"),
        help_text=_("立状单位的目标：县(市)区政府选本县(市)区的，开发区、市直部门选本单位的"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    class Meta:
        model = Pledge
        fields = ["unit", "title", "signer", "signer_title", "signed_on", "text"]
        widgets = {
            "signed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "text": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["unit"].queryset = restrict(Unit.objects, user, "view").exclude(kind=Unit.Kind.ENTERPRISE)
        self.fields["targets"].queryset = restrict(Target.objects, user, "change").select_related(
            "region", "unit"
        )
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            self.fields["targets"].initial = list(self.instance.targets.values_list("pk", flat=True))
        else:
            del self.fields["version"]
        style_form(self)

    def _post_clean(self):
        pass

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in {"version", "targets"}}

    def target_ids(self) -> list[int]:
        return [t.pk for t in self.cleaned_data.get("targets") or []]


class BulletinForm(forms.Form):
    period = forms.CharField(label=_("期间"), max_length=8)
    number = forms.IntegerField(label=_("发文字号序号"), min_value=1, max_value=9999, required=False)
    date = forms.DateField(
        label=_("成文日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_period(self) -> Period:
        return Period.parse(self.cleaned_data["period"])  # its ValidationError names the period
