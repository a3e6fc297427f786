from django import forms
from django.utils.translation import gettext_lazy as _

from guatu.accounts.models import Role, User
from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Chain, Region, Unit
from guatu.projects.models import ApprovalKind, Project, ProjectApproval, ProjectKind, Stage
from guatu.projects.services import EDITABLE_FIELDS, GOVERNED_FIELDS, GOVERNING_ROLES


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
            "signed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
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
        if user is not None and user.role not in GOVERNING_ROLES:
            for name in GOVERNED_FIELDS:
                self.fields[name].disabled = True  # shown, kept as is; the service refuses changes
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


# ---------------------------------------------------------------- 前期手续, milestones, approval kinds

_DATE = {"type": "date"}


class ApprovalForm(forms.ModelForm):
    """One approval row of the approvals page; the service checks the rules and writes."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = ProjectApproval
        fields = [
            "kind", "status", "submitted_on", "approved_on", "handling_department", "document_no",
            "not_needed_reason",
        ]  # fmt: skip
        widgets = {
            "submitted_on": forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
            "approved_on": forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        }

    def __init__(self, *args, user=None, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        approval = self.instance
        # Only the variants of this row's group that fit the project (环评 报告书 / 报告表 / 登记表);
        # `kinds` lets a page of many rows read the kinds once.
        self.variants = [
            k
            for k in (kinds if kinds is not None else ApprovalKind.objects.all())
            if k.group == approval.kind.group and (not k.applies_to or approval.project.kind in k.applies_to)
        ]
        self.fields["kind"].queryset = ApprovalKind.objects.filter(pk__in=[k.pk for k in self.variants])
        self.fields["kind"].empty_label = None
        self.fields["kind"].required = False  # rows without variants do not send it
        self.fields["handling_department"].queryset = restrict(Unit.objects, user, "view").filter(
            kind=Unit.Kind.DEPARTMENT
        )
        self.fields["version"].initial = approval.version
        style_form(self)

    @property
    def has_variants(self) -> bool:
        return len(self.variants) > 1

    def _post_clean(self):
        pass  # the service validates and writes

    def data_for_service(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if data.get("kind") is None:
            data.pop("kind", None)
        return data


class MilestoneOverrideForm(forms.Form):
    override_date = forms.DateField(
        label=_("调整后日期"), required=False, widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d")
    )
    override_reason = forms.CharField(label=_("调整理由"), required=False, max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class MilestoneActualForm(forms.Form):
    actual_date = forms.DateField(
        label=_("实际完成日期"), required=False, widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class ApprovalKindForm(forms.ModelForm):
    fingerprint = forms.CharField(widget=forms.HiddenInput)
    applies_to = forms.MultipleChoiceField(
        label=_("适用项目类型"),
        choices=ProjectKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("都不选表示适用于所有项目"),
    )

    class Meta:
        model = ApprovalKind
        fields = [
            "name", "duration", "duration_unit", "extension", "department", "depends_on", "applies_to",
            "is_default", "note",
        ]  # fmt: skip
        widgets = {"depends_on": forms.CheckboxSelectMultiple}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["depends_on"].queryset = ApprovalKind.objects.exclude(pk=self.instance.pk)
        style_form(self)
        for name in ("depends_on", "applies_to"):
            self.fields[name].widget.attrs["class"] = "form-check-input"

    def _post_clean(self):
        pass  # the service validates and writes

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "fingerprint"}
