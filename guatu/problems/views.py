"""Pages of the problems app. Thin: selectors read, services write, restrict() decides."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View

from guatu.accounts.models import Role
from guatu.core import workdays
from guatu.core.pagination import DeferredJoinPaginator
from guatu.core.permissions import can
from guatu.core.views import PER_PAGE, ObjectEditView, ObjectListView, submit
from guatu.problems import selectors, services
from guatu.problems.forms import (
    AgencyAssignForm,
    AgencyCloseForm,
    AgencyRequestForm,
    AgencyStepForm,
    AttachmentForm,
    ContactForm,
    EscalateForm,
    InstructForm,
    NotificationSettingsForm,
    ProblemActionForm,
    ProblemForm,
    StewardAssignForm,
    VisitForm,
    VisitProblemFormSet,
)
from guatu.problems.models import (
    AgencyRequest,
    AgencyStatus,
    ContactKind,
    Notification,
    NotificationEvent,
    Problem,
    ProblemAttachment,
    ProblemStep,
    ProjectContact,
    StewardVisit,
)
from guatu.problems.tables import ProblemTable
from guatu.projects import selectors as project_selectors
from guatu.projects.models import Project

# --- problems and the 直通车


class ProblemListView(ObjectListView):
    """问题清单: the problems of the user's scope, with filters, the overdue days and the rung."""

    model = Problem
    table_class = ProblemTable
    template_name = "problems/problem_list.html"

    @staticmethod
    def filterset(*, user, params):
        return selectors.problem_filterset(user=user, params=params)

    def extra_context(self, request):
        return {
            "can_add": selectors.may_raise(request.user),
            "counts": selectors.problem_counts(user=request.user),
            "can_direct_line": selectors.may_use_direct_line(request.user),
        }


def _problem_or_404(request, pk: int) -> Problem:
    if not can(request.user, "view", Problem):
        raise PermissionDenied  # no problem of any kind is theirs to see (三员分立)
    try:
        return selectors.problem_get(user=request.user, pk=pk)
    except Problem.DoesNotExist:
        raise Http404 from None


def _timeline(user, problem: Problem) -> list[tuple[ProblemStep, str]]:
    names = selectors.transition_names()
    return [
        (step, selectors.step_label(step, names))
        for step in selectors.problem_steps(user=user, problem=problem)
    ]


def problem_page(request, problem: Problem, *, bound: dict | None = None, status: int = 200) -> HttpResponse:
    """The problem page: facts, timeline, the steps the user may take (each with a comment box),
    the escalate and instruct forms where allowed, attachments. `bound` carries a form that came
    back with errors, keyed by its name."""
    user, bound = request.user, bound or {}
    today = timezone.localdate()
    initial = {"version": problem.version}
    actions = [
        (row, bound.get(f"act:{row.action}") or ProblemActionForm(initial=initial, prefix=row.action))
        for row in selectors.problem_actions(user=user, problem=problem)
    ]
    escalate = selectors.can_escalate(user=user, problem=problem)
    instruct = selectors.can_instruct(user=user, problem=problem)
    attach = selectors.can_attach(user=user, problem=problem)
    context = {
        "object": problem,
        "today": today,
        "overdue_days": selectors.overdue_days(problem, today),
        "next_level": services.next_level(problem.level),
        "timeline": _timeline(user, problem),
        "actions": actions,
        "escalate_form": (bound.get("escalate") or EscalateForm(initial=initial)) if escalate else None,
        "instruct_form": (bound.get("instruct") or InstructForm(initial=initial, user=user))
        if instruct
        else None,
        "attachments": selectors.problem_attachments(user=user, problem=problem),
        "attachment_form": (bound.get("attach") or AttachmentForm()) if attach else None,
        "can_edit": selectors.can_edit(user=user, problem=problem),
    }
    return render(request, "problems/problem_detail.html", context, status=status)


class ProblemDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        return problem_page(request, _problem_or_404(request, pk))


def _write(write):
    """Run a service write; a problem gone or outside the user's scope is a 404."""

    def run():
        try:
            return write()
        except Problem.DoesNotExist:
            raise Http404 from None

    return run


