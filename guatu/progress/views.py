import mimetypes

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import View

from guatu.core.models import ImportJob
from guatu.core.pagination import DeferredJoinPaginator
from guatu.core.permissions import can
from guatu.core.views import submit
from guatu.org.models import Region
from guatu.progress import selectors, services
from guatu.progress.filters import parse_month
from guatu.progress.forms import ReportForm, WarningRuleForm, WorkflowForm
from guatu.progress.models import MonthlyReport, ProjectWarning, ReportPhoto, WarningRule
from guatu.projects.models import Project

# --- monthly reports

REPORTS_PER_PAGE = 50


class ReportListView(LoginRequiredMixin, View):
    """月报: the month sheet of the user's scope. Every project that owes a report for the month,
    with its report (status, figures, cumulative investment) or the lack of one, and whether it is
    missing or late; filters by month, region, status and missing/late."""

    def get(self, request):
        user = request.user
        if not can(user, "view", MonthlyReport):
            raise PermissionDenied
        today = timezone.localdate()
        sheet = selectors.month_sheet(
            user=user,
            params=request.GET,
            today=today,
            regions=Region.objects.order_by("code"),
            statuses=selectors.status_rows(),
        )
        filterset = sheet.filterset
        queryset = filterset.qs if filterset.is_valid() else Project.objects.none()
        page = DeferredJoinPaginator(queryset, REPORTS_PER_PAGE).get_page(request.GET.get("page"))
        projects = list(page.object_list)
        rows = selectors.sheet_rows(
            user=user, projects=projects, month=sheet.month, due=sheet.due, today=today
        )
        pages = request.GET.copy()
        pages.pop("page", None)
        months = request.GET.copy()
        months.pop("page", None)
        months.pop("month", None)
        flags = request.GET.copy()
        for key in ("page", "flag", "status"):
            flags.pop(key, None)
        flags["month"] = f"{sheet.month:%Y-%m}"
        context = {
            "flag_query": flags.urlencode(),
            "sheet": sheet,
            "filterset": filterset,
            "rows": rows,
            "page": page,
            "summary": selectors.month_sheet_summary(sheet) if filterset.is_valid() else {},
            "addable": selectors.addable_projects(user=user, projects=projects),
            "page_query": pages.urlencode(),
            "month_query": months.urlencode(),
            "previous_month": services.shift_month(sheet.month, -1),
            "next_month": services.shift_month(sheet.month, 1),
            "is_current": sheet.month >= services.month_start(today),
            "can_import": can(user, "import", MonthlyReport) and can(user, "add", ImportJob),
        }
        return render(request, "progress/report_list.html", context)


def _project_for_report(request, project_id: int) -> Project:
    try:
        return selectors.report_project(user=request.user, pk=project_id)
    except Project.DoesNotExist:
        raise Http404 from None


class _ReportPage:
    """What the report page shows around its form: the project, last month's figures and the
    cumulative investment so far."""

    template_name = "progress/report_detail.html"

    def page(
        self, request, *, project, month, report, form, status: int = 200, workflow=None
    ) -> HttpResponse:
        user = request.user
        previous = selectors.report_before(user=user, project=project, month=month)
        permissions = selectors.report_permissions(user=user, report=report) if report else {}
        context = {
            "project": project,
            "month": month,
            "report": report,
            "form": form,
            "previous": previous,
            "previous_cumulative": previous.cumulative_investment if previous else 0,
            "due": selectors.due_date(month),
            "flag": selectors.report_flag(report, due=selectors.due_date(month), today=timezone.localdate()),
            "permissions": permissions,
            "workflow_form": workflow
            or WorkflowForm(initial={"version": report.version if report else None}),
            "photos": selectors.report_photos(user=user, report=report) if report else [],
            "photo_max_mb": f"{settings.PHOTO_MAX_BYTES / 1024 / 1024:.0f}",
        }
        return render(request, self.template_name, context, status=status)


def _save(request, *, project, month, form, version):
    """Save the figures (and the photo, and submit if asked) in one transaction: a bad photo leaves
    the figures unsaved too, so the form comes back whole."""
    with transaction.atomic():
        report = services.report_save(
            actor=request.user,
            project_id=project.pk,
            month=month,
            data=form.data_for_service(),
            version=version,
        )
        if form.cleaned_data.get("photo"):
            services.photo_add(
                actor=request.user,
                report_id=report.pk,
                upload=form.cleaned_data["photo"],
                caption=form.cleaned_data.get("caption", ""),
            )
        if request.POST.get("and_submit"):
            report = services.report_submit(actor=request.user, report_id=report.pk, version=report.version)
    return report


