"""The warning rules at their boundary values: pure functions, no database."""

import datetime as dt
from decimal import Decimal

import pytest

from guatu.progress import rules
from guatu.progress.rules import (
    BUILDING,
    CLOSED,
    FINISHED,
    GREEN,
    PLANNING,
    PREPARING,
    RED,
    YELLOW,
    LateItem,
    ProjectFacts,
    Rule,
    evaluate,
)

D = dt.date
ORDER = {"green": 1, "yellow": 2, "red": 3}
DEFAULTS = [
    Rule("start", {"red_after_months": 3}),
    Rule("progress", {"yellow_points": 10, "red_points": 30}),
    Rule("report", {"yellow_missing": 1, "red_missing": 2, "due_day": 5}),
    Rule("deadline", {"red_after_days": 30}),
    Rule("recovery", {"hold_days": 30}),
]


def level(result):
    return result[0] if result else GREEN


# ---------------------------------------------------------------- start


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 2, 28), GREEN),  # planned for next month
        (D(2026, 3, 1), YELLOW),  # due this month, not started
        (D(2026, 3, 31), YELLOW),
        (D(2026, 5, 31), YELLOW),  # two months on
        (D(2026, 6, 1), RED),  # three months on
    ],
)
def test_start_rule_by_months_since_the_planned_start(today, expected):
    facts = ProjectFacts(phase=PREPARING, planned_start=D(2026, 3, 20))
    assert level(rules.start_rule(facts, {"red_after_months": 3}, today)) == expected


def test_start_rule_reasons_name_the_month():
    facts = ProjectFacts(phase=PREPARING, planned_start=D(2026, 3, 20))
    assert rules.start_rule(facts, {}, D(2026, 3, 2)) == (YELLOW, "计划2026年3月开工，尚未开工")
    assert rules.start_rule(facts, {}, D(2026, 7, 2)) == (RED, "计划2026年3月开工，已过4个月仍未开工")


def test_start_rule_ignores_started_projects_and_missing_dates():
    assert (
        rules.start_rule(ProjectFacts(phase=BUILDING, planned_start=D(2025, 1, 1)), {}, D(2026, 3, 1)) is None
    )
    assert rules.start_rule(ProjectFacts(phase=PREPARING), {}, D(2026, 3, 1)) is None


def test_start_rule_threshold_is_data():
    facts = ProjectFacts(phase=PREPARING, planned_start=D(2026, 3, 20))
    assert level(rules.start_rule(facts, {"red_after_months": 3}, D(2026, 5, 1))) == YELLOW
    assert level(rules.start_rule(facts, {"red_after_months": 2}, D(2026, 5, 1))) == RED


# ---------------------------------------------------------------- progress

# 100 days planned, 50 elapsed: 序时进度 is exactly 50%.
START, END, MIDDLE = D(2026, 1, 1), D(2026, 4, 11), D(2026, 2, 20)


def progress_facts(percent: str) -> ProjectFacts:
    return ProjectFacts(
        phase=BUILDING, planned_start=START, planned_completion=END, latest_percent=Decimal(percent)
    )


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        ("40.01", GREEN),  # 9.99 behind
        ("40", YELLOW),  # 10 behind
        ("20", YELLOW),  # 30 behind
        ("19.99", RED),  # 30.01 behind
        ("60", GREEN),  # ahead
    ],
)
def test_progress_rule_by_points_behind_the_time_based_plan(percent, expected):
    assert rules.plan_percent(START, END, MIDDLE) == Decimal(50)
    params = {"yellow_points": 10, "red_points": 30}
    assert level(rules.progress_rule(progress_facts(percent), params, MIDDLE)) == expected


def test_progress_reason_names_both_figures():
    start, end = D(2026, 1, 1), D(2026, 1, 1) + dt.timedelta(days=100)
    facts = ProjectFacts(
        phase=BUILDING, planned_start=start, planned_completion=end, latest_percent=Decimal(28)
    )
    result = rules.progress_rule(facts, {}, start + dt.timedelta(days=62))
    assert result == (RED, "序时进度62%，形象进度28%，落后34个百分点")


def test_plan_percent_is_capped():
    assert rules.plan_percent(START, END, D(2025, 12, 1)) == 0
    assert rules.plan_percent(START, END, D(2027, 1, 1)) == 100
    assert rules.plan_percent(None, END, MIDDLE) is None


def test_progress_thresholds_are_data():
    params = {"yellow_points": 5, "red_points": 8}
    assert level(rules.progress_rule(progress_facts("41"), params, MIDDLE)) == RED


def test_progress_rule_needs_a_report():
    facts = ProjectFacts(phase=BUILDING, planned_start=START, planned_completion=END)
    assert rules.progress_rule(facts, {}, MIDDLE) is None


# ---------------------------------------------------------------- report


JAN10 = D(2026, 1, 10)