class ProblemActView(LoginRequiredMixin, View):
    """One step of the flow (accept, resolve, verify …) with its comment."""

    def get(self, request, pk: int, action: str):
        return redirect("problems:problem_detail", pk=pk)

    def post(self, request, pk: int, action: str):
        problem = _problem_or_404(request, pk)
        form = ProblemActionForm(request.POST, prefix=action)
        done, status = submit(
            form,
            _write(
                lambda: services.problem_act(
                    actor=request.user,
                    problem_id=problem.pk,
                    action=action,
                    version=form.cleaned_data["version"],
                    comment=form.cleaned_data["comment"],
                )
            ),
        )
        if status == 200:
            name = selectors.transition_names().get(action, action)
            messages.success(request, _("“%(problem)s”：已%(action)s") % {"problem": done, "action": name})
            return redirect(done.get_absolute_url())
        problem = _problem_or_404(request, pk)
        if not any(
            row.action == action for row in selectors.problem_actions(user=request.user, problem=problem)
        ):
            # The step is no longer open (someone else moved the problem): say why at the top.
            for error in form.non_field_errors():
                messages.error(request, error)
        return problem_page(request, problem, bound={f"act:{action}": form}, status=status)


class ProblemEscalateView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        problem = _problem_or_404(request, pk)
        form = EscalateForm(request.POST)
        done, status = submit(
            form,
            _write(
                lambda: services.problem_escalate(
                    actor=request.user,
                    problem_id=problem.pk,
                    version=form.cleaned_data["version"],
                    reason=form.cleaned_data["reason"],
                )
            ),
        )
        if status == 200:
            messages.success(request, _("已上升至“%(level)s”") % {"level": done.level.name})
            return redirect(done.get_absolute_url())
        if not selectors.can_escalate(user=request.user, problem=_problem_or_404(request, pk)):
            for error in form.non_field_errors():
                messages.error(request, error)
        return problem_page(request, _problem_or_404(request, pk), bound={"escalate": form}, status=status)


class ProblemInstructView(LoginRequiredMixin, View):
    """A leader's instruction (批示), from the problem page or from the 直通车 inbox."""

    def post(self, request, pk: int):
        problem = _problem_or_404(request, pk)
        from_inbox = request.POST.get("from") == "direct_line"
        form = InstructForm(request.POST, user=request.user, prefix=f"p{pk}" if from_inbox else None)
        done, status = submit(
            form,
            _write(
                lambda: services.problem_instruct(
                    actor=request.user,
                    problem_id=problem.pk,
                    version=form.cleaned_data["version"],
                    instruction=form.cleaned_data["instruction"],
                    new_due_date=form.cleaned_data["new_due_date"],
                    new_owner_unit=form.cleaned_data["new_owner_unit"],
                )
            ),
        )
        if status == 200:
            messages.success(request, _("已批示：%(problem)s") % {"problem": done})
            if from_inbox:
                return _back_to_inbox(request)
            return redirect(done.get_absolute_url())
        if from_inbox:
            return direct_line_page(request, bound={pk: form}, status=status)
        problem = _problem_or_404(request, pk)
        if not selectors.can_instruct(user=request.user, problem=problem):
            for error in form.non_field_errors():
                messages.error(request, error)
        return problem_page(request, problem, bound={"instruct": form}, status=status)


def _back_to_inbox(request) -> HttpResponse:
    query = request.GET.urlencode()
    return redirect(reverse("problems:direct_line") + (f"?{query}" if query else ""))


class ProblemAttachView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        problem = _problem_or_404(request, pk)
        form = AttachmentForm(request.POST, request.FILES)
        done, status = submit(
            form,
            _write(
                lambda: services.attachment_add(
                    actor=request.user, problem_id=problem.pk, upload=form.cleaned_data["file"]
                )
            ),
        )
        if status == 200:
            messages.success(request, _("已上传附件：%(name)s") % {"name": done.name})
            return redirect(f"{problem.get_absolute_url()}#attachments")
        return problem_page(request, _problem_or_404(request, pk), bound={"attach": form}, status=status)


