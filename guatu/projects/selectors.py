"""Reads of the project registry; every read starts from restrict()."""

from collections.abc import Mapping

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from guatu.core.models import ChangeRecord
from guatu.core.permissions import restrict
from guatu.projects.filters import ProjectFilterSet
from guatu.projects.models import Project, StageChange


def project_queryset(*, user, action: str = "view") -> QuerySet[Project]:
    return restrict(Project.objects, user, action).select_related(
        "region", "stage", "chain", "enterprise", "steward"
    )


def project_filterset(*, user, params: Mapping[str, str], action: str = "view") -> ProjectFilterSet:
    return ProjectFilterSet(params, queryset=project_queryset(user=user, action=action))


def project_list(*, user, params: Mapping[str, str], action: str = "view") -> QuerySet[Project]:
    filterset = project_filterset(user=user, params=params, action=action)
    # An invalid filter shows nothing rather than everything.
    return filterset.qs if filterset.is_valid() else Project.objects.none()


def project_get(*, user, pk: int, action: str = "view") -> Project:
    return project_queryset(user=user, action=action).prefetch_related("departments").get(pk=pk)


def project_stage_history(*, user, project: Project) -> QuerySet[StageChange]:
    return (
        restrict(StageChange.objects, user, "view")
        .filter(project=project)
        .select_related("from_stage", "to_stage", "actor")
    )


def project_changes(*, user, project: Project) -> QuerySet[ChangeRecord]:
    ct = ContentType.objects.get_for_model(Project)
    return (
        restrict(ChangeRecord.objects, user, "view")
        .filter(content_type=ct, object_id=str(project.pk))
        .select_related("actor")
        .order_by("-id")
    )
