"""The warning rules (预警规则): one pure evaluator per WarningRule code.

An evaluator takes a project's facts, its rule's params (thresholds: data in the WarningRule row,
edited by the project office) and today's date, and returns (level code, reason in plain Chinese),
or None when the rule has nothing to say (green). No evaluator reads the database: the facts are
gathered in bulk by `services.warnings_recompute`, so they are easy to test at their boundaries.

A project's light is its worst rule (WarningLevel.order). Which rules apply depends on where the
project is in its life (前期项目抓对接保开工, 在建项目抓进度保节点, 竣工项目抓配套保投用):

- 谋划 (planning): start only. Its planned start is on the year's list, so a date that passes still
  warns; its approvals are not chased yet, because a project must pass its gates before it files.
- 签约, 前期 (not started): start and deadline (approvals and milestones past their latest dates).
- 开工, 在建 (building): progress, report and deadline (milestones only: see deadline_rule).
- 竣工, 投产 (after 竣工, not closed): report and deadline (the 投产 milestone: 抓配套保投用);
  the progress rule does not apply, construction being over.
- a closed stage (达产达效): no rule; the light is green.
Recovery applies wherever any other rule does: it only looks at the light's own history.
"""

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

GREEN, YELLOW, RED = "green", "yellow", "red"

PLANNING, PREPARING, BUILDING, FINISHED, CLOSED = "planning", "preparing", "building", "finished", "closed"
APPLICABLE: dict[str, frozenset[str]] = {
    PLANNING: frozenset({"start", "recovery"}),
    PREPARING: frozenset({"start", "deadline", "recovery"}),
    BUILDING: frozenset({"progress", "report", "deadline", "recovery"}),
    FINISHED: frozenset({"report", "deadline", "recovery"}),
    CLOSED: frozenset(),
}

# Each rule's params: name → (type, default, smallest allowed value). The defaults are those the
# seeding migration writes; a key missing from a row falls back to them.
PARAMS: dict[str, dict[str, tuple[type, Any, Any]]] = {
    "start": {"red_after_months": (int, 3, 1)},
    "progress": {
        "yellow_points": (Decimal, Decimal(10), Decimal(0)),
        "red_points": (Decimal, Decimal(30), Decimal(0)),
    },
    "report": {"yellow_missing": (int, 1, 1), "red_missing": (int, 2, 1), "due_day": (int, 5, 1)},
    "deadline": {"red_after_days": (int, 30, 1)},
    "recovery": {"hold_days": (int, 30, 0)},
}
PARAM_LABELS = {
    "red_after_months": gettext_lazy("未开工转红灯的月数"),
    "yellow_points": gettext_lazy("黄灯：落后百分点"),
    "red_points": gettext_lazy("红灯：落后超过百分点"),
    "yellow_missing": gettext_lazy("黄灯：缺报月数"),
    "red_missing": gettext_lazy("红灯：缺报月数"),
    "due_day": gettext_lazy("月报截止日（次月几日）"),
    "red_after_days": gettext_lazy("超期转红灯的天数"),
    "hold_days": gettext_lazy("红灯解除后保持黄灯的天数"),
}


@dataclass(frozen=True)
class LateItem:
    """An approval or milestone of the backward schedule, not done and past its latest finish."""

    name: str
    kind: str  # "approval" or "milestone"
    late_days: int


@dataclass(frozen=True)
class ProjectFacts:
    """What the rules look at, gathered for one project on one day."""

    phase: str  # PLANNING … CLOSED, from the project's stage
    planned_start: dt.date | None = None
    planned_completion: dt.date | None = None
    started_on: dt.date | None = None  # reports are due from this day's month
    latest_percent: Decimal | None = None  # 形象进度 of the latest submitted or approved report
    reported_months: frozenset[dt.date] = frozenset()  # first days of months with such a report
    late_items: tuple[LateItem, ...] = ()
    red_cleared_on: dt.date | None = None

    @property
    def started(self) -> bool:
        return self.phase in {BUILDING, FINISHED, CLOSED}


@dataclass(frozen=True)
class Rule:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    level: str
    reasons: list[dict[str, str]]  # [{"rule", "level", "reason"}], in rule order
    red_cleared_on: dt.date | None


Result = tuple[str, str] | None

DEADLINE_ITEMS_NAMED = 3  # a reason names this many late items, then counts the rest


# ---------------------------------------------------------------- params


def param(code: str, params: Mapping[str, Any], name: str):
    """A rule's threshold as its type; a missing key gives the default."""
    kind, default, _minimum = PARAMS[code][name]
    value = params.get(name)
    if value is None or value == "":
        return default
    return kind(str(value)) if kind is Decimal else kind(value)


