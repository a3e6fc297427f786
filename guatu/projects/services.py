"""Writes to the project registry. Each is one transaction, checks scope through restrict(),
and writes one change record per row it touches."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guatu.accounts.models import Role
from guatu.core.changelog import bulk_insert, record_change, record_changes, snapshot, snapshot_new
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.projects.models import (
    ApprovalKind,
    ApprovalStatus,
    GateStatus,
    Milestone,
    MilestoneKind,
    Project,
    ProjectApproval,
    ProjectKind,
    Stage,
    StageChange,
)

STALE_MESSAGE = _("该项目已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")
EDITABLE_FIELDS = (
    "code", "name", "enterprise", "region", "chain", "kind", "build_type", "total_investment",
    "annual_planned_investment", "signed_on", "planned_start", "planned_completion", "steward", "lead_leader",
    "latitude", "longitude", "capacity_gate", "environment_gate", "safety_gate", "is_two_high",
    "two_high_approval", "is_six_small", "description",
)  # fmt: skip


ACTION_LABELS = {"add": _("新建"), "change": _("修改"), "delete": _("删除")}
# Facts that are the government's to decide: the 谋划 gates, where a project is and who serves it.
# An enterprise or steward may keep the rest of its project's facts up to date, not these.
GOVERNED_FIELDS = (
    "code", "region", "capacity_gate", "environment_gate", "safety_gate", "is_two_high",
    "two_high_approval", "is_six_small", "steward",
)  # fmt: skip
GOVERNING_ROLES = frozenset({Role.CITY_ADMIN, Role.COUNTY})


def _check_governed(actor, before: dict[str, Any], project: Project) -> None:
    if actor is None or actor.role in GOVERNING_ROLES:
        return
    after = snapshot(project)
    for field in GOVERNED_FIELDS:
        attname = Project._meta.get_field(field).attname
        if before.get(attname) != after.get(attname):
            raise PermissionDenied(
                _("“%(field)s”只能由项目办或县(市)区修改")
                % {"field": Project._meta.get_field(field).verbose_name}
            )


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _ensure_in_scope(actor, project: Project, action: str) -> None:
    # Checked after the write, inside the transaction: a row written outside the actor's scope
    # (say, a county moving a project to another county) rolls the whole write back.
    if actor is None:
        return  # system jobs and commands run as the system
    if not restrict(Project.objects.filter(pk=project.pk), actor, action).exists():
        raise _out_of_scope(project, action)


def _out_of_scope(project: Project, action: str) -> PermissionDenied:
    return PermissionDenied(
        _("无权在“%(region)s”%(action)s项目") % {"region": project.region, "action": ACTION_LABELS[action]}
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
    project_approvals_apply(actor=actor, project_id=project.pk)  # its 前期手续, by kind of project
    return project


class RowsRefused(Exception):
    """Some rows of a bulk write were refused: {index in the input: the ValidationError or
    PermissionDenied that project_create would have raised for that row}. Nothing was written."""

    def __init__(self, errors: dict[int, Exception]):
        super().__init__(errors)
        self.errors = errors


# Foreign keys of the rows a bulk create is given are rows already read (regions, units, stages):
# checking that each still exists would cost a query per row and field.
_BULK_UNCHECKED = tuple(f.name for f in Project._meta.concrete_fields if f.is_relation)


@transaction.atomic
def projects_create_many(
    *, actor, rows: Sequence[Mapping[str, Any]], check_only: bool = False, chunk_size: int = 1000
) -> list[Project]:
    """project_create for many rows at once, for imports: the same checks (model validation, code
    unique, scope through restrict()), the same change records in the same order (each project,
    then its approvals) and the same 前期手续, with a few queries per chunk instead of many per row.
    Every row is checked; if any is refused, RowsRefused names each refused row and nothing is written.
    With check_only (a dry run), the rows are checked the same way and rolled back before their
    前期手续 and change records, which cannot refuse a row. Departments are not set here."""
    if actor is not None and not can(actor, "add", Project):
        raise PermissionDenied(_("无权新建项目"))
    user = _actor_user(actor)
    planning = None
    errors: dict[int, Exception] = {}
    written: list[tuple[int, Project]] = []
    for index, data in enumerate(rows):
        stage = data.get("stage")
        if stage is None:
            planning = planning or Stage.objects.get(code="planning")
            stage = planning
        project = Project(stage=stage)
        if _apply(project, {k: v for k, v in data.items() if k != "stage"}) is not None:
            raise ValueError("projects_create_many does not set departments; use project_create")
        project.created_by = project.updated_by = user
        try:
            project.full_clean(exclude=_BULK_UNCHECKED, validate_unique=False, validate_constraints=False)
            missing = {
                f.name: [f.error_messages["null"]]
                for f in Project._meta.concrete_fields
                if f.name in _BULK_UNCHECKED and not f.null and getattr(project, f.attname) is None
            }
            if missing:
                raise ValidationError(missing)
        except ValidationError as err:
            errors[index] = err
        else:
            written.append((index, project))
    _refuse_taken_codes(written, errors)
    written = [(i, p) for i, p in written if i not in errors]
    for start in range(0, len(written), chunk_size):
        chunk = written[start : start + chunk_size]
        bulk_insert([p for _i, p in chunk])
        if actor is not None:
            allowed = set(
                restrict(Project.objects.filter(pk__in=[p.pk for _i, p in chunk]), actor, "add").values_list(
                    "pk", flat=True
                )
            )
            for index, project in chunk:
                if project.pk not in allowed:
                    errors[index] = _out_of_scope(project, "add")
    if errors:
        raise RowsRefused(errors)
    created = [p for _i, p in written]
    if check_only:
        transaction.set_rollback(True)
        return created
    approvals = _approvals_for_new(actor, created)
    changes = []
    for project in created:
        changes.append((project, "create", None, snapshot_new(project)))
        changes.extend((row, "create", None, snapshot_new(row)) for row in approvals.get(project.pk, ()))
    record_changes(actor=actor, changes=changes)
    for project in created:
        if approvals.get(project.pk):
            _recompute(project.pk)
    _refresh_rollups([p.pk for p in created])
    return created


def _refuse_taken_codes(written: list[tuple[int, Project]], errors: dict[int, Exception]) -> None:
    # The unique check full_clean would make, one query per chunk rather than per row.
    first: dict[str, int] = {}
    for index, project in written:
        if project.code in first:
            errors[index] = ValidationError({"code": [_("项目代码“%(code)s”重复") % {"code": project.code}]})
        else:
            first[project.code] = index
    codes = list(first)
    for start in range(0, len(codes), 1000):
        for code in Project.objects.filter(code__in=codes[start : start + 1000]).values_list(
            "code", flat=True
        ):
            errors[first[code]] = ValidationError(
                {"code": [Project(code=code).unique_error_message(Project, ("code",))]}
            )


def _approvals_for_new(actor, projects: Sequence[Project]) -> dict[int, list]:
    """project_approvals_apply for projects just created (they have none yet), in bulk."""
    kinds = list(ApprovalKind.objects.order_by("order", "code"))
    user = _actor_user(actor)
    choices: dict[str, list] = {}
    for project_kind in {p.kind for p in projects}:
        groups: dict[str, list] = {}
        for kind in kinds_for_project(project_kind, kinds):
            groups.setdefault(kind.group, []).append(kind)
        choices[project_kind] = [next((k for k in opts if k.is_default), opts[0]) for opts in groups.values()]
    checked: set[int] = set()
    rows = []
    by_project: dict[int, list] = {}
    for project in projects:
        for kind in choices[project.kind]:
            row = ProjectApproval(project=project, kind=kind, created_by=user, updated_by=user)
            if kind.pk not in checked:  # every row of a kind starts from the same defaults
                row.full_clean(exclude={"project", "kind"}, validate_unique=False, validate_constraints=False)
                checked.add(kind.pk)
            rows.append(row)
            by_project.setdefault(project.pk, []).append(row)
    bulk_insert(rows)
    return by_project


def _refresh_rollups(project_ids: list[int]) -> None:
    # bulk_create sends no post_save signals, which keep the rollups current on single writes.
    from guatu.targets import rollups

    rollups.refresh_projects(project_ids)


@transaction.atomic
def project_update(*, actor, project_id: int, version: int, data: Mapping[str, Any]) -> Project:
    project = _locked(actor, project_id, "change")
    if project.version != version:
        raise Conflict(STALE_MESSAGE % {"current": project.version, "yours": version})
    before = snapshot(project)
    departments = _apply(project, {k: v for k, v in data.items() if k != "stage"})
    _check_governed(actor, before, project)
    project.version += 1
    project.updated_by = _actor_user(actor)
    project.full_clean()
    project.save()
    if departments is not None:
        project.departments.set(departments)
    _ensure_in_scope(actor, project, "change")
    record_change(actor=actor, obj=project, action="update", before=before)
    _recompute(project.pk)  # planned dates and gates feed the light
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
    """Move a project to the next stage or back one; a city admin may jump with a reason.

    Stages are the government's record of a project (the stage report of 项目办 and the counties);
    enterprises and stewards report progress through monthly reports instead."""
    project = _locked(actor, project_id, "change")
    if actor is not None and actor.role not in GOVERNING_ROLES:
        raise PermissionDenied(_("项目阶段只能由项目办或县(市)区调整"))
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
    _recompute(project.pk)
    return project


# ---------------------------------------------------------------- 前期手续, milestones, approval kinds
# (倒排工期: the schedule itself is read by selectors.project_schedule)

APPROVAL_FIELDS = (
    "kind", "status", "submitted_on", "approved_on", "handling_department", "document_no", "not_needed_reason",
)  # fmt: skip
APPROVAL_KIND_FIELDS = (
    "name", "duration", "duration_unit", "extension", "department", "depends_on", "applies_to", "is_default",
    "note",
)  # fmt: skip


def _recompute(project_id: int) -> None:
    # Imported here: progress depends on projects, not the other way round.
    from guatu.progress.tasks import schedule_recompute

    schedule_recompute(project_id=project_id)


def _today():
    from django.utils import timezone

    return timezone.localdate()


def kinds_for_project(project_kind: str, kinds) -> list:
    """The approval kinds that apply to a kind of project (an empty `applies_to` means all)."""
    return [k for k in kinds if not k.applies_to or project_kind in k.applies_to]


@transaction.atomic
def project_approvals_apply(*, actor, project_id: int) -> list:
    """Give the project one approval of each group that applies to its kind (the group's default
    unless another variant is already chosen). Adds only what is missing; running it again adds
    nothing."""
    project = _locked(actor, project_id, "change")
    kinds = kinds_for_project(project.kind, ApprovalKind.objects.order_by("order", "code"))
    taken = set(ProjectApproval.objects.filter(project=project).values_list("kind__group", flat=True))
    groups: dict[str, list] = {}
    for kind in kinds:
        groups.setdefault(kind.group, []).append(kind)
    user = _actor_user(actor)
    rows = []
    for group, options in groups.items():
        if group in taken:
            continue
        choice = next((k for k in options if k.is_default), options[0])
        row = ProjectApproval(project=project, kind=choice, created_by=user, updated_by=user)
        # One per group is guaranteed above, and project and kind are rows just read: checking them
        # again would cost queries per row (a demo or an import creates thousands).
        row.full_clean(exclude={"project", "kind"}, validate_unique=False, validate_constraints=False)
        rows.append(row)
    if rows:
        ProjectApproval.objects.bulk_create(rows)
        for row in rows:
            record_change(actor=actor, obj=row, action="create")
        _recompute(project.pk)
    return rows


def _date_errors(dates: Mapping[str, tuple[Any, str]], today) -> dict[str, list[str]]:
    """{field: (date, label)} → a message for each date after today."""
    errors: dict[str, list[str]] = {}
    for field, (value, name) in dates.items():
        if value is not None and value > today:
            errors.setdefault(field, []).append(
                _("%(field)s（%(date)s）不能晚于今天（%(today)s）")
                % {"field": name, "date": value.isoformat(), "today": today.isoformat()}
            )
    return errors


def approval_errors(approval, today) -> dict[str, list[str]]:
    """Why this approval's status and dates do not fit together, field by field; empty if they do."""

    def label(field: str) -> str:
        return str(ProjectApproval._meta.get_field(field).verbose_name)

    errors = _date_errors(
        {
            "submitted_on": (approval.submitted_on, label("submitted_on")),
            "approved_on": (approval.approved_on, label("approved_on")),
        },
        today,
    )
    kind_name = approval.kind.name
    if approval.status == ApprovalStatus.NOT_NEEDED and not approval.not_needed_reason.strip():
        errors.setdefault("not_needed_reason", []).append(
            _("“%(kind)s”标为不需办理，须填写理由") % {"kind": kind_name}
        )
    if approval.status == ApprovalStatus.APPROVED and approval.approved_on is None:
        errors.setdefault("approved_on", []).append(
            _("“%(kind)s”已批复，须填写批复日期") % {"kind": kind_name}
        )
    if approval.status == ApprovalStatus.SUBMITTED and approval.submitted_on is None:
        errors.setdefault("submitted_on", []).append(
            _("“%(kind)s”已报送，须填写报送日期") % {"kind": kind_name}
        )
    if approval.submitted_on and approval.approved_on and approval.approved_on < approval.submitted_on:
        errors.setdefault("approved_on", []).append(
            _("批复日期（%(approved)s）不能早于报送日期（%(submitted)s）")
            % {"approved": approval.approved_on.isoformat(), "submitted": approval.submitted_on.isoformat()}
        )
    return errors


