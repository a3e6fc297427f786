from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guatu.speeches.numerals import normalize_digits, parse_int, parse_number, parse_range, to_chinese


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一百二十", 120),
        ("两千", 2000),
        ("一千零五", 1005),
        ("十四", 14),
        ("十", 10),
        ("零", 0),
        ("一百零五", 105),
        ("一百一十", 110),
        ("十万零一十", 100010),
        ("三亿五千万", 350_000_000),
        ("一万亿", 10**12),
        ("两万亿", 2 * 10**12),
        ("百亿", 10**10),
        ("千亿", 10**11),
        ("万", 10_000),
        ("两千五", 2500),  # colloquial tail
        ("三万五", 35_000),
        ("二〇二二", 2022),  # digit by digit
        ("贰佰", 200),
        ("3.5万", 35_000),
        ("1.2亿", 120_000_000),
        ("5千万", 50_000_000),
        ("10万亿", 10**13),
        ("１２０", 120),  # full-width
        ("１２．５", Decimal("12.5")),
        ("10,000", 10_000),
        ("三点五亿", 350_000_000),
        ("0.5", Decimal("0.5")),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "五五十", "十五个", "1.2.3", "三点"])
def test_parse_number_refuses_what_is_not_a_number(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_parse_int_refuses_fractions():
    assert parse_int("一千零五") == 1005
    with pytest.raises(ValueError, match="不是整数"):
        parse_int("3.5")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10%—15%", (10, 15)),
        ("6-8%", (6, 8)),
        ("6%－8%", (6, 8)),
        ("三至五", (3, 5)),
        ("1.5~2.5亿", (Decimal("1.5"), 250_000_000)),
        ("１０％——１５％", (10, 15)),
    ],
)
def test_parse_range(text, expected):
    low, high = parse_range(text)
    assert (low, high) == (Decimal(expected[0]), Decimal(expected[1]))


def test_parse_range_needs_two_ends():
    with pytest.raises(ValueError, match="区间"):
        parse_range("15%")


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "零"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1005, "一千零五"),
        (10_000, "一万"),
        (100_000, "十万"),
        (100_010, "十万零一十"),
        (1_050_000, "一百零五万"),
        (100_000_000, "一亿"),
        (1_000_000_000, "十亿"),
        (100_005_000, "一亿零五千"),
        (10**12, "一万亿"),
    ],
)
def test_to_chinese_standard_form(n, text):
    assert to_chinese(n) == text


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_to_chinese_refuses_other_values(bad):
    with pytest.raises(ValueError, match="非负整数"):
        to_chinese(bad)


def test_normalize_digits_keeps_length():
    text = "增长１２．５％，投资１０００万元"
    assert normalize_digits(text) == "增长12.5%，投资1000万元"
    assert len(normalize_digits(text)) == len(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_every_integer_round_trips_through_its_chinese_form(n):
    assert parse_int(to_chinese(n)) == n


@given(st.integers(min_value=0, max_value=10**12))
def test_arabic_digits_parse_to_themselves(n):
    assert parse_number(str(n)) == n
    assert parse_number(f"{n:,}") == n
