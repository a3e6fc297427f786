import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from guatu.targets.periods import MONTH, QUARTER, YEAR, Period


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "label"),
    [
        ("2026", YEAR, dt.date(2026, 1, 1), dt.date(2026, 12, 31), "2026年"),
        ("2026Q1", QUARTER, dt.date(2026, 1, 1), dt.date(2026, 3, 31), "2026年第一季度"),
        ("2026q2", QUARTER, dt.date(2026, 4, 1), dt.date(2026, 6, 30), "2026年第二季度"),
        ("2024-02", MONTH, dt.date(2024, 2, 1), dt.date(2024, 2, 29), "2024年2月"),
        (" 2026-3 ", MONTH, dt.date(2026, 3, 1), dt.date(2026, 3, 31), "2026年3月"),
    ],
)
def test_parse(text, kind, start, end, label):
    period = Period.parse(text)
    assert (period.kind, period.start, period.end, period.label) == (kind, start, end, label)


def test_str_round_trips():
    for text in ("2026", "2026Q4", "2026-11"):
        assert str(Period.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026Q5", "季度须为 1–4"),
        ("2026Q0", "季度须为 1–4"),
        ("2026-13", "月份须为 1–12"),
        ("1999", "年份超出范围"),
        ("明年", "无法识别"),
        ("", "无法识别"),
    ],
)
def test_parse_errors_in_chinese(text, words):
    with pytest.raises(ValidationError) as err:
        Period.parse(text)
    assert words in err.value.messages[0]
    assert text.strip() in err.value.messages[0]


def test_previous_crosses_years():
    assert str(Period.parse("2026Q1").previous()) == "2025Q4"
    assert str(Period.parse("2026Q3").previous()) == "2026Q2"
    assert str(Period.parse("2026-01").previous()) == "2025-12"
    assert str(Period.parse("2026").previous()) == "2025"


def test_overlaps():
    year, q2 = Period.parse("2026"), Period.parse("2026Q2")
    assert year.overlaps(q2) and q2.overlaps(year)
    assert Period.parse("2026-06").overlaps(q2)
    assert not Period.parse("2026-07").overlaps(q2)
    assert not Period.parse("2025").overlaps(q2)


def test_containing_and_elapsed():
    day = dt.date(2026, 5, 15)
    assert str(Period.containing(day, QUARTER)) == "2026Q2"
    assert str(Period.containing(day, MONTH)) == "2026-05"
    q2 = Period.parse("2026Q2")
    assert q2.elapsed(dt.date(2026, 3, 31)) == 0.0
    assert q2.elapsed(dt.date(2026, 7, 1)) == 1.0
    # 1 April to 15 May inclusive is 45 of the quarter's 91 days.
    assert q2.elapsed(day) == pytest.approx(45 / 91)