@transaction.atomic
def approval_update(*, actor, approval_id: int, version: int, data: Mapping[str, Any]):
    """Change one approval's status, dates, department or document number; choosing another
    variant of its group (环评报告表 → 报告书) swaps the row's kind."""
    qs = (
        ProjectApproval.objects.all() if actor is None else restrict(ProjectApproval.objects, actor, "change")
    )
    try:
        approval = qs.select_for_update(of=("self",)).select_related("kind", "project").get(pk=approval_id)
    except ProjectApproval.DoesNotExist:
        raise ProjectApproval.DoesNotExist(_("手续不存在或无权操作")) from None
    if approval.version != version:
        raise Conflict(
            _("“%(kind)s”已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")
            % {"kind": approval.kind.name, "current": approval.version, "yours": version}
        )
    before = snapshot(approval)
    for field, value in data.items():
        if field not in APPROVAL_FIELDS:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
        if field == "kind":
            _swap_kind(approval, value if isinstance(value, ApprovalKind) else _kind_by_code(value))
        elif field in {"document_no", "not_needed_reason"}:
            setattr(approval, field, (value or "").strip())
        else:
            setattr(approval, field, value)
    if approval.status != ApprovalStatus.NOT_NEEDED:
        approval.not_needed_reason = ""  # the reason belongs to that status only
    if errors := approval_errors(approval, _today()):
        raise ValidationError(errors)
    approval.version += 1
    approval.updated_by = _actor_user(actor)
    approval.full_clean()
    approval.save()
    record_change(actor=actor, obj=approval, action="update", before=before)
    _recompute(approval.project_id)
    return approval


