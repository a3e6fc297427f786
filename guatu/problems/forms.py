"""Forms of the problems app: shape and types only; the services apply the rules and write."""

from django import forms
from django.utils.translation import gettext_lazy as _

from guatu.accounts.models import Role, User
from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Unit
from guatu.problems import services
from guatu.problems.models import DeliveryMode, NotificationEvent, Problem, ProblemCategory, ProjectContact
from guatu.projects.models import Project, ProjectApproval

# --- problems and the 直通车

_DATE = {"type": "date"}


def _owner_units(user):
    return restrict(Unit.objects, user, "view").filter(kind__in=services.OWNER_UNIT_KINDS)


def _unit_choice_messages(label: str) -> dict[str, str]:
    return {
        "required": _("请选择%(label)s") % {"label": label},
        "invalid_choice": _("%(label)s：编号为 %%(value)s 的单位不存在或不可选") % {"label": label},
        "invalid_pk_value": _("%(label)s：“%%(pk)s”不是有效的单位编号") % {"label": label},
    }


class ProblemForm(forms.ModelForm):
    """A problem's facts. Shape and types only; the service checks the rules (a due date in the
    past, a supporting unit that is the owner) and writes."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Problem
        fields = [
            "project", "title", "category", "description", "owner_unit", "supporting_units", "lead_leader",
            "due_date",
        ]  # fmt: skip
        widgets = {
            "due_date": forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 4}),
            "supporting_units": forms.SelectMultiple(attrs={"size": 6}),
        }
        help_texts = {
            "owner_unit": _("负责推进解决问题的单位：县(市)区政府、开发区或市直部门"),
            "supporting_units": _("可多选；不能与推进主体相同"),
            "lead_leader": _("如：副市长刘志刚"),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["project"].queryset = restrict(Project.objects, user, "view").order_by("code")
        self.fields["project"].error_messages.update(
            {
                "required": _("请选择问题所属的项目"),
                "invalid_choice": _("项目：编号为 %(value)s 的项目不存在或无权查看"),
            }
        )
        self.fields["owner_unit"].queryset = _owner_units(user)
        self.fields["owner_unit"].error_messages.update(_unit_choice_messages(_("推进主体")))
        self.fields["supporting_units"].queryset = _owner_units(user)
        self.fields["supporting_units"].error_messages.update(_unit_choice_messages(_("配合单位")))
        self.fields["due_date"].error_messages.update(
            {"required": _("请填写办结时限"), "invalid": _("办结时限须为日期，如 2026-12-31")}
        )
        self.fields["title"].error_messages["required"] = _("请填写问题")
        self.fields["category"].error_messages["required"] = _("请选择问题类别")
        if self.instance.pk:
            self.fields["project"].disabled = True  # a problem stays with its project
            self.fields["version"].initial = self.instance.version
            if "governor" not in services.actor_kinds(user, self.instance):
                for name in services.GOVERNED_FIELDS:
                    self.fields[name].disabled = True  # shown, kept as is; the service refuses changes
        else:
            del self.fields["version"]
        style_form(self)

    def _post_clean(self):
        pass  # the service validates and writes

    def data_for_service(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if self.instance.pk:
            data.pop("project", None)
            for name in services.GOVERNED_FIELDS:
                if self.fields[name].disabled:
                    data.pop(name, None)
        return data


class ProblemActionForm(forms.Form):
    """One step of the flow on the version the user saw, with a comment (required for some)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("意见"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class EscalateForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("上升理由"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("上升协调须填写理由")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class InstructForm(forms.Form):
    """A leader's instruction (批示): the words, and optionally a new due date and owner unit."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    instruction = forms.CharField(
        label=_("批示内容"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写批示内容")},
    )
    new_due_date = forms.DateField(
        label=_("新办结时限"),
        required=False,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        error_messages={"invalid": _("新办结时限须为日期，如 2026-12-31")},
    )
    new_owner_unit = forms.ModelChoiceField(
        label=_("改由推进主体"), queryset=Unit.objects.none(), required=False
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner_unit"].queryset = _owner_units(user)
        self.fields["new_owner_unit"].empty_label = _("（不改变）")
        self.fields["new_owner_unit"].error_messages.update(_unit_choice_messages(_("新推进主体")))
        style_form(self)


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("附件"),
        error_messages={"required": _("请选择要上传的文件"), "empty": _("上传的文件是空的")},
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.docx,.xlsx,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = f"{services.attachment_max_bytes() / 1024 / 1024:.0f}"
        self.fields["file"].help_text = _(
            "PDF、Word (docx)、Excel (xlsx)、JPG 或 PNG，不超过 %(limit)s MB"
        ) % {"limit": limit}
        style_form(self)


# --- stewards, contacts, visits and agency requests


class StewardAssignForm(forms.Form):
    steward = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label=_("项目管家"),
        error_messages={
            "required": _("请选择项目管家"),
            "invalid_choice": _("所选账号不是在用的项目管家"),
        },
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["steward"].queryset = User.objects.filter(
            role=Role.STEWARD, is_active=True
        ).select_related("region")
        self.fields["steward"].label_from_instance = _steward_label
        style_form(self)


def _steward_label(user) -> str:
    return f"{user}（{user.region.label}）" if user.region_id else str(user)


class ContactForm(forms.ModelForm):
    """One "1+1+n" contact; the service checks the rules (one enterprise contact) and writes."""

    class Meta:
        model = ProjectContact
        fields = ["kind", "unit", "name", "title", "phone"]
        help_texts = {
            "unit": _("企业联系人可不选，即项目单位；部门联系人选所在部门"),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = restrict(Unit.objects, user, "view").order_by("kind", "name")
        self.fields["name"].error_messages["required"] = _("请填写联系人姓名")
        style_form(self)

    def _post_clean(self):
        pass  # the service validates and writes

    def data_for_service(self) -> dict:
        return dict(self.cleaned_data)


class VisitForm(forms.Form):
    visited_on = forms.DateField(
        label=_("走访日期"),
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        error_messages={"required": _("请填写走访日期"), "invalid": _("走访日期须为日期，如 2026-03-15")},
    )
    met_with = forms.CharField(
        label=_("接洽人员"), max_length=200, error_messages={"required": _("请填写接洽人员")}
    )
    findings = forms.CharField(
        label=_("发现情况"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("请填写发现情况")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class VisitProblemForm(forms.Form):
    """A problem found on the visit; left blank, it is skipped."""

    title = forms.CharField(label=_("问题"), max_length=200, required=False)
    category = forms.ChoiceField(
        label=_("类别"), choices=[("", "---------"), *ProblemCategory.choices], required=False
    )
    owner_unit = forms.ModelChoiceField(queryset=Unit.objects.none(), label=_("推进主体"), required=False)
    supporting_units = forms.ModelMultipleChoiceField(
        queryset=Unit.objects.none(),
        label=_("配合单位"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    due_date = forms.DateField(
        label=_("办结时限"), required=False, widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d")
    )
    description = forms.CharField(
        label=_("问题描述"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = _owner_units(user)
        self.fields["supporting_units"].queryset = _owner_units(user)
        style_form(self)

    def data_for_service(self) -> dict | None:
        data = self.cleaned_data
        if not any(
            data.get(f)
            for f in ("title", "category", "owner_unit", "supporting_units", "due_date", "description")
        ):
            return None
        return {
            "title": data.get("title") or "",
            "category": data.get("category") or "",
            "owner_unit": data.get("owner_unit"),
            "supporting_units": list(data.get("supporting_units") or []),
            "due_date": data.get("due_date"),
            "description": data.get("description") or "",
        }


VisitProblemFormSet = forms.formset_factory(VisitProblemForm, extra=2, max_num=5, validate_max=True)


class AgencyRequestForm(forms.Form):
    approval = forms.ModelChoiceField(
        queryset=ProjectApproval.objects.none(),
        label=_("前期手续"),
        error_messages={
            "required": _("请选择要代办的前期手续"),
            "invalid_choice": _("所选手续不属于本项目，或已批复、不需办理、已在代办"),
        },
    )
    note = forms.CharField(
        label=_("说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("需要帮办的事项、已准备的材料、联系人等"),
    )

    def __init__(self, *args, approvals=None, **kwargs):
        super().__init__(*args, **kwargs)
        if approvals is not None:
            self.fields["approval"].queryset = approvals
        self.fields["approval"].label_from_instance = _approval_label
        style_form(self)


def _approval_label(approval) -> str:
    return f"{approval.kind.name}（{approval.get_status_display()}）"


class AgencyAssignForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label=_("代办员"),
        error_messages={"required": _("请选择代办员"), "invalid_choice": _("代办员须为在用的业务账号")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, agents=None, **kwargs):
        super().__init__(*args, **kwargs)
        if agents is not None:
            self.fields["agent"].queryset = agents
        self.fields["agent"].label_from_instance = _agent_label
        style_form(self)


def _agent_label(user) -> str:
    where = user.unit.name if user.unit_id else (user.region.label if user.region_id else "")
    return f"{user}（{user.get_role_display()}{'·' + where if where else ''}）"


class AgencyStepForm(forms.Form):
    """Start or withdraw: the version read, and for a withdrawal an optional reason."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("撤回理由"), required=False, max_length=150)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class AgencyCloseForm(forms.Form):
    result = forms.ChoiceField(
        label=_("办理结果"),
        choices=[],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择办理结果")},
    )
    approved_on = forms.DateField(
        label=_("批复日期"),
        required=False,
        widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
        help_text=_("已批复时填写；不填即今天"),
    )
    document_no = forms.CharField(
        label=_("批复文号"), required=False, max_length=100, help_text=_("已批复时必填")
    )
    comment = forms.CharField(label=_("情况说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].choices = [(k, str(v)) for k, v in services.AGENCY_OUTCOMES.items()]
        style_form(self)
        self.fields["result"].widget.attrs.pop("class", None)


# --- notifications


class NotificationSettingsForm(forms.Form):
    """One choice per notification event: immediate e-mail or the daily digest."""

    def __init__(self, data=None, *, initial_modes: dict[str, str] | None = None, user=None):
        super().__init__(data, initial=initial_modes or {})
        for event, label in NotificationEvent.choices:
            self.fields[event] = forms.ChoiceField(
                label=label,
                choices=DeliveryMode.choices,
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                error_messages={
                    "required": _("请为“%(event)s”选择通知方式") % {"event": label},
                    "invalid_choice": _("“%(event)s”的通知方式“%%(value)s”无效") % {"event": label},
                },
            )
