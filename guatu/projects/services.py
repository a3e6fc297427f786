"""Writes to the project registry. Each is one transaction, checks scope through restrict(),
and writes one change record per row it touches."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guatu.accounts.models import Role
from guatu.core.changelog import record_change, snapshot
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.projects.models import GateStatus, Project, Stage, StageChange

STALE_MESSAGE = _("该项目已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")
EDITABLE_FIELDS = (
    "code", "name", "enterprise", "region", "chain", "kind", "build_type", "total_investment",
    "annual_planned_investment", "planned_start", "planned_completion", "steward", "lead_leader",
    "latitude", "longitude", "capacity_gate", "environment_gate", "safety_gate", "is_two_high",
    "two_high_approval", "is_six_small", "description",
)  # fmt: skip


ACTION_LABELS = {"add": _("新建"), "change": _("修改"), "delete": _("删除")}


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _ensure_in_scope(actor, project: Project, action: str) -> None:
    # Checked after the write, inside the transaction: a row written outside the actor's scope
    # (say, a county moving a project to another county) rolls the whole write back.
    if actor is None:
        return  # system jobs and commands run as the system
    if not restrict(Project.objects.filter(pk=project.pk), actor, action).exists():
        raise PermissionDenied(
            _("无权在“%(region)s”%(action)s项目")
            % {"region": project.region, "action": ACTION_LABELS[action]}
        )


def _apply(project: Project, data: Mapping[str, Any]) -> list:
    departments = None
    for field, value in data.items():
        if field == "departments":
            departments = list(value)
        elif field in EDITABLE_FIELDS or field in {"stage", "is_demo"}:
            setattr(project, field, value)
        else:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
    return departments


@transaction.atomic
def project_create(*, actor, data: Mapping[str, Any]) -> Project:
    if actor is not None and not can(actor, "add", Project):
        raise PermissionDenied(_("无权新建项目"))
    project = Project(stage=data.get("stage") or Stage.objects.get(code="planning"))
    departments = _apply(project, {k: v for k, v in data.items() if k != "stage"})
    project.created_by = project.updated_by = _actor_user(actor)
    project.full_clean()
    project.save()
    if departments is not None:
        project.departments.set(departments)
    _ensure_in_scope(actor, project, "add")
    record_change(actor=actor, obj=project, action="create")
    return project


@transaction.atomic
def project_update(*, actor, project_id: int, version: int, data: Mapping[str, Any]) -> Project:
    project = _locked(actor, project_id, "change")
    if project.version != version:
        raise Conflict(STALE_MESSAGE % {"current": project.version, "yours": version})
    before = snapshot(project)
    departments = _apply(project, {k: v for k, v in data.items() if k != "stage"})
    project.version += 1
    project.updated_by = _actor_user(actor)
    project.full_clean()
    project.save()
    if departments is not None:
        project.departments.set(departments)
    _ensure_in_scope(actor, project, "change")
    record_change(actor=actor, obj=project, action="update", before=before)
    return project


@transaction.atomic
def project_delete(*, actor, project_id: int, version: int | None = None) -> None:
    project = _locked(actor, project_id, "delete")
    if version is not None and project.version != version:
        raise Conflict(STALE_MESSAGE % {"current": project.version, "yours": version})
    before = snapshot(project)
    record_change(actor=actor, obj=project, action="delete", before=before)
    project.delete()


def _locked(actor, project_id: int, action: str) -> Project:
    qs = Project.objects.all() if actor is None else restrict(Project.objects, actor, action)
    try:
        return qs.select_for_update(of=("self",)).select_related("stage").get(pk=project_id)
    except Project.DoesNotExist:
        raise Project.DoesNotExist(_("项目不存在或无权操作")) from None


def gate_refusals(project: Project) -> list[str]:
    """Why the project may not leave 谋划, in plain words; empty when it may."""
    reasons = []
    for field in Project.GATE_FIELDS:
        status = getattr(project, field)
        label = Project._meta.get_field(field).verbose_name
        if status == GateStatus.FAILED:
            reasons.append(_("%(gate)s未通过") % {"gate": label})
        elif status == GateStatus.PENDING:
            reasons.append(_("%(gate)s尚未审查") % {"gate": label})
    if project.is_two_high and not project.two_high_approval.strip():
        reasons.append(_("“两高”项目没有记录审批文件"))
    if project.is_six_small:
        reasons.append(_("“六小”项目严禁上马"))
    return reasons


@transaction.atomic
def project_change_stage(
    *,
    actor,
    project_id: int,
    to_stage: str,
    note: str = "",
    override_reason: str = "",
    version: int | None = None,
) -> Project:
    """Move a project to the next stage or back one; a city admin may jump with a reason."""
    project = _locked(actor, project_id, "change")
    if version is not None and project.version != version:
        raise Conflict(STALE_MESSAGE % {"current": project.version, "yours": version})
    try:
        target = Stage.objects.get(code=to_stage)
    except Stage.DoesNotExist:
        raise ValidationError({"stage": _("未知阶段：%(stage)s") % {"stage": to_stage}}) from None
    current = project.stage
    if target == current:
        raise ValidationError({"stage": _("项目已处于“%(stage)s”阶段") % {"stage": current}})
    is_override = abs(target.order - current.order) > 1
    if is_override:
        if actor is not None and actor.role != Role.CITY_ADMIN:
            raise ValidationError({"stage": _("只能进入下一阶段或退回上一阶段；越级调整须由项目办填写理由")})
        if not override_reason.strip():
            raise ValidationError({"override_reason": _("越级调整阶段须填写理由")})
    if current.code == "planning" and target.order > current.order and (reasons := gate_refusals(project)):
        raise ValidationError({"stage": _("项目不能离开谋划阶段：") + "；".join(reasons)})
    before = snapshot(project)
    project.stage = target
    project.version += 1
    project.updated_by = _actor_user(actor)
    project.save(update_fields=["stage", "version", "updated_by", "updated_at"])
    StageChange.objects.create(
        project=project,
        from_stage=current,
        to_stage=target,
        actor=_actor_user(actor),
        note="\n".join(filter(None, [note.strip(), override_reason.strip()])),
        is_override=is_override,
    )
    record_change(actor=actor, obj=project, action="update", before=before)
    return project