def _kind_by_code(code: str):
    try:
        return ApprovalKind.objects.get(code=code)
    except ApprovalKind.DoesNotExist:
        raise ValidationError({"kind": _("未知手续类型：%(code)s") % {"code": code}}) from None


def _swap_kind(approval, kind) -> None:
    if kind.pk == approval.kind_id:
        return
    if kind.group != approval.kind.group:
        raise ValidationError(
            {
                "kind": _("“%(new)s”与“%(old)s”不是同一类手续，只能在同类中改选")
                % {"new": kind.name, "old": approval.kind.name}
            }
        )
    if kind not in kinds_for_project(approval.project.kind, [kind]):
        raise ValidationError(
            {
                "kind": _("“%(kind)s”不适用于%(project_kind)s项目")
                % {"kind": kind.name, "project_kind": approval.project.get_kind_display()}
            }
        )
    approval.kind = kind


def _milestone_locked(actor, project_id: int, kind: str, version: int | None):
    project = _locked(actor, project_id, "change")
    if kind not in MilestoneKind.values:
        raise ValidationError({"kind": _("未知节点：%(kind)s") % {"kind": kind}})
    if kind == MilestoneKind.IN_PRODUCTION and project.kind != ProjectKind.INDUSTRY:
        raise ValidationError({"kind": _("%(kind)s项目没有投产节点") % {"kind": project.get_kind_display()}})
    milestone = Milestone.objects.select_for_update().filter(project=project, kind=kind).first()
    if milestone is not None and version is not None and milestone.version != version:
        raise Conflict(
            _("“%(kind)s”节点已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")
            % {"kind": milestone.get_kind_display(), "current": milestone.version, "yours": version}
        )
    if milestone is None:
        user = _actor_user(actor)
        milestone = Milestone(project=project, kind=kind, created_by=user)
    return milestone


