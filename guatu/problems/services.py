"""Writes of the problems app: the problem flow and the 直通车, the service around projects, and
notifications. Keyword-only, atomic, scope checked through restrict()/can(), every row change
recorded with record_change."""

import datetime as dt
import io
import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.accounts.models import BUSINESS_ROLES, Role, User
from guatu.core import uploads, workdays
from guatu.core.changelog import record_change, snapshot
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.org.models import Unit
from guatu.problems.models import (
    AgencyRequest,
    AgencyStatus,
    ContactKind,
    DeliveryMode,
    EscalationLevel,
    Notification,
    NotificationEvent,
    NotificationPreference,
    Problem,
    ProblemAttachment,
    ProblemStatus,
    ProblemStep,
    ProblemTransition,
    ProjectContact,
    StewardVisit,
)
from guatu.projects.models import ApprovalStatus, Project, ProjectApproval
from guatu.projects.services import approval_update, project_update

logger = logging.getLogger(__name__)

# --- problems and the 直通车
# Who may take a step is the flow's to decide (ProblemTransition.actors names kinds of people);
# `actor_kinds` says which kinds a user is for one problem:
#   owner     a user of the owner unit (推进主体): a department or county user whose unit it is, or a
#             county user when the owner is the county government or a zone of its own division;
#   governor  the project office (city_admin), or a county user for a problem in its division;
#   raiser    the user who raised the problem;
#   leader    a leader, for a problem on the 直通车 rung.
# actor=None is the system (commands, jobs, the demo): every kind.
#
# A new problem starts "reported" (上报), or "assigned" (交办) at once when its creator is a
# governor: the owner unit is required, so a governor's problem is already handed out. It starts
# on the county rung for a project of a county division, on the department rung for a city-level
# project.

ACTOR_KINDS = ("owner", "governor", "raiser", "leader")
ACTOR_LABELS = {
    "owner": gettext_lazy("推进主体"),
    "governor": gettext_lazy("项目办或所在县(市)区"),
    "raiser": gettext_lazy("提出人"),
    "leader": gettext_lazy("市领导（直通车）"),
}
# Steps of the timeline that are not flow transitions.
STEP_LABELS = {
    "report": gettext_lazy("上报"),
    "edit": gettext_lazy("修改"),
    "escalate": gettext_lazy("上升协调"),
    "instruct": gettext_lazy("领导批示"),
    "attach": gettext_lazy("上传附件"),
}
OWNER_UNIT_KINDS = (Unit.Kind.COUNTY, Unit.Kind.ZONE, Unit.Kind.DEPARTMENT)
PROBLEM_FIELDS = (
    "project", "title", "description", "category", "lead_leader", "owner_unit", "supporting_units",
    "due_date", "source_visit",
)  # fmt: skip
# What a governor alone may change once a problem exists: whose it is and by when.
GOVERNED_FIELDS = ("owner_unit", "supporting_units", "due_date", "lead_leader")
TOP_LEVEL = "direct_line"
HANDED_OUT = ("accepted", "in_progress", "resolved")  # a new owner must sign for these again


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def now_for(today: dt.date | None) -> dt.datetime:
    """The moment a write dated `today` happened: now, or the morning of a day given by a job."""
    if today is None or today == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(today, dt.time(9, 0)))


def status_row(code: str) -> ProblemStatus:
    return ProblemStatus.objects.get(code=code)


def next_level(level: EscalationLevel) -> EscalationLevel | None:
    return EscalationLevel.objects.filter(order__gt=level.order).order_by("order").first()


def problem_scope(user, action: str = "view") -> QuerySet[Problem]:
    """Problems the user may `action`, each once (a unit's owned-or-supported rule joins the
    supporting units, which would repeat rows)."""
    if user is None:
        return Problem.objects.all()
    return Problem.objects.filter(pk__in=restrict(Problem.objects, user, action).values("pk"))


def _locked(actor, problem_id: int, action: str = "view") -> Problem:
    try:
        return (
            problem_scope(actor, action)
            .select_for_update(of=("self",))
            .select_related("status", "level", "owner_unit", "region", "project")
            .get(pk=problem_id)
        )
    except (Problem.DoesNotExist, ValueError, TypeError):
        raise Problem.DoesNotExist(_("问题不存在或无权操作")) from None


def _check_version(problem: Problem, version: int | None) -> None:
    if version is None or problem.version != version:
        raise Conflict(
            _("问题“%(problem)s”已被他人修改（当前版本 %(current)s，您看到的是版本 %(yours)s），请刷新后重试")
            % {
                "problem": problem,
                "current": problem.version,
                "yours": version if version is not None else "—",
            }
        )


def actor_kinds(user, problem) -> set[str]:
    """Which kinds of flow actor (owner, governor, raiser, leader) the user is for this problem or
    supervised task (anything with a region, an owner unit, a rung and perhaps a raiser)."""
    if user is None:
        return set(ACTOR_KINDS)
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        return set()
    kinds = set()
    role = user.role
    region = problem.region
    in_region = bool(user.region_id) and user.region_id in {region.pk, region.parent_id}
    if role == Role.CITY_ADMIN or (role == Role.COUNTY and in_region):
        kinds.add("governor")
    owner = problem.owner_unit
    if role in {Role.DEPARTMENT, Role.COUNTY} and user.unit_id and user.unit_id == owner.pk:
        kinds.add("owner")
    if (
        role == Role.COUNTY
        and user.region_id
        and owner.kind in {Unit.Kind.COUNTY, Unit.Kind.ZONE}
        and owner.region_id == user.region_id
    ):
        kinds.add("owner")
    raiser = getattr(problem, "raised_by_id", None)
    if raiser and raiser == user.pk:
        kinds.add("raiser")
    if role == Role.LEADER and problem.level.code == TOP_LEVEL:
        kinds.add("leader")
    return kinds


def problem_people(problem: Problem) -> set[User]:
    """Everyone involved in a problem: its raiser, the active users of its owner and supporting
    units, the county users of its division and the project's steward. Used for notifications."""
    units = [problem.owner_unit_id, *problem.supporting_units.values_list("pk", flat=True)]
    q = Q(unit__in=units) | Q(role=Role.COUNTY, region=problem.region_id)
    if problem.raised_by_id:
        q |= Q(pk=problem.raised_by_id)
    steward = Project.objects.filter(pk=problem.project_id).values_list("steward", flat=True).first()
    if steward:
        q |= Q(pk=steward)
    return set(User.objects.filter(q, is_active=True))


def rung_watchers(level_code: str) -> set[User]:
    """Who watches a rung besides the people involved: the project office from the department
    rung up, and the leaders on the 直通车."""
    roles = {"department": [Role.CITY_ADMIN], TOP_LEVEL: [Role.CITY_ADMIN, Role.LEADER]}.get(level_code, [])
    return set(User.objects.filter(role__in=roles, is_active=True)) if roles else set()


def _owner_people(unit_id: int) -> set[User]:
    return set(User.objects.filter(unit=unit_id, is_active=True))


def _others(users: Iterable[User], actor) -> list[User]:
    me = getattr(_actor_user(actor), "pk", None)
    return [u for u in users if u.pk != me]


def _url(problem: Problem) -> str:
    return problem.get_absolute_url()


def _notify_assignment(actor, problem: Problem) -> None:
    notify(
        event=NotificationEvent.ASSIGNMENT,
        users=_others(_owner_people(problem.owner_unit_id), actor),
        key=f"assignment:problem:{problem.pk}:{problem.owner_unit_id}",
        title=_("交办：%(title)s") % {"title": problem.title},
        body=_("项目“%(project)s”的问题交由%(unit)s推进，办结时限 %(due)s。")
        % {"project": problem.project.name, "unit": problem.owner_unit, "due": problem.due_date},
        url=_url(problem),
    )