class AttachmentDownloadView(LoginRequiredMixin, View):
    """An attachment, served only to those who may see its problem (never from a public folder)."""

    def get(self, request, pk: int):
        try:
            attachment = selectors.attachment_get(user=request.user, pk=pk)
        except ProblemAttachment.DoesNotExist:
            raise Http404 from None
        extension = attachment.file.name.rsplit(".", 1)[-1].lower()
        content_type = services.ATTACHMENT_TYPES.get(extension, "application/octet-stream")
        inline = extension in {"pdf", "jpg", "png"}
        response = FileResponse(
            attachment.file.open("rb"),
            content_type=content_type,
            as_attachment=not inline,
            filename=attachment.name,
        )
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ProblemEditView(ObjectEditView):
    """New problem (from a project page too: ?project=pk) or a change to one not closed."""

    model = Problem
    form_class = ProblemForm
    template_name = "problems/problem_edit.html"

    def get_object(self, request, pk: int):
        try:
            return selectors.problem_get(user=request.user, pk=pk, action="change")
        except Problem.DoesNotExist:
            raise Http404 from None

    def get_form(self, request, obj, data=None):
        initial = {}
        project = request.GET.get("project")
        if obj is None and project and project.isdigit():
            initial["project"] = int(project)
        return self.form_class(data, instance=obj, user=request.user, initial=initial)

    def check(self, request, pk):
        super().check(request, pk)
        if pk is None and not selectors.may_raise(request.user):
            raise PermissionDenied

    def save(self, request, form, obj):
        if obj is None:
            try:
                return services.problem_create(actor=request.user, data=form.data_for_service())
            except PermissionDenied as refused:
                # Said beside what was typed (say, an owner unit the user may not hand work to).
                raise ValidationError(str(refused)) from None
        return services.problem_update(
            actor=request.user,
            problem_id=obj.pk,
            version=form.cleaned_data.get("version") or 0,
            data=form.data_for_service(),
        )