def _milestone_save(actor, milestone):
    before = snapshot(milestone) if milestone.pk else None
    if milestone.pk:
        milestone.version += 1
    milestone.updated_by = _actor_user(actor)
    milestone.full_clean(validate_constraints=False)  # the row was looked up by (project, kind) under lock
    milestone.save()
    record_change(actor=actor, obj=milestone, action="update" if before else "create", before=before)
    _recompute(milestone.project_id)
    return milestone


@transaction.atomic
def milestone_override(*, actor, project_id: int, kind: str, date, reason: str, version: int | None = None):
    """Replace a milestone's planned date; the override and its reason are kept and shown as such.
    A date of None removes the override."""
    milestone = _milestone_locked(actor, project_id, kind, version)
    reason = (reason or "").strip()
    if date is not None and not reason:
        raise ValidationError(
            {
                "override_reason": _("调整“%(kind)s”节点日期须填写理由")
                % {"kind": milestone.get_kind_display()}
            }
        )
    milestone.override_date = date
    milestone.override_reason = reason if date is not None else ""
    return _milestone_save(actor, milestone)


@transaction.atomic
def milestone_set_actual(*, actor, project_id: int, kind: str, date, version: int | None = None):
    """Record (or, with None, clear) the day a milestone was actually reached."""
    milestone = _milestone_locked(actor, project_id, kind, version)
    label = str(milestone._meta.get_field("actual_date").verbose_name)
    if errors := _date_errors({"actual_date": (date, label)}, _today()):
        raise ValidationError(errors)
    milestone.actual_date = date
    return _milestone_save(actor, milestone)


