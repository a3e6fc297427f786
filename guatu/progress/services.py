"""Writes of the progress app. Each is one transaction, checks scope through restrict(), checks the
row's version where people edit it, writes one change record per row it touches, and asks for the
project's light to be recomputed after commit."""

# --- monthly reports

import datetime as dt
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import ExifTags, Image

from guatu.accounts.models import Role
from guatu.core import uploads
from guatu.core.changelog import record_change, snapshot
from guatu.core.exceptions import Conflict
from guatu.core.permissions import restrict
from guatu.progress import rules as warning_rules
from guatu.progress.models import (
    MonthlyReport,
    ProjectWarning,
    ReportPhoto,
    ReportStatus,
    WarningLevel,
    WarningRule,
)
from guatu.progress.tasks import recompute_warnings_task, schedule_recompute
from guatu.projects.models import ApprovalKind, ApprovalStatus, Milestone, Project, ProjectApproval, Stage
from guatu.projects.selectors import build_schedule
from guatu.targets.rollups import refresh_projects

REPORT_FIELDS = ("investment_done", "percent_complete", "physical_progress", "jobs_on_site")
STALE_MESSAGE = _("该月报已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")

# The workflow, by ReportStatus code: action → (statuses it may start from, status it leads to).
# The statuses themselves (names, colours, order) are rows.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "submit": (("draft", "returned"), "submitted"),
    "approve": (("submitted",), "approved"),
    "return": (("submitted",), "returned"),
    "reopen": (("approved",), "draft"),
}
# Statuses whose figures may be changed: those a report can be submitted from.
EDITABLE = TRANSITIONS["submit"][0]
# Statuses that count as reported for the due date (a returned report must be sent again).
REPORTED = ("submitted", "approved")
# The restrict() action each workflow step needs.
WORKFLOW_ACTIONS = {"submit": "change", "approve": "approve", "return": "approve", "reopen": "approve"}
ACTION_LABELS = {
    "submit": _("报送"),
    "approve": _("审核通过"),
    "return": _("退回"),
    "reopen": _("重新打开"),
}


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def status_row(code: str) -> ReportStatus:
    return ReportStatus.objects.get(code=code)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def shift_month(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_text(month: dt.date) -> str:
    return _("%(year)s年%(month)s月") % {"year": month.year, "month": month.month}


def percent_text(value: Decimal) -> str:
    """62 → "62", 62.50 → "62.5"."""
    text = f"{Decimal(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def earliest_month(project: Project) -> dt.date:
    """The first month a report of this project can be for: the year its code was given (the code
    starts with it) or the month of its planned start, whichever is earlier."""
    candidates = []
    if project.code[:4].isdigit():
        candidates.append(dt.date(int(project.code[:4]), 1, 1))
    if project.planned_start:
        candidates.append(month_start(project.planned_start))
    return min(candidates) if candidates else dt.date(2000, 1, 1)


def _decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError({field: _("不是有效的数字：%(value)s") % {"value": value}}) from None
    if not result.is_finite():
        raise ValidationError({field: _("不是有效的数字：%(value)s") % {"value": value}})
    return result


def _apply(report: MonthlyReport, data: Mapping[str, Any]) -> None:
    for field, value in data.items():
        if field not in REPORT_FIELDS:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
        if field in {"investment_done", "percent_complete"}:
            value = _decimal(value, field)
        elif field == "physical_progress":
            value = (value or "").strip()
        elif field == "jobs_on_site":
            value = 0 if value in (None, "") else value
        setattr(report, field, value)


def report_errors(report: MonthlyReport, project: Project, today: dt.date) -> dict[str, list[str]]:
    """Why this report's month and figures cannot be saved, field by field; empty when they can.

    Reads the project's reports of the months before and after: 形象进度 is cumulative, so it may
    not fall below an earlier month's or rise above a later month's."""
    errors: dict[str, list[str]] = {}
    month = report.month
    if month.day != 1:
        errors.setdefault("month", []).append(_("月份须为该月第一天，收到 %(day)s") % {"day": month})
        return errors
    current = month_start(today)
    if month > current:
        errors.setdefault("month", []).append(
            _("月份（%(month)s）不能晚于本月（%(current)s）")
            % {"month": month_text(month), "current": month_text(current)}
        )
    first = earliest_month(project)
    if month < first:
        errors.setdefault("month", []).append(
            _("月份（%(month)s）早于项目的赋码年份和计划开工月份（%(first)s）")
            % {"month": month_text(month), "first": month_text(first)}
        )
    if report.investment_done is None:
        errors.setdefault("investment_done", []).append(_("请填写本月完成投资"))
    elif report.investment_done < 0:
        errors.setdefault("investment_done", []).append(_("本月完成投资不能为负数"))
    percent = report.percent_complete
    if percent is None:
        errors.setdefault("percent_complete", []).append(_("请填写形象进度"))
    elif not Decimal(0) <= percent <= Decimal(100):
        errors.setdefault("percent_complete", []).append(
            _("形象进度须在 0 到 100 之间，收到 %(value)s") % {"value": percent_text(percent)}
        )
    else:
        errors.update(_neighbour_errors(report, percent))
    return errors


def _neighbour_errors(report: MonthlyReport, percent: Decimal) -> dict[str, list[str]]:
    others = MonthlyReport.objects.filter(project_id=report.project_id).exclude(pk=report.pk)
    before = (
        others.filter(month__lt=report.month).order_by("-month").values("month", "percent_complete").first()
    )
    after = (
        others.filter(month__gt=report.month).order_by("month").values("month", "percent_complete").first()
    )
    if before and percent < before["percent_complete"]:
        return {
            "percent_complete": [
                percent_floor_message(before["month"], report.month, before["percent_complete"])
            ]
        }
    if after and percent > after["percent_complete"]:
        return {
            "percent_complete": [
                _("形象进度不能高于%(month)s月报的 %(value)s%%（形象进度是累计的，不能倒退）")
                % {"month": month_text(after["month"]), "value": percent_text(after["percent_complete"])}
            ]
        }
    return {}


def percent_floor_message(earlier: dt.date, month: dt.date, value: Decimal) -> str:
    if earlier == shift_month(month, -1):
        return _("形象进度不能低于上月的 %(value)s%%（形象进度是累计的，不能倒退）") % {
            "value": percent_text(value)
        }
    return _("形象进度不能低于%(month)s月报的 %(value)s%%（形象进度是累计的，不能倒退）") % {
        "month": month_text(earlier),
        "value": percent_text(value),
    }


def _locked_project(actor, project_id: int) -> Project:
    # Every figure write of a project's reports holds its project row, so two writers cannot both
    # pass the month-to-month 形象进度 check against a state the other is changing.
    qs = Project.objects.all() if actor is None else restrict(Project.objects, actor, "view")
    try:
        return qs.select_for_update(of=("self",)).get(pk=project_id)
    except Project.DoesNotExist:
        raise Project.DoesNotExist(_("项目不存在或无权操作")) from None


def _locked(actor, report_id: int, action: str) -> MonthlyReport:
    qs = MonthlyReport.objects.all() if actor is None else restrict(MonthlyReport.objects, actor, action)
    try:
        return qs.select_for_update(of=("self",)).select_related("status", "project").get(pk=report_id)
    except MonthlyReport.DoesNotExist:
        raise MonthlyReport.DoesNotExist(_("月报不存在或无权操作")) from None


def _check_version(report: MonthlyReport, version: int | None) -> None:
    if version is not None and report.version != version:
        raise Conflict(STALE_MESSAGE % {"current": report.version, "yours": version})


def _not_editable_message(report: MonthlyReport) -> str:
    if report.status.code == "approved":
        return _("%(report)s已审核，须由审核人重新打开后才能修改") % {"report": report}
    return _("%(report)s当前为“%(status)s”，不能修改；退回后才能修改") % {
        "report": report,
        "status": report.status.name,
    }


def _ensure_can_add(actor, report: MonthlyReport) -> None:
    # A new row can only be tested against the policy once written; refusing here, inside the
    # transaction, rolls it back.
    if actor is not None and not restrict(MonthlyReport.objects.filter(pk=report.pk), actor, "add").exists():
        raise PermissionDenied(_("无权为“%(project)s”填报月报") % {"project": report.project})


@transaction.atomic
def report_save(
    *, actor, project_id: int, month: dt.date, data: Mapping[str, Any], version: int | None = None
) -> MonthlyReport:
    """Create a project's report for a month as a draft, or change a draft or returned one.

    `version` is the version the writer read; None means the writer believes there is no report
    for that month yet, so finding one is a conflict rather than an overwrite."""
    if not isinstance(month, dt.date) or isinstance(month, dt.datetime):
        raise ValidationError({"month": _("月份须为日期")})
    project = _locked_project(actor, project_id)
    reports = (
        MonthlyReport.objects.all() if actor is None else restrict(MonthlyReport.objects, actor, "change")
    )
    report = (
        reports.select_for_update(of=("self",))
        .select_related("status")
        .filter(project=project, month=month)
        .first()
    )
    if report is None and MonthlyReport.objects.filter(project=project, month=month).exists():
        raise PermissionDenied(_("无权修改“%(project)s”的月报") % {"project": project})
    user = _actor_user(actor)
    if report is None:
        report = MonthlyReport(project=project, month=month, status=status_row("draft"), created_by=user)
        before = None
    else:
        if version is None:
            raise Conflict(
                _("%(report)s已由他人填写（版本 %(current)s），请刷新后在该月报上修改")
                % {"report": report, "current": report.version}
            )
        _check_version(report, version)
        if report.status.code not in EDITABLE:
            raise Conflict(_not_editable_message(report))
        before = snapshot(report)
        report.version += 1
    _apply(report, data)
    report.region_id = project.region_id  # a report belongs where its project is
    report.updated_by = user
    if errors := report_errors(report, project, timezone.localdate()):
        raise ValidationError(errors)
    # (project, month) was looked up under the project's lock above: no need to query it again.
    report.full_clean(validate_constraints=False)
    report.save()
    if before is None:
        _ensure_can_add(actor, report)
    record_change(actor=actor, obj=report, action="create" if before is None else "update", before=before)
    schedule_recompute(project_id=project.pk)
    return report


def _transition(*, actor, report_id: int, action: str, version: int | None) -> tuple[MonthlyReport, dict]:
    """Lock the report, check version and that the step is allowed from its status; returns the report
    (status moved on, version bumped) and its snapshot before."""
    report = _locked(actor, report_id, WORKFLOW_ACTIONS[action])
    _check_version(report, version)
    sources, target = TRANSITIONS[action]
    if report.status.code not in sources:
        allowed = "、".join(s.name for s in ReportStatus.objects.filter(code__in=sources))
        raise Conflict(
            _("%(report)s当前为“%(status)s”，不能%(action)s（只有“%(allowed)s”的月报可以%(action)s）")
            % {
                "report": report,
                "status": report.status.name,
                "action": ACTION_LABELS[action],
                "allowed": allowed,
            }
        )
    before = snapshot(report)
    report.status = status_row(target)
    report.version += 1
    report.updated_by = _actor_user(actor)
    return report, before


def _finish(actor, report: MonthlyReport, before: dict) -> MonthlyReport:
    report.full_clean(validate_constraints=False)
    report.save()
    record_change(actor=actor, obj=report, action="update", before=before)
    schedule_recompute(project_id=report.project_id)
    return report


@transaction.atomic
def report_submit(*, actor, report_id: int, version: int | None = None) -> MonthlyReport:
    report, before = _transition(actor=actor, report_id=report_id, action="submit", version=version)
    # Lateness is judged by the first submission: a report sent on time and returned for a
    # correction was not late.
    if report.submitted_at is None:
        report.submitted_at = timezone.now()
    report.return_reason = ""
    return _finish(actor, report, before)


@transaction.atomic
def report_approve(*, actor, report_id: int, version: int | None = None) -> MonthlyReport:
    report, before = _transition(actor=actor, report_id=report_id, action="approve", version=version)
    report.approved_at = timezone.now()
    report.approver = _actor_user(actor)
    return _finish(actor, report, before)


@transaction.atomic
def report_return(*, actor, report_id: int, reason: str, version: int | None = None) -> MonthlyReport:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"return_reason": _("退回月报须填写理由")})
    report, before = _transition(actor=actor, report_id=report_id, action="return", version=version)
    report.return_reason = reason
    return _finish(actor, report, before)


