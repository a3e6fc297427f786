"""restrict(): the one place that decides what a user may see and do.

Pages, API, exports, counts and dashboards all start from `restrict(queryset, user, action)`.
Actions: view, add, change, delete, export, import, approve, and grant (roles, for accounts).
"""

from collections.abc import Callable

from django.db.models import Model, Q, QuerySet

from guatu.accounts.models import BUSINESS_ROLES, Role

READ_ACTIONS = frozenset({"view", "export"})
ACTIONS = frozenset({"view", "add", "change", "delete", "export", "import", "approve", "grant"})

ALL = Q()
NONE = Q(pk__in=[])

Policy = Callable[[object, str], Q]
_POLICIES: dict[str, Policy] = {}


def policy(label: str):
    def register(func: Policy) -> Policy:
        _POLICIES[label] = func
        return func

    return register


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def restrict(queryset: QuerySet | type[Model], user, action: str = "view") -> QuerySet:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    qs = queryset.objects.all() if isinstance(queryset, type) else queryset
    if not _active(user):
        return qs.none()
    rule = _POLICIES.get(qs.model._meta.label)
    if rule is None:
        return qs.none()
    q = rule(user, action)
    return qs.filter(q) if q is not NONE else qs.none()


def can(user, action: str, model: type[Model]) -> bool:
    """May the user do `action` on some rows of this model (e.g. show the "new" button)?"""
    if not _active(user):
        return False
    rule = _POLICIES.get(model._meta.label)
    return rule is not None and rule(user, action) is not NONE


def region_q(user, prefix: str = "region") -> Q:
    # A county user sees its own division; regions are a two-level tree (city → county).
    return Q(**{f"{prefix}": user.region_id}) | Q(**{f"{prefix}__parent": user.region_id})


@policy("projects.Project")
def _project(user, action: str) -> Q:
    role = user.role
    if role == Role.CITY_ADMIN:
        return ALL
    if role == Role.LEADER:
        return ALL if action in READ_ACTIONS else NONE
    if role == Role.COUNTY:
        if not user.region_id or action == "delete":
            return NONE
        return region_q(user)
    if role == Role.DEPARTMENT:
        if not user.unit_id or action not in READ_ACTIONS:
            return NONE
        return Q(departments=user.unit_id)
    if role == Role.ENTERPRISE:
        if not user.unit_id or action not in READ_ACTIONS | {"change"}:
            return NONE
        return Q(enterprise=user.unit_id)
    if role == Role.STEWARD:
        if action not in READ_ACTIONS | {"change"}:
            return NONE
        return Q(steward=user.pk)
    return NONE


@policy("projects.StageChange")
def _stage_change(user, action: str) -> Q:
    if action not in READ_ACTIONS:
        return NONE
    return _nested(user, "project", "projects.Project")


def _nested(user, prefix: str, label: str, action: str = "view") -> Q:
    from django.apps import apps

    model = apps.get_model(label)
    q = _POLICIES[label](user, action)
    if q is NONE:
        return NONE
    if q is ALL:
        return ALL
    return Q(**{f"{prefix}__in": model.objects.filter(q).values("pk")})


def _reference(user, action: str) -> Q:
    """Regions, units and chains: every business role reads them; the project office edits them."""
    if user.role not in BUSINESS_ROLES:
        return NONE
    if action in READ_ACTIONS:
        return ALL
    return ALL if user.role == Role.CITY_ADMIN else NONE


@policy("org.Region")
@policy("org.Unit")
def _org(user, action: str) -> Q:
    # The security administrator reads regions and units to scope the roles it grants.
    if user.role == Role.SECADMIN:
        return ALL if action == "view" else NONE
    return _reference(user, action)


for _label in (
    "org.Chain",
    "projects.Stage",
    "projects.ApprovalKind",
    "progress.ReportStatus",
    "progress.WarningLevel",
    "progress.WarningRule",
    "targets.QuarterPhase",
    "targets.ScoringScheme",
    "targets.SchemeItem",
):
    policy(_label)(_reference)


def _city_level() -> Q:
    return Q(region__isnull=False, region__parent__isnull=True)


@policy("targets.Target")
@policy("targets.Pledge")
def _target(user, action: str) -> Q:
    """Targets and pledges are set by the project office. Everyone in government reads the city's;
    a county reads its own division's, a department or zone its own unit's."""
    role = user.role
    if role == Role.CITY_ADMIN:
        return ALL
    if action not in READ_ACTIONS:
        return NONE
    if role == Role.LEADER:
        return ALL
    if role == Role.COUNTY and user.region_id:
        return _city_level() | Q(region=user.region_id) | Q(unit__region=user.region_id)
    if role == Role.DEPARTMENT and user.unit_id:
        return _city_level() | Q(unit=user.unit_id)
    if role in BUSINESS_ROLES:
        return _city_level()
    return NONE


