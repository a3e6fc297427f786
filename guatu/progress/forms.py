"""Forms of the progress app: shape and types only; the services apply the rules and write."""

# --- monthly reports

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from guatu.core.forms import style_form


class ReportForm(forms.Form):
    """A month's figures, typed on a phone as often as not: numeric keyboards, a camera button."""

    investment_done = forms.DecimalField(
        label=_("本月完成投资(万元)"),
        max_digits=14,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}),
    )
    percent_complete = forms.DecimalField(
        label=_("形象进度(%)"),
        max_digits=5,
        decimal_places=2,
        help_text=_("累计完成的百分比，0–100，不能低于上月"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0–100"}),
    )
    physical_progress = forms.CharField(
        label=_("形象进度描述"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("如：主体结构完成至第 12 层")}),
    )
    jobs_on_site = forms.IntegerField(
        label=_("在岗人数"),
        min_value=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": "0"}),
    )
    photo = forms.FileField(
        label=_("现场照片"),
        required=False,
        help_text=_("JPEG 或 PNG"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png", "capture": "environment"}),
    )
    caption = forms.CharField(label=_("照片说明"), required=False, max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = f"{settings.PHOTO_MAX_BYTES / 1024 / 1024:.0f}"
        self.fields["photo"].help_text = _(
            "JPEG 或 PNG，不超过 %(limit)s MB；照片中的位置信息另存，不随照片公开"
        ) % {"limit": limit}
        style_form(self)

    def data_for_service(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("investment_done", "percent_complete", "physical_progress")}
        data["jobs_on_site"] = self.cleaned_data.get("jobs_on_site") or 0
        return data


class WorkflowForm(forms.Form):
    """One workflow step (submit, approve, return, reopen) on the version the user saw."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("理由"), required=False, max_length=300)


# --- warnings


class WarningRuleForm(forms.Form):
    """A warning rule's switch and thresholds; the fields follow the rule's params (rules.PARAMS)."""

    is_active = forms.BooleanField(label=_("启用"), required=False)
    description = forms.CharField(
        label=_("说明"), max_length=300, required=False, help_text=_("改了阈值，请一并改说明中的数字")
    )
    fingerprint = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, rule, **kwargs):
        from guatu.progress.rules import PARAM_LABELS, PARAMS, param

        super().__init__(*args, **kwargs)
        self.param_names = list(PARAMS.get(rule.code, {}))
        for name in self.param_names:
            kind, _default, minimum = PARAMS[rule.code][name]
            field_class = forms.IntegerField if kind is int else forms.DecimalField
            self.fields[name] = field_class(
                label=PARAM_LABELS.get(name, name),
                min_value=minimum,
                initial=param(rule.code, rule.params, name),
                widget=forms.NumberInput(attrs={"inputmode": "decimal" if kind is not int else "numeric"}),
            )
        style_form(self)

    def params(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.param_names}
