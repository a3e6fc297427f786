from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.generic import View

from guatu.accounts import selectors, services
from guatu.accounts.forms import PasswordResetForm, RoleForm, UserForm
from guatu.accounts.models import Role, User
from guatu.accounts.tables import UserTable
from guatu.core.permissions import can
from guatu.core.views import ObjectEditView, ObjectListView

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