def _project_child(user, action: str, prefix: str = "project") -> Q:
    """Rows that belong to a project (approvals, milestones, reports): seeing the project lets one
    see them; changing the project lets one add and change them."""
    if action == "approve":
        # Approving a monthly report is the project office's or the county's, never the reporter's.
        if user.role == Role.CITY_ADMIN:
            return ALL
        if user.role == Role.COUNTY and user.region_id:
            return _nested(user, prefix, "projects.Project", "change")
        return NONE
    project_action = {"add": "change", "import": "change", "delete": "change"}.get(action, action)
    return _nested(user, prefix, "projects.Project", project_action)


for _label in ("projects.ProjectApproval", "projects.Milestone", "progress.MonthlyReport"):
    policy(_label)(_project_child)
policy("progress.ProjectWarning")(
    lambda user, action: _project_child(user, action) if action in READ_ACTIONS else NONE
)
policy("progress.ReportPhoto")(lambda user, action: _project_child(user, action, "report__project"))


@policy("core.ChangeRecord")
def _change_record(user, action: str) -> Q:
    if action not in READ_ACTIONS:
        return NONE  # the log is append-only for everyone
    if user.role == Role.AUDITOR:
        return ALL
    if user.role not in BUSINESS_ROLES:
        return NONE
    # Business users see the history of the projects they can see, nothing else.
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from guatu.projects.models import Project

    q = _POLICIES["projects.Project"](user, "view")
    if q is NONE:
        return NONE
    scope = Q(content_type=ContentType.objects.get_for_model(Project))
    if q is not ALL:
        # object_id is text so that it can name any model's key.
        ids = Project.objects.filter(q).annotate(pk_text=Cast("pk", CharField())).values("pk_text")
        scope &= Q(object_id__in=ids)
    return scope


@policy("core.LoginRecord")
def _login_record(user, action: str) -> Q:
    # 三员分立: the login log is the auditor's to read; nobody writes it but record_login.
    return ALL if user.role == Role.AUDITOR and action in READ_ACTIONS else NONE


@policy("core.ImportJob")
def _import_job(user, action: str) -> Q:
    if user.role not in {Role.CITY_ADMIN, Role.COUNTY}:
        return NONE
    if action == "delete":
        return NONE
    return Q(created_by=user.pk)


@policy("accounts.User")
def _user(user, action: str) -> Q:
    # 三员分立: the system administrator keeps accounts (who one is, whether one may log in) but
    # grants no role; the security administrator grants roles, never its own; accounts are
    # deactivated, never deleted, because the change log names them.
    if user.role == Role.SYSADMIN:
        return ALL if action in READ_ACTIONS | {"add", "change"} else NONE
    if user.role == Role.SECADMIN:
        if action == "view":
            return ALL
        return ~Q(pk=user.pk) if action == "grant" else NONE
    if action == "view" and user.role in BUSINESS_ROLES:
        return Q(pk=user.pk) | Q(role=Role.STEWARD)
    return NONE


@policy("accounts.SecurityPolicy")
def _security_policy(user, action: str) -> Q:
    # 三员分立: the security settings are the security administrator's alone.
    return ALL if user.role == Role.SECADMIN and action in {"view", "change"} else NONE


for _label in ("problems.ProblemStatus", "problems.ProblemTransition", "problems.EscalationLevel"):
    policy(_label)(_reference)


@policy("problems.Problem")
def _problem(user, action: str) -> Q:
    """The city sees all; a county its region's; a unit the problems it owns or supports; an
    enterprise or steward those of its projects; leaders read all and act on the 直通车 rung.
    Which step a user may take is the flow's to decide (ProblemTransition.actors)."""
    role = user.role
    if action == "delete":
        return ALL if role == Role.CITY_ADMIN else NONE
    if role == Role.CITY_ADMIN:
        return ALL
    if role == Role.LEADER:
        return ALL if action in READ_ACTIONS else Q(level__code="direct_line")
    if role == Role.COUNTY and user.region_id:
        return region_q(user)
    if role == Role.DEPARTMENT and user.unit_id:
        owned = Q(owner_unit=user.unit_id)
        return owned | Q(supporting_units=user.unit_id) if action in READ_ACTIONS else owned
    if role in {Role.ENTERPRISE, Role.STEWARD}:
        projects = _POLICIES["projects.Project"](user, "view")
        if projects is NONE or action not in READ_ACTIONS | {"add", "change"}:
            return NONE
        from guatu.projects.models import Project

        return Q(project__in=Project.objects.filter(projects).values("pk"))
    return NONE