def report_facts(*months: dt.date, started=JAN10) -> ProjectFacts:
    return ProjectFacts(phase=BUILDING, started_on=started, reported_months=frozenset(months))


def test_report_due_day_itself_is_still_on_time():
    facts = report_facts(D(2026, 1, 1), D(2026, 2, 1))  # March not yet reported
    assert rules.report_rule(facts, {"due_day": 5}, D(2026, 4, 5)) is None
    assert rules.report_rule(facts, {"due_day": 5}, D(2026, 4, 6)) == (
        YELLOW,
        "2026年3月月报未报送（应于4月5日前报送）",
    )


def test_report_one_month_missing_is_yellow_two_red():
    facts = report_facts(D(2026, 1, 1))
    assert level(rules.report_rule(facts, {}, D(2026, 3, 6))) == YELLOW  # February missing
    result = rules.report_rule(facts, {}, D(2026, 4, 6))  # February and March missing
    assert result == (RED, "连续2个月未报送月报（2026年2月至2026年3月）")


def test_report_counts_consecutive_months_back_from_the_latest():
    # January missing long ago, then reported every month since: nothing to say.
    facts = report_facts(D(2026, 2, 1), D(2026, 3, 1), D(2026, 4, 1))
    assert rules.report_rule(facts, {}, D(2026, 5, 6)) is None


def test_report_months_before_the_start_are_not_due():
    facts = report_facts(started=D(2026, 3, 15))
    assert rules.report_rule(facts, {}, D(2026, 4, 5)) is None  # March due on 5 April
    assert level(rules.report_rule(facts, {}, D(2026, 4, 6))) == YELLOW


def test_report_due_day_is_data():
    facts = report_facts(D(2026, 1, 1), D(2026, 2, 1))
    assert level(rules.report_rule(facts, {"due_day": 10}, D(2026, 4, 8))) == GREEN
    assert level(rules.report_rule(facts, {"due_day": 3}, D(2026, 4, 4))) == YELLOW
    assert level(rules.report_rule(facts, {"red_missing": 1}, D(2026, 4, 6))) == RED


def test_report_due_day_past_month_end_falls_on_the_last_day():
    assert rules.report_due(D(2026, 1, 1), 31) == D(2026, 2, 28)


# ---------------------------------------------------------------- deadline


@pytest.mark.parametrize(("days", "expected"), [(0, GREEN), (1, YELLOW), (29, YELLOW), (30, RED)])
def test_deadline_rule_by_days_late(days, expected):
    facts = ProjectFacts(phase=PREPARING, late_items=(LateItem("施工许可", "approval", days),))
    assert level(rules.deadline_rule(facts, {"red_after_days": 30}, D(2026, 3, 1))) == expected


def test_deadline_reason_names_each_item_and_the_days():
    facts = ProjectFacts(
        phase=PREPARING,
        late_items=(LateItem("施工许可", "approval", 12), LateItem("主体完工", "milestone", 40)),
    )
    assert rules.deadline_rule(facts, {}, D(2026, 3, 1)) == (
        RED,
        "主体完工节点超过计划日期40天；施工许可超过最迟办结日期12天",
    )


def test_deadline_approvals_count_only_until_the_project_starts():
    late = (LateItem("施工许可", "approval", 40), LateItem("竣工", "milestone", 5))
    assert rules.deadline_rule(ProjectFacts(phase=PREPARING, late_items=late), {}, D(2026, 3, 1))[0] == RED
    started = ProjectFacts(phase=BUILDING, late_items=late)
    assert rules.deadline_rule(started, {}, D(2026, 3, 1)) == (YELLOW, "竣工节点超过计划日期5天")


def test_deadline_reason_names_the_three_latest_and_counts_the_rest():
    late = tuple(LateItem(f"手续{i}", "approval", i) for i in range(1, 6))
    _level, reason = rules.deadline_rule(ProjectFacts(phase=PREPARING, late_items=late), {}, D(2026, 3, 1))
    assert (
        reason == "手续5超过最迟办结日期5天；手续4超过最迟办结日期4天；手续3超过最迟办结日期3天；另有2项超期"
    )


def test_deadline_threshold_is_data():
    facts = ProjectFacts(phase=PREPARING, late_items=(LateItem("施工许可", "approval", 12),))
    assert level(rules.deadline_rule(facts, {"red_after_days": 10}, D(2026, 3, 1))) == RED


# ---------------------------------------------------------------- recovery and the worst rule


