"""Periods of targets and rankings: a year (2026), a quarter (2026Q1) or a month (2026-03)."""

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

MONTH, QUARTER, YEAR = "month", "quarter", "year"
_PATTERNS = (
    (re.compile(r"^(\d{4})$"), YEAR),
    (re.compile(r"^(\d{4})[Qq](\d{1,2})$"), QUARTER),  # bounded: int() refuses thousands of digits
    (re.compile(r"^(\d{4})-?(\d{1,2})$"), MONTH),
    (re.compile(r"^(\d{4})[Mm](\d{1,2})$"), MONTH),
)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    kind: str  # year, quarter, month
    index: int = 0  # the quarter (1–4) or month (1–12); 0 for a year

    @classmethod
    def parse(cls, text: str) -> "Period":
        value = (text or "").strip()
        for pattern, kind in _PATTERNS:
            if m := pattern.match(value):
                year = int(m.group(1))
                index = int(m.group(2)) if kind != YEAR else 0
                if kind == QUARTER and not 1 <= index <= 4:
                    raise ValidationError(_("期间“%(p)s”有误：季度须为 1–4") % {"p": value}, code="period")
                if kind == MONTH and not 1 <= index <= 12:
                    raise ValidationError(_("期间“%(p)s”有误：月份须为 1–12") % {"p": value}, code="period")
                if not 2000 <= year <= 2100:
                    raise ValidationError(_("期间“%(p)s”有误：年份超出范围") % {"p": value}, code="period")
                return cls(year, kind, index)
        raise ValidationError(
            _("期间“%(p)s”无法识别：请写成 2026、2026Q1 或 2026-03") % {"p": value}, code="period"
        )

    @classmethod
    def containing(cls, day: dt.date, kind: str) -> "Period":
        if kind == YEAR:
            return cls(day.year, YEAR)
        if kind == QUARTER:
            return cls(day.year, QUARTER, (day.month - 1) // 3 + 1)
        return cls(day.year, MONTH, day.month)

    def __str__(self) -> str:
        if self.kind == YEAR:
            return f"{self.year}"
        if self.kind == QUARTER:
            return f"{self.year}Q{self.index}"
        return f"{self.year}-{self.index:02d}"

    @property
    def label(self) -> str:
        if self.kind == YEAR:
            return _("%(y)s年") % {"y": self.year}
        if self.kind == QUARTER:
            chinese = translation.get_language() or ""
            q = "一二三四"[self.index - 1] if chinese.startswith("zh") else self.index
            return _("%(y)s年第%(q)s季度") % {"y": self.year, "q": q}
        return _("%(y)s年%(m)s月") % {"y": self.year, "m": self.index}

    @property
    def first_month(self) -> int:
        return {YEAR: 1, QUARTER: 3 * self.index - 2, MONTH: self.index}[self.kind]

    @property
    def last_month(self) -> int:
        return {YEAR: 12, QUARTER: 3 * self.index, MONTH: self.index}[self.kind]

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.first_month, 1)

    @property
    def end(self) -> dt.date:
        return dt.date(self.year, self.last_month, calendar.monthrange(self.year, self.last_month)[1])

    @property
    def quarter(self) -> int | None:
        return self.index if self.kind == QUARTER else None

    def previous(self) -> "Period":
        if self.kind == YEAR:
            return Period(self.year - 1, YEAR)
        size = 4 if self.kind == QUARTER else 12
        if self.index == 1:
            return Period(self.year - 1, self.kind, size)
        return Period(self.year, self.kind, self.index - 1)

    def overlaps(self, other: "Period") -> bool:
        return self.start <= other.end and other.start <= self.end

    def elapsed(self, today: dt.date) -> float:
        """Share of the period gone by on `today` (0 before it, 1 after it), counted in days."""
        if today < self.start:
            return 0.0
        if today >= self.end:
            return 1.0
        return ((today - self.start).days + 1) / ((self.end - self.start).days + 1)
