"""China's working-day calendar, from the `holidays` package (no hand-written holiday table).

A day is a working day when it is Monday to Friday and not a statutory day off, or when it is a
weekend day that the State Council made a working day (调休上班). The package lists each day off
granted in exchange as "Day off (substituted from MM/DD/YYYY)"; the date in that name is the weekend
day that becomes a working day.

Counting follows the 行政许可法 convention: a time limit of n working days that starts on day d
ends on the n-th working day after d (d itself is not counted).
"""

import datetime as dt
import re
from functools import cache

import holidays

_SUBSTITUTED = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")
_ONE_DAY = dt.timedelta(days=1)


@cache
def _year(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(days off on weekdays, weekend days made working days) falling in `year`.

    Neighbouring years are read too: a day off early in January may be paid back by a weekend in
    the December before, and the other way round.
    """
    calendar = holidays.China(years=[year - 1, year, year + 1], language="en_US")
    days_off: set[dt.date] = set()
    working_weekends: set[dt.date] = set()
    for day, name in calendar.items():
        for match in _SUBSTITUTED.finditer(name):
            month, mday, y = (int(g) for g in match.groups())
            substituted = dt.date(y, month, mday)
            if substituted.year == year:
                working_weekends.add(substituted)
        if day.year == year:
            days_off.add(day)
    return frozenset(days_off), frozenset(working_weekends)


def is_workday(day: dt.date) -> bool:
    days_off, working_weekends = _year(day.year)
    if day in working_weekends:
        return True
    if day in days_off:
        return False
    return day.weekday() < 5


def add_workdays(day: dt.date, n: int) -> dt.date:
    """The n-th working day after `day` (n < 0 counts backwards; n == 0 gives `day`)."""
    if n < 0:
        return subtract_workdays(day, -n)
    while n:
        day += _ONE_DAY
        if is_workday(day):
            n -= 1
    return day


def subtract_workdays(day: dt.date, n: int) -> dt.date:
    """The n-th working day before `day` (n == 0 gives `day`)."""
    if n < 0:
        return add_workdays(day, -n)
    while n:
        day -= _ONE_DAY
        if is_workday(day):
            n -= 1
    return day


def workday_on_or_before(day: dt.date) -> dt.date:
    while not is_workday(day):
        day -= _ONE_DAY
    return day


def workday_on_or_after(day: dt.date) -> dt.date:
    while not is_workday(day):
        day += _ONE_DAY
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: so workdays_between(d, add_workdays(d, n)) == n.

    Negative when end comes before start.
    """
    if end < start:
        return -workdays_between(end, start)
    count, day = 0, start
    while day < end:
        day += _ONE_DAY
        count += is_workday(day)
    return count