def direct_line_page(request, *, bound: dict | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    if not selectors.may_use_direct_line(user):
        raise PermissionDenied
    bound = bound or {}
    filterset = selectors.problem_filterset(user=user, params=request.GET)
    today = timezone.localdate()
    queryset = (
        selectors.direct_line_queryset(user=user, params=request.GET, today=today)
        if filterset.is_valid()
        else Problem.objects.none()
    )
    # A page at a time, like every other list: the rows, their lights and instructions and the
    # forms cost what one page costs however many problems wait.
    page = DeferredJoinPaginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    rows = selectors.direct_line_rows(problems=list(page.object_list), today=today)
    forms = {
        row.problem.pk: bound.get(row.problem.pk)
        or InstructForm(initial={"version": row.problem.version}, user=user, prefix=f"p{row.problem.pk}")
        for row in rows
    }
    # Every form offers the same units: read them once, not once per problem on the page.
    unit_choices = None
    for form in forms.values():
        field = form.fields["new_owner_unit"]
        unit_choices = unit_choices if unit_choices is not None else list(field.choices)
        field.choices = unit_choices
    for pk, form in bound.items():
        if pk not in forms:  # the problem has left the inbox meanwhile: say why at the top
            for error in form.non_field_errors():
                messages.error(request, error)
    pages = request.GET.copy()
    pages.pop("page", None)
    context = {
        "rows": [(row, forms[row.problem.pk]) for row in rows],
        "filterset": filterset,
        "page": page,
        "page_query": pages.urlencode(),
        # The instruction forms post back with the inbox's filters and page, so a refused form
        # comes back on the page it was sent from and a done one returns there.
        "inbox_query": request.GET.urlencode(),
    }
    return render(request, "problems/direct_line.html", context, status=status)


class DirectLineView(LoginRequiredMixin, View):
    """书记市长直通车: the problems escalated to the top, for leaders and the project office."""

    def get(self, request):
        return direct_line_page(request)


# --- stewards, contacts, visits and agency requests

SERVICE_PER_PAGE = 50


def _page_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _next_or(request, default: str) -> str:
    """Where to go back to after a form posted from another page (a local path only)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _project_or_404(request, pk: int, action: str = "view") -> Project:
    """The project, if the user may `action` it: 404 when they cannot even see it, 403 when they
    see it but may not act on it."""
    try:
        return project_selectors.project_get(user=request.user, pk=pk, action=action)
    except Project.DoesNotExist:
        if action != "view" and project_selectors.project_queryset(user=request.user).filter(pk=pk).exists():
            raise PermissionDenied from None
        raise Http404 from None


def _service_url(project_id: int) -> str:
    return f"{reverse('projects:project_detail', args=[project_id])}#service"


class StewardCoverageView(LoginRequiredMixin, View):
    """项目管家 coverage: projects of 5000万元 or more without a steward (first, with a count and a
    form to name one), then each steward's load."""

    def get(self, request, assign_error: str = "", status: int = 200):
        user = request.user
        if user.role not in selectors.COVERAGE_ROLES:
            raise PermissionDenied
        coverage = selectors.steward_coverage(user=user)
        page = Paginator(coverage.uncovered, SERVICE_PER_PAGE).get_page(request.GET.get("page"))
        can_assign = user.role in services.SERVICE_GOVERNORS
        context = {
            "coverage": coverage,
            "page": page,
            "page_query": _page_query(request),
            "can_assign": can_assign,
            "stewards": list(selectors.steward_choices()) if can_assign else [],
            "load_days": selectors.LOAD_DAYS,
            "error_text": assign_error,
        }
        return render(request, "problems/steward_coverage.html", context, status=status)


class StewardAssignView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        if request.user.role not in services.SERVICE_GOVERNORS:
            raise PermissionDenied
        form = StewardAssignForm(request.POST)

        def write():
            try:
                return services.steward_assign(
                    actor=request.user,
                    project_id=pk,
                    steward_id=form.cleaned_data["steward"].pk,
                    version=form.cleaned_data["version"],
                )
            except Project.DoesNotExist:
                raise Http404 from None

        project, status = submit(form, write)
        if status == 200:
            messages.success(
                request,
                _("已为“%(project)s”指定项目管家：%(steward)s")
                % {"project": project, "steward": project.steward},
            )
            return redirect(_next_or(request, reverse("problems:steward_coverage")))
        errors = "；".join(str(m) for messages_ in form.errors.values() for m in messages_)
        return StewardCoverageView().get(request, assign_error=errors, status=status)


# ---- contacts


class ContactAddView(LoginRequiredMixin, View):
    template_name = "problems/contact_edit.html"

    def project(self, request, pk: int) -> Project:
        if not can(request.user, "add", ProjectContact):
            raise PermissionDenied
        return _project_or_404(request, pk, "change")

    def get(self, request, pk: int):
        project = self.project(request, pk)
        form = ContactForm(
            user=request.user, initial={"kind": request.GET.get("kind") or ContactKind.DEPARTMENT}
        )
        return render(request, self.template_name, {"form": form, "project": project})

    def post(self, request, pk: int):
        project = self.project(request, pk)
        form = ContactForm(request.POST, user=request.user)

        def write():
            try:
                return services.contact_add(actor=request.user, project_id=pk, data=form.data_for_service())
            except Project.DoesNotExist:
                raise Http404 from None

        contact, status = submit(form, write)
        if status == 200:
            messages.success(request, _("已添加联系人：%(contact)s") % {"contact": contact})
            return redirect(_service_url(pk))
        return render(request, self.template_name, {"form": form, "project": project}, status=status)


class ContactEditView(LoginRequiredMixin, View):
    template_name = "problems/contact_edit.html"

    def contact(self, request, pk: int, action: str = "change") -> ProjectContact:
        if not can(request.user, action, ProjectContact):
            raise PermissionDenied
        try:
            return selectors.contact_get(user=request.user, pk=pk, action=action)
        except ProjectContact.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk: int):
        contact = self.contact(request, pk)
        form = ContactForm(instance=contact, user=request.user)
        return render(
            request, self.template_name, {"form": form, "project": contact.project, "contact": contact}
        )

    def post(self, request, pk: int):
        contact = self.contact(request, pk)
        form = ContactForm(request.POST, instance=contact, user=request.user)

        def write():
            try:
                return services.contact_update(
                    actor=request.user, contact_id=pk, data=form.data_for_service()
                )
            except ProjectContact.DoesNotExist:
                raise Http404 from None

        saved, status = submit(form, write)
        if status == 200:
            messages.success(request, _("已保存：%(contact)s") % {"contact": saved})
            return redirect(_service_url(saved.project_id))
        contact.refresh_from_db()
        context = {"form": form, "project": contact.project, "contact": contact}
        return render(request, self.template_name, context, status=status)