def unit_of(value, field: str) -> Unit | None:
    """A unit given as a row or an id; an unknown id names the field and the value."""
    if value in (None, ""):
        return None
    if isinstance(value, Unit):
        return value
    try:
        return Unit.objects.get(pk=int(value))
    except (Unit.DoesNotExist, TypeError, ValueError):
        raise ValidationError({field: _("编号为 %(value)s 的单位不存在") % {"value": value}}) from None


def units_of(values, field: str) -> list[Unit]:
    if values in (None, ""):
        return []
    return [unit for value in values if (unit := unit_of(value, field)) is not None]


def _check_units(owner: Unit | None, supporting: list[Unit]) -> None:
    errors: dict[str, list[str]] = {}
    if owner is None:
        errors["owner_unit"] = [_("请选择推进主体（负责推进解决问题的单位）")]
    elif owner.kind not in OWNER_UNIT_KINDS:
        errors["owner_unit"] = [_("推进主体“%(unit)s”须为县(市)区政府、开发区或市直部门") % {"unit": owner}]
    for unit in supporting:
        if owner is not None and unit.pk == owner.pk:
            errors.setdefault("supporting_units", []).append(
                _("配合单位“%(unit)s”与推进主体相同，请从配合单位中去掉") % {"unit": unit}
            )
    if errors:
        raise ValidationError(errors)


def _check_due(due: dt.date | None, today: dt.date, field: str = "due_date") -> None:
    if due is None:
        raise ValidationError({field: _("请填写办结时限")})
    if not isinstance(due, dt.date) or isinstance(due, dt.datetime):
        raise ValidationError({field: _("办结时限须为日期，收到“%(value)s”") % {"value": due}})
    if due < today:
        raise ValidationError(
            {
                field: _("办结时限 %(due)s 早于今天（%(today)s），请填写今天或以后的日期")
                % {"due": due, "today": today}
            }
        )


def _step(problem: Problem, action: str, actor, **fields) -> ProblemStep:
    step = ProblemStep.objects.create(problem=problem, action=action, actor=_actor_user(actor), **fields)
    record_change(actor=actor, obj=step, action="create")
    return step


@transaction.atomic
def problem_create(*, actor, data: Mapping[str, Any], today: dt.date | None = None) -> Problem:
    """Raise a problem of a project. `data`: project, title, description, category, owner_unit,
    supporting_units (units or ids), due_date, lead_leader, optionally source_visit (and is_demo,
    for generated data)."""
    today = today or timezone.localdate()
    if actor is not None and not can(actor, "add", Problem):
        raise PermissionDenied(_("您的角色无权提出问题"))
    unknown = set(data) - {*PROBLEM_FIELDS, "is_demo"}
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationError({field: _("不能填写的字段：%(field)s") % {"field": field}})
    project = data.get("project")
    if project is not None and not isinstance(project, Project):
        project = Project.objects.filter(pk=project).first() if str(project).isdigit() else None
        if project is None:
            raise ValidationError(
                {"project": _("编号为 %(value)s 的项目不存在") % {"value": data["project"]}}
            )
    if project is None:
        raise ValidationError({"project": _("请选择问题所属的项目")})
    if actor is not None and not restrict(Project.objects, actor, "view").filter(pk=project.pk).exists():
        raise PermissionDenied(_("无权为项目“%(project)s”提出问题") % {"project": project.name})
    owner = unit_of(data.get("owner_unit"), "owner_unit")
    supporting = units_of(data.get("supporting_units"), "supporting_units")
    _check_units(owner, supporting)
    _check_due(data.get("due_date"), today)
    user = _actor_user(actor)
    city_level = project.region.parent_id is None
    problem = Problem(
        project=project,
        region_id=project.region_id,
        title=(data.get("title") or "").strip(),
        description=(data.get("description") or "").strip(),
        category=data.get("category") or "",
        raised_by=user,
        lead_leader=(data.get("lead_leader") or "").strip(),
        owner_unit=owner,
        due_date=data["due_date"],
        status=status_row("reported"),
        level=EscalationLevel.objects.get(code="department" if city_level else "county"),
        source_visit=data.get("source_visit"),
        is_demo=bool(data.get("is_demo", False)),
        created_by=user,
        updated_by=user,
    )
    problem.full_clean(exclude=["supporting_units"])
    problem.save()
    problem.supporting_units.set(supporting)
    kinds = actor_kinds(actor, problem)
    if actor is not None and not restrict(Problem.objects.filter(pk=problem.pk), actor, "add").exists():
        raise PermissionDenied(
            _("无权在项目“%(project)s”下提出由%(unit)s推进的问题") % {"project": project.name, "unit": owner}
        )
    _step(problem, "report", actor, to_status=problem.status, to_level=problem.level)
    if actor is not None and "governor" not in kinds:
        record_change(actor=actor, obj=problem, action="create")
        _notify_reported(actor, problem)
        return problem
    # A governor's (or the system's) problem is handed out at once.
    reported = problem.status
    problem.status = status_row("assigned")
    problem.save(update_fields=["status"])
    record_change(actor=actor, obj=problem, action="create")
    _step(problem, "assign", actor, from_status=reported, to_status=problem.status)
    _notify_assignment(actor, problem)
    return problem


def _notify_reported(actor, problem: Problem) -> None:
    """A reported problem waits for a governor to hand it out: the county users of its division
    (the project office for a city-level project) are told."""
    if problem.region.parent_id is None:
        users = User.objects.filter(role=Role.CITY_ADMIN, is_active=True)
    else:
        users = User.objects.filter(role=Role.COUNTY, region=problem.region_id, is_active=True)
    notify(
        event=NotificationEvent.ASSIGNMENT,
        users=_others(users, actor),
        key=f"reported:problem:{problem.pk}",
        title=_("待交办：%(title)s") % {"title": problem.title},
        body=_("项目“%(project)s”上报了问题，请交办给推进主体%(unit)s。")
        % {"project": problem.project.name, "unit": problem.owner_unit},
        url=_url(problem),
    )


def _hand_over(problem: Problem, owner: Unit) -> bool:
    """Give the problem a new owner unit; one that had signed for it no longer owns it, so the
    problem goes back to 已交办 for the new owner to sign. Returns whether the status moved.
    A new owner that was a supporting unit stops being one."""
    problem.owner_unit = owner
    problem.supporting_units.remove(owner)
    if problem.status.code in HANDED_OUT:
        problem.status = status_row("assigned")
        return True
    return False


