"""Speeches: forms. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

from django import forms
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Region, Unit
from guatu.problems.services import OWNER_UNIT_KINDS
from guatu.speeches import text as speech_text
from guatu.speeches.models import ExtractedItem, ItemKind, Speech, SupervisedTask
from guatu.targets.metrics import metric_choices
from guatu.targets.services import SCOPE_UNIT_KINDS

# --- library


class DocumentImportForm(forms.Form):
    """One form for both ways in: a file (.txt or .docx) or pasted text. The service reads and
    checks the content; the form only makes sure exactly one of the two was given."""

    file = forms.FileField(
        label=_("讲话文件"),
        required=False,
        help_text=_("文本文件（.txt，UTF-8 或 GBK）或 Word 文件（.docx）"),
    )
    text = forms.CharField(
        label=_("或粘贴讲话文本"),
        required=False,
        strip=False,  # offsets are into the text exactly as given
        widget=forms.Textarea(attrs={"rows": 14}),
    )
    name = forms.CharField(
        label=_("名称"), required=False, max_length=200, help_text=_("粘贴文本时的名称，留空为“粘贴的文本”")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload:
            # The size is checked before the upload is read into memory (text.py's own message).
            try:
                speech_text._check_size(upload.size, name=upload.name, max_bytes=None)
            except speech_text.SpeechInputError as err:
                raise forms.ValidationError(str(err)) from None
        return upload

    def clean(self):
        data = super().clean()
        has_file = bool(data.get("file"))
        has_text = bool((data.get("text") or "").strip())
        if has_file and has_text:
            raise forms.ValidationError(_("请只选择一种：上传文件，或粘贴文本"))
        if not has_file and not has_text:
            raise forms.ValidationError(_("请上传一个讲话文件，或粘贴讲话文本"))
        return data

    def import_args(self) -> dict:
        data = self.cleaned_data
        if data.get("file"):
            upload = data["file"]
            return {"name": upload.name, "data": upload.read()}
        return {"name": data.get("name") or "", "text": data["text"]}


class SpeechForm(forms.ModelForm):
    """Correct what the splitter read; the version guards against overwriting another's edit."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Speech
        fields = ["title", "speaker", "position", "date"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.fields["version"].initial = self.instance.version
        style_form(self)

    def _post_clean(self):
        pass  # the service validates and writes

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


# --- breakdown


# Shape and types only; the services apply the rules and write.

_DATE = {"type": "date"}


def task_owner_units(user):
    return restrict(Unit.objects, user, "view").filter(kind__in=OWNER_UNIT_KINDS).order_by("kind", "name")


def scope_choices() -> list[tuple[str, str]]:
    """Where a target can lie: the city, a county (r:code), a zone or a department (u:id)."""
    regions = [
        (f"r:{r.code}", r.name)
        for r in Region.objects.filter(level__in=[Region.Level.CITY, Region.Level.COUNTY]).order_by("code")
    ]
    units = [
        (f"u:{u.pk}", u.name) for u in Unit.objects.filter(kind__in=SCOPE_UNIT_KINDS).order_by("kind", "name")
    ]
    return regions + units


def accept_choices(user) -> dict[str, list]:
    units = restrict(Unit.objects, user, "view").exclude(kind=Unit.Kind.ENTERPRISE).order_by("kind", "name")
    return {
        "metric": [("", "—"), *metric_choices()],
        "scope": scope_choices(),
        "owner": [("", "—"), *((u.pk, u.name) for u in task_owner_units(user))],
        "units": [(u.pk, u.name) for u in units],
    }


class ItemAcceptForm(forms.Form):
    """Accept one extracted item: as a target (metric, scope, period, comparator, value) or as a
    supervised task (title, owner unit, supporting units, lead leader, deadline)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    mode = forms.ChoiceField(
        label=gettext_lazy("采纳为"),
        choices=[("target", gettext_lazy("目标")), ("task", gettext_lazy("督办任务"))],
    )
    target_metric = forms.ChoiceField(label=gettext_lazy("对应指标"), required=False)
    scope = forms.ChoiceField(label=gettext_lazy("范围"), required=False)
    period = forms.CharField(
        label=gettext_lazy("期间"),
        required=False,
        max_length=8,
        help_text=gettext_lazy("2026、2026Q1 或 2026-04"),
    )
    comparator = forms.ChoiceField(
        label=gettext_lazy("比较"), required=False,
        choices=[("", gettext_lazy("按讲话")), ("ge", "≥"), ("eq", "="), ("le", "≤")],
    )  # fmt: skip
    value = forms.DecimalField(label=gettext_lazy("目标值"), required=False, max_digits=14, decimal_places=2)
    title = forms.CharField(label=gettext_lazy("任务"), required=False, max_length=300)
    owner_unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(), label=gettext_lazy("牵头单位"), required=False
    )
    supporting_units = forms.ModelMultipleChoiceField(
        queryset=Unit.objects.none(), label=gettext_lazy("责任单位"), required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )  # fmt: skip
    lead_leader = forms.CharField(label=gettext_lazy("牵头领导"), required=False, max_length=50)
    deadline = forms.DateField(
        label=gettext_lazy("完成时限"), required=False, widget=forms.DateInput(attrs=_DATE, format="%Y-%m-%d")
    )

    def __init__(
        self, *args, user=None, item: ExtractedItem | None = None, choices: dict | None = None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        # A review table holds a form per item: the choices are read once per page (accept_choices).
        choices = choices or accept_choices(user)
        self.fields["target_metric"].choices = choices["metric"]
        self.fields["scope"].choices = choices["scope"]
        self.fields["owner_unit"].queryset = task_owner_units(user)
        self.fields["owner_unit"].choices = choices["owner"]
        self.fields["supporting_units"].queryset = restrict(Unit.objects, user, "view").exclude(
            kind=Unit.Kind.ENTERPRISE
        )
        self.fields["supporting_units"].choices = choices["units"]
        if item is not None and not self.is_bound:
            self.initial.setdefault("mode", "task" if item.kind == ItemKind.TASK else "target")
            self.initial.setdefault("target_metric", item.target_metric)
            self.initial.setdefault("deadline", item.deadline)
        style_form(self)

    def service_data(self) -> dict:
        """What item_accept reads: the fields of the chosen mode, empty ones left to its defaults."""
        data = self.cleaned_data
        if data["mode"] == "target":
            fields = ("target_metric", "scope", "period", "comparator", "value")
        else:
            fields = ("title", "owner_unit", "supporting_units", "lead_leader", "deadline")
        return {"mode": data["mode"], **{f: data[f] for f in fields if data.get(f) not in (None, "", [])}}


class ItemRejectForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("驳回理由"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class ItemEditForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    comparator = forms.ChoiceField(
        label=gettext_lazy("比较"), required=False,
        choices=[("", "—"), (">=", "≥ 以上"), ("<=", "≤ 以内"), ("≈", "≈ 左右"), ("range", "区间"), ("=", "=")],
    )  # fmt: skip

    class Meta:
        model = ExtractedItem
        fields = ["kind", "metric", "value", "value_max", "unit", "comparator", "period", "deadline"]
        widgets = {"deadline": forms.DateInput(attrs=_DATE, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        kwargs.pop("user", None)
        super().__init__(*args, **kwargs)
        style_form(self)

    def service_data(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in self.Meta.fields}


class TaskForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = SupervisedTask
        fields = [
            "code", "title", "category", "description", "lead_leader", "owner_unit", "supporting_units", "deadline",
        ]  # fmt: skip
        widgets = {
            "deadline": forms.DateInput(attrs=_DATE, format="%Y-%m-%d"),
            "description": forms.Textarea(attrs={"rows": 4}),
            "supporting_units": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = task_owner_units(user)
        self.fields["supporting_units"].queryset = restrict(Unit.objects, user, "view").exclude(
            kind=Unit.Kind.ENTERPRISE
        )
        self.fields["supporting_units"].required = False
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)
        style_form(self)

    def _post_clean(self):
        # The service validates and writes; the model's own checks run there.
        pass

    def service_data(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in self.Meta.fields}


class TaskActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    comment = forms.CharField(
        label=gettext_lazy("意见"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class TaskNoteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    progress = forms.IntegerField(label=gettext_lazy("进度(%)"), required=False, min_value=0, max_value=100)
    text = forms.CharField(
        label=gettext_lazy("进展说明"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)