class ContactRemoveView(ContactEditView):
    def get(self, request, pk: int):
        return redirect("problems:contact_edit", pk=pk)

    def post(self, request, pk: int):
        contact = self.contact(request, pk, "delete")
        try:
            services.contact_remove(actor=request.user, contact_id=pk)
        except ProjectContact.DoesNotExist:
            raise Http404 from None
        messages.success(request, _("已删除联系人：%(contact)s") % {"contact": contact})
        return redirect(_service_url(contact.project_id))


# ---- visits


class VisitListView(LoginRequiredMixin, View):
    """Visits in the user's scope; a steward sees their own unless they ask for a project's."""

    def get(self, request):
        user = request.user
        if not can(user, "view", StewardVisit):
            raise PermissionDenied
        params = request.GET.copy()
        if user.role == Role.STEWARD and not params.get("steward") and not params.get("project"):
            params["steward"] = str(user.pk)
        filterset = selectors.visit_filterset(user=user, params=params)
        valid = filterset.is_valid()
        queryset = filterset.qs if valid else StewardVisit.objects.none()
        project = None
        if valid and filterset.form.cleaned_data.get("project"):
            project = (
                project_selectors.project_queryset(user=user)
                .filter(pk=int(filterset.form.cleaned_data["project"]))
                .first()
            )
        page = Paginator(queryset, SERVICE_PER_PAGE).get_page(request.GET.get("page"))
        context = {
            "filterset": filterset,
            "page": page,
            "page_query": _page_query(request),
            "project": project,
            "can_add": project is not None and selectors.visit_allowed(user=user, project=project),
            "own": user.role == Role.STEWARD and params.get("steward") == str(user.pk),
        }
        return render(request, "problems/visit_list.html", context)


class VisitAddView(LoginRequiredMixin, View):
    template_name = "problems/visit_add.html"

    def project(self, request, pk: int) -> Project:
        project = _project_or_404(request, pk)
        if not selectors.visit_allowed(user=request.user, project=project):
            raise PermissionDenied
        return project

    def get(self, request, pk: int):
        project = self.project(request, pk)
        form = VisitForm(initial={"visited_on": timezone.localdate()})
        formset = VisitProblemFormSet(prefix="p", form_kwargs={"user": request.user})
        return render(request, self.template_name, {"form": form, "formset": formset, "project": project})

    def post(self, request, pk: int):
        project = self.project(request, pk)
        form = VisitForm(request.POST)
        formset = VisitProblemFormSet(request.POST, prefix="p", form_kwargs={"user": request.user})
        context = {"form": form, "formset": formset, "project": project}
        if not formset.is_valid():
            form.is_valid()  # show the visit's own errors too
            return render(request, self.template_name, context, status=400)

        def write():
            data = form.cleaned_data
            try:
                return services.visit_create(
                    actor=request.user,
                    project_id=pk,
                    visited_on=data["visited_on"],
                    met_with=data["met_with"],
                    findings=data["findings"],
                    problems=[p for f in formset.forms if (p := f.data_for_service()) is not None],
                )
            except Project.DoesNotExist:
                raise Http404 from None

        visit, status = submit(form, write)
        if status == 200:
            messages.success(request, _("已记录走访：%(visit)s") % {"visit": visit})
            return redirect("problems:visit_detail", pk=visit.pk)
        return render(request, self.template_name, context, status=status)


class VisitDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        if not can(request.user, "view", StewardVisit):
            raise PermissionDenied
        try:
            visit = selectors.visit_get(user=request.user, pk=pk)
        except StewardVisit.DoesNotExist:
            raise Http404 from None
        context = {"visit": visit, "problems": selectors.visit_problems(user=request.user, visit=visit)}
        return render(request, "problems/visit_detail.html", context)