@transaction.atomic
def problem_update(
    *, actor, problem_id: int, version: int, data: Mapping[str, Any], today: dt.date | None = None
) -> Problem:
    """Change a problem's facts while it is not closed. Whose it is and by when (owner unit,
    supporting units, due date, lead leader) are the governors'; anyone who may change the problem
    may correct its title, description and category."""
    today = today or timezone.localdate()
    problem = _locked(actor, problem_id, "change")
    _check_version(problem, version)
    if problem.status.is_closed:
        raise Conflict(_("问题当前为“%(status)s”，不能修改；须先重新打开") % {"status": problem.status.name})
    allowed = set(PROBLEM_FIELDS) - {"project", "source_visit"}
    for field in data:
        if field not in allowed:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
    before = snapshot(problem)
    old_owner, old_due = problem.owner_unit, problem.due_date
    old_supporting = set(problem.supporting_units.values_list("pk", flat=True))
    owner = unit_of(data["owner_unit"], "owner_unit") if "owner_unit" in data else old_owner
    supporting = (
        units_of(data["supporting_units"], "supporting_units")
        if "supporting_units" in data
        else list(problem.supporting_units.all())
    )
    _check_units(owner, supporting)
    due = data.get("due_date", old_due)
    if due != old_due:
        _check_due(due, today)
    changed_governed = [
        f
        for f, new, old in (
            ("owner_unit", owner.pk, old_owner.pk),
            ("supporting_units", {u.pk for u in supporting}, old_supporting),
            ("due_date", due, old_due),
            (
                "lead_leader",
                (data.get("lead_leader", problem.lead_leader) or "").strip(),
                problem.lead_leader,
            ),
        )
        if new != old
    ]
    if changed_governed and "governor" not in actor_kinds(actor, problem):
        raise PermissionDenied(
            _("“%(field)s”只能由项目办或所在县(市)区修改")
            % {"field": Problem._meta.get_field(changed_governed[0]).verbose_name}
        )
    for field in ("title", "description", "category", "lead_leader"):
        if field in data:
            setattr(problem, field, (data[field] or "").strip())
    problem.due_date = due
    problem.supporting_units.set(supporting)
    from_status = problem.status
    if owner.pk != old_owner.pk:
        _hand_over(problem, owner)
    problem.version += 1
    problem.updated_by = _actor_user(actor)
    problem.full_clean(exclude=["supporting_units"])
    problem.save()
    record_change(actor=actor, obj=problem, action="update", before=before)
    after = snapshot(problem)
    labels = [
        str(Problem._meta.get_field(f).verbose_name)
        for f in ("title", "description", "category", "lead_leader", "owner_unit", "due_date")
        if before.get(Problem._meta.get_field(f).attname) != after.get(Problem._meta.get_field(f).attname)
    ]
    if set(before.get("supporting_units", [])) != set(after.get("supporting_units", [])):
        labels.append(str(Problem._meta.get_field("supporting_units").verbose_name))
    _step(
        problem,
        "edit",
        actor,
        from_status=from_status if problem.status != from_status else None,
        to_status=problem.status if problem.status != from_status else None,
        comment=_("修改了：%(fields)s") % {"fields": "、".join(labels)} if labels else "",
        new_due_date=due if due != old_due else None,
        new_owner_unit=owner if owner.pk != old_owner.pk else None,
    )
    if owner.pk != old_owner.pk and problem.status.code != "reported":
        _notify_assignment(actor, problem)
    return problem


def transition_refusal(row, action: str, *, noun: str | None = None) -> str:
    """Why `action` cannot be taken from the row's status (a problem's, a supervised task's),
    naming both."""
    noun = noun or _("问题")
    rows = list(ProblemTransition.objects.filter(action=action).select_related("from_status"))
    name = rows[0].name if rows else action
    message = _("%(noun)s当前为“%(status)s”，不能“%(action)s”") % {
        "noun": noun,
        "status": row.status.name,
        "action": name,
    }
    if rows:
        allowed = "、".join(f"“{r.from_status.name}”" for r in rows)
        message += _("（只有%(allowed)s的%(noun)s可以%(action)s）") % {
            "allowed": allowed,
            "noun": noun,
            "action": name,
        }
    return message


def take_step(row, actor, action: str, comment: str, *, noun: str | None = None) -> tuple:
    """Move a supervised row (a problem, a supervised task) one step along the flow table: the
    ProblemTransition for (action, its status) says where it leads, who may take it and whether a
    reason is required. Sets status, closed_at, version and updated_by; the caller saves, logs and
    tells people. Returns the status it left and the comment, trimmed."""
    transition = (
        ProblemTransition.objects.filter(action=action, from_status=row.status)
        .select_related("to_status")
        .first()
    )
    if transition is None:
        raise Conflict(transition_refusal(row, action, noun=noun))
    if actor is not None and not actor_kinds(actor, row) & set(transition.actors):
        who = "、".join(str(ACTOR_LABELS.get(k, k)) for k in transition.actors)
        raise PermissionDenied(_("“%(action)s”只能由%(who)s操作") % {"action": transition.name, "who": who})
    comment = (comment or "").strip()
    if transition.needs_reason and not comment:
        raise ValidationError({"comment": _("“%(action)s”须填写理由或说明") % {"action": transition.name}})
    from_status = row.status
    row.status = transition.to_status
    if row.status.is_closed:
        row.closed_at = timezone.now()
    elif from_status.is_closed:
        row.closed_at = None
    row.version += 1
    row.updated_by = _actor_user(actor)
    return from_status, comment


@transaction.atomic
def problem_act(*, actor, problem_id: int, action: str, version: int, comment: str = "") -> Problem:
    """Take one step of the flow (assign, accept, start, resolve, verify, send_back, reopen …): the
    ProblemTransition row for (action, current status) says where it leads, who may take it and
    whether a reason is required."""
    if not ProblemTransition.objects.filter(action=action).exists():
        raise ValidationError({"action": _("未知的操作：%(action)s") % {"action": action}})
    problem = _locked(actor, problem_id)
    _check_version(problem, version)
    before = snapshot(problem)
    from_status, comment = take_step(problem, actor, action, comment)
    problem.save()
    record_change(actor=actor, obj=problem, action="update", before=before)
    step = _step(problem, action, actor, from_status=from_status, to_status=problem.status, comment=comment)
    if action == "assign":
        _notify_assignment(actor, problem)
    if problem.status.is_closed:
        notify(
            event=NotificationEvent.CLOSURE,
            users=_others(problem_people(problem), actor),
            key=f"closure:problem:{problem.pk}:{step.pk}",
            title=_("已销号：%(title)s") % {"title": problem.title},
            body=comment,
            url=_url(problem),
        )
    return problem


def _escalate(problem: Problem, actor, *, to: EscalationLevel, comment: str, at: dt.datetime) -> Problem:
    before = snapshot(problem)
    from_level = problem.level
    problem.level = to
    problem.escalated_at = at
    problem.version += 1
    problem.updated_by = _actor_user(actor)
    problem.save()
    record_change(actor=actor, obj=problem, action="update", before=before)
    _step(problem, "escalate", actor, from_level=from_level, to_level=to, comment=comment)
    notify(
        event=NotificationEvent.ESCALATION,
        users=_others(problem_people(problem) | rung_watchers(to.code), actor),
        key=f"escalation:problem:{problem.pk}:{to.code}",
        title=_("上升至%(level)s：%(title)s") % {"level": to.name, "title": problem.title},
        body=comment,
        url=_url(problem),
    )
    return problem


@transaction.atomic
def problem_escalate(*, actor, problem_id: int, version: int, reason: str) -> Problem:
    """Anyone who can see a problem may take it one rung up the ladder by hand, with a reason."""
    problem = _locked(actor, problem_id)
    _check_version(problem, version)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("上升协调须填写理由")})
    if problem.status.is_closed:
        raise Conflict(_("问题当前为“%(status)s”，不能“上升协调”") % {"status": problem.status.name})
    to = next_level(problem.level)
    if to is None:
        raise Conflict(_("问题已在最高层级“%(level)s”，不能再上升") % {"level": problem.level.name})
    return _escalate(problem, actor, to=to, comment=reason, at=timezone.now())


def climb_reference(row, due: str = "due_date") -> dt.date:
    """The day a supervised row's overdue days count from (a problem's due date, a task's
    deadline), or its last escalation if later."""
    day = getattr(row, due)
    if row.escalated_at is None:
        return day
    return max(day, timezone.localdate(row.escalated_at))


