from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from guatu.accounts import security, selectors, services
from guatu.accounts.forms import (
    PasswordChangeForm,
    PasswordResetForm,
    RoleForm,
    SecondFactorForm,
    SecurityPolicyForm,
    UserForm,
)
from guatu.accounts.middleware import PASSWORD_KEY
from guatu.accounts.models import Role, SecurityPolicy, User
from guatu.accounts.tables import UserTable
from guatu.core import changelog
from guatu.core.permissions import can
from guatu.core.views import ObjectEditView, ObjectListView, submit

# Where each kind of account starts after logging in.
HOME = {
    Role.SYSADMIN: "accounts:user_list",
    Role.SECADMIN: "accounts:user_list",
    Role.AUDITOR: "core:changelog",
    # Those who command the drive open the war map first; the others their project list.
    Role.CITY_ADMIN: "dashboard:war_map",
    Role.LEADER: "dashboard:war_map",
    Role.COUNTY: "dashboard:war_map",
    Role.DEPARTMENT: "dashboard:war_map",
}


@login_required
def home(request):
    user = request.user
    if user.role in HOME:
        return redirect(HOME[user.role])
    if user.is_business:
        return redirect("projects:project_list")
    return render(request, "accounts/no_role.html")  # an account no role has been granted to yet


class UserListView(ObjectListView):
    model = User
    table_class = UserTable
    template_name = "accounts/user_list.html"

    @staticmethod
    def filterset(*, user, params):
        return selectors.user_filterset(user=user, params=params)

    def get(self, request):
        if not _account_admin(request.user):
            raise PermissionDenied
        return super().get(request)


def _account_admin(user) -> bool:
    # 三员分立: only the two account administrators see the account pages.
    return can(user, "add", User) or can(user, "grant", User)


class UserDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        user = request.user
        if not _account_admin(user):
            raise PermissionDenied
        try:
            target = selectors.user_get(user=user, pk=pk)
        except User.DoesNotExist:
            raise Http404 from None
        context = {
            "object": target,
            "can_change": selectors.user_may(user=user, target=target, action="change"),
            "can_grant": selectors.user_may(user=user, target=target, action="grant"),
        }
        return render(request, "accounts/user_detail.html", context)


class UserEditView(ObjectEditView):
    model = User
    form_class = UserForm

    def save(self, request, form, obj):
        data = form.data_for_service()
        if obj is None:
            return services.user_create(actor=request.user, data=data)
        return services.user_update(
            actor=request.user, user_id=obj.pk, version=form.cleaned_data["version"] or 0, data=data
        )


class UserRoleView(ObjectEditView):
    model = User
    action = "grant"
    template_name = "accounts/user_form.html"
    title = gettext_lazy("授予角色")

    def get_form(self, request, obj, data=None):
        initial = {"role": obj.role, "region": obj.region_id, "unit": obj.unit_id, "version": obj.version}
        return RoleForm(data, initial=initial, user=request.user)

    def save(self, request, form, obj):
        data = form.cleaned_data
        return services.user_grant_role(
            actor=request.user, user_id=obj.pk, version=data["version"], role=data["role"],
            region=data["region"], unit=data["unit"],
        )  # fmt: skip


class UserPasswordView(ObjectEditView):
    model = User
    action = "change"
    template_name = "accounts/user_form.html"
    title = gettext_lazy("重置密码")

    def get_form(self, request, obj, data=None):
        return PasswordResetForm(data)

    def save(self, request, form, obj):
        return services.user_set_password(
            actor=request.user, user_id=obj.pk, password=form.cleaned_data["password"]
        )


class PasswordChangeView(LoginRequiredMixin, View):
    """The owner's own password: when it has expired, after an administrator set it, or at will."""

    template_name = "accounts/self_form.html"

    def get(self, request):
        return self.render(request, PasswordChangeForm())

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        data = form.cleaned_data if form.is_valid() else {}
        user, status = submit(
            form,
            lambda: services.password_change(
                actor=request.user, old_password=data["old_password"], new_password=data["password"],
                request=request,
            ),
        )  # fmt: skip
        if status != 200:
            return self.render(request, form, status)
        update_session_auth_hash(request, user)  # the session survives its own password change
        request.session[PASSWORD_KEY] = False
        messages.success(request, _("密码已修改"))
        return redirect("home")

    def render(self, request, form, status=200):
        expired = security.password_expired(request.user)
        context = {"form": form, "title": _("修改密码"), "expired": expired}
        return render(request, self.template_name, context, status=status)


class SecondFactorView(LoginRequiredMixin, View):
    """Set up a TOTP authenticator (a code confirms it), or pass the second factor with one."""

    template_name = "accounts/self_form.html"

    def get(self, request):
        return self.render(request, SecondFactorForm())

    def post(self, request):
        form = SecondFactorForm(request.POST)
        user = request.user
        if form.is_valid():
            token = form.cleaned_data["token"]
            if user_has_device(user, confirmed=True):
                device = match_token(user, token)
            else:
                device = services.second_factor_confirm(actor=user, token=token)
            if device is not None:
                otp_login(request, device)
                return redirect("home")
            changelog.record_login(
                event="otp_failed", username=user.get_username(), user=user, request=request
            )
            form.add_error(
                "token", _("动态口令不正确或已过期，请输入验证器上当前的 6 位数字（连续出错后须稍候再试）")
            )
        return self.render(request, form, 400)

    def render(self, request, form, status=200):
        user = request.user
        context = {"form": form, "title": _("两步验证")}
        if not user_has_device(user, confirmed=True):
            device = services.second_factor_device(user=user)
            svg = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
            context |= {
                "setup": True,
                "qr": mark_safe(svg.to_string(encoding="unicode")),  # our own SVG, no user text in it
                "secret": b32encode(device.bin_key).decode(),  # typed in where a camera cannot scan
            }
        return render(request, self.template_name, context, status=status)


class SecondFactorResetView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        if not selectors.user_may(user=request.user, target=get_object_or_404(User, pk=pk), action="change"):
            raise PermissionDenied
        removed = services.second_factor_reset(actor=request.user, user_id=pk)
        messages.success(request, _("已清除 %(n)d 个动态口令设备，该账号下次登录时重新设置") % {"n": removed})
        return redirect("accounts:user_detail", pk)


class SecurityPolicyView(LoginRequiredMixin, View):
    template_name = "accounts/self_form.html"

    def check(self, request):
        if not security_admin(request.user):
            raise PermissionDenied

    def get(self, request):
        self.check(request)
        return self.render(request, SecurityPolicyForm(instance=security.policy()))

    def post(self, request):
        self.check(request)
        form = SecurityPolicyForm(request.POST, instance=SecurityPolicy.objects.order_by("pk").first())
        data = form.cleaned_data if form.is_valid() else {}
        _saved, status = submit(
            form,
            lambda: services.security_policy_update(actor=request.user, version=data["version"], data=data),
        )
        if status != 200:
            return self.render(request, form, status)
        messages.success(request, _("安全策略已保存"))
        return redirect("accounts:security_policy")

    def render(self, request, form, status=200):
        return render(request, self.template_name, {"form": form, "title": _("安全策略")}, status=status)


def security_admin(user) -> bool:
    return can(user, "change", SecurityPolicy)
