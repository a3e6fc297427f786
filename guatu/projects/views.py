from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import View

from guatu.core.changelog import describe_many
from guatu.core.permissions import can
from guatu.core.views import ObjectDeleteView, ObjectEditView, ObjectListView, submit
from guatu.projects import selectors, services
from guatu.projects.forms import (
    ApprovalForm,
    ApprovalKindForm,
    MilestoneActualForm,
    MilestoneOverrideForm,
    ProjectForm,
    StageChangeForm,
)
from guatu.projects.models import ApprovalKind, MilestoneKind, Project, ProjectApproval, ProjectKind, Stage
from guatu.projects.tables import ProjectTable


class ProjectListView(ObjectListView):
    model = Project
    table_class = ProjectTable
    template_name = "projects/project_list.html"

    @staticmethod
    def filterset(*, user, params):
        return selectors.project_filterset(user=user, params=params)


class ProjectDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int, form: StageChangeForm | None = None, status: int = 200):
        if not can(request.user, "view", Project):
            raise PermissionDenied  # no project of any kind is theirs to see (三员分立)
        try:
            project = selectors.project_get(user=request.user, pk=pk)
        except Project.DoesNotExist:
            raise Http404 from None
        user = request.user
        can_change = selectors.project_queryset(user=user, action="change").filter(pk=pk).exists()
        context = {
            "object": project,
            "gates": [
                (Project._meta.get_field(f).verbose_name, getattr(project, f)) for f in Project.GATE_FIELDS
            ],
            "gate_refusals": services.gate_refusals(project) if project.stage.code == "planning" else [],
            "stage_history": selectors.project_stage_history(user=user, project=project),
            "changes": describe_many(selectors.project_changes(user=user, project=project)[:100], Project),
            "stages": Stage.objects.all(),
            "can_change": can_change,
            "can_change_stage": can_change and user.role in services.GOVERNING_ROLES,
            "can_delete": selectors.project_queryset(user=user, action="delete").filter(pk=pk).exists(),
            "stage_form": form or StageChangeForm(initial={"version": project.version}),
        }
        return render(request, "projects/project_detail.html", context, status=status)


class ProjectStageView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        form = StageChangeForm(request.POST)

        def write():
            data = form.cleaned_data
            try:
                return services.project_change_stage(
                    actor=request.user, project_id=pk, to_stage=data["to_stage"].code, note=data["note"],
                    override_reason=data["override_reason"], version=data["version"],
                )  # fmt: skip
            except Project.DoesNotExist:
                raise Http404 from None

        _result, status = submit(form, write)
        if status != 200:
            return ProjectDetailView().get(request, pk, form=form, status=status)
        messages.success(request, _("阶段已变更"))
        return redirect("projects:project_detail", pk=pk)


class ProjectEditView(ObjectEditView):
    model = Project
    form_class = ProjectForm
    template_name = "projects/project_edit.html"

    def save(self, request, form, obj):
        if obj is None:
            return services.project_create(actor=request.user, data=form.data_for_service())
        version = form.cleaned_data.get("version") or 0
        return services.project_update(
            actor=request.user, project_id=obj.pk, version=version, data=form.data_for_service()
        )


class ProjectDeleteView(ObjectDeleteView):
    model = Project
    list_url = reverse_lazy("projects:project_list")

    def delete(self, request, obj):
        services.project_delete(actor=request.user, project_id=obj.pk)