def escalate_overdue(*, today: dt.date | None = None) -> list[Problem]:
    """Every problem not closed and overdue by more than its rung's climb_after_days (counted from
    the due date, or from its last escalation when later) climbs one rung. One transaction each;
    returns the problems that climbed."""
    today = today or timezone.localdate()
    levels = list(EscalationLevel.objects.order_by("order"))
    climbing = levels[:-1]  # the top rung has nowhere to climb
    candidates = (
        Problem.objects.filter(status__is_closed=False, due_date__lt=today, level__in=climbing)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    climbed = []
    with translation.override(settings.LANGUAGE_CODE):  # stored comments in the site's language
        for pk in list(candidates):
            with transaction.atomic():
                problem = _locked(None, pk)
                if problem.status.is_closed:
                    continue
                days = (today - climb_reference(problem)).days
                to = next_level(problem.level)
                if to is None or days <= problem.level.climb_after_days:
                    continue
                comment = _("逾期 %(days)s 天未办结（超过%(level)s的 %(limit)s 天），自动上升至“%(to)s”") % {
                    "days": (today - problem.due_date).days,
                    "level": problem.level.name,
                    "limit": problem.level.climb_after_days,
                    "to": to.name,
                }
                climbed.append(_escalate(problem, None, to=to, comment=comment, at=now_for(today)))
    return climbed


@transaction.atomic
def problem_instruct(
    *,
    actor,
    problem_id: int,
    version: int,
    instruction: str,
    new_due_date: dt.date | None = None,
    new_owner_unit=None,
    today: dt.date | None = None,
) -> Problem:
    """A leader's instruction (批示) on a 直通车 problem: recorded on the timeline, may set a new
    due date and a new owner unit (who then signs for it again), and goes to everyone involved."""
    today = today or timezone.localdate()
    user = _actor_user(actor)
    if actor is not None and (user is None or user.role not in {Role.LEADER, Role.CITY_ADMIN}):
        raise PermissionDenied(_("只有市领导和项目办可以批示"))
    problem = _locked(actor, problem_id)
    _check_version(problem, version)
    if problem.level.code != TOP_LEVEL:
        raise Conflict(
            _("问题当前在“%(level)s”层级，只有“书记市长直通车”上的问题可以批示")
            % {"level": problem.level.name}
        )
    if problem.status.is_closed:
        raise Conflict(_("问题当前为“%(status)s”，不能批示") % {"status": problem.status.name})
    instruction = (instruction or "").strip()
    if not instruction:
        raise ValidationError({"instruction": _("请填写批示内容")})
    owner = unit_of(new_owner_unit, "new_owner_unit")
    if owner is not None and owner.kind not in OWNER_UNIT_KINDS:
        raise ValidationError(
            {"new_owner_unit": _("推进主体“%(unit)s”须为县(市)区政府、开发区或市直部门") % {"unit": owner}}
        )
    if owner is not None and owner.pk == problem.owner_unit_id:
        owner = None  # naming the same owner again changes nothing
    if new_due_date is not None:
        _check_due(new_due_date, today, "new_due_date")
    before = snapshot(problem)
    from_status = problem.status
    if new_due_date is not None:
        problem.due_date = new_due_date
    if owner is not None:
        old_owner = problem.owner_unit_id
        _hand_over(problem, owner)
        if problem.status.code == "reported":
            problem.status = status_row("assigned")  # the leader's word hands it out
    problem.version += 1
    problem.updated_by = user
    problem.save()
    record_change(actor=actor, obj=problem, action="update", before=before)
    moved = problem.status != from_status
    step = _step(
        problem,
        "instruct",
        actor,
        from_status=from_status if moved else None,
        to_status=problem.status if moved else None,
        comment=instruction,
        new_due_date=new_due_date,
        new_owner_unit=owner,
    )
    people = problem_people(problem) | rung_watchers(TOP_LEVEL)
    if owner is not None:
        people |= _owner_people(old_owner)
        _notify_assignment(actor, problem)
    who = user or _("系统")
    notify(
        event=NotificationEvent.INSTRUCTION,
        users=_others(people, actor),
        key=f"instruction:problem:{problem.pk}:{step.pk}",
        title=_("领导批示：%(title)s") % {"title": problem.title},
        body=_("%(who)s批示：%(text)s") % {"who": who, "text": instruction},
        url=_url(problem),
    )
    return problem


# Attachments: pdf, docx, xlsx, jpg, png, recognised by their content, not their names.
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpg": "image/jpeg",
    "png": "image/png",
}
ATTACHMENT_DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def attachment_max_bytes() -> int:
    return int(getattr(settings, "ATTACHMENT_MAX_BYTES", ATTACHMENT_DEFAULT_MAX_BYTES))


def attachment_clean(upload) -> tuple[bytes, str, str]:
    """Check an upload is within the size limit and a pdf, docx, xlsx, jpg or png by its content
    (and that its name says the same); a docx or xlsx must not inflate past a bound, and a picture is
    re-encoded (no metadata, nothing hidden after it). Return the bytes, the type and a safe name."""
    limit = attachment_max_bytes()
    name = uploads.display_name(upload, "attachment")
    what = _("附件")
    refused = _(
        "附件“%(name)s”不是可接受的文件：只接受 PDF、Word (docx)、Excel (xlsx)、JPG、PNG，"
        "按文件内容识别，扩展名须与内容一致"
    ) % {"name": name}
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    extension = "jpg" if extension == "jpeg" else extension
    try:
        data = uploads.read_limited(upload, limit=limit, name=name, what=what)
        kind = uploads.sniff(data)
        if kind == "zip":
            kind = uploads.check_office(
                io.BytesIO(data), name=name, max_inflated=limit * uploads.INFLATE_RATIO, what=what
            )
        if kind == "pdf" and not uploads.looks_like_pdf(data):
            kind = None
        if kind not in ATTACHMENT_TYPES or extension != kind:
            raise uploads.UploadRefused(refused)
        if kind in ("jpg", "png"):
            image = uploads.open_image(
                data, refused=refused, too_large=_("附件“%(name)s”像素过多，请缩小后再上传") % {"name": name}
            )
            data, _extension = uploads.reencode(image)
    except uploads.UploadRefused as err:
        message = refused if err.code == "not_office" else err.message
        raise ValidationError({"file": message}) from None
    return data, kind, name


@transaction.atomic
def attachment_add(*, actor, problem_id: int, upload) -> ProblemAttachment:
    """Attach a file to a problem. The problem's version does not move: a file is its own row."""
    problem = _locked(actor, problem_id)
    if actor is not None and not problem_scope(actor, "change").filter(pk=problem.pk).exists():
        raise PermissionDenied(_("无权为问题“%(problem)s”上传附件") % {"problem": problem})
    data, kind, name = attachment_clean(upload)
    user = _actor_user(actor)
    attachment = ProblemAttachment(
        problem=problem, name=name, size=len(data), created_by=user, updated_by=user
    )
    # The stored name is random; the uploader's name is kept for display and download.
    attachment.file.save(f"{uuid.uuid4().hex}.{kind}", ContentFile(data), save=False)
    try:
        attachment.full_clean()
        attachment.save()
        record_change(actor=actor, obj=attachment, action="create")
        _step(problem, "attach", actor, comment=name)
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


# --- stewards, contacts, visits and agency requests

# Who names a project's 项目管家 and assigns 代办 requests: the project office and the counties.
SERVICE_GOVERNORS = frozenset({Role.CITY_ADMIN, Role.COUNTY})
VISIT_ROLES = frozenset({Role.STEWARD, Role.CITY_ADMIN, Role.COUNTY})
AGENCY_OPEN = (AgencyStatus.REQUESTED, AgencyStatus.ASSIGNED, AgencyStatus.IN_PROGRESS)
CONTACT_FIELDS = ("kind", "unit", "name", "title", "phone")
_PHONE = re.compile(r"^[0-9+\-() 转]{5,30}$")
# How an agency request ends: the approval was granted, refused, or something else (see the comment).
AGENCY_OUTCOMES = {
    "approved": gettext_lazy("已批复"),
    "rejected": gettext_lazy("未获批"),
    "other": gettext_lazy("其他"),
}


def steward_threshold() -> Decimal:
    """总投资 (万元) from which a project must have a 项目管家 (setting GUATU_STEWARD_THRESHOLD)."""
    return Decimal(str(getattr(settings, "GUATU_STEWARD_THRESHOLD", 5000)))


def agency_service_days() -> int:
    """Working days an agent has to handle a 代办 request (setting GUATU_AGENCY_SERVICE_DAYS)."""
    return int(getattr(settings, "GUATU_AGENCY_SERVICE_DAYS", 10))


