"""Property tests of every parser of typed or imported text: writing a value the way people write it
and reading it back gives the value; and any text at all gives a value or the parser's documented
error, never a crash."""

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.datetime import to_excel

from guatu.core import xlsx
from guatu.progress.filters import parse_month
from guatu.projects.codes import code_errors, code_region
from guatu.speeches import extraction, numerals
from guatu.speeches import text as speech_text
from guatu.targets.periods import MONTH, QUARTER, YEAR, Period

# Hostile text: any Unicode (digits of other scripts, full-width forms, controls) and long runs.
ANY_TEXT = st.text(max_size=60) | st.text(
    alphabet="0123456789０１２３４５６７８９٣.,，-/年月日万亿点十百千零一二两Qq ", max_size=40
)
ANY_CELL = (
    ANY_TEXT | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.none() | st.booleans()
)
FAST = settings(max_examples=200, deadline=None, derandomize=True)
DB = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# ---------------------------------------------------------------- project codes


@pytest.mark.django_db
@DB
@given(
    year=st.integers(2000, 2099),
    industry=st.integers(0, 99),
    kind=st.integers(0, 99),
    serial=st.integers(0, 999_999),
    data=st.data(),
)
def test_a_well_formed_code_of_a_city_region_is_accepted_and_gives_its_region(
    world, year, industry, kind, serial, data
):
    region = data.draw(st.sampled_from(sorted(world.counties)))
    code = f"{year}-{region}-{industry:02d}-{kind:02d}-{serial:06d}"
    assert code_errors(code) == [] and code_region(code) == region
    assert xlsx.text()(f" {code} ") == code


@pytest.mark.django_db
@DB
@given(text=ANY_TEXT)
def test_any_text_as_a_code_gives_errors_that_quote_it_or_none(world, text):
    errors = code_errors(text)
    assert isinstance(errors, list) and all(isinstance(e, str) for e in errors)
    if errors:
        assert text in errors[0]
    else:
        assert code_region(text) in world.counties or code_region(text) == world.city.code


# ---------------------------------------------------------------- amounts (xlsx.number)

AMOUNTS = st.decimals(min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=2)


@FAST
@given(amount=AMOUNTS, style=st.sampled_from(["plain", "comma", "fullwidth_comma", "spaced", "quoted"]))
def test_an_amount_written_any_usual_way_reads_back(amount, style):
    written = {
        "plain": f"{amount}",
        "comma": f"{amount:,}",
        "fullwidth_comma": f"{amount:,}".replace(",", "，"),
        "spaced": f"  {amount:,} ",
        "quoted": xlsx.neutralise(f"{amount}"),  # how an export guards a leading minus
    }[style]
    assert xlsx.number(places=2)(written) == amount


@FAST
@given(amount=AMOUNTS)
def test_an_amount_as_a_number_cell_reads_back(amount):
    assert xlsx.number(places=2)(float(amount)) == amount
    if amount == amount.to_integral_value():
        assert xlsx.number(places=2)(int(amount)) == amount


@FAST
@given(value=ANY_CELL, places=st.integers(0, 6))
def test_any_cell_as_an_amount_is_a_bounded_decimal_or_a_cell_error(value, places):
    parse = xlsx.number(places=places, negative_message="不能为负数")
    try:
        result = parse(value)
    except xlsx.CellError as err:
        assert err.message
        return
    assert isinstance(result, Decimal) and result.is_finite() and result >= 0
    assert abs(result) < Decimal(10) ** (14 - places)


# ---------------------------------------------------------------- Chinese numerals (speeches)


@FAST
@given(n=st.integers(0, 10**16))
def test_a_number_written_in_chinese_reads_back(n):
    assert numerals.parse_int(numerals.to_chinese(n)) == n


@FAST
@given(n=st.integers(0, 10**12), unit=st.sampled_from(["", "十", "百", "千", "万", "亿"]))
def test_an_arabic_amount_with_a_multiplier_reads_back(n, unit):
    factor = {"": 1, "十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8}[unit]
    assert numerals.parse_number(f"{n:,}{unit}") == n * factor
    full_width = numerals.normalize_digits  # ASCII → ASCII; the reverse map is the one we test
    assert numerals.parse_number(str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == n
    assert full_width(str(n)) == str(n)


@FAST
@given(amount=st.decimals(min_value=0, max_value=10**6, places=2), unit=st.sampled_from(["万", "亿"]))
def test_a_decimal_amount_in_wan_or_yi_reads_back(amount, unit):
    factor = 10**4 if unit == "万" else 10**8
    assert numerals.parse_number(f"{amount}{unit}") == amount * factor


@FAST
@given(
    low=st.integers(0, 10**6), high=st.integers(0, 10**6), sep=st.sampled_from(["—", "-", "~", "至", "到"])
)
def test_a_range_reads_back(low, high, sep):
    assert numerals.parse_range(f"{low}%{sep}{high}%") == (low, high)
    assert numerals.parse_range(f"{numerals.to_chinese(low)}{sep}{numerals.to_chinese(high)}") == (low, high)


@FAST
@given(text=ANY_TEXT)
def test_any_text_as_a_number_is_a_decimal_or_a_value_error(text):
    for parse in (numerals.parse_number, numerals.parse_int, numerals.parse_range):
        with contextlib.suppress(ValueError):
            parse(text)


@FAST
@given(n=st.integers(max_value=-1) | st.booleans() | st.floats() | st.text(max_size=3))
def test_only_non_negative_integers_are_written_in_chinese(n):
    with pytest.raises(ValueError):
        numerals.to_chinese(n)


# ---------------------------------------------------------------- dates


DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))