class ProjectExportView(LoginRequiredMixin, View):
    """Excel of exactly the filtered list the user is looking at."""

    def get(self, request):
        if not can(request.user, "export", Project):
            raise PermissionDenied
        from guatu.projects.io import export_projects

        queryset = selectors.project_list(user=request.user, params=request.GET, action="export")
        response = HttpResponse(
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        filename = f"projects-{timezone.localdate():%Y%m%d}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        export_projects(queryset, response)
        return response


# ---------------------------------------------------------------- 前期手续 and 节点 (approvals page), approval kinds


def _project_to_change(request, pk: int) -> Project:
    if not can(request.user, "change", Project):
        raise PermissionDenied
    try:
        return selectors.project_get(user=request.user, pk=pk, action="change")
    except Project.DoesNotExist:
        raise Http404 from None


class ProjectApprovalsView(LoginRequiredMixin, View):
    """Every approval of a project with its status, dates and department (one form per row), and
    the milestones with their override and actual dates. Each form saves one row."""

    template_name = "projects/project_approvals.html"

    def get(self, request, pk: int, bound: dict | None = None, status: int = 200):
        project = _project_to_change(request, pk)
        bound = bound or {}
        user = request.user
        kinds = list(ApprovalKind.objects.all())
        schedule = {item.code: item for item in selectors.project_schedule(user=user, project=project)}
        approvals = [
            (
                approval,
                bound.get(("approval", approval.pk))
                or ApprovalForm(instance=approval, user=user, kinds=kinds, prefix=f"a{approval.pk}"),
                schedule.get(approval.kind.code),
            )
            for approval in selectors.project_approvals(user=user, project=project, action="change")
        ]
        rows = selectors.project_milestones(user=user, project=project, action="change")
        milestones = []
        for code, label in MilestoneKind.choices:
            if code == MilestoneKind.IN_PRODUCTION and project.kind != ProjectKind.INDUSTRY:
                continue
            row = rows.get(code)
            version = row.version if row else None
            override = bound.get(("override", code)) or MilestoneOverrideForm(
                prefix=f"o-{code}",
                initial={
                    "override_date": row.override_date if row else None,
                    "override_reason": row.override_reason if row else "",
                    "version": version,
                },
            )
            actual = bound.get(("actual", code)) or MilestoneActualForm(
                prefix=f"r-{code}",
                initial={"actual_date": row.actual_date if row else None, "version": version},
            )
            milestones.append((code, label, schedule.get(code), row, override, actual))
        context = {
            "object": project,
            "approvals": approvals,
            "milestones": milestones,
            "can_edit_kinds": can(user, "change", ApprovalKind),
        }
        return render(request, self.template_name, context, status=status)


class ApprovalUpdateView(LoginRequiredMixin, View):
    def post(self, request, pk: int, approval_id: int):
        project = _project_to_change(request, pk)
        try:
            approval = selectors.project_approvals(user=request.user, project=project, action="change").get(
                pk=approval_id
            )
        except ProjectApproval.DoesNotExist:
            raise Http404 from None
        form = ApprovalForm(request.POST, instance=approval, user=request.user, prefix=f"a{approval.pk}")
        _result, status = submit(
            form,
            lambda: services.approval_update(
                actor=request.user,
                approval_id=approval.pk,
                version=form.cleaned_data["version"],
                data=form.data_for_service(),
            ),
        )
        if status == 200:
            messages.success(request, _("已保存：%(kind)s") % {"kind": approval.kind.name})
            return redirect(f"{reverse('projects:project_approvals', args=[pk])}#approval-{approval.pk}")
        # Show what was typed again, over the row as it is now.
        approval.refresh_from_db()
        form.instance = approval
        return ProjectApprovalsView().get(request, pk, bound={("approval", approval.pk): form}, status=status)


class MilestoneUpdateView(LoginRequiredMixin, View):
    """Override a milestone's date (with a reason) or record its actual date."""

    def post(self, request, pk: int, kind: str, which: str):
        _project_to_change(request, pk)
        if which not in {"override", "actual"} or kind not in MilestoneKind.values:
            raise Http404
        if which == "override":
            form = MilestoneOverrideForm(request.POST, prefix=f"o-{kind}")
        else:
            form = MilestoneActualForm(request.POST, prefix=f"r-{kind}")

        def write():
            data = form.cleaned_data
            if which == "override":
                return services.milestone_override(
                    actor=request.user, project_id=pk, kind=kind, date=data["override_date"],
                    reason=data["override_reason"], version=data["version"],
                )  # fmt: skip
            return services.milestone_set_actual(
                actor=request.user,
                project_id=pk,
                kind=kind,
                date=data["actual_date"],
                version=data["version"],
            )

        _result, status = submit(form, write)
        if status == 200:
            messages.success(request, _("节点已保存"))
            return redirect(f"{reverse('projects:project_approvals', args=[pk])}#milestone-{kind}")
        return ProjectApprovalsView().get(request, pk, bound={(which, kind): form}, status=status)


class ApprovalKindListView(LoginRequiredMixin, View):
    def get(self, request):
        if not can(request.user, "view", ApprovalKind):
            raise PermissionDenied
        context = {
            "kinds": selectors.approval_kind_list(user=request.user),
            "can_change": can(request.user, "change", ApprovalKind),
        }
        return render(request, "projects/approval_kind_list.html", context)


class ApprovalKindEditView(LoginRequiredMixin, View):
    template_name = "projects/approval_kind_edit.html"

    def get_object(self, request, pk: int) -> ApprovalKind:
        if not can(request.user, "change", ApprovalKind):
            raise PermissionDenied
        try:
            return selectors.approval_kind_list(user=request.user).get(pk=pk)
        except ApprovalKind.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk: int):
        kind = self.get_object(request, pk)
        form = ApprovalKindForm(
            instance=kind,
            user=request.user,
            initial={"fingerprint": services.approval_kind_fingerprint(kind)},
        )
        return render(request, self.template_name, {"form": form, "object": kind})

    def post(self, request, pk: int):
        kind = self.get_object(request, pk)
        form = ApprovalKindForm(request.POST, instance=kind, user=request.user)
        _result, status = submit(
            form,
            lambda: services.approval_kind_update(
                actor=request.user,
                kind_id=kind.pk,
                fingerprint=form.cleaned_data["fingerprint"],
                data=form.data_for_service(),
            ),
        )
        if status == 200:
            messages.success(request, _("已保存：%(kind)s") % {"kind": kind.name})
            return redirect("projects:approval_kind_list")
        return render(request, self.template_name, {"form": form, "object": kind}, status=status)