def _user_or_none(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _project_for(actor, project_id: int, action: str) -> Project:
    qs = Project.objects.all() if actor is None else restrict(Project.objects, actor, action)
    try:
        return qs.select_related("region", "enterprise", "steward").get(pk=project_id)
    except Project.DoesNotExist:
        raise Project.DoesNotExist(_("项目不存在或无权操作")) from None


@transaction.atomic
def steward_assign(*, actor, project_id: int, steward_id: int | None, version: int) -> Project:
    """Name (or, with None, clear) a project's 项目管家. The write is project_update's: it checks the
    version, keeps the steward to the project office and the counties, and logs the change."""
    if actor is not None and actor.role not in SERVICE_GOVERNORS:
        raise PermissionDenied(_("项目管家只能由项目办或县(市)区指定"))
    steward = None
    if steward_id is not None:
        steward = User.objects.filter(pk=steward_id, role=Role.STEWARD, is_active=True).first()
        if steward is None:
            raise ValidationError({"steward": _("所选账号不是在用的项目管家")})
    return project_update(actor=actor, project_id=project_id, version=version, data={"steward": steward})


# ---- "1+1+n" contacts: the steward is Project.steward; one enterprise contact, n department contacts


def _one_enterprise_contact_message(project: Project, name: str) -> str:
    return _("项目“%(project)s”已有企业联系人“%(name)s”，每个项目只设一名企业联系人；请修改现有联系人") % {
        "project": project,
        "name": name,
    }


def _contact_apply(contact: ProjectContact, project: Project, data: Mapping[str, Any]) -> None:
    for field, value in data.items():
        if field not in CONTACT_FIELDS:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
        setattr(contact, field, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    if contact.kind not in ContactKind.values:
        errors.setdefault("kind", []).append(_("未知联系人类型：%(kind)s") % {"kind": contact.kind})
    if not contact.name:
        errors.setdefault("name", []).append(_("请填写联系人姓名"))
    if contact.phone and not _PHONE.match(contact.phone):
        errors.setdefault("phone", []).append(_("电话“%(phone)s”格式不正确") % {"phone": contact.phone})
    if contact.kind == ContactKind.ENTERPRISE:
        if contact.unit_id is None:
            contact.unit = project.enterprise
        elif contact.unit_id != project.enterprise_id:
            errors.setdefault("unit", []).append(
                _("企业联系人须来自项目单位“%(unit)s”") % {"unit": project.enterprise}
            )
    elif contact.kind == ContactKind.DEPARTMENT:
        if contact.unit_id is None:
            errors.setdefault("unit", []).append(_("部门联系人须选择所在部门"))
        elif contact.unit.kind == Unit.Kind.ENTERPRISE:
            errors.setdefault("unit", []).append(
                _("“%(unit)s”是企业，部门联系人须来自政府部门") % {"unit": contact.unit}
            )
    if errors:
        raise ValidationError(errors)
    if contact.kind == ContactKind.ENTERPRISE:
        other = (
            ProjectContact.objects.filter(project=project, kind=ContactKind.ENTERPRISE)
            .exclude(pk=contact.pk)
            .first()
        )
        if other is not None:
            raise ValidationError({"kind": _one_enterprise_contact_message(project, other.name)})


def _contact_save(contact: ProjectContact, project: Project) -> None:
    contact.full_clean(validate_constraints=False)  # the one-enterprise rule was checked above, in words
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # another enterprise contact was added meanwhile
        other = ProjectContact.objects.filter(project=project, kind=ContactKind.ENTERPRISE).first()
        raise ValidationError(
            {"kind": _one_enterprise_contact_message(project, other.name if other else "")}
        ) from None


@transaction.atomic
def contact_add(*, actor, project_id: int, data: Mapping[str, Any]) -> ProjectContact:
    """Add the enterprise contact (one per project) or a department contact. Whoever may change the
    project may keep its contacts."""
    if actor is not None and not can(actor, "add", ProjectContact):
        raise PermissionDenied(_("无权维护项目联系人"))
    project = _project_for(actor, project_id, "change")
    user = _user_or_none(actor)
    contact = ProjectContact(project=project, created_by=user, updated_by=user)
    _contact_apply(contact, project, data)
    _contact_save(contact, project)
    record_change(actor=actor, obj=contact, action="create")
    return contact


def _contact_locked(actor, contact_id: int, action: str) -> ProjectContact:
    qs = ProjectContact.objects.all() if actor is None else restrict(ProjectContact.objects, actor, action)
    try:
        return qs.select_for_update(of=("self",)).select_related("project__enterprise").get(pk=contact_id)
    except ProjectContact.DoesNotExist:
        raise ProjectContact.DoesNotExist(_("联系人不存在或无权操作")) from None


@transaction.atomic
def contact_update(*, actor, contact_id: int, data: Mapping[str, Any]) -> ProjectContact:
    contact = _contact_locked(actor, contact_id, "change")
    before = snapshot(contact)
    contact.updated_by = _user_or_none(actor)
    _contact_apply(contact, contact.project, data)
    _contact_save(contact, contact.project)
    record_change(actor=actor, obj=contact, action="update", before=before)
    return contact


@transaction.atomic
def contact_remove(*, actor, contact_id: int) -> None:
    contact = _contact_locked(actor, contact_id, "delete")
    record_change(actor=actor, obj=contact, action="delete", before=snapshot(contact))
    contact.delete()


# ---- visits (走访)


def _problem_errors(index: int, item: Mapping[str, Any], err: ValidationError) -> list[str]:
    title = str(item.get("title") or "").strip()
    label = _("第%(n)s个问题") % {"n": index} + (f"“{title}”" if title else "")
    if hasattr(err, "error_dict"):
        messages = []
        for field, field_messages in err.message_dict.items():
            try:
                name = str(Problem._meta.get_field(field).verbose_name)
            except FieldDoesNotExist:  # a rule that names no model field
                name = ""
            messages += [f"{label}：{name}：{m}" if name else f"{label}：{m}" for m in field_messages]
        return messages
    return [f"{label}：{m}" for m in err.messages]


@transaction.atomic
def visit_create(
    *,
    actor,
    project_id: int,
    visited_on: dt.date,
    met_with: str,
    findings: str,
    problems: Iterable[Mapping[str, Any]] = (),
    today: dt.date | None = None,
    is_demo: bool = False,
) -> StewardVisit:
    """Log a steward's visit to a project and raise the problems found there (each through
    problem_create, linked back by source_visit). A steward logs visits to the projects they serve;
    the project office or the county may log one for the project's steward."""
    today = today or timezone.localdate()
    if actor is not None and actor.role not in VISIT_ROLES:
        raise PermissionDenied(_("只有项目管家、项目办或县(市)区可以记录走访"))
    qs = Project.objects.all() if actor is None else restrict(Project.objects, actor, "change")
    project = qs.select_related("region", "steward").filter(pk=project_id).first()
    if project is None:
        if actor is not None and actor.role == Role.STEWARD:
            raise PermissionDenied(_("项目管家只能为自己服务的项目记录走访"))
        raise Project.DoesNotExist(_("项目不存在或无权操作"))
    steward = actor if actor is not None and actor.role == Role.STEWARD else project.steward
    met_with, findings = (met_with or "").strip(), (findings or "").strip()
    errors: dict[str, list[str]] = {}
    if steward is None:
        errors["project"] = [
            _("项目“%(project)s”尚未指定项目管家，请先指定后再记录走访") % {"project": project}
        ]
    if visited_on is None:
        errors["visited_on"] = [_("请填写走访日期")]
    elif visited_on > today:
        errors["visited_on"] = [
            _("走访日期（%(day)s）不能晚于今天（%(today)s）")
            % {"day": visited_on.isoformat(), "today": today.isoformat()}
        ]
    if not met_with:
        errors["met_with"] = [_("请填写接洽人员")]
    if not findings:
        errors["findings"] = [_("请填写发现情况")]
    if errors:
        raise ValidationError(errors)
    user = _user_or_none(actor)
    visit = StewardVisit(
        project=project,
        region=project.region,
        steward=steward,
        visited_on=visited_on,
        met_with=met_with,
        findings=findings,
        is_demo=is_demo,
        created_by=user,
        updated_by=user,
    )
    visit.full_clean()
    visit.save()
    record_change(actor=actor, obj=visit, action="create")
    problem_messages: list[str] = []
    for index, item in enumerate(problems, start=1):
        data = {**item, "project": project, "source_visit": visit}
        try:
            with transaction.atomic():
                problem_create(actor=actor, data=data, today=today)
        except ValidationError as err:
            problem_messages += _problem_errors(index, item, err)
    if problem_messages:
        raise ValidationError({"problems": problem_messages})  # nothing of the visit is kept
    return visit


# ---- 代办帮办 (agency requests)


def _agency_url(request_id: int) -> str:
    return reverse("problems:agency_detail", args=[request_id])


def _agency_locked(actor, request_id: int, action: str = "change") -> AgencyRequest:
    qs = AgencyRequest.objects.all() if actor is None else restrict(AgencyRequest.objects, actor, action)
    try:
        return (
            qs.select_for_update(of=("self",))
            .select_related("project__steward", "approval__kind", "agent", "requested_by")
            .get(pk=request_id)
        )
    except AgencyRequest.DoesNotExist:
        raise AgencyRequest.DoesNotExist(_("代办申请不存在或无权操作")) from None


def _agency_check(agency: AgencyRequest, version: int, allowed: Iterable[str], action: str) -> None:
    if agency.version != version:
        raise Conflict(
            _(
                "代办申请“%(request)s”已被他人修改（当前版本 %(current)s，您操作的是版本 %(yours)s），请刷新后重试"
            )
            % {"request": agency, "current": agency.version, "yours": version}
        )
    if agency.status not in allowed:
        raise Conflict(
            _("代办申请“%(request)s”当前状态为“%(status)s”，不能%(action)s")
            % {"request": agency, "status": agency.get_status_display(), "action": action}
        )


def _agency_save(actor, agency: AgencyRequest, before: dict[str, Any]) -> AgencyRequest:
    agency.version += 1
    agency.updated_by = _user_or_none(actor)
    agency.full_clean()
    agency.save()
    record_change(actor=actor, obj=agency, action="update", before=before)
    return agency


def _agency_title(agency: AgencyRequest) -> str:
    return f"{agency.project.name} · {agency.approval.kind.name}"


@transaction.atomic
def agency_request(
    *,
    actor,
    project_id: int,
    approval_id: int,
    note: str = "",
    today: dt.date | None = None,
    requester=None,
    is_demo: bool = False,
) -> AgencyRequest:
    """The project's enterprise (or its steward) asks for an approval to be handled on its behalf.
    The service deadline is GUATU_AGENCY_SERVICE_DAYS working days after today. `requester` names
    the applicant when the system writes (actor None), as the demo does."""
    today = today or timezone.localdate()
    if actor is not None and actor.role not in {Role.ENTERPRISE, Role.STEWARD}:
        raise PermissionDenied(_("代办申请只能由项目单位或项目管家提出"))
    project = _project_for(actor, project_id, "view")
    if actor is not None:
        own = (
            actor.role == Role.ENTERPRISE and actor.unit_id and actor.unit_id == project.enterprise_id
        ) or (actor.role == Role.STEWARD and project.steward_id == actor.pk)
        if not own:
            raise PermissionDenied(
                _("只有项目“%(project)s”的项目单位或项目管家可以申请代办") % {"project": project}
            )
    approval = (
        ProjectApproval.objects.select_for_update(of=("self",))
        .select_related("kind")
        .filter(pk=approval_id)
        .first()
    )
    if approval is None or approval.project_id != project.pk:
        raise ValidationError({"approval": _("所选手续不属于项目“%(project)s”") % {"project": project}})
    if approval.status == ApprovalStatus.APPROVED:
        raise ValidationError(
            {
                "approval": _("“%(kind)s”已于%(day)s批复，无需代办")
                % {
                    "kind": approval.kind.name,
                    "day": approval.approved_on.isoformat() if approval.approved_on else "—",
                }
            }
        )
    if approval.status == ApprovalStatus.NOT_NEEDED:
        raise ValidationError(
            {"approval": _("“%(kind)s”标为不需办理，无需代办") % {"kind": approval.kind.name}}
        )
    pending = AgencyRequest.objects.filter(approval=approval, status__in=AGENCY_OPEN).first()
    if pending is not None:
        raise ValidationError(
            {
                "approval": _("“%(kind)s”已有代办申请（%(status)s），不能重复申请")
                % {"kind": approval.kind.name, "status": pending.get_status_display()}
            }
        )
    user = _user_or_none(actor)
    agency = AgencyRequest(
        project=project,
        region=project.region,
        approval=approval,
        requested_by=user or requester,
        status=AgencyStatus.REQUESTED,
        service_due=workdays.add_workdays(today, agency_service_days()),
        note=(note or "").strip(),
        is_demo=is_demo,
        created_by=user,
        updated_by=user,
    )
    agency.full_clean()
    agency.save()
    record_change(actor=actor, obj=agency, action="create")
    return agency


@transaction.atomic
def agency_assign(*, actor, request_id: int, agent_id: int, version: int) -> AgencyRequest:
    """The project office or the county hands a request to an agent (an active business user,
    usually a steward), or hands it on to another before work starts. The agent and the applicant
    are told, once."""
    if actor is not None and actor.role not in SERVICE_GOVERNORS:
        raise PermissionDenied(_("代办申请只能由项目办或县(市)区指派"))
    agency = _agency_locked(actor, request_id)
    if (
        actor is not None
        and not restrict(Project.objects, actor, "change").filter(pk=agency.project_id).exists()
    ):
        raise AgencyRequest.DoesNotExist(_("代办申请不存在或无权操作"))
    _agency_check(agency, version, {AgencyStatus.REQUESTED, AgencyStatus.ASSIGNED}, _("指派"))
    agent = User.objects.filter(pk=agent_id, is_active=True, role__in=BUSINESS_ROLES).first()
    if agent is None:
        raise ValidationError({"agent": _("代办员须为在用的业务账号")})
    if agency.agent_id == agent.pk:
        raise ValidationError({"agent": _("“%(agent)s”已是这项申请的代办员") % {"agent": agent}})
    before = snapshot(agency)
    agency.agent = agent
    agency.status = AgencyStatus.ASSIGNED
    _agency_save(actor, agency, before)
    url = _agency_url(agency.pk)
    key = f"assignment:agency:{agency.pk}:{agent.pk}"
    due = agency.service_due.isoformat()
    notify(
        event=NotificationEvent.ASSIGNMENT,
        users=[agent],
        key=key,
        title=_("代办交办：%(what)s") % {"what": _agency_title(agency)},
        body=_("请于 %(due)s 前办结。") % {"due": due},
        url=url,
    )
    if agency.requested_by is not None:
        notify(
            event=NotificationEvent.ASSIGNMENT,
            users=[agency.requested_by],
            key=key,
            title=_("代办申请已指派：%(what)s") % {"what": _agency_title(agency)},
            body=_("代办员：%(agent)s；服务时限：%(due)s。") % {"agent": agent, "due": due},
            url=url,
        )
    return agency


def _agent_only(actor, agency: AgencyRequest, action: str) -> None:
    if actor is not None and agency.agent_id != actor.pk:
        raise PermissionDenied(
            _("只有代办员“%(agent)s”可以%(action)s") % {"agent": agency.agent or "—", "action": action}
        )


@transaction.atomic
def agency_start(*, actor, request_id: int, version: int) -> AgencyRequest:
    agency = _agency_locked(actor, request_id)
    _agent_only(actor, agency, _("开始办理"))
    _agency_check(agency, version, {AgencyStatus.ASSIGNED}, _("开始办理"))
    before = snapshot(agency)
    agency.status = AgencyStatus.IN_PROGRESS
    return _agency_save(actor, agency, before)


@transaction.atomic
def agency_close(
    *,
    actor,
    request_id: int,
    version: int,
    result: str,
    approved_on: dt.date | None = None,
    document_no: str = "",
    comment: str = "",
    today: dt.date | None = None,
) -> AgencyRequest:
    """The agent closes the request with the approval's result: "approved" records the approval as
    批复 (date and document number, through approval_update), "rejected" as 未获批; "other" leaves
    the approval as it is and needs a comment."""
    today = today or timezone.localdate()
    agency = _agency_locked(actor, request_id)
    _agent_only(actor, agency, _("办结"))
    _agency_check(agency, version, {AgencyStatus.IN_PROGRESS}, _("办结"))
    if result not in AGENCY_OUTCOMES:
        raise ValidationError({"result": _("未知办理结果：%(result)s") % {"result": result}})
    document_no, comment = (document_no or "").strip(), (comment or "").strip()
    kind = agency.approval.kind.name
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    if result == "approved":
        approved_on = approved_on or today
        if approved_on > today:
            errors["approved_on"] = [
                _("批复日期（%(day)s）不能晚于今天（%(today)s）")
                % {"day": approved_on.isoformat(), "today": today.isoformat()}
            ]
        if not document_no:
            errors["document_no"] = [_("“%(kind)s”已批复，须填写批复文号") % {"kind": kind}]
        data = {"status": ApprovalStatus.APPROVED, "approved_on": approved_on, "document_no": document_no}
    elif result == "rejected":
        data = {"status": ApprovalStatus.REJECTED}
    elif not comment:
        errors["comment"] = [_("办理结果为“其他”时须写明情况")]
    if errors:
        raise ValidationError(errors)
    if data:
        approval = ProjectApproval.objects.get(pk=agency.approval_id)
        # The agent may serve a project outside their own scope; the approval is then written as
        # the system, on the strength of the assignment (this request's change record names the agent).
        in_scope = (
            actor is None
            or restrict(ProjectApproval.objects.filter(pk=approval.pk), actor, "change").exists()
        )
        approval_update(
            actor=actor if in_scope else None, approval_id=approval.pk, version=approval.version, data=data
        )
    label = str(AGENCY_OUTCOMES[result])
    summary = f"{label}（{document_no}）" if document_no and result == "approved" else label
    if comment:
        summary = f"{summary}：{comment}"
    before = snapshot(agency)
    agency.status = AgencyStatus.DONE
    agency.result = summary[:200]
    agency.closed_at = timezone.now()
    _agency_save(actor, agency, before)
    people = [agency.requested_by, agency.project.steward]
    notify(
        event=NotificationEvent.CLOSURE,
        users=[p for p in people if p is not None and p.pk != agency.agent_id],
        key=f"closure:agency:{agency.pk}",
        title=_("代办办结：%(what)s（%(result)s）") % {"what": _agency_title(agency), "result": label},
        body=agency.result,
        url=_agency_url(agency.pk),
    )
    return agency


@transaction.atomic
def agency_cancel(*, actor, request_id: int, version: int, reason: str = "") -> AgencyRequest:
    """The applicant withdraws a request that is not closed yet; the agent, if any, is told."""
    agency = _agency_locked(actor, request_id, "view")
    if actor is not None and agency.requested_by_id != actor.pk:
        raise PermissionDenied(_("只有申请人可以撤回代办申请"))
    _agency_check(agency, version, AGENCY_OPEN, _("撤回"))
    before = snapshot(agency)
    agency.status = AgencyStatus.CANCELLED
    reason = (reason or "").strip()
    agency.result = (f"{_('已撤回')}：{reason}" if reason else _("已撤回"))[:200]
    agency.closed_at = timezone.now()
    _agency_save(actor, agency, before)
    if agency.agent is not None:
        notify(
            event=NotificationEvent.CLOSURE,
            users=[agency.agent],
            key=f"closure:agency:{agency.pk}",
            title=_("代办申请已撤回：%(what)s") % {"what": _agency_title(agency)},
            body=reason,
            url=_agency_url(agency.pk),
        )
    return agency


# --- notifications


def notify(*, event: str, users: Iterable, key: str, title: str, body: str = "", url: str = "") -> None:
    """Tell `users` about one event, after the surrounding transaction commits (nothing on rollback).
    `key` names the event; a user who already has a notification with that key gets nothing more,
    however often and from however many transactions this is called (the unique constraint on
    user+key is the guard). E-mail goes only to users whose preference for `event` is immediate
    (the default), who are active and have an address; the others see it in-app (and in the daily
    digest when they chose it). `url` is a local path; the e-mail carries it as an absolute link."""
    user_ids = sorted({user.pk for user in users if user is not None and user.pk is not None})
    if not user_ids:
        return
    payload = {
        "event": str(event),
        "key": str(key)[:120],
        "title": str(title)[:200],
        "body": str(body),
        "url": str(url)[:300],
    }
    transaction.on_commit(lambda: _deliver(user_ids=user_ids, **payload))


def _deliver(*, user_ids: list[int], event: str, key: str, title: str, body: str, url: str) -> None:
    """Insert the rows that do not exist yet and e-mail exactly the rows inserted here."""
    existing = set(
        Notification.objects.filter(key=key, user_id__in=user_ids).values_list("user_id", flat=True)
    )
    missing = [user_id for user_id in user_ids if user_id not in existing]
    created = _insert(user_ids=missing, event=event, key=key, title=title, body=body, url=url)
    if created:
        _email_immediate(created)


def _insert(*, user_ids: list[int], **fields) -> list[Notification]:
    """One row per user, each in its own savepoint: when a concurrent call has inserted the same
    (user, key) meanwhile, the unique constraint refuses ours and that user is left to the other
    call. The answer is the rows this call inserted (works alike on SQLite and PostgreSQL)."""
    created = []
    for user_id in user_ids:
        try:
            with transaction.atomic():
                created.append(Notification.objects.create(user_id=user_id, **fields))
        except IntegrityError:
            continue
    return created


def _digest_user_ids(event: str, user_ids: Iterable[int]) -> set[int]:
    return set(
        NotificationPreference.objects.filter(
            event=event, user_id__in=list(user_ids), mode=DeliveryMode.DIGEST
        ).values_list("user_id", flat=True)
    )


def _email_immediate(rows: list[Notification]) -> None:
    from django.contrib.auth import get_user_model

    event = rows[0].event
    digest = _digest_user_ids(event, [row.user_id for row in rows])
    users = get_user_model().objects.in_bulk([row.user_id for row in rows if row.user_id not in digest])
    messages, sent = [], []
    for row in rows:
        user = users.get(row.user_id)
        if user is None or not user.is_active or not user.email:
            continue
        messages.append(
            EmailMessage(
                subject=notification_subject(row.title),
                body=notification_email_body(row),
                from_email=None,
                to=[user.email],
            )
        )
        sent.append(row.pk)
    if not messages:
        return
    try:
        get_connection().send_messages(messages)
    except Exception:  # the action has committed; a mail server outage must not undo or hide it
        logger.exception("通知邮件发送失败：%s", rows[0].key)
        return
    Notification.objects.filter(pk__in=sent, emailed_at__isnull=True).update(emailed_at=timezone.now())


def absolute_url(path: str) -> str:
    if not path:
        return ""
    if path.startswith(("http://", "https://")):
        return path
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


def _site_name() -> str:
    with translation.override(settings.LANGUAGE_CODE):  # e-mails are in Chinese
        return str(settings.APP_NAME)


def notification_subject(title: str) -> str:
    return f"【{_site_name()}】{title}"


def notification_email_body(row: Notification) -> str:
    lines = [row.title]
    if row.body:
        lines += ["", row.body]
    if row.url:
        lines += ["", f"查看详情：{absolute_url(row.url)}"]
    lines += ["", _email_footer()]
    return "\n".join(lines)


def _email_footer() -> str:
    from django.urls import reverse

    return (
        f"此邮件由{_site_name()}自动发送，请勿回复。"
        f"如需改为每日汇总，请在“通知设置”中调整：{absolute_url(reverse('problems:notification_settings'))}"
    )


def notification_preferences_save(*, actor, modes: Mapping[str, str]) -> list[NotificationPreference]:
    """Set the actor's delivery mode per event (immediate e-mail or the daily digest). Every event
    must be given a known mode; an unknown event or mode is refused, naming it, and nothing is saved."""
    if not can(actor, "change", NotificationPreference):
        raise PermissionDenied
    events = dict(NotificationEvent.choices)
    modes_known = dict(DeliveryMode.choices)
    errors: dict[str, list[str]] = {}
    for event, mode in modes.items():
        if event not in events:
            errors.setdefault("__all__", []).append(f"没有“{event}”这种通知事件")
        elif mode not in modes_known:
            errors.setdefault(event, []).append(
                f"“{events[event]}”的通知方式“{mode}”无效，应为{'或'.join(map(str, modes_known.values()))}"
            )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = {
            p.event: p for p in NotificationPreference.objects.select_for_update().filter(user=actor.pk)
        }
        saved = []
        for event, mode in modes.items():
            preference = current.get(event)
            if preference is None:
                preference = NotificationPreference.objects.create(user_id=actor.pk, event=event, mode=mode)
                record_change(actor=actor, obj=preference, action="create")
            elif preference.mode != mode:
                before = snapshot(preference)
                preference.mode = mode
                preference.save(update_fields=["mode"])
                record_change(actor=actor, obj=preference, action="update", before=before)
            saved.append(preference)
    return saved


def notification_mark_read(*, actor, notification_id: int) -> Notification:
    """Mark one of the actor's own notifications read (a no-op when it already is). Another
    user's notification is not found (Notification.DoesNotExist), whoever asks. Reading is not a
    business change, so it is not written to the change log."""
    notification = restrict(Notification.objects, actor, "change").get(pk=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notification_mark_all_read(*, actor) -> int:
    """Mark all of the actor's unread notifications read; the answer is how many."""
    return (
        restrict(Notification.objects, actor, "change")
        .filter(read_at__isnull=True)
        .update(read_at=timezone.now())
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def send_digest(*, today: dt.date | None = None) -> dict[str, int]:
    """E-mail each active user with an address one message listing their notifications of
    digest-mode events created the day before `today` (local time) and not e-mailed yet, then
    mark them e-mailed. Rows are claimed (emailed_at set) before sending, so a second run, even a
    concurrent one, sends nothing; a failed send gives the claim back for the next run.
    The answer: {"users": messages sent, "notifications": rows listed}."""
    today = today or timezone.localdate()
    digest_mode = NotificationPreference.objects.filter(
        user=OuterRef("user"), event=OuterRef("event"), mode=DeliveryMode.DIGEST
    )
    candidates = list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__gte=_day_start(today - dt.timedelta(days=1)),
            created_at__lt=_day_start(today),
            user__is_active=True,
        )
        .exclude(user__email="")
        .filter(Exists(digest_mode))
        .values_list("pk", flat=True)
    )
    if not candidates:
        return {"users": 0, "notifications": 0}
    claim = timezone.now()
    Notification.objects.filter(pk__in=candidates, emailed_at__isnull=True).update(emailed_at=claim)
    rows = list(
        Notification.objects.filter(pk__in=candidates, emailed_at=claim)
        .select_related("user")
        .order_by("user_id", "created_at", "id")
    )
    by_user: dict[int, list[Notification]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    messages = [
        EmailMessage(
            subject=notification_subject(
                f"每日通知汇总（{(today - dt.timedelta(days=1)).isoformat()}，共 {len(items)} 条）"
            ),
            body=_digest_body(items),
            to=[items[0].user.email],
        )
        for items in by_user.values()
    ]
    try:
        get_connection().send_messages(messages)
    except Exception:
        Notification.objects.filter(pk__in=[row.pk for row in rows], emailed_at=claim).update(emailed_at=None)
        logger.exception("每日通知汇总邮件发送失败")
        raise
    return {"users": len(messages), "notifications": len(rows)}


def _digest_body(items: list[Notification]) -> str:
    lines = [f"{items[0].user}，您好！以下是昨天的 {len(items)} 条通知：", ""]
    for n, row in enumerate(items, 1):
        with translation.override(settings.LANGUAGE_CODE):
            event = str(row.get_event_display())
        lines.append(f"{n}. 【{event}】{row.title}")
        if row.body:
            lines.append(f"   {row.body}")
        if row.url:
            lines.append(f"   {absolute_url(row.url)}")
    lines += ["", _email_footer()]
    return "\n".join(lines)


def notify_due(*, today: dt.date | None = None, days: int = 3) -> dict[str, int]:
    """Daily: tell the people involved about open problems due within `days` days (due_soon) and
    past their due date (overdue); likewise the agent and the requester of open agency requests
    about their service deadline. Keys carry the due date, so each is sent once per problem (or
    request) and due date: a daily run repeats nothing, and a new due date (a leader's instruction,
    say) starts afresh. The answer counts the problems and requests notified about."""
    today = today or timezone.localdate()
    if days < 0:
        raise ValidationError(f"提前天数应为 0 或正整数，而不是 {days}")
    horizon = today + dt.timedelta(days=days)
    counts = {"due_soon": 0, "overdue": 0, "agency_due_soon": 0, "agency_overdue": 0}
    problems = (
        Problem.objects.filter(status__is_closed=False, due_date__lte=horizon)
        .select_related("project", "owner_unit")
        .order_by("due_date", "id")
    )
    with transaction.atomic():
        for problem in problems:
            url = problem.get_absolute_url()
            people = problem_people(problem)
            if problem.due_date < today:
                late = (today - problem.due_date).days
                notify(
                    event=NotificationEvent.OVERDUE,
                    users=people,
                    key=f"overdue:problem:{problem.pk}:{problem.due_date.isoformat()}",
                    title=f"问题“{problem.title}”已逾期 {late} 天",
                    body=f"项目：{problem.project}；推进主体：{problem.owner_unit}；"
                    f"办结时限：{problem.due_date.isoformat()}。请尽快办理并反馈。",
                    url=url,
                )
                counts["overdue"] += 1
            else:
                left = (problem.due_date - today).days
                notify(
                    event=NotificationEvent.DUE_SOON,
                    users=people,
                    key=f"due_soon:problem:{problem.pk}:{problem.due_date.isoformat()}",
                    title=f"问题“{problem.title}”将于 {problem.due_date.isoformat()} 到期"
                    + ("（今天到期）" if left == 0 else f"（还剩 {left} 天）"),
                    body=f"项目：{problem.project}；推进主体：{problem.owner_unit}。",
                    url=url,
                )
                counts["due_soon"] += 1
        requests = (
            AgencyRequest.objects.filter(service_due__lte=horizon)
            .exclude(status__in=[AgencyStatus.DONE, AgencyStatus.CANCELLED])
            .select_related("project", "approval__kind", "agent", "requested_by")
            .order_by("service_due", "id")
        )
        for request in requests:
            people = [request.agent, request.requested_by]
            what = f"代办申请“{request}”"
            if request.service_due < today:
                late = (today - request.service_due).days
                notify(
                    event=NotificationEvent.OVERDUE,
                    users=people,
                    key=f"overdue:agency:{request.pk}:{request.service_due.isoformat()}",
                    title=f"{what}已超过服务时限 {late} 天",
                    body=f"服务时限：{request.service_due.isoformat()}；状态：{request.get_status_display()}。",
                    url=_agency_url(request.pk),
                )
                counts["agency_overdue"] += 1
            else:
                left = (request.service_due - today).days
                notify(
                    event=NotificationEvent.DUE_SOON,
                    users=people,
                    key=f"due_soon:agency:{request.pk}:{request.service_due.isoformat()}",
                    title=f"{what}将于 {request.service_due.isoformat()} 到服务时限"
                    + ("（今天到期）" if left == 0 else f"（还剩 {left} 天）"),
                    body=f"状态：{request.get_status_display()}。",
                    url=_agency_url(request.pk),
                )
                counts["agency_due_soon"] += 1
    return counts