class ReportAddView(_ReportPage, LoginRequiredMixin, View):
    """A new report of a project for a month (2026-10)."""

    def setup_page(self, request, project_id: int, month: str):
        project = _project_for_report(request, project_id)
        first = parse_month(month)
        if first is None:
            raise Http404
        if not selectors.report_addable(user=request.user, project=project):
            raise PermissionDenied
        return project, first

    def get(self, request, project_id: int, month: str):
        project, first = self.setup_page(request, project_id, month)
        existing = selectors.report_at(user=request.user, project=project, month=first)
        if existing is not None:
            return redirect("progress:report_detail", pk=existing.pk)
        return self.page(request, project=project, month=first, report=None, form=ReportForm())

    def post(self, request, project_id: int, month: str):
        project, first = self.setup_page(request, project_id, month)
        form = ReportForm(request.POST, request.FILES)
        report, status = submit(
            form, lambda: _save(request, project=project, month=first, form=form, version=None)
        )
        if status == 200:
            messages.success(request, _("已保存：%(report)s") % {"report": report})
            return redirect("progress:report_detail", pk=report.pk)
        return self.page(request, project=project, month=first, report=None, form=form, status=status)


class ReportDetailView(_ReportPage, LoginRequiredMixin, View):
    """One report: its figures (a form while the user may still change them), the workflow buttons
    the user is allowed, the photos."""

    def get_report(self, request, pk: int, action: str = "view") -> MonthlyReport:
        if not can(request.user, action, MonthlyReport):
            raise PermissionDenied
        try:
            return selectors.report_get(user=request.user, pk=pk, action=action)
        except MonthlyReport.DoesNotExist:
            if action != "view" and selectors.report_queryset(user=request.user).filter(pk=pk).exists():
                raise PermissionDenied from None
            raise Http404 from None

    def get(self, request, pk: int):
        report = self.get_report(request, pk)
        form = ReportForm(initial=selectors.report_initial(report))
        return self.page(request, project=report.project, month=report.month, report=report, form=form)

    def post(self, request, pk: int):
        report = self.get_report(request, pk, "change")
        form = ReportForm(request.POST, request.FILES)
        saved, status = submit(
            form,
            lambda: _save(
                request,
                project=report.project,
                month=report.month,
                form=form,
                version=form.cleaned_data.get("version") or 0,
            ),
        )
        if status == 200:
            messages.success(request, _("已保存：%(report)s") % {"report": saved})
            return redirect("progress:report_detail", pk=saved.pk)
        # What was typed stays in the form, beside the report as it now stands.
        report = selectors.report_get(user=request.user, pk=pk)
        return self.page(
            request, project=report.project, month=report.month, report=report, form=form, status=status
        )


class ReportActionView(ReportDetailView):
    """A workflow step: submit, approve, return (with a reason) or reopen."""

    def get(self, request, pk: int, action: str):
        return redirect("progress:report_detail", pk=pk)

    def post(self, request, pk: int, action: str):
        step = services.REPORT_WORKFLOW.get(action)
        if step is None:
            raise Http404
        report = self.get_report(request, pk, services.WORKFLOW_ACTIONS[action])
        workflow = WorkflowForm(request.POST)

        def write():
            kwargs = {
                "actor": request.user,
                "report_id": report.pk,
                "version": workflow.cleaned_data["version"],
            }
            if action in {"return", "reopen"}:
                kwargs["reason"] = workflow.cleaned_data["reason"]
            return step(**kwargs)

        done, status = submit(workflow, write)
        if status == 200:
            messages.success(
                request,
                _("%(report)s：已%(action)s") % {"report": done, "action": services.ACTION_LABELS[action]},
            )
            return redirect("progress:report_detail", pk=done.pk)
        report = selectors.report_get(user=request.user, pk=pk)
        form = ReportForm(initial=selectors.report_initial(report))
        return self.page(
            request,
            project=report.project,
            month=report.month,
            report=report,
            form=form,
            status=status,
            workflow=workflow,
        )