# ---- agency requests (代办帮办)


class AgencyListView(LoginRequiredMixin, View):
    def get(self, request):
        user = request.user
        if not can(user, "view", AgencyRequest):
            raise PermissionDenied
        today = timezone.localdate()
        filterset = selectors.agency_filterset(user=user, params=request.GET, today=today)
        queryset = filterset.qs if filterset.is_valid() else AgencyRequest.objects.none()
        page = Paginator(queryset, SERVICE_PER_PAGE).get_page(request.GET.get("page"))
        for agency in page.object_list:
            agency.overdue = selectors.agency_is_overdue(agency, today)
        counts = selectors.agency_counts(selectors.agency_queryset(user=user), today=today)
        context = {
            "filterset": filterset,
            "page": page,
            "page_query": _page_query(request),
            "counts": counts,
            "statuses": [(code, label, counts.get(code, 0)) for code, label in AgencyStatus.choices],
            "today": today,
        }
        return render(request, "problems/agency_list.html", context)


class AgencyAddView(LoginRequiredMixin, View):
    template_name = "problems/agency_add.html"

    def project(self, request, pk: int) -> Project:
        project = _project_or_404(request, pk)
        if not selectors.agency_requestable(user=request.user, project=project):
            raise PermissionDenied
        return project

    def get(self, request, pk: int):
        project = self.project(request, pk)
        approvals = selectors.agency_approvals(project=project)
        initial = {"approval": request.GET.get("approval")} if request.GET.get("approval") else {}
        form = AgencyRequestForm(approvals=approvals, initial=initial)
        context = {"form": form, "project": project, "service_days": services.agency_service_days()}
        return render(request, self.template_name, context)

    def post(self, request, pk: int):
        project = self.project(request, pk)
        form = AgencyRequestForm(request.POST, approvals=selectors.agency_approvals(project=project))

        def write():
            try:
                return services.agency_request(
                    actor=request.user,
                    project_id=pk,
                    approval_id=form.cleaned_data["approval"].pk,
                    note=form.cleaned_data["note"],
                )
            except Project.DoesNotExist:
                raise Http404 from None

        agency, status = submit(form, write)
        if status == 200:
            messages.success(
                request,
                _("已提交代办申请，服务时限 %(due)s") % {"due": agency.service_due.isoformat()},
            )
            return redirect("problems:agency_detail", pk=agency.pk)
        context = {"form": form, "project": project, "service_days": services.agency_service_days()}
        return render(request, self.template_name, context, status=status)


AGENCY_STEPS = {
    "assign": (AgencyAssignForm, gettext_lazy("指派")),
    "start": (AgencyStepForm, gettext_lazy("开始办理")),
    "close": (AgencyCloseForm, gettext_lazy("办结")),
    "cancel": (AgencyStepForm, gettext_lazy("撤回")),
}


class AgencyDetailView(LoginRequiredMixin, View):
    def agency(self, request, pk: int) -> AgencyRequest:
        if not can(request.user, "view", AgencyRequest):
            raise PermissionDenied
        try:
            return selectors.agency_get(user=request.user, pk=pk)
        except AgencyRequest.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk: int, bound: dict | None = None, status: int = 200):
        agency = self.agency(request, pk)
        today = timezone.localdate()
        agency.overdue = selectors.agency_is_overdue(agency, today)
        actions = selectors.agency_actions(user=request.user, agency=agency)
        bound = bound or {}
        initial = {"version": agency.version}
        step_forms = {}
        if "assign" in actions:
            step_forms["assign"] = bound.get("assign") or AgencyAssignForm(
                agents=selectors.agency_agents(), initial={**initial, "agent": agency.agent_id}
            )
        if "start" in actions:
            step_forms["start"] = bound.get("start") or AgencyStepForm(initial=initial)
        if "close" in actions:
            step_forms["close"] = bound.get("close") or AgencyCloseForm(
                initial={**initial, "approved_on": today}
            )
        if "cancel" in actions:
            step_forms["cancel"] = bound.get("cancel") or AgencyStepForm(initial=initial)
        left = workdays.workdays_between(today, agency.service_due)
        # A refused step whose form is no longer offered (the request moved on) still says why.
        refusals = [
            str(message)
            for name, form in bound.items()
            if name not in step_forms
            for message in form.errors.get("__all__", [])
        ]
        context = {
            "agency": agency,
            "forms": step_forms,
            "refusals": refusals,
            "workdays_left": left,
            "workdays_late": -left,
            "today": today,
        }
        return render(request, "problems/agency_detail.html", context, status=status)


