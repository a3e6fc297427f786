"""Speeches: services. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.accounts.models import Role, User
from guatu.core.changelog import record_change, snapshot
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.org.models import Region, Unit
from guatu.problems.models import EscalationLevel, NotificationEvent, ProblemTransition
from guatu.problems.services import (
    HANDED_OUT,
    OWNER_UNIT_KINDS,
    actor_kinds,
    climb_reference,
    next_level,
    notify,
    now_for,
    rung_watchers,
    status_row,
    take_step,
    unit_of,
    units_of,
)
from guatu.speeches import selectors
from guatu.speeches import text as speech_text
from guatu.speeches.extraction import extract
from guatu.speeches.models import (
    ExtractedItem,
    ItemKind,
    ReviewStatus,
    Speech,
    SpeechDocument,
    SupervisedTask,
    TaskNote,
)
from guatu.targets.metrics import Metric, get_metric
from guatu.targets.models import Comparator, Target
from guatu.targets.services import target_create

# --- library

PASTED_NAME = gettext_lazy("粘贴的文本")
SPEECH_FIELDS = ("title", "speaker", "position", "date")
SPEECH_STALE = gettext_lazy(
    "讲话“%(title)s”已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试"
)


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def speech_label(speech: Speech) -> str:
    """The speech's title, or what to call a fragment that has none."""
    return speech.title or _("（无标题残篇）")


def _fts_write(speech: Speech, *, old_tokens: str | None = None, add: bool = True) -> None:
    """Keep SQLite's FTS5 index in step with Speech.search_tokens. An external-content FTS5 table
    forgets a row only when told the exact tokens it indexed, hence old_tokens."""
    if connection.vendor != "sqlite":
        return  # PostgreSQL's GIN index is over the column itself
    table = selectors.FTS_TABLE
    with connection.cursor() as cursor:
        if old_tokens is not None:
            cursor.execute(
                f"INSERT INTO {table}({table}, rowid, search_tokens) VALUES ('delete', %s, %s)",
                [speech.pk, old_tokens],
            )
        if add:
            cursor.execute(
                f"INSERT INTO {table}(rowid, search_tokens) VALUES (%s, %s)",
                [speech.pk, speech.search_tokens],
            )


def speech_index_rebuild() -> None:
    """Rebuild the SQLite search index from the speeches table (after rows were written outside the
    services, e.g. by a bulk load)."""
    if connection.vendor == "sqlite":
        table = selectors.FTS_TABLE
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")


def _read(name: str, data: bytes | None, text: str | None) -> str:
    if (data is None) == (text is None):
        raise ValidationError(_("请上传一个文件或粘贴讲话文本（二者选一）"))
    try:
        if data is not None:
            return speech_text.read_text(data, name=name)
        # Pasted text goes through the same checks as a file (size, empty, control characters).
        return speech_text.read_text(text.encode("utf-8"), name=name)
    except speech_text.SpeechInputError as err:
        raise ValidationError(str(err)) from None


@transaction.atomic
def document_import(
    *, actor, name: str, data: bytes | None = None, text: str | None = None
) -> SpeechDocument:
    """Import one file (.txt or .docx, as bytes) or pasted text: the document as read, and one
    speech per part the splitter finds (a page that begins mid-speech gives a fragment first).
    The same text imported again is refused, naming the document it duplicates."""
    if actor is not None and not can(actor, "import", SpeechDocument):
        raise PermissionDenied(_("您的角色无权导入讲话"))
    name = (name or "").strip().replace("\\", "/").rsplit("/", 1)[-1] or str(PASTED_NAME)
    name = name[-200:]
    raw = _read(name, data, text)
    sha256 = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    earlier = selectors.duplicate_of(sha256)
    if earlier is not None:
        raise ValidationError(
            _("“%(name)s”与已导入的“%(earlier)s”（编号 %(pk)s，%(date)s 导入）内容相同，不再重复导入")
            % {
                "name": name,
                "earlier": earlier.name,
                "pk": earlier.pk,
                "date": f"{earlier.created_at:%Y-%m-%d}",
            }
        )
    parts = [part for part in speech_text.split_speeches(raw) if part.end > part.start]
    bodies = [(part, speech_text.body(raw, part)) for part in parts]
    bodies = [(part, body) for part, body in bodies if body.strip()]
    if not bodies:
        raise ValidationError(_("文件“%(name)s”中没有找到讲话正文（只有标题或网页杂项）") % {"name": name})
    stats = speech_text.compilation_stats(raw) or {}
    user = _actor_user(actor)
    document = SpeechDocument(
        name=name,
        raw_text=raw,
        sha256=sha256,
        compilation=(stats.get("title") or parts[0].compilation)[:200],
        page=f"{stats['page']}/{stats['pages']}" if stats.get("page") else parts[0].page,
        stated_chars=stats.get("chars"),
        stated_minutes=stats.get("minutes"),
        created_by=user,
        updated_by=user,
    )
    document.full_clean()
    document.save()
    record_change(actor=actor, obj=document, action="create")
    for part, body in bodies:
        chars = speech_text.count_chars(body)
        speech = Speech(
            document=document,
            title=part.title,
            speaker=part.speaker,
            position=part.position,
            date=part.date,
            text=body,
            start=part.start,
            end=part.end,
            is_fragment=part.is_fragment,
            chars=chars,
            reading_minutes=speech_text.reading_minutes(chars),
            search_tokens=selectors.search_tokens(part.title, body),
            created_by=user,
            updated_by=user,
        )
        speech.full_clean()
        speech.save()
        _fts_write(speech)
        record_change(actor=actor, obj=speech, action="create")
    return document