def approval_kind_fingerprint(kind) -> str:
    """Approval kinds carry no version column: a digest of the row stands in for one, so two
    people editing the same kind cannot overwrite each other unseen."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(snapshot(kind), sort_keys=True, default=str).encode()).hexdigest()[:16]


@transaction.atomic
def approval_kind_update(*, actor, kind_id: int, fingerprint: str, data: Mapping[str, Any]):
    """The project office edits an approval kind's time limit, department, dependencies and scope."""
    qs = ApprovalKind.objects.all() if actor is None else restrict(ApprovalKind.objects, actor, "change")
    try:
        kind = qs.select_for_update().get(pk=kind_id)
    except ApprovalKind.DoesNotExist:
        raise ApprovalKind.DoesNotExist(_("手续类型不存在或无权修改")) from None
    if approval_kind_fingerprint(kind) != fingerprint:
        raise Conflict(_("手续类型“%(kind)s”已被他人修改，请刷新后重试") % {"kind": kind.name})
    before = snapshot(kind)
    depends_on = None
    for field, value in data.items():
        if field not in APPROVAL_KIND_FIELDS:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
        if field == "depends_on":
            depends_on = list(value)
        else:
            setattr(kind, field, value)
    unknown = sorted(set(kind.applies_to or []) - set(ProjectKind.values))
    if unknown:
        raise ValidationError({"applies_to": _("未知项目类型：%(kinds)s") % {"kinds": "、".join(unknown)}})
    if depends_on is not None:
        _check_no_cycle(kind, depends_on)
    kind.full_clean()
    kind.save()
    if depends_on is not None:
        kind.depends_on.set(depends_on)
    record_change(actor=actor, obj=kind, action="update", before=before)
    return kind


def _check_no_cycle(kind, depends_on) -> None:
    edges: dict[int, set[int]] = {}
    for source, target in ApprovalKind.depends_on.through.objects.values_list(
        "from_approvalkind_id", "to_approvalkind_id"
    ):
        edges.setdefault(source, set()).add(target)
    edges[kind.pk] = {k.pk for k in depends_on}
    names = dict(ApprovalKind.objects.values_list("pk", "name"))
    # Walk from each new prerequisite: reaching the kind itself would close a loop.
    stack, seen = list(edges[kind.pk]), set()
    while stack:
        current = stack.pop()
        if current == kind.pk:
            raise ValidationError(
                {"depends_on": _("前置手续形成循环：“%(kind)s”间接依赖自身") % {"kind": names[kind.pk]}}
            )
        if current not in seen:
            seen.add(current)
            stack.extend(edges.get(current, ()))