class ReportPhotoView(LoginRequiredMixin, View):
    """A site photo, served only to those who may see its report (never from a public folder)."""

    def get(self, request, pk: int):
        try:
            photo = selectors.photo_get(user=request.user, pk=pk)
        except ReportPhoto.DoesNotExist:
            raise Http404 from None
        content_type = mimetypes.guess_type(photo.image.name)[0] or "application/octet-stream"
        response = FileResponse(photo.image.open("rb"), content_type=content_type)
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ReportSheetDownloadView(LoginRequiredMixin, View):
    """The month's import sheet, filled in with the projects that owe a report (and what their
    reports say so far): county staff type the figures and upload it back."""

    def get(self, request):
        user = request.user
        if not can(user, "import", MonthlyReport):
            raise PermissionDenied
        from guatu.progress.io import write_month_sheet

        today = timezone.localdate()
        sheet = selectors.month_sheet(user=user, params=request.GET, today=today)
        projects = list(sheet.filterset.qs) if sheet.filterset.is_valid() else []
        projects = [p for p in projects if p.pk in selectors.addable_projects(user=user, projects=projects)]
        rows = selectors.sheet_rows(
            user=user, projects=projects, month=sheet.month, due=sheet.due, today=today
        )
        response = HttpResponse(
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        filename = f"reports-{sheet.month:%Y-%m}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        write_month_sheet(response, month=sheet.month, rows=rows)
        return response


# --- warnings


WARNINGS_PER_PAGE = 50


class WarningListView(LoginRequiredMixin, View):
    """预警: every light in scope, worst first, with the count of each level at the top."""

    def get(self, request):
        if not can(request.user, "view", ProjectWarning):
            raise PermissionDenied
        filterset = selectors.warning_filterset(user=request.user, params=request.GET)
        queryset = filterset.qs if filterset.is_valid() else ProjectWarning.objects.none()
        # Lights sort by level and region first, which take few values: the page is found from the
        # count of each (level, region) and only its groups are sorted (see guatu.core.pagination).
        paginator = DeferredJoinPaginator(queryset, WARNINGS_PER_PAGE, groups=selectors.WARNING_GROUPS)
        page = paginator.get_page(request.GET.get("page"))
        selectors.attach_reason_rows(user=request.user, warnings=page.object_list)
        others = request.GET.copy()
        for key in ("page", "level"):
            others.pop(key, None)
        pages = request.GET.copy()
        pages.pop("page", None)
        context = {
            "filterset": filterset,
            "page": page,
            "level_counts": selectors.warning_level_counts(user=request.user, params=request.GET),
            "chosen_level": request.GET.get("level", ""),
            "others_query": others.urlencode(),
            "page_query": pages.urlencode(),
            "rules": selectors.warning_rules_shown(user=request.user),
            "can_edit_rules": can(request.user, "change", WarningRule),
            "computed_on": queryset.order_by("-computed_on").values_list("computed_on", flat=True).first(),
        }
        return render(request, "progress/warning_list.html", context)


class WarningRuleEditView(LoginRequiredMixin, View):
    """The project office sets a warning rule's thresholds (rules are data)."""

    def get_rule(self, request, pk: int) -> WarningRule:
        if not can(request.user, "change", WarningRule):
            raise PermissionDenied
        try:
            return selectors.warning_rule_list(user=request.user).get(pk=pk)
        except WarningRule.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk: int):
        rule = self.get_rule(request, pk)
        initial = {
            "is_active": rule.is_active,
            "description": rule.description,
            "fingerprint": services.warning_rule_fingerprint(rule),
        }
        return self.render(request, rule, WarningRuleForm(rule=rule, initial=initial))

    def post(self, request, pk: int):
        rule = self.get_rule(request, pk)
        form = WarningRuleForm(request.POST, rule=rule)
        _result, status = submit(
            form,
            lambda: services.warning_rule_update(
                actor=request.user,
                rule_id=rule.pk,
                fingerprint=form.cleaned_data["fingerprint"],
                is_active=form.cleaned_data["is_active"],
                description=form.cleaned_data["description"],
                params=form.params(),
            ),
        )
        if status != 200:
            return self.render(request, rule, form, status=status)
        messages.success(
            request, _("已保存预警规则“%(rule)s”，全部项目的预警将重新计算") % {"rule": rule.name}
        )
        return redirect("progress:warning_list")

    def render(self, request, rule, form, status: int = 200):
        return render(request, "progress/warning_rule_edit.html", {"rule": rule, "form": form}, status=status)