@transaction.atomic
def report_reopen(*, actor, report_id: int, reason: str = "", version: int | None = None) -> MonthlyReport:
    """Put an approved report back to draft so it can be corrected. Only its approver, or the
    project office, may do so."""
    report, before = _transition(actor=actor, report_id=report_id, action="reopen", version=version)
    user = _actor_user(actor)
    if actor is not None and not (user and (user.role == Role.CITY_ADMIN or user.pk == report.approver_id)):
        raise PermissionDenied(
            _("只有审核该月报的人（%(approver)s）或项目办可以重新打开")
            % {"approver": report.approver or _("未知")}
        )
    report.approver = None
    report.approved_at = None
    report.return_reason = (reason or "").strip()
    return _finish(actor, report, before)


REPORT_WORKFLOW = {
    "submit": report_submit,
    "approve": report_approve,
    "return": report_return,
    "reopen": report_reopen,
}


# --- site photos

# A photo larger than this on its long side is scaled down: enough for a screen or a bulletin.
PHOTO_MAX_SIDE = 2560
PHOTO_MAX_PIXELS = 60_000_000  # refuse decompression bombs before decoding


def _ratio(value) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _gps_degrees(values, ref: str) -> Decimal | None:
    try:
        degrees, minutes, seconds = (_ratio(v) for v in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if ref in {"S", "W"}:
        result = -result
    return Decimal(f"{result:.6f}")


def photo_metadata(image: Image.Image) -> dict[str, Any]:
    """The EXIF facts kept as data: where (GPS latitude, longitude) and when (DateTimeOriginal)."""
    exif = image.getexif()
    found: dict[str, Any] = {"latitude": None, "longitude": None, "taken_at": None}
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat, lat_ref = gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef)
    lon, lon_ref = gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)
    if lat and lon:
        latitude = _gps_degrees(lat, str(lat_ref or "N").strip())
        longitude = _gps_degrees(lon, str(lon_ref or "E").strip())
        if latitude is not None and longitude is not None and abs(latitude) <= 90 and abs(longitude) <= 180:
            found["latitude"], found["longitude"] = latitude, longitude
    details = exif.get_ifd(ExifTags.IFD.Exif)
    taken = details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if isinstance(taken, str):
        try:
            naive = dt.datetime.strptime(taken.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        except ValueError:
            naive = None
        if naive is not None:
            # EXIF times are the camera's local time; the offset tag says which, when present.
            offset = details.get(ExifTags.Base.OffsetTimeOriginal)
            try:
                zone = dt.datetime.strptime(offset.strip("\x00 "), "%z").tzinfo if offset else None
            except ValueError:
                zone = None
            found["taken_at"] = (
                naive.replace(tzinfo=zone)
                if zone
                else timezone.make_aware(naive, timezone.get_current_timezone())
            )
    return found


def photo_clean(upload) -> tuple[bytes, str, dict[str, Any]]:
    """Check an upload is a JPEG or PNG by its content (not its name) and within the size limit;
    return the picture re-encoded without any metadata, its extension, and the EXIF facts kept."""
    name = uploads.display_name(upload, _("照片"))
    words = {"name": name}
    try:
        data = uploads.read_limited(upload, limit=settings.PHOTO_MAX_BYTES, name=name, what=_("照片"))
        image = uploads.open_image(
            data,
            refused=_("照片“%(name)s”不是图片：只接受 JPEG 或 PNG 格式的照片（按文件内容识别，不看扩展名）")
            % words,
            too_large=_("照片“%(name)s”像素过多，请缩小后再上传") % words,
            max_pixels=PHOTO_MAX_PIXELS,
        )
    except uploads.UploadRefused as err:
        raise ValidationError({"image": err.message}) from None
    facts = photo_metadata(image)
    content, extension = uploads.reencode(image, max_side=PHOTO_MAX_SIDE)
    return content, extension, facts


@transaction.atomic
def photo_add(*, actor, report_id: int, upload, caption: str = "") -> ReportPhoto:
    """Attach a site photo to a report that can still be changed. The report's version does not
    move: a photo is its own row and clashes with nobody's figures."""
    report = _locked(actor, report_id, "change")
    if report.status.code not in EDITABLE:
        raise Conflict(_not_editable_message(report))
    content, extension, facts = photo_clean(upload)
    user = _actor_user(actor)
    photo = ReportPhoto(
        report=report, caption=(caption or "").strip(), created_by=user, updated_by=user, **facts
    )
    # The stored name is random: the uploader's file name may say more than the picture should.
    photo.image.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    try:
        photo.full_clean()
        photo.save()
        record_change(actor=actor, obj=photo, action="create")
    except Exception:
        photo.image.delete(save=False)  # the row is rolled back; do not leave its file behind
        raise
    # Photos are no input of any warning rule, so no recompute is asked for.
    return photo


# --- warnings
# A light is derived data: computed from reports, approvals and milestones, never typed by anyone.
# So no change record is written per light: the facts it comes from are logged where they change,
# and the daily recompute would otherwise add a record per project per day that says nothing new.

WARNING_BATCH = 500  # projects per query batch: a few queries each, whatever the batch holds
# A milestone counts as reached once the project's stage is at or past this stage, even when
# nobody typed its actual date; 开工 is the start rule's, not the deadline rule's.
MILESTONE_STAGE = {"main_structure": "completed", "completed": "completed", "in_production": "in_production"}


def warnings_recompute(
    *, project_ids: Iterable[int] | None = None, today: dt.date | None = None
) -> dict[str, int]:
    """Recompute the lights of these projects (all projects when None) as of `today`, in bulk: a few
    queries per batch of projects, none per project. Returns the count of projects at each level."""
    today = today or timezone.localdate()
    levels = {level.code: level for level in WarningLevel.objects.all()}
    order = {code: level.order for code, level in levels.items()}
    rules = [warning_rules.Rule(r.code, r.params) for r in WarningRule.objects.filter(is_active=True)]
    stages = {stage.code: stage for stage in Stage.objects.all()}
    edges = list(
        ApprovalKind.depends_on.through.objects.values_list("from_approvalkind_id", "to_approvalkind_id")
    )
    ids = Project.objects.order_by("pk").values_list("pk", flat=True)
    ids = list(ids if project_ids is None else ids.filter(pk__in=list(project_ids)))
    counts = Counter(dict.fromkeys(levels, 0))
    # Reasons are stored text: written in the site's language, whoever triggered the recompute.
    with translation.override(settings.LANGUAGE_CODE):
        for start in range(0, len(ids), WARNING_BATCH):
            batch = ids[start : start + WARNING_BATCH]
            with transaction.atomic():
                counts.update(_warnings_batch(batch, today, levels, order, rules, stages, edges))
    return dict(counts)


def _warnings_batch(batch, today, levels, order, rules, stages, edges) -> Counter:
    projects = Project.objects.filter(pk__in=batch).select_related("stage")
    reported: dict[int, set[dt.date]] = defaultdict(set)
    latest_percent = {}
    reports = (
        MonthlyReport.objects.filter(project_id__in=batch, status__code__in=REPORTED)
        .order_by("project_id", "month")
        .values_list("project_id", "month", "percent_complete")
    )
    for project_id, month, percent in reports:
        reported[project_id].add(month)
        latest_percent[project_id] = percent  # months ascend: the last one wins
    approvals = defaultdict(list)
    for approval in (
        ProjectApproval.objects.filter(project_id__in=batch)
        .exclude(status=ApprovalStatus.NOT_NEEDED)
        .select_related("kind")
        .order_by("kind__order", "kind__code")
    ):
        approvals[approval.project_id].append(approval)
    milestones = defaultdict(dict)
    for milestone in Milestone.objects.filter(project_id__in=batch):
        milestones[milestone.project_id][milestone.kind] = milestone
    previous = {
        w.project_id: w for w in ProjectWarning.objects.filter(project_id__in=batch).select_related("level")
    }

    now = timezone.now()
    created, updated, counts = [], [], Counter()
    for project in projects:
        old = previous.get(project.pk)
        schedule = build_schedule(
            project=project,
            approvals=approvals[project.pk],
            edges=edges,
            milestones=milestones[project.pk],
            today=today,
        )
        facts = warning_rules.ProjectFacts(
            phase=_phase(project.stage, stages),
            planned_start=project.planned_start,
            planned_completion=project.planned_completion,
            started_on=_started_on(project, milestones[project.pk]),
            latest_percent=latest_percent.get(project.pk),
            reported_months=frozenset(reported[project.pk]),
            late_items=tuple(_late_items(project, schedule, stages)),
            red_cleared_on=old.red_cleared_on if old else None,
        )
        outcome = warning_rules.evaluate(facts, rules, order, today, old.level.code if old else None)
        row = old or ProjectWarning(project=project)
        row.region_id = project.region_id
        row.level = levels[outcome.level]
        row.reasons = outcome.reasons
        fired = sorted({r["rule"] for r in outcome.reasons})
        row.rules = f",{','.join(fired)}," if fired else ""
        row.red_cleared_on = outcome.red_cleared_on
        row.computed_at, row.computed_on = now, today
        (updated if old else created).append(row)
        counts[outcome.level] += 1
    fields = ["region", "level", "reasons", "rules", "red_cleared_on", "computed_at", "computed_on"]
    # An upsert: a recompute running beside this one (the daily job, a worker) may have just added
    # the same project's row.
    ProjectWarning.objects.bulk_create(
        created, update_conflicts=True, unique_fields=["project"], update_fields=fields
    )
    ProjectWarning.objects.bulk_update(updated, fields, batch_size=WARNING_BATCH)
    # Bulk writes send no signals: the lights' rollups are brought up to date here.
    refresh_projects([row.project_id for row in (*created, *updated)])
    return counts


def _phase(stage: Stage, stages: dict[str, Stage]) -> str:
    if stage.is_closed:
        return warning_rules.CLOSED
    if stage.code == "planning":
        return warning_rules.PLANNING
    if stage.order < stages["started"].order:
        return warning_rules.PREPARING
    if stage.order < stages["completed"].order:
        return warning_rules.BUILDING
    return warning_rules.FINISHED


def _started_on(project: Project, milestones: dict[str, Milestone]) -> dt.date | None:
    """The day reports are due from: the recorded start, else the planned one."""
    started = milestones.get("started")
    return started.actual_date if started and started.actual_date else project.planned_start


def _late_items(project: Project, schedule, stages: dict[str, Stage]):
    for item in schedule:
        if not item.late or item.done:
            continue
        if item.kind == "milestone":
            reached = MILESTONE_STAGE.get(item.code)
            if reached is None or project.stage.order >= stages[reached].order:
                continue
        yield warning_rules.LateItem(name=item.name, kind=item.kind, late_days=item.late_days)


def warning_rule_fingerprint(rule: WarningRule) -> str:
    """Rules carry no version column: a digest of the row stands in for one, so two people editing
    the same rule cannot overwrite each other unseen."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(snapshot(rule), sort_keys=True, default=str).encode()).hexdigest()[:16]


@transaction.atomic
def warning_rule_update(
    *,
    actor,
    rule_id: int,
    fingerprint: str,
    is_active: bool,
    params: Mapping[str, Any],
    description: str | None = None,
) -> WarningRule:
    """The project office switches a rule on or off and sets its thresholds; every light is then
    recomputed after commit. Unlike a light, a rule is typed by a person: its change is logged."""
    try:
        rule = restrict(WarningRule.objects, actor, "change").select_for_update().get(pk=rule_id)
    except WarningRule.DoesNotExist:
        raise WarningRule.DoesNotExist(_("预警规则不存在或无权修改")) from None
    if warning_rule_fingerprint(rule) != fingerprint:
        raise Conflict(_("预警规则“%(rule)s”已被他人修改，请刷新后重试") % {"rule": rule.name})
    if errors := warning_rules.param_errors(rule.code, params):
        raise ValidationError(errors)
    before = snapshot(rule)
    # JSON numbers: whole numbers as int, the rest as float (the evaluators read them as Decimal).
    rule.params = {
        name: int(value) if Decimal(str(value)) == int(value) else float(value)
        for name, value in params.items()
    }
    rule.is_active = is_active
    if description is not None:
        rule.description = description.strip()
    rule.full_clean()
    rule.save()
    record_change(actor=actor, obj=rule, action="update", before=before)
    transaction.on_commit(lambda: recompute_warnings_task.enqueue(project_ids=None))
    return rule