class AgencyActionView(AgencyDetailView):
    def get(self, request, pk: int, action: str):
        return redirect("problems:agency_detail", pk=pk)

    def post(self, request, pk: int, action: str):
        if action not in AGENCY_STEPS:
            raise Http404
        agency = self.agency(request, pk)
        form_class, label = AGENCY_STEPS[action]
        form = (
            form_class(request.POST, agents=selectors.agency_agents())
            if action == "assign"
            else form_class(request.POST)
        )

        def write():
            data = form.cleaned_data
            common = {"actor": request.user, "request_id": agency.pk, "version": data["version"]}
            try:
                if action == "assign":
                    return services.agency_assign(**common, agent_id=data["agent"].pk)
                if action == "start":
                    return services.agency_start(**common)
                if action == "close":
                    return services.agency_close(
                        **common,
                        result=data["result"],
                        approved_on=data["approved_on"],
                        document_no=data["document_no"],
                        comment=data["comment"],
                    )
                return services.agency_cancel(**common, reason=data["reason"])
            except AgencyRequest.DoesNotExist:
                raise Http404 from None

        done, status = submit(form, write)
        if status == 200:
            messages.success(request, _("代办申请已%(action)s") % {"action": label})
            return redirect("problems:agency_detail", pk=done.pk)
        return AgencyDetailView.get(self, request, pk, bound={action: form}, status=status)


# --- notifications


NOTIFICATIONS_PER_PAGE = 20


class NotificationListView(LoginRequiredMixin, View):
    """The inbox: the user's own notifications, unread first, newest first."""

    def get(self, request):
        page = Paginator(selectors.notifications_for(user=request.user), NOTIFICATIONS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        return render(request, "problems/notification_list.html", {"page_obj": page})


def _local_path(url: str, request) -> bool:
    # Only a path on this site: no scheme, no host, no protocol-relative "//host".
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(url, allowed_hosts=None, require_https=False)
    )


class NotificationOpenView(LoginRequiredMixin, View):
    """Opening a notification marks it read, then goes to what it is about (a local path only)."""

    def get(self, request, pk: int):
        try:
            notification = services.notification_mark_read(actor=request.user, notification_id=pk)
        except Notification.DoesNotExist:
            raise Http404 from None
        if notification.url and _local_path(notification.url, request):
            return redirect(notification.url)
        return redirect("problems:notification_list")


class NotificationReadAllView(LoginRequiredMixin, View):
    def post(self, request):
        count = services.notification_mark_all_read(actor=request.user)
        messages.success(request, _("已将 %(count)d 条通知标为已读") % {"count": count})
        return redirect("problems:notification_list")


class NotificationSettingsView(LoginRequiredMixin, View):
    """Per event: immediate e-mail or the daily digest."""

    template_name = "problems/notification_settings.html"

    def get(self, request):
        form = NotificationSettingsForm(initial_modes=selectors.notification_modes_for(user=request.user))
        return self.render(request, form)

    def post(self, request):
        form = NotificationSettingsForm(request.POST)
        _saved, status = submit(
            form,
            lambda: services.notification_preferences_save(
                actor=request.user,
                modes={event: form.cleaned_data[event] for event in NotificationEvent.values},
            ),
        )
        if status == 200:
            messages.success(request, _("通知设置已保存"))
            return redirect("problems:notification_settings")
        return self.render(request, form, status=status)

    def render(self, request, form, status: int = 200):
        rows = [form[event] for event in NotificationEvent.values]
        return render(request, self.template_name, {"form": form, "rows": rows}, status=status)
