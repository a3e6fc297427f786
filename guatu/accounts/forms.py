from django import forms
from django.utils.translation import gettext_lazy as _

from guatu.accounts.models import Role, SecurityPolicy, User
from guatu.core.forms import style_form
from guatu.core.permissions import restrict
from guatu.org.models import Region, Unit


class PasswordPairMixin:
    """Two password fields that must agree; strength is the service's to judge."""

    def add_password_fields(self, label):
        self.fields["password"] = forms.CharField(label=label, widget=forms.PasswordInput(render_value=True))
        self.fields["password2"] = forms.CharField(
            label=_("确认密码"), widget=forms.PasswordInput(render_value=True)
        )

    def clean_password2(self):
        first, second = self.cleaned_data.get("password"), self.cleaned_data.get("password2")
        if first and second and first != second:
            raise forms.ValidationError(_("两次输入的密码不一致"))
        return second


class UserForm(PasswordPairMixin, forms.ModelForm):
    """Create (with an initial password) or edit who an account is. No role here: roles are the
    security administrator's to grant."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = User
        fields = ["username", "last_name", "first_name", "email", "phone", "is_active"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["username"].disabled = True  # the change log names accounts by it
            self.fields["version"].initial = self.instance.version
        else:
            del self.fields["version"], self.fields["is_active"]
            self.add_password_fields(_("初始密码"))
        style_form(self)

    def _post_clean(self):
        pass  # the service validates and writes

    def data_for_service(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in {"version", "password2"}}


class PasswordResetForm(PasswordPairMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_password_fields(_("新密码"))
        style_form(self)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices, required=False)
    region = forms.ModelChoiceField(
        queryset=Region.objects.none(), label=_("所属地区"), required=False,
        help_text=_("县(市)区账号必选；项目管家可选"),
    )  # fmt: skip
    unit = forms.ModelChoiceField(
        queryset=Unit.objects.none(), label=_("所属单位"), required=False,
        help_text=_("市直部门、项目单位账号必选；地区随单位"),
    )  # fmt: skip
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = restrict(Region.objects, user, "view")
        self.fields["region"].label_from_instance = lambda r: f"{r.label}（{r.code}）"
        self.fields["unit"].queryset = restrict(Unit.objects, user, "view").order_by("kind", "name")
        self.fields["unit"].label_from_instance = lambda u: f"{u.name}（{u.get_kind_display()}）"
        style_form(self)


class PasswordChangeForm(PasswordPairMixin, forms.Form):
    old_password = forms.CharField(label=_("原密码"), widget=forms.PasswordInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_password_fields(_("新密码"))
        self.fields["password"].help_text = _(
            "至少 8 位，含大写字母、小写字母、数字、符号中的至少 3 类，不得与最近 5 次相同"
        )
        style_form(self)


class SecondFactorForm(forms.Form):
    token = forms.RegexField(
        label=_("动态口令"), regex=r"^\d{6}$", max_length=6,
        error_messages={"invalid": _("请输入手机验证器上的 6 位数字")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class SecurityPolicyForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = SecurityPolicy
        fields = ["idle_minutes", "password_max_age_days", "lockout_failures", "lockout_minutes"]
        help_texts = {
            "idle_minutes": _("1–30；超过此时长无操作即退出登录"),
            "password_max_age_days": _("1–90；到期后登录须先修改密码"),
            "lockout_failures": _("3–10；连续输错此数后锁定账号"),
            "lockout_minutes": _("10–1440"),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        style_form(self)

    def _post_clean(self):
        pass  # the service validates and writes