def _problem_child(user, action: str) -> Q:
    return _nested(user, "problem", "problems.Problem", "view" if action in READ_ACTIONS else "change")


for _label in ("problems.ProblemStep", "problems.ProblemAttachment"):
    policy(_label)(_problem_child)
policy("problems.ProjectContact")(_project_child)


@policy("problems.StewardVisit")
def _visit(user, action: str) -> Q:
    # Stewards log their own visits; whoever sees the project reads them.
    if action in READ_ACTIONS:
        return _project_child(user, action)
    if user.role == Role.STEWARD:
        return Q(steward=user.pk) & _project_child(user, "change") if action != "delete" else NONE
    return _project_child(user, action) if user.role in {Role.CITY_ADMIN, Role.COUNTY} else NONE


@policy("problems.AgencyRequest")
def _agency(user, action: str) -> Q:
    # The agent assigned works on it whatever the project's region; otherwise project scope.
    scope = _project_child(user, action)
    if scope is ALL or user.role not in BUSINESS_ROLES or action not in READ_ACTIONS | {"change"}:
        return scope  # (Q() | q would narrow ALL down to q)
    return Q(agent=user.pk) if scope is NONE else scope | Q(agent=user.pk)


@policy("problems.Notification")
@policy("problems.NotificationPreference")
def _own_notifications(user, action: str) -> Q:
    # Everyone, the three administrators too, reads and marks their own messages; no one else's.
    return Q(user=user.pk) if action in READ_ACTIONS | {"change", "add"} else NONE


for _label in ("attraction.LeadStage", "attraction.ChainLink", "attraction.ChainLeader"):
    policy(_label)(_reference)


@policy("attraction.Lead")
def _lead(user, action: str) -> Q:
    """Leads are worked by the attracting unit and the county they would land in; the project office
    sees and edits all; leaders read all; enterprises and stewards have no part in attraction."""
    role = user.role
    if role == Role.CITY_ADMIN:
        return ALL
    if role == Role.LEADER:
        return ALL if action in READ_ACTIONS else NONE
    if action == "delete":
        return NONE
    if role == Role.COUNTY and user.region_id:
        return region_q(user) | Q(attracting_unit__region=user.region_id)
    if role == Role.DEPARTMENT and user.unit_id:
        return Q(attracting_unit=user.unit_id)
    return NONE


@policy("attraction.LeadStageChange")
@policy("attraction.FundsInPlace")
def _lead_child(user, action: str) -> Q:
    return _nested(user, "lead", "attraction.Lead", "view" if action in READ_ACTIONS else "change")


# --- speeches: the library, the review of what was read out of it, supervised tasks

GOVERNMENT_ROLES = frozenset({Role.CITY_ADMIN, Role.LEADER, Role.COUNTY, Role.DEPARTMENT})


@policy("speeches.SpeechDocument")
@policy("speeches.Speech")
@policy("speeches.ExtractedItem")
def _speech(user, action: str) -> Q:
    """Leaders' speeches are read across government; the project office imports them and reviews
    what was read out of them (turning it into targets and tasks)."""
    if user.role == Role.CITY_ADMIN:
        return ALL
    if user.role in GOVERNMENT_ROLES and action in READ_ACTIONS:
        return ALL
    return NONE


@policy("speeches.SupervisedTask")
def _supervised_task(user, action: str) -> Q:
    """The city sees all; a county its division's and those its units lead or share; a department
    those it leads (and acts on) or shares (reads); leaders read all."""
    role = user.role
    if role == Role.CITY_ADMIN:
        return ALL
    if action in {"delete", "add", "import"}:
        return NONE
    if role == Role.LEADER:
        return ALL if action in READ_ACTIONS else NONE
    if role == Role.COUNTY and user.region_id:
        return region_q(user) | Q(owner_unit__region=user.region_id)
    if role == Role.DEPARTMENT and user.unit_id:
        owned = Q(owner_unit=user.unit_id)
        return owned | Q(supporting_units=user.unit_id) if action in READ_ACTIONS else owned
    return NONE


@policy("speeches.TaskNote")
def _task_note(user, action: str) -> Q:
    return _nested(user, "task", "speeches.SupervisedTask", "view" if action in READ_ACTIONS else "change")
