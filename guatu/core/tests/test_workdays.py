import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guatu.core.workdays import (
    add_workdays,
    is_workday,
    subtract_workdays,
    workday_on_or_after,
    workday_on_or_before,
    workdays_between,
)

D = dt.date


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 1, 4), True),  # a Sunday made a working day for 元旦
        (D(2026, 1, 2), False),  # the Friday off it pays for
        (D(2026, 1, 5), True),
        (D(2026, 2, 14), True),  # Saturday worked before 春节
        (D(2026, 2, 16), False),
        (D(2026, 2, 23), False),
        (D(2026, 2, 28), True),  # Saturday worked after 春节
        (D(2026, 9, 20), True),  # Sunday worked before 国庆
        (D(2026, 9, 25), False),  # 中秋
        (D(2026, 10, 10), True),  # Saturday worked after 国庆
        (D(2026, 10, 11), False),  # an ordinary Sunday
        (D(2026, 10, 8), True),
        (D(2025, 1, 26), True),  # 2025: Sunday worked before 春节
    ],
)
def test_statutory_days_off_and_working_weekends(day, expected):
    assert is_workday(day) is expected


def test_national_day_week_is_off():
    assert [is_workday(D(2026, 10, n)) for n in range(1, 8)] == [False] * 7


def test_twenty_workdays_back_across_national_day():
    # Counted by hand back from Fri 16 Oct: 15, 14, 13, 12, Sat 10 (worked), 9, 8 — 1..7 Oct off —
    # 30, 29, 28 Sep — 25 Sep 中秋 off — 24, 23, 22, 21, Sun 20 (worked), 18, 17, 16, 15, 14.
    assert subtract_workdays(D(2026, 10, 16), 20) == D(2026, 9, 14)
    assert workdays_between(D(2026, 9, 14), D(2026, 10, 16)) == 20


def test_counting_across_spring_festival():
    # Back from Mon 2 Mar: Sat 28 Feb (worked), 27, 26, 25, 24 Feb — 16–23 Feb off —
    # Sat 14 Feb (worked), 13, 12, 11, 10, 9, 6, 5, 4, 3, 2 Feb, 30, 29, 28, 27 Jan.
    assert subtract_workdays(D(2026, 3, 2), 20) == D(2026, 1, 27)
    assert add_workdays(D(2026, 1, 27), 20) == D(2026, 3, 2)


def test_zero_and_negative_counts():
    day = D(2026, 10, 3)
    assert add_workdays(day, 0) == day == subtract_workdays(day, 0)
    assert add_workdays(D(2026, 10, 9), -1) == D(2026, 10, 8)
    assert subtract_workdays(D(2026, 9, 30), -1) == D(2026, 10, 8)
    assert workdays_between(D(2026, 10, 16), D(2026, 9, 14)) == -20


def test_snapping_to_a_workday():
    assert workday_on_or_before(D(2026, 10, 5)) == D(2026, 9, 30)
    assert workday_on_or_after(D(2026, 10, 5)) == D(2026, 10, 8)
    assert workday_on_or_before(D(2026, 10, 8)) == D(2026, 10, 8)


def test_a_day_off_paid_back_in_the_previous_year_is_seen():
    # 2025's calendar names Sun 4 Jan 2026 only through the 2026 entry; reading a single year
    # must still find working weekends that the neighbouring year's entries name.
    assert is_workday(D(2026, 1, 4))
    assert not is_workday(D(2026, 1, 3))


@given(
    day=st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31)),
    n=st.integers(min_value=0, max_value=120),
)
def test_subtracting_undoes_adding_from_a_workday(day, n):
    day = workday_on_or_after(day)
    later = add_workdays(day, n)
    assert subtract_workdays(later, n) == day
    assert workdays_between(day, later) == n
    assert n == 0 or is_workday(later)