def test_red_then_gap_made_up_is_yellow_then_green_after_hold_days():
    red = ProjectFacts(phase=PREPARING, late_items=(LateItem("施工许可", "approval", 45),))
    day1 = D(2026, 3, 1)
    first = evaluate(red, DEFAULTS, ORDER, day1)
    assert first.level == RED and first.red_cleared_on is None

    made_up = ProjectFacts(phase=PREPARING)  # the permit came through
    day2 = D(2026, 3, 10)
    second = evaluate(made_up, DEFAULTS, ORDER, day2, previous_level=RED)
    assert second.level == YELLOW and second.red_cleared_on == day2
    assert second.reasons == [
        {
            "rule": "recovery",
            "level": YELLOW,
            "reason": "红灯已追回差距，观察期内保持黄灯（观察至2026-04-09）",
        }
    ]

    held = ProjectFacts(phase=PREPARING, red_cleared_on=day2)
    assert evaluate(held, DEFAULTS, ORDER, day2 + dt.timedelta(days=29), YELLOW).level == YELLOW
    after = evaluate(held, DEFAULTS, ORDER, day2 + dt.timedelta(days=30), YELLOW)
    assert after.level == GREEN and after.reasons == []


def test_recovery_hold_days_are_data():
    held = ProjectFacts(phase=PREPARING, red_cleared_on=D(2026, 3, 10))
    rules_ = [*DEFAULTS[:-1], Rule("recovery", {"hold_days": 5})]
    assert evaluate(held, rules_, ORDER, D(2026, 3, 15), YELLOW).level == GREEN


def test_red_again_clears_the_recovery_date():
    facts = ProjectFacts(
        phase=PREPARING, red_cleared_on=D(2026, 3, 1), late_items=(LateItem("施工许可", "approval", 31),)
    )
    outcome = evaluate(facts, DEFAULTS, ORDER, D(2026, 3, 10), YELLOW)
    assert outcome.level == RED and outcome.red_cleared_on is None


def test_red_to_yellow_keeps_both_reasons():
    facts = ProjectFacts(phase=PREPARING, late_items=(LateItem("施工许可", "approval", 3),))
    outcome = evaluate(facts, DEFAULTS, ORDER, D(2026, 3, 10), previous_level=RED)
    assert outcome.level == YELLOW
    assert [r["rule"] for r in outcome.reasons] == ["deadline", "recovery"]


def test_worst_rule_wins_and_every_reason_is_kept():
    facts = ProjectFacts(
        phase=BUILDING,
        planned_start=START,
        planned_completion=END,
        latest_percent=Decimal(35),  # 15 behind: yellow
        started_on=START,
        reported_months=frozenset({D(2026, 1, 1)}),  # January reported; nothing else due yet
        late_items=(LateItem("主体完工", "milestone", 31),),  # red
    )
    outcome = evaluate(facts, DEFAULTS, ORDER, MIDDLE)
    assert outcome.level == RED
    assert [(r["rule"], r["level"]) for r in outcome.reasons] == [("progress", YELLOW), ("deadline", RED)]


def test_level_order_is_data():
    facts = ProjectFacts(
        phase=PREPARING, planned_start=D(2026, 3, 1), late_items=(LateItem("x", "approval", 40),)
    )
    # Were yellow ranked above red, the yellow start rule would be the light.
    outcome = evaluate(facts, DEFAULTS, {"green": 1, "yellow": 3, "red": 2}, D(2026, 3, 5))
    assert outcome.level == YELLOW


def test_inactive_rules_are_left_out_by_the_caller():
    facts = ProjectFacts(phase=PREPARING, planned_start=D(2026, 1, 1))
    assert evaluate(facts, [r for r in DEFAULTS if r.code != "start"], ORDER, D(2026, 6, 1)).level == GREEN


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        (PLANNING, ["start"]),
        (PREPARING, ["start", "deadline"]),
        (BUILDING, ["progress", "report", "deadline"]),
        (FINISHED, ["report", "deadline"]),
        (CLOSED, []),
    ],
)
def test_rules_by_phase(phase, expected):
    facts = ProjectFacts(
        phase=phase,
        planned_start=D(2025, 1, 1),
        planned_completion=D(2025, 12, 31),
        started_on=D(2025, 1, 1),
        latest_percent=Decimal(10),
        late_items=(LateItem("竣工", "milestone", 40),),
    )
    outcome = evaluate(facts, DEFAULTS, ORDER, D(2026, 3, 10))
    assert [r["rule"] for r in outcome.reasons] == expected


def test_param_errors_name_the_threshold_and_value():
    assert rules.param_errors("progress", {"yellow_points": 10, "red_points": 30}) == {}
    errors = rules.param_errors("progress", {"yellow_points": "abc", "red_points": 30})
    assert "abc" in errors["yellow_points"]
    assert (
        "红灯阈值不能小于黄灯阈值"
        in rules.param_errors("progress", {"yellow_points": 30, "red_points": 10})["red_points"]
    )
    assert "due_day" in rules.param_errors("report", {"due_day": 31})
    assert "bogus" in rules.param_errors("start", {"bogus": 1})
    assert "red_after_days" in rules.param_errors("deadline", {"red_after_days": 0})
