from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import View

from guatu.core.changelog import describe_many
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can
from guatu.core.views import ObjectDeleteView, ObjectEditView, ObjectListView
from guatu.projects import selectors, services
from guatu.projects.forms import ProjectForm, StageChangeForm
from guatu.projects.models import Project, Stage
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
            "can_delete": selectors.project_queryset(user=user, action="delete").filter(pk=pk).exists(),
            "stage_form": form or StageChangeForm(initial={"version": project.version}),
        }
        return render(request, "projects/project_detail.html", context, status=status)


class ProjectStageView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        form = StageChangeForm(request.POST)
        if not form.is_valid():
            return ProjectDetailView().get(request, pk, form=form, status=400)
        try:
            services.project_change_stage(
                actor=request.user,
                project_id=pk,
                to_stage=form.cleaned_data["to_stage"].code,
                note=form.cleaned_data["note"],
                override_reason=form.cleaned_data["override_reason"],
                version=form.cleaned_data["version"],
            )
        except Project.DoesNotExist:
            raise Http404 from None
        except ValidationError as err:
            for field, errors in err.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return ProjectDetailView().get(request, pk, form=form, status=400)
        except Conflict as err:
            form.add_error(None, err.message)
            return ProjectDetailView().get(request, pk, form=form, status=409)
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
