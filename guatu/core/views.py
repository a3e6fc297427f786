"""Generic page views every app reuses (NetBox style): the app supplies a model, a selector,
a table and a form; the view stays thin and all access goes through restrict()."""

from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.generic import View
from django_tables2 import RequestConfig

from guatu.core.exceptions import Conflict
from guatu.core.filters import ChangeRecordFilterSet, LoginRecordFilterSet
from guatu.core.models import ChangeRecord, LoginRecord
from guatu.core.pagination import DeferredJoinPaginator
from guatu.core.permissions import can, restrict
from guatu.core.tables import ChangeRecordTable, LoginRecordTable

PER_PAGE = 50


class ObjectListView(LoginRequiredMixin, View):
    model: ClassVar[type[Model]]
    table_class: ClassVar[type]
    filterset: ClassVar[Callable[..., Any]]  # (user, params) -> FilterSet over a restricted queryset
    template_name = "core/object_list.html"
    action = "view"

    def get(self, request):
        if not can(request.user, self.action, self.model):
            raise PermissionDenied
        filterset = self.filterset(user=request.user, params=request.GET)
        queryset = filterset.qs if filterset.is_valid() else self.model.objects.none()
        table = self.table_class(queryset)
        # Deep pages are fetched key-first, so page 1,000 costs about what page 1 costs.
        paginate = {"per_page": PER_PAGE, "paginator_class": DeferredJoinPaginator}
        RequestConfig(request, paginate=paginate).configure(table)
        context = {
            "model": self.model,
            "meta": self.model._meta,
            "table": table,
            "filterset": filterset,
            "total": table.paginator.count,
            "can_add": can(request.user, "add", self.model),
            "can_import": can(request.user, "import", self.model),
            "query_string": request.GET.urlencode(),
            **self.extra_context(request),
        }
        template = "core/_table.html" if request.htmx and not request.htmx.boosted else self.template_name
        return render(request, template, context)

    def extra_context(self, request) -> dict[str, Any]:
        return {}


class ObjectEditView(LoginRequiredMixin, View):
    """Create (no pk) or update (pk). The form validates shape; the service writes.

    On a validation error or a stale version the form comes back with what the user typed,
    so nothing typed is lost.
    """

    model: ClassVar[type[Model]]
    form_class: ClassVar[type]
    template_name = "core/object_edit.html"
    # None: "add" without a pk, "change" with one. A page for one narrower write (granting a
    # role) names its own action.
    action: ClassVar[str | None] = None

    def get_action(self, pk) -> str:
        return self.action or ("change" if pk else "add")

    def get_object(self, request, pk: int):
        try:
            return restrict(self.model.objects, request.user, self.get_action(pk)).get(pk=pk)
        except self.model.DoesNotExist:
            raise Http404 from None

    def check(self, request, pk):
        if not can(request.user, self.get_action(pk), self.model):
            raise PermissionDenied

    def get_form(self, request, obj, data=None):
        return self.form_class(data, instance=obj, user=request.user)

    def get(self, request, pk: int | None = None):
        self.check(request, pk)
        obj = self.get_object(request, pk) if pk else None
        return self.render(request, self.get_form(request, obj), obj)

    def post(self, request, pk: int | None = None):
        self.check(request, pk)
        obj = self.get_object(request, pk) if pk else None
        form = self.get_form(request, obj, request.POST)
        saved, status = submit(form, lambda: self.save(request, form, obj))
        if status == 200:
            messages.success(request, _("已保存：%(obj)s") % {"obj": saved})
            return redirect(saved.get_absolute_url())
        return self.render(request, form, obj, status=status)

    def save(self, request, form, obj):
        raise NotImplementedError

    def render(self, request, form, obj, status: int = 200) -> HttpResponse:
        context = {"form": form, "object": obj, "meta": self.model._meta, "view": self}
        return render(request, self.template_name, context, status=status)


def attach_errors(form, err: ValidationError) -> None:
    if hasattr(err, "error_dict"):
        for field, errors in err.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, err.messages)


def submit(form, write: Callable[[], Any]) -> tuple[Any, int]:
    """Validate the form, then let the service write. A refusal lands on the form, so the page
    comes back with the reason beside what the user typed. Returns (result, 200), or (None, 400)
    for invalid input, or (None, 409) for a stale version."""
    if not form.is_valid():
        return None, 400
    try:
        return write(), 200
    except ValidationError as err:
        attach_errors(form, err)
        return None, 400
    except Conflict as err:
        form.add_error(None, err.message)
        return None, 409


class ObjectDeleteView(LoginRequiredMixin, View):
    model: ClassVar[type[Model]]
    template_name = "core/object_delete.html"
    list_url: ClassVar[str]

    def get_object(self, request, pk):
        if not can(request.user, "delete", self.model):
            raise PermissionDenied
        try:
            return restrict(self.model.objects, request.user, "delete").get(pk=pk)
        except self.model.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk: int):
        obj = self.get_object(request, pk)
        return render(request, self.template_name, {"object": obj, "meta": self.model._meta})

    def post(self, request, pk: int):
        obj = self.get_object(request, pk)
        try:
            self.delete(request, obj)
        except Conflict as err:
            messages.error(request, err.message)
            return render(request, self.template_name, {"object": obj, "meta": self.model._meta}, status=409)
        messages.success(request, _("已删除：%(obj)s") % {"obj": obj})
        return redirect(self.list_url)

    def delete(self, request, obj) -> None:
        raise NotImplementedError


def changes_queryset(*, user, params) -> QuerySet[ChangeRecord]:
    qs = restrict(ChangeRecord.objects, user, "view").select_related("actor", "content_type")
    return ChangeRecordFilterSet(params, queryset=qs)


class ChangeLogView(ObjectListView):
    """The auditor's searchable change log."""

    model = ChangeRecord
    table_class = ChangeRecordTable
    template_name = "core/changelog.html"

    @staticmethod
    def filterset(*, user, params):
        return changes_queryset(user=user, params=params)

    def get(self, request):
        if request.user.is_authenticated and request.user.role != "auditor":
            raise PermissionDenied  # 三员分立: the full log is the auditor's alone
        return super().get(request)


def logins_queryset(*, user, params) -> LoginRecordFilterSet:
    return LoginRecordFilterSet(params, queryset=restrict(LoginRecord.objects, user, "view"))


class LoginLogView(ObjectListView):
    """The auditor's login log (登录日志): every login, failure, lockout and logout, newest first."""

    model = LoginRecord
    table_class = LoginRecordTable
    template_name = "core/login_log.html"

    @staticmethod
    def filterset(*, user, params):
        return logins_queryset(user=user, params=params)