def _clean_speech_data(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for field, value in data.items():
        if field not in SPEECH_FIELDS:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
        cleaned[field] = value.strip() if isinstance(value, str) else value
    return cleaned


@transaction.atomic
def speech_update(*, actor, speech_id: int, version: int, data: Mapping[str, Any]) -> Speech:
    """Correct what the splitter read: title, speaker, position, date. A stale version is refused
    (Conflict → HTTP 409); an edit that changes nothing writes nothing."""
    qs = Speech.objects.all() if actor is None else restrict(Speech.objects, actor, "change")
    try:
        speech = qs.select_for_update().get(pk=speech_id)
    except Speech.DoesNotExist:
        raise Speech.DoesNotExist(_("讲话（编号 %(pk)s）不存在或无权修改") % {"pk": speech_id}) from None
    if speech.version != version:
        raise Conflict(
            SPEECH_STALE % {"title": speech_label(speech), "current": speech.version, "yours": version}
        )
    changes = _clean_speech_data(data)
    if all(getattr(speech, field) == value for field, value in changes.items()):
        return speech
    before = snapshot(speech)
    old_tokens = speech.search_tokens
    for field, value in changes.items():
        setattr(speech, field, value)
    if speech.title != before["title"]:
        speech.search_tokens = selectors.search_tokens(speech.title, speech.text)
    speech.version += 1
    speech.updated_by = _actor_user(actor)
    speech.full_clean()
    speech.save()
    if speech.search_tokens != old_tokens:
        _fts_write(speech, old_tokens=old_tokens)
    record_change(actor=actor, obj=speech, action="update", before=before)
    return speech


@transaction.atomic
def document_delete(*, actor, document_id: int) -> None:
    """Delete an imported document with its speeches (and what was read out of them)."""
    qs = SpeechDocument.objects.all() if actor is None else restrict(SpeechDocument.objects, actor, "delete")
    try:
        document = qs.select_for_update().get(pk=document_id)
    except SpeechDocument.DoesNotExist:
        raise SpeechDocument.DoesNotExist(
            _("讲话文件（编号 %(pk)s）不存在或无权删除") % {"pk": document_id}
        ) from None
    for speech in document.speeches.all():
        for item in speech.items.all():
            record_change(actor=actor, obj=item, action="delete", before=snapshot(item))
        before = snapshot(speech)
        _fts_write(speech, old_tokens=speech.search_tokens, add=False)
        record_change(actor=actor, obj=speech, action="delete", before=before)
    before = snapshot(document)
    record_change(actor=actor, obj=document, action="delete", before=before)
    document.delete()


# --- breakdown


# Review of what extraction read out of a speech (accept → a target or a supervised task, edit,
# reject), and the supervised tasks (督办任务). Tasks run on the problems' machinery: their status
# is a problems.ProblemStatus moved by the problems.ProblemTransition table, their rung a
# problems.EscalationLevel climbed by the same rule, and people hear of them through
# problems.services.notify.


def task_url(task: SupervisedTask) -> str:
    return reverse("speeches:task_detail", args=[task.pk])


# --- review of extracted items

ITEM_COMPARATORS = (">=", "<=", "≈", "range", "=")
ITEM_EDIT_FIELDS = ("kind", "metric", "value", "value_max", "unit", "comparator", "period", "deadline")
TARGET_ACCEPT_FIELDS = ("mode", "target_metric", "scope", "period", "comparator", "value")
TASK_ACCEPT_FIELDS = (
    "mode",
    "title",
    "owner_unit",
    "supporting_units",
    "lead_leader",
    "deadline",
    "category",
)
# Units a count metric (个) reads: the speech says 项 or 家 where the catalogue says 个.
COUNT_UNITS = frozenset({"个", "项", "家", "件", "条", "座", "所", "批", "户", "处", "宗"})
# A money metric is in 万元; extraction gives money in 元.
MONEY_FACTORS = {"元": Decimal("0.0001"), "万元": Decimal(1), "亿元": Decimal(10000)}
_FOUR_PLACES = Decimal("0.0001")
_PERIOD_CODE = re.compile(r"^\d{4}(?:Q[1-4]|-\d{2})?$")


def _decimal(value: Any, field: str, label: str) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(
            {field: _("%(label)s“%(value)s”不是数字") % {"label": label, "value": value}}
        ) from None
    if not number.is_finite():
        raise ValidationError({field: _("%(label)s“%(value)s”不是数字") % {"label": label, "value": value}})
    return number.quantize(_FOUR_PLACES)


def _date(value: Any, field: str, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(
            {
                field: _("%(label)s“%(value)s”不是日期，请写成 2026-06-30 这样")
                % {"label": label, "value": value}
            }
        ) from None


def _extracted_deadline(value: str | None) -> dt.date | None:
    # Without the speech's year extraction gives a period code ("4月") instead of a date.
    try:
        return _date(value, "deadline", "")
    except ValidationError:
        return None


def _locked_speech(actor, speech_id: int) -> Speech:
    qs = Speech.objects.all() if actor is None else restrict(Speech.objects, actor, "change")
    try:
        return qs.select_for_update(of=("self",)).get(pk=speech_id)
    except (Speech.DoesNotExist, ValueError, TypeError):
        raise Speech.DoesNotExist(_("讲话不存在或无权操作")) from None


def _locked_item(actor, item_id: int) -> ExtractedItem:
    qs = ExtractedItem.objects.all() if actor is None else restrict(ExtractedItem.objects, actor, "change")
    try:
        return qs.select_for_update(of=("self",)).select_related("speech").get(pk=item_id)
    except (ExtractedItem.DoesNotExist, ValueError, TypeError):
        raise ExtractedItem.DoesNotExist(_("提取条目不存在或无权审核")) from None


def _check_item(item: ExtractedItem, version: int | None, doing: str) -> None:
    if version is None or item.version != version:
        raise Conflict(
            _("条目“%(item)s”已被他人修改（当前版本 %(current)s，您看到的是版本 %(yours)s），请刷新后重试")
            % {"item": item, "current": item.version, "yours": version if version is not None else "—"}
        )
    if item.status != ReviewStatus.PROPOSED:
        raise Conflict(
            _("条目“%(item)s”已%(status)s，不能再%(doing)s")
            % {"item": item, "status": item.get_status_display(), "doing": doing}
        )


@transaction.atomic
def speech_extract(*, actor, speech_id: int) -> list[ExtractedItem]:
    """Read the speech's quantities and dated tasks afresh: the items still waiting for review are
    replaced; reviewed ones stay, and what they cover is not proposed again."""
    speech = _locked_speech(actor, speech_id)
    found = extract(speech.text, year=speech.date.year if speech.date else None)
    stale = list(speech.items.filter(status=ReviewStatus.PROPOSED))
    for item in stale:
        record_change(actor=actor, obj=item, action="delete", before=snapshot(item))
    ExtractedItem.objects.filter(pk__in=[item.pk for item in stale]).delete()
    reviewed = set(speech.items.values_list("kind", "start", "end"))
    user = _actor_user(actor)
    created = []
    for one in found:
        if (one.kind, one.start, one.end) in reviewed or one.kind not in ItemKind.values:
            continue
        item = ExtractedItem(
            speech=speech,
            kind=one.kind,
            metric=(one.metric or "")[:100],
            value=_decimal(one.value, "value", _("数值")),
            value_max=_decimal(one.value_max, "value_max", _("上限")),
            unit=(one.unit or "")[:20],
            comparator=(one.comparator or "")[:8],
            period=(one.period or "")[:20],
            deadline=_extracted_deadline(one.deadline),
            sentence=one.sentence,
            start=one.start,
            end=one.end,
            created_by=user,
            updated_by=user,
        )
        item.save()
        record_change(actor=actor, obj=item, action="create")
        created.append(item)
    before = snapshot(speech)
    speech.extracted_at = timezone.now()
    speech.updated_by = user
    speech.save(update_fields=["extracted_at", "updated_by", "updated_at"])
    record_change(actor=actor, obj=speech, action="update", before=before)
    return created


@transaction.atomic
def item_edit(*, actor, item_id: int, version: int, data: Mapping[str, Any]) -> ExtractedItem:
    """Correct what extraction proposed (kind, metric, value, unit, comparator, period, deadline)
    before it is accepted."""
    item = _locked_item(actor, item_id)
    _check_item(item, version, _("修改"))
    for field in data:
        if field not in ITEM_EDIT_FIELDS:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
    before = snapshot(item)
    errors: dict[str, list[str]] = {}
    for field in data:
        try:
            _set_item_field(item, field, data[field])
        except ValidationError as err:
            for name, messages in err.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if (
        not errors
        and item.comparator == "range"
        and (item.value is None or item.value_max is None or item.value_max < item.value)
    ):
        errors["value_max"] = [_("区间须填写数值和不小于数值的上限")]
    if errors:
        raise ValidationError(errors)
    item.version += 1
    item.updated_by = _actor_user(actor)
    item.save()
    record_change(actor=actor, obj=item, action="update", before=before)
    return item


def _set_item_field(item: ExtractedItem, field: str, value: Any) -> None:
    if field == "kind":
        if value not in ItemKind.values:
            raise ValidationError(
                {"kind": _("类别“%(value)s”无效：须为目标、事实、资金或任务") % {"value": value}}
            )
        item.kind = value
    elif field in ("value", "value_max"):
        label = _("数值") if field == "value" else _("上限")
        setattr(item, field, _decimal(value, field, label))
    elif field == "comparator":
        value = (value or "").strip()
        if value and value not in ITEM_COMPARATORS:
            raise ValidationError(
                {"comparator": _("比较“%(value)s”无效：须为 >=、<=、≈、range 或 =") % {"value": value}}
            )
        item.comparator = value
    elif field == "deadline":
        item.deadline = _date(value, "deadline", _("完成时限"))
    else:
        limit = ExtractedItem._meta.get_field(field).max_length
        text = (value or "").strip()
        if len(text) > limit:
            label = ExtractedItem._meta.get_field(field).verbose_name
            raise ValidationError(
                {
                    field: _("%(label)s不能超过 %(limit)s 个字：“%(value)s”")
                    % {"label": label, "limit": limit, "value": text}
                }
            )
        setattr(item, field, text)


@transaction.atomic
def item_reject(*, actor, item_id: int, version: int, reason: str) -> ExtractedItem:
    item = _locked_item(actor, item_id)
    _check_item(item, version, _("驳回"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("驳回须填写理由")})
    if len(reason) > 200:
        raise ValidationError(
            {"reason": _("驳回理由不能超过 200 个字（现有 %(n)s 个）") % {"n": len(reason)}}
        )
    before = snapshot(item)
    item.status = ReviewStatus.REJECTED
    item.reject_reason = reason
    _reviewed(item, actor)
    record_change(actor=actor, obj=item, action="update", before=before)
    return item


def _reviewed(item: ExtractedItem, actor) -> None:
    item.reviewed_by = _actor_user(actor)
    item.reviewed_at = timezone.now()
    item.updated_by = _actor_user(actor)
    item.version += 1
    item.save()


@transaction.atomic
def item_accept(
    *, actor, item_id: int, version: int, data: Mapping[str, Any], today: dt.date | None = None
) -> ExtractedItem:
    """Accept an item. As a target (the default for a target item): `data` maps it to target_metric
    (a code of the metric catalogue), scope (a region code or a unit id; the city when empty),
    period (2026 / 2026Q1 / 2026-04; the item's when empty) and comparator and value (the item's,
    in the metric's unit, when empty). As a task (mode="task", the default for a task item):
    title, owner_unit, supporting_units, lead_leader, deadline, category. Either is created and
    linked in the same transaction."""
    item = _locked_item(actor, item_id)
    _check_item(item, version, _("采纳"))
    mode = data.get("mode") or ("task" if item.kind == ItemKind.TASK else "target")
    if mode not in ("target", "task"):
        raise ValidationError(
            {"mode": _("采纳方式“%(value)s”无效：须为 target（目标）或 task（督办任务）") % {"value": mode}}
        )
    allowed = TARGET_ACCEPT_FIELDS if mode == "target" else TASK_ACCEPT_FIELDS
    for field in data:
        if field not in allowed:
            raise ValidationError({field: _("不能填写的字段：%(field)s") % {"field": field}})
    before = snapshot(item)
    if mode == "target":
        item.target = _target_from_item(actor, item, data)
        item.target_metric = item.target.metric
    else:
        item.task = task_create(actor=actor, data=_task_data(item, data), today=today)
    item.status = ReviewStatus.ACCEPTED
    _reviewed(item, actor)
    record_change(actor=actor, obj=item, action="update", before=before)
    return item


def _city() -> Region | None:
    return Region.objects.filter(level=Region.Level.CITY, parent__isnull=True).order_by("code").first()


def scope_of(value: Any) -> tuple[Region | None, Unit | None]:
    """A target's scope as a form or the API gives it: a region (code, or "r:code"), a unit (id, or
    "u:id"); empty is the city."""
    if isinstance(value, Region):
        return value, None
    if isinstance(value, Unit):
        return None, value
    text = str(value).strip() if value is not None else ""
    if not text:
        city = _city()
        if city is None:
            raise ValidationError({"scope": _("请选择目标范围（地区或单位）")})
        return city, None
    kind, _sep, key = text.partition(":") if ":" in text else ("", "", text)
    if kind in ("", "r"):
        region = Region.objects.filter(code=key).first()
        if region is not None:
            return region, None
    if kind in ("", "u") and key.isdigit():
        unit = Unit.objects.filter(pk=int(key)).first()
        if unit is not None:
            return None, unit
    raise ValidationError(
        {"scope": _("范围“%(value)s”不存在：请填写地区代码（如 211300）或单位编号") % {"value": text}}
    )


def default_period(item: ExtractedItem) -> str:
    """The target period an item's period reads as, or "" when the reviewer must choose."""
    period = (item.period or "").strip()
    year = item.speech.date.year if item.speech.date else None
    if _PERIOD_CODE.match(period):
        return period
    if year is None:
        return ""
    if period == "全年":
        return str(year)
    if m := re.fullmatch(r"Q([1-4])", period):
        return f"{year}Q{m.group(1)}"
    if m := re.fullmatch(r"(\d{1,2})月", period):
        return f"{year}-{int(m.group(1)):02d}"
    return ""


def _comparator(value: str, *, given: bool) -> str:
    """A target's comparator. What the reviewer gives is taken as written; what the speech says is
    read as a goal: a bare number, "约" or a range is a floor to reach (≥), "以内" a ceiling."""
    value = (value or "").strip()
    if given:
        mapped = {"ge": "ge", ">=": "ge", "≥": "ge", "eq": "eq", "=": "eq", "le": "le", "<=": "le", "≤": "le"}
        if value not in mapped:
            raise ValidationError(
                {"comparator": _("比较方式“%(value)s”无效：须为 ≥、= 或 ≤") % {"value": value}}
            )
        return mapped[value]
    return Comparator.LE if value == "<=" else Comparator.GE


def converted_value(item: ExtractedItem, metric: Metric) -> Decimal:
    """The item's value in the metric's unit (元 → 万元 for an amount metric)."""
    if item.value is None:
        raise ValidationError({"value": _("条目没有数值，请填写目标值")})
    unit = (item.unit or "").strip()
    if metric.unit == "万元" and unit in MONEY_FACTORS:
        return (item.value * MONEY_FACTORS[unit]).quantize(Decimal("0.01"))
    if not unit or unit == metric.unit or (metric.kind == "count" and unit in COUNT_UNITS):
        return item.value
    raise ValidationError(
        {
            "value": _(
                "条目单位“%(unit)s”与指标“%(metric)s”的单位“%(metric_unit)s”不符，请填写换算后的目标值"
            )
            % {"unit": unit, "metric": metric.name, "metric_unit": metric.unit}
        }
    )


def _target_from_item(actor, item: ExtractedItem, data: Mapping[str, Any]) -> Target:
    code = (data.get("target_metric") or item.target_metric or "").strip()
    if not code:
        raise ValidationError({"target_metric": _("请选择对应指标：目标的实际值按该指标从项目数据计算")})
    try:
        metric = get_metric(code)
    except ValidationError as err:
        raise ValidationError({"target_metric": err.message_dict["metric"]}) from None
    region, unit = scope_of(data.get("scope"))
    period = str(data.get("period") or "").strip() or default_period(item)
    if not period:
        raise ValidationError(
            {
                "period": _("条目期间“%(period)s”不能直接作为目标期间，请填写（如 2026、2026Q1 或 2026-04）")
                % {"period": item.period or "—"}
            }
        )
    given = data.get("comparator") not in (None, "")
    comparator = _comparator(data.get("comparator") if given else item.comparator, given=given)
    value = _decimal(data.get("value"), "value", _("目标值"))
    if value is None:
        value = converted_value(item, metric)
    value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # a target keeps two places
    source = item.sentence if len(item.sentence) <= 300 else item.sentence[:299] + "…"
    try:
        return target_create(
            actor=actor,
            data={
                "metric": metric.code, "region": region, "unit": unit, "period": period,
                "comparator": comparator, "value": value, "source": source,
            },
        )  # fmt: skip
    except ValidationError as err:
        # The target's fields as the review form names them.
        names = {"metric": "target_metric", "region": "scope", "unit": "scope"}
        if hasattr(err, "error_dict"):
            raise ValidationError(
                {names.get(field, field): messages for field, messages in err.message_dict.items()}
            ) from None
        raise


def _task_data(item: ExtractedItem, data: Mapping[str, Any]) -> dict[str, Any]:
    title = (data.get("title") or "").strip()
    if not title:
        title = item.metric if item.kind == ItemKind.TASK and item.metric else item.sentence
        title = title if len(title) <= 300 else title[:299] + "…"
    return {
        "title": title,
        "owner_unit": data.get("owner_unit"),
        "supporting_units": data.get("supporting_units") or [],
        "lead_leader": data.get("lead_leader") or "",
        "deadline": data.get("deadline") or item.deadline,
        "category": data.get("category") or "",
        "speech": item.speech,
        "source_sentence": item.sentence,
    }


# --- supervised tasks
# Who may take a step is the flow's to decide (ProblemTransition.actors), with the kinds of actor
# the problems app knows, read for a task (problems.services.actor_kinds): the owner unit's users (and a county
# user for its own county government or zone), the governors (the project office, a county user
# for a task of its division), leaders on the 直通车 rung. A task has no raiser.

TASK_FIELDS = (
    "code", "title", "description", "category", "speech", "source_sentence", "lead_leader", "owner_unit",
    "supporting_units", "deadline", "region",
)  # fmt: skip
TASK_UPDATE_FIELDS = ("code", "title", "description", "category", "lead_leader", "owner_unit",
                      "supporting_units", "deadline")  # fmt: skip
# What only a governor may change once a task is given: whose it is and by when.
TASK_GOVERNED_FIELDS = ("owner_unit", "supporting_units", "deadline", "lead_leader")
NOTE_LABELS = {
    "assign": gettext_lazy("交办"),
    "note": gettext_lazy("进展"),
    "edit": gettext_lazy("修改"),
    "escalate": gettext_lazy("上升督办"),
}


def task_scope(user, action: str = "view") -> QuerySet[SupervisedTask]:
    """Tasks the user may `action`, each once (a supporting unit's rule joins and would repeat rows)."""
    if user is None:
        return SupervisedTask.objects.all()
    return SupervisedTask.objects.filter(pk__in=restrict(SupervisedTask.objects, user, action).values("pk"))


def _locked_task(actor, task_id: int, action: str = "view") -> SupervisedTask:
    try:
        return (
            task_scope(actor, action)
            .select_for_update(of=("self",))
            .select_related("status", "level", "owner_unit", "region")
            .get(pk=task_id)
        )
    except (SupervisedTask.DoesNotExist, ValueError, TypeError):
        raise SupervisedTask.DoesNotExist(_("督办任务不存在或无权操作")) from None


def _check_task_version(task: SupervisedTask, version: int | None) -> None:
    if version is None or task.version != version:
        raise Conflict(
            _(
                "督办任务“%(task)s”已被他人修改（当前版本 %(current)s，您看到的是版本 %(yours)s），请刷新后重试"
            )
            % {"task": task, "current": task.version, "yours": version if version is not None else "—"}
        )


def task_people(task: SupervisedTask) -> set[User]:
    """Who hears about a task: the active users of its owner and supporting units and the county
    users of its division."""
    units = [task.owner_unit_id, *task.supporting_units.values_list("pk", flat=True)]
    q = Q(unit__in=units)
    if task.region.parent_id is not None:
        q |= Q(role=Role.COUNTY, region=task.region_id)
    return set(User.objects.filter(q, is_active=True))


def _not_me(users: Iterable[User], actor) -> list[User]:
    me = getattr(_actor_user(actor), "pk", None)
    return [u for u in users if u.pk != me]


def _notify_task_assignment(actor, task: SupervisedTask) -> None:
    notify(
        event=NotificationEvent.ASSIGNMENT,
        users=_not_me(User.objects.filter(unit=task.owner_unit_id, is_active=True), actor),
        key=f"assignment:task:{task.pk}:{task.owner_unit_id}",
        title=_("督办交办：%(title)s") % {"title": task.title},
        body=_("由%(unit)s牵头，完成时限 %(deadline)s。")
        % {"unit": task.owner_unit, "deadline": task.deadline},
        url=task_url(task),
    )


def _check_task_units(owner: Unit | None, supporting: list[Unit]) -> None:
    errors: dict[str, list[str]] = {}
    if owner is None:
        errors["owner_unit"] = [_("请选择牵头单位")]
    elif owner.kind not in OWNER_UNIT_KINDS:
        errors["owner_unit"] = [_("牵头单位“%(unit)s”须为县(市)区政府、开发区或市直部门") % {"unit": owner}]
    for unit in supporting:
        if owner is not None and unit.pk == owner.pk:
            errors.setdefault("supporting_units", []).append(
                _("责任单位“%(unit)s”与牵头单位相同，请从责任单位中去掉") % {"unit": unit}
            )
    if errors:
        raise ValidationError(errors)


def _check_deadline(deadline: Any, today: dt.date) -> dt.date:
    if deadline in (None, ""):
        raise ValidationError({"deadline": _("请填写完成时限")})
    if isinstance(deadline, dt.datetime) or not isinstance(deadline, dt.date):
        deadline = _date(deadline, "deadline", _("完成时限"))
    if deadline < today:
        raise ValidationError(
            {
                "deadline": _("完成时限 %(deadline)s 早于今天（%(today)s），请填写今天或以后的日期")
                % {"deadline": deadline, "today": today}
            }
        )
    return deadline


def _note(task: SupervisedTask, action: str, actor, *, at: dt.datetime | None = None, **fields) -> TaskNote:
    note = TaskNote.objects.create(
        task=task, action=action, actor=_actor_user(actor), at=at or timezone.now(), **fields
    )
    record_change(actor=actor, obj=note, action="create")
    return note


def _text(data: Mapping[str, Any], field: str, model_field: str | None = None) -> str:
    text = (data.get(field) or "").strip()
    limit = SupervisedTask._meta.get_field(model_field or field).max_length
    if limit and len(text) > limit:
        label = SupervisedTask._meta.get_field(model_field or field).verbose_name
        raise ValidationError(
            {
                field: _("%(label)s不能超过 %(limit)s 个字（现有 %(n)s 个）")
                % {"label": label, "limit": limit, "n": len(text)}
            }
        )
    return text


@transaction.atomic
def task_create(*, actor, data: Mapping[str, Any], today: dt.date | None = None) -> SupervisedTask:
    """Give a supervised task. `data`: title, owner_unit, supporting_units (units or ids), deadline,
    lead_leader, and optionally code, description, category, speech, source_sentence, region (the
    owner unit's when not given). It is handed out (已交办) at once, on the county rung for a task
    of a county division and on the department rung for a city task."""
    today = today or timezone.localdate()
    if actor is not None and not can(actor, "add", SupervisedTask):
        raise PermissionDenied(_("您的角色无权下达督办任务：督办任务由项目办下达"))
    for field in data:
        if field not in (*TASK_FIELDS, "is_demo"):
            raise ValidationError({field: _("不能填写的字段：%(field)s") % {"field": field}})
    title = _text(data, "title")
    if not title:
        raise ValidationError({"title": _("请填写任务名称")})
    owner = unit_of(data.get("owner_unit"), "owner_unit")
    supporting = units_of(data.get("supporting_units"), "supporting_units")
    _check_task_units(owner, supporting)
    deadline = _check_deadline(data.get("deadline"), today)
    speech = data.get("speech")
    if speech is not None and not isinstance(speech, Speech):
        speech = Speech.objects.filter(pk=speech).first() if str(speech).isdigit() else None
        if speech is None:
            raise ValidationError({"speech": _("编号为 %(value)s 的讲话不存在") % {"value": data["speech"]}})
    region = data.get("region") or owner.region
    if not isinstance(region, Region):
        region = Region.objects.filter(code=str(region)).first()
        if region is None:
            raise ValidationError({"region": _("地区代码“%(value)s”不存在") % {"value": data["region"]}})
    user = _actor_user(actor)
    task = SupervisedTask(
        code=_text(data, "code"),
        title=title,
        description=(data.get("description") or "").strip(),
        category=_text(data, "category"),
        speech=speech,
        source_sentence=(data.get("source_sentence") or "").strip(),
        region=region,
        lead_leader=_text(data, "lead_leader"),
        owner_unit=owner,
        deadline=deadline,
        status=status_row("assigned"),
        level=EscalationLevel.objects.get(code="department" if region.parent_id is None else "county"),
        is_demo=bool(data.get("is_demo", False)),
        created_by=user,
        updated_by=user,
    )
    task.full_clean(exclude=["supporting_units"])
    task.save()
    task.supporting_units.set(supporting)
    record_change(actor=actor, obj=task, action="create")
    _note(task, "assign", actor, to_status=task.status)
    _notify_task_assignment(actor, task)
    return task


@transaction.atomic
def task_update(
    *, actor, task_id: int, version: int, data: Mapping[str, Any], today: dt.date | None = None
) -> SupervisedTask:
    """Change a task not closed. Whose it is and by when are the governors'; whoever may change the
    task may correct its title, description, number and category. A new owner unit signs again."""
    today = today or timezone.localdate()
    task = _locked_task(actor, task_id, "change")
    _check_task_version(task, version)
    if task.status.is_closed:
        raise Conflict(_("督办任务当前为“%(status)s”，不能修改；须先重新打开") % {"status": task.status.name})
    for field in data:
        if field not in TASK_UPDATE_FIELDS:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
    before = snapshot(task)
    old_owner, old_deadline = task.owner_unit, task.deadline
    old_supporting = set(task.supporting_units.values_list("pk", flat=True))
    owner = unit_of(data["owner_unit"], "owner_unit") if "owner_unit" in data else old_owner
    if "supporting_units" in data:
        supporting = units_of(data["supporting_units"], "supporting_units")
    else:
        # A supporting unit that becomes the owner stops supporting.
        supporting = [u for u in task.supporting_units.all() if u.pk != owner.pk]
    _check_task_units(owner, supporting)
    deadline = data.get("deadline", old_deadline)
    if deadline != old_deadline:
        deadline = _check_deadline(deadline, today)
    lead = _text(data, "lead_leader") if "lead_leader" in data else task.lead_leader
    governed = [
        field
        for field, new, old in (
            ("owner_unit", owner.pk, old_owner.pk),
            ("supporting_units", {u.pk for u in supporting}, old_supporting),
            ("deadline", deadline, old_deadline),
            ("lead_leader", lead, task.lead_leader),
        )
        if new != old
    ]
    if governed and "governor" not in actor_kinds(actor, task):
        raise PermissionDenied(
            _("“%(field)s”只能由项目办或所在县(市)区修改")
            % {"field": SupervisedTask._meta.get_field(governed[0]).verbose_name}
        )
    for field in ("code", "title", "category"):
        if field in data:
            setattr(task, field, _text(data, field))
    if "description" in data:
        task.description = (data["description"] or "").strip()
    if not task.title:
        raise ValidationError({"title": _("请填写任务名称")})
    task.lead_leader, task.deadline = lead, deadline
    task.supporting_units.set(supporting)
    from_status = task.status
    if owner.pk != old_owner.pk:
        task.owner_unit = owner
        if task.status.code in HANDED_OUT:
            task.status = status_row("assigned")
    task.version += 1
    task.updated_by = _actor_user(actor)
    task.full_clean(exclude=["supporting_units"])
    task.save()
    record_change(actor=actor, obj=task, action="update", before=before)
    after = snapshot(task)
    labels = [
        str(SupervisedTask._meta.get_field(f).verbose_name)
        for f in ("code", "title", "description", "category", "lead_leader", "owner_unit", "deadline")
        if before.get(SupervisedTask._meta.get_field(f).attname)
        != after.get(SupervisedTask._meta.get_field(f).attname)
    ]
    if set(before.get("supporting_units", [])) != set(after.get("supporting_units", [])):
        labels.append(str(SupervisedTask._meta.get_field("supporting_units").verbose_name))
    moved = task.status != from_status
    _note(
        task, "edit", actor,
        from_status=from_status if moved else None, to_status=task.status if moved else None,
        text=_("修改了：%(fields)s") % {"fields": "、".join(labels)} if labels else "",
    )  # fmt: skip
    if owner.pk != old_owner.pk:
        _notify_task_assignment(actor, task)
    return task


@transaction.atomic
def task_act(*, actor, task_id: int, action: str, version: int, comment: str = "") -> SupervisedTask:
    """One step of the flow (accept, start, resolve, verify, send_back, reopen …) as the problems'
    ProblemTransition table says: where it leads, who may take it, whether a reason is required."""
    if not ProblemTransition.objects.filter(action=action).exists():
        raise ValidationError({"action": _("未知的操作：%(action)s") % {"action": action}})
    task = _locked_task(actor, task_id)
    _check_task_version(task, version)
    before = snapshot(task)
    from_status, comment = take_step(task, actor, action, comment, noun=_("督办任务"))
    if task.status.is_closed:
        task.progress = 100
    task.save()
    record_change(actor=actor, obj=task, action="update", before=before)
    note = _note(task, action, actor, from_status=from_status, to_status=task.status, text=comment)
    if action == "assign":
        _notify_task_assignment(actor, task)
    if task.status.is_closed:
        notify(
            event=NotificationEvent.CLOSURE,
            users=_not_me(task_people(task), actor),
            key=f"closure:task:{task.pk}:{note.pk}",
            title=_("督办任务已销号：%(title)s") % {"title": task.title},
            body=comment,
            url=task_url(task),
        )
    return task


@transaction.atomic
def task_note(*, actor, task_id: int, version: int, text: str, progress: int | None = None) -> TaskNote:
    """A progress note on the timeline, with the progress in percent when given (it becomes the
    task's). Whoever may change the task writes them (its owner unit, its county, the office)."""
    task = _locked_task(actor, task_id, "change")
    _check_task_version(task, version)
    if task.status.is_closed:
        raise Conflict(_("督办任务“%(task)s”已销号，不能再填写进展") % {"task": task})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写进展说明")})
    if progress not in (None, ""):
        try:
            progress = int(str(progress).strip())
        except ValueError:
            progress = -1
        if not 0 <= progress <= 100:
            raise ValidationError({"progress": _("进度须为 0 到 100 之间的整数")})
    else:
        progress = None
    before = snapshot(task)
    if progress is not None:
        task.progress = progress
    task.version += 1
    task.updated_by = _actor_user(actor)
    task.save()
    record_change(actor=actor, obj=task, action="update", before=before)
    return _note(task, "note", actor, progress=progress, text=text)


def _escalate_task(task: SupervisedTask, *, to: EscalationLevel, comment: str, at: dt.datetime) -> None:
    before = snapshot(task)
    from_level = task.level
    task.level, task.escalated_at = to, at
    task.version += 1
    task.updated_by = None
    task.save()
    record_change(actor=None, obj=task, action="update", before=before)
    _note(task, "escalate", None, at=at, text=comment)
    notify(
        event=NotificationEvent.ESCALATION,
        users=task_people(task) | rung_watchers(to.code),
        key=f"escalation:task:{task.pk}:{to.code}",
        title=_("督办任务上升至%(level)s：%(title)s") % {"level": to.name, "title": task.title},
        body=_("由“%(from)s”上升至“%(to)s”：%(comment)s")
        % {"from": from_level.name, "to": to.name, "comment": comment},
        url=task_url(task),
    )


def escalate_overdue_tasks(*, today: dt.date | None = None) -> list[SupervisedTask]:
    """Daily: every task not closed and past its deadline is notified as overdue (once per task and
    deadline); one overdue by more than its rung's climb_after_days (from the deadline, or from
    its last escalation when later) climbs one rung, as problems do. One transaction per task;
    returns the tasks that climbed."""
    today = today or timezone.localdate()
    candidates = (
        SupervisedTask.objects.filter(status__is_closed=False, deadline__lt=today)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    climbed = []
    with translation.override(settings.LANGUAGE_CODE):  # stored notes in the site's language
        for pk in list(candidates):
            with transaction.atomic():
                task = _locked_task(None, pk)
                if task.status.is_closed or task.deadline >= today:
                    continue
                late = (today - task.deadline).days
                notify(
                    event=NotificationEvent.OVERDUE,
                    users=task_people(task),
                    key=f"overdue:task:{task.pk}:{task.deadline.isoformat()}",
                    title=_("督办任务“%(title)s”已逾期") % {"title": task.title},
                    body=_("牵头单位：%(unit)s；完成时限：%(deadline)s。请尽快办理并反馈。")
                    % {"unit": task.owner_unit, "deadline": task.deadline.isoformat()},
                    url=task_url(task),
                )
                to = next_level(task.level)
                if (
                    to is None
                    or (today - climb_reference(task, "deadline")).days <= task.level.climb_after_days
                ):
                    continue
                comment = _("逾期 %(days)s 天未办结（超过%(level)s的 %(limit)s 天），自动上升至“%(to)s”") % {
                    "days": late,
                    "level": task.level.name,
                    "limit": task.level.climb_after_days,
                    "to": to.name,
                }
                _escalate_task(task, to=to, comment=comment, at=now_for(today))
                climbed.append(task)
    return climbed