@FAST
@given(day=DATES, style=st.sampled_from(["iso", "slash", "dot", "chinese", "spaced", "serial", "datetime"]))
def test_a_date_written_any_usual_way_reads_back(day, style):
    written = {
        "iso": day.isoformat(),
        "slash": f"{day.year}/{day.month}/{day.day}",
        "dot": f"{day.year}.{day.month:02d}.{day.day:02d}",
        "chinese": f"{day.year}年{day.month}月{day.day}日",
        "spaced": f" {day.year} 年 {day.month} 月 {day.day} 日 ",
        "serial": to_excel(day),  # a date cell that lost its format: Excel's serial number
        "datetime": dt.datetime.combine(day, dt.time()),
    }[style]
    assert xlsx.date()(written) == day


@FAST
@given(value=ANY_CELL | st.dates() | st.datetimes())
def test_any_cell_as_a_date_is_a_date_or_a_cell_error(value):
    try:
        result = xlsx.date()(value)
    except xlsx.CellError as err:
        assert "不是有效的日期" in err.message
        return
    assert isinstance(result, dt.date) and not isinstance(result, dt.datetime)


@FAST
@given(day=st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_a_speech_date_line_in_chinese_numerals_reads_back(day):
    year = "".join("〇一二三四五六七八九"[int(d)] for d in f"{day.year:04d}")
    small = {n: numerals.to_chinese(n) for n in range(1, 32)}
    for line in (
        f"（{year}年{small[day.month]}月{small[day.day]}日）",
        f"{day.year}年{day.month}月{day.day}日",
        f"({day.year}年{day.month}月{day.day}日，根据录音整理)",
    ):
        assert speech_text._parse_date_line(line) == day, line


@FAST
@given(text=ANY_TEXT)
def test_any_line_as_a_speech_date_is_a_date_or_none(text):
    result = speech_text._parse_date_line(text)
    assert result is None or isinstance(result, dt.date)


# ---------------------------------------------------------------- months and periods


@FAST
@given(
    day=st.dates(min_value=dt.date(1900, 1, 1)), style=st.sampled_from(["dash", "slash", "chinese", "first"])
)
def test_a_month_written_any_usual_way_reads_back(day, style):
    month = day.replace(day=1)
    written = {
        "dash": f"{month:%Y-%m}",
        "slash": f"{month.year}/{month.month}",
        "chinese": f"{month.year}年{month.month}月",
        "first": month.isoformat(),
    }[style]
    assert parse_month(written) == month
    assert parse_month(month) == month


@FAST
@given(value=ANY_TEXT | st.none() | st.dates())
def test_any_text_as_a_month_is_a_first_day_or_none(value):
    result = parse_month(value)
    assert result is None or (isinstance(result, dt.date) and result.day == 1)


PERIODS = st.builds(Period, st.integers(2000, 2100), st.just(YEAR), st.just(0)) | st.builds(
    lambda y, k, i: Period(y, k, i if k == MONTH else (i - 1) % 4 + 1),
    st.integers(2000, 2100),
    st.sampled_from([MONTH, QUARTER]),
    st.integers(1, 12),
)


@FAST
@given(period=PERIODS)
def test_a_period_reads_back_from_its_text(period):
    assert Period.parse(str(period)) == period
    assert Period.parse(f" {str(period).lower()} ") == period
    assert period.start <= period.end and Period.containing(period.start, period.kind) == period


@FAST
@given(text=ANY_TEXT | st.from_regex(r"\A\d{4}[Qq-]?\d{1,400}\Z"))
def test_any_text_as_a_period_is_a_period_or_a_validation_error(text):
    try:
        period = Period.parse(text)
    except ValidationError as err:
        assert err.messages and "期间" in err.messages[0]
        return
    assert 2000 <= period.year <= 2100 and period.start <= period.end


def test_a_quarter_of_thousands_of_digits_is_a_validation_error_not_a_crash():
    with pytest.raises(ValidationError):
        Period.parse("2026Q" + "1" * 5000)


# ---------------------------------------------------------------- speech extraction


@settings(max_examples=80, deadline=None, derandomize=True)
@given(text=ANY_TEXT, year=st.none() | st.integers(1900, 2100))
def test_extraction_of_any_text_gives_items_within_it(text, year):
    for item in extraction.extract(text, year=year):
        assert 0 <= item.start <= item.end <= len(text)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(amount=st.integers(1, 99_999), unit=st.sampled_from(["亿元", "万元"]), commas=st.booleans())
def test_an_investment_target_in_wan_or_yi_is_extracted_in_yuan(amount, unit, commas):
    # Multipliers belong to the number: the value is kept in the base unit, 元.
    written = f"{amount:,}" if commas else str(amount)
    text = f"今年全市固定资产投资要完成{written}{unit}。"
    factor = 10**8 if unit == "亿元" else 10**4
    values = [(item.value, item.unit) for item in extraction.extract(text, year=2026)]
    assert (amount * factor, "元") in values, values