def param_errors(code: str, params: Mapping[str, Any]) -> dict[str, str]:
    """Why these params cannot drive the rule, by param name; empty when they can."""
    errors: dict[str, str] = {}
    spec = PARAMS.get(code, {})
    for name in sorted(set(params) - set(spec)):
        errors[name] = _("规则“%(rule)s”没有阈值 %(name)s") % {"rule": code, "name": name}
    for name, (kind, _default, minimum) in spec.items():
        label = PARAM_LABELS.get(name, name)
        try:
            value = param(code, params, name)
        except (TypeError, ValueError, ArithmeticError):
            errors[name] = _("%(label)s须为数字，收到“%(value)s”") % {
                "label": label,
                "value": params.get(name),
            }
            continue
        if kind is int and isinstance(params.get(name), float) and params[name] != int(params[name]):
            errors[name] = _("%(label)s须为整数，收到“%(value)s”") % {"label": label, "value": params[name]}
        elif value < minimum:
            errors[name] = _("%(label)s不能小于 %(min)s，收到 %(value)s") % {
                "label": label,
                "min": minimum,
                "value": value,
            }
    if (
        code == "progress"
        and not errors
        and param(code, params, "red_points") < param(code, params, "yellow_points")
    ):
        errors["red_points"] = _("红灯阈值不能小于黄灯阈值")
    if code == "report" and not errors:
        if param(code, params, "red_missing") < param(code, params, "yellow_missing"):
            errors["red_missing"] = _("红灯阈值不能小于黄灯阈值")
        if param(code, params, "due_day") > 28:
            errors["due_day"] = _("月报截止日须在每月1至28日之间")
    return errors


# ---------------------------------------------------------------- dates and numbers


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole calendar months from earlier's month to later's (March → June is 3)."""
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def report_due(month: dt.date, due_day: int) -> dt.date:
    """The last day a month's report is on time: `due_day` of the next month (at most its last day)."""
    following = add_months(month, 1)
    return following.replace(day=min(due_day, calendar.monthrange(following.year, following.month)[1]))


