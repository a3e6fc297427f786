from django import forms
from django.utils.translation import gettext_lazy as _

from guatu.accounts.models import Role, User
from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Chain, Region, Unit
from guatu.projects.models import Project, Stage
from guatu.projects.services import EDITABLE_FIELDS


class ProjectForm(forms.ModelForm):
    """Shape and types only; the service applies the rules and writes."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.all(), label=_("阶段"), required=False, help_text=_("新建项目的初始阶段")
    )

    class Meta:
        model = Project
        fields = [*EDITABLE_FIELDS, "departments"]
        widgets = {
            "planned_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "planned_completion": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 3}),
            "departments": forms.SelectMultiple(attrs={"size": 5}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["region"].queryset = restrict(Region.objects, user, "view")
        self.fields["region"].label_from_instance = lambda r: f"{r.label}（{r.code}）"
        self.fields["enterprise"].queryset = restrict(Unit.objects, user, "view").filter(
            kind=Unit.Kind.ENTERPRISE
        )
        self.fields["chain"].queryset = restrict(Chain.objects, user, "view")
        self.fields["departments"].queryset = restrict(Unit.objects, user, "view").filter(
            kind__in=[Unit.Kind.DEPARTMENT, Unit.Kind.COUNTY, Unit.Kind.ZONE]
        )
        self.fields["steward"].queryset = User.objects.filter(role=Role.STEWARD, is_active=True)
        if self.instance.pk:
            del self.fields["stage"]  # stage changes go through the stage service, with history
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"]
            self.fields["stage"].initial = Stage.objects.filter(code="planning").first()
        style_form(self)

    def _post_clean(self):
        # Model validation (Project.clean) runs in the service, which owns every write.
        pass

    def data_for_service(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if data.get("stage") is None:
            data.pop("stage", None)
        return data


class StageChangeForm(forms.Form):
    to_stage = forms.ModelChoiceField(queryset=Stage.objects.all(), to_field_name="code", label=_("新阶段"))
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label=_("越级调整理由"), required=False, help_text=_("仅项目办越级调整阶段时填写")
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