def plan_percent(start: dt.date | None, completion: dt.date | None, today: dt.date) -> Decimal | None:
    """序时进度: the share of the planned construction period that has elapsed, 0 to 100."""
    if start is None or completion is None:
        return None
    total = (completion - start).days
    if total <= 0:
        return Decimal(100) if today >= completion else Decimal(0)
    share = Decimal((today - start).days * 100) / Decimal(total)
    return min(max(share, Decimal(0)), Decimal(100)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def number(value: Decimal) -> str:
    """62 → "62", 62.50 → "62.5": figures as people write them."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def month_label(month: dt.date) -> str:
    return _("%(year)s年%(month)s月") % {"year": month.year, "month": month.month}


# ---------------------------------------------------------------- the evaluators


def start_rule(facts: ProjectFacts, params: Mapping[str, Any], today: dt.date) -> Result:
    """Planned to start this month or earlier and not started: yellow; red once `red_after_months`
    months have passed since the planned start's month."""
    if facts.started or facts.planned_start is None:
        return None
    months = months_between(facts.planned_start, today)
    if months < 0:
        return None
    when = month_label(facts.planned_start)
    if months >= param("start", params, "red_after_months"):
        return RED, _("计划%(when)s开工，已过%(n)s个月仍未开工") % {"when": when, "n": months}
    return YELLOW, _("计划%(when)s开工，尚未开工") % {"when": when}


def progress_rule(facts: ProjectFacts, params: Mapping[str, Any], today: dt.date) -> Result:
    """形象进度 behind 序时进度 by `yellow_points` up to `red_points`: yellow; by more: red."""
    if facts.latest_percent is None:
        return None  # no report yet: the report rule speaks
    plan = plan_percent(facts.planned_start, facts.planned_completion, today)
    if plan is None:
        return None
    actual = Decimal(facts.latest_percent)
    gap = plan - actual
    if gap > param("progress", params, "red_points"):
        level = RED
    elif gap >= param("progress", params, "yellow_points"):
        level = YELLOW
    else:
        return None
    reason = _("序时进度%(plan)s%%，形象进度%(actual)s%%，落后%(gap)s个百分点") % {
        "plan": number(plan),
        "actual": number(actual),
        "gap": number(gap),
    }
    return level, reason


def missing_months(facts: ProjectFacts, due_day: int, today: dt.date) -> list[dt.date]:
    """The months, latest first, without a submitted or approved report whose due day has passed,
    counted back from the latest such month until one was reported (or the project's start)."""
    if facts.started_on is None:
        return []
    first = month_of(facts.started_on)
    month = month_of(today)
    while report_due(month, due_day) >= today:  # the due day itself is still on time
        month = add_months(month, -1)
    missing = []
    while month >= first and month not in facts.reported_months:
        missing.append(month)
        month = add_months(month, -1)
    return missing


def report_rule(facts: ProjectFacts, params: Mapping[str, Any], today: dt.date) -> Result:
    """`yellow_missing` consecutive months without a report: yellow; `red_missing`: red."""
    due_day = param("report", params, "due_day")
    missing = missing_months(facts, due_day, today)
    n = len(missing)
    if n >= param("report", params, "red_missing"):
        level = RED
    elif n >= param("report", params, "yellow_missing"):
        level = YELLOW
    else:
        return None
    latest = missing[0]
    if n == 1:
        due = report_due(latest, due_day)
        reason = _("%(month)s月报未报送（应于%(due)s前报送）") % {
            "month": month_label(latest),
            "due": _("%(m)s月%(d)s日") % {"m": due.month, "d": due.day},
        }
    else:
        reason = _("连续%(n)s个月未报送月报（%(first)s至%(last)s）") % {
            "n": n,
            "first": month_label(missing[-1]),
            "last": month_label(latest),
        }
    return level, reason


def deadline_rule(facts: ProjectFacts, params: Mapping[str, Any], today: dt.date) -> Result:
    """Any approval or milestone past its latest finish: yellow; `red_after_days` late or more: red.

    Approvals count only until the project starts: their latest dates all fall before the planned
    start, and once work has begun they no longer hold it up (保开工); milestones count throughout
    (保节点, 保投用). The reason names the latest items, the latest first."""
    items = sorted(
        (i for i in facts.late_items if i.late_days > 0 and (i.kind == "milestone" or not facts.started)),
        key=lambda i: (-i.late_days, i.name),
    )
    if not items:
        return None
    level = RED if items[0].late_days >= param("deadline", params, "red_after_days") else YELLOW
    parts = []
    for item in items[:DEADLINE_ITEMS_NAMED]:
        template = (
            _("%(name)s超过最迟办结日期%(days)s天")
            if item.kind == "approval"
            else _("%(name)s节点超过计划日期%(days)s天")
        )
        parts.append(template % {"name": item.name, "days": item.late_days})
    if len(items) > DEADLINE_ITEMS_NAMED:
        parts.append(_("另有%(n)s项超期") % {"n": len(items) - DEADLINE_ITEMS_NAMED})
    return level, "；".join(parts)


def recovery_rule(facts: ProjectFacts, params: Mapping[str, Any], today: dt.date) -> Result:
    """A light that has left red stays yellow for `hold_days` from that day, then may turn green."""
    if facts.red_cleared_on is None:
        return None
    until = facts.red_cleared_on + dt.timedelta(days=param("recovery", params, "hold_days"))
    if today >= until:
        return None
    return YELLOW, _("红灯已追回差距，观察期内保持黄灯（观察至%(until)s）") % {"until": until.isoformat()}


Evaluator = Callable[[ProjectFacts, Mapping[str, Any], dt.date], Result]
EVALUATORS: dict[str, Evaluator] = {
    "start": start_rule,
    "progress": progress_rule,
    "report": report_rule,
    "deadline": deadline_rule,
    "recovery": recovery_rule,
}


def evaluate(
    facts: ProjectFacts,
    rules: Sequence[Rule],
    level_order: Mapping[str, int],
    today: dt.date,
    previous_level: str | None = None,
) -> Outcome:
    """Run the active rules that apply to the project; its light is the worst of them.

    `rules` are the active rules in order; `previous_level` is the light before this run. When the
    light leaves red the day is kept (`red_cleared_on`) and the recovery rule holds it yellow.
    """
    applicable = APPLICABLE[facts.phase]
    reasons: list[dict[str, str]] = []

    def run(rule: Rule, project: ProjectFacts) -> None:
        evaluator = EVALUATORS.get(rule.code)
        if evaluator is None or rule.code not in applicable:
            return
        result = evaluator(project, rule.params, today)
        if result is not None:
            reasons.append({"rule": rule.code, "level": result[0], "reason": result[1]})

    for rule in rules:
        if rule.code != "recovery":
            run(rule, facts)
    worst = _worst((r["level"] for r in reasons), level_order)
    cleared = facts.red_cleared_on
    if worst == RED:
        cleared = None
    elif previous_level == RED:
        cleared = today
    for rule in rules:
        if rule.code == "recovery":
            run(rule, replace(facts, red_cleared_on=cleared))
    order = {rule.code: i for i, rule in enumerate(rules)}
    reasons.sort(key=lambda r: order[r["rule"]])
    return Outcome(_worst((r["level"] for r in reasons), level_order), reasons, cleared)


def _worst(levels: Iterable[str], level_order: Mapping[str, int]) -> str:
    return max(levels, key=lambda code: level_order[code], default=GREEN)
