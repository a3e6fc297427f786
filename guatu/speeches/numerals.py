"""Chinese and Arabic numerals as they appear in speeches and work reports.

`parse_number` reads the number part of a quantity: "一百二十", "两千", "一千零五", "3.5万",
"1.2亿", "百亿", "千亿", "１２０" (full-width), "1,000"; `parse_range` reads "10%—15%";
`to_chinese` writes the standard reading form of a non-negative integer.

Hand-written rather than cn2an: speeches use forms cn2an's strict mode refuses (bare "百亿",
"千亿", mixed "5千万", full-width digits), and this runs once per candidate number, so it stays a
few dictionary look-ups.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = [
    "CN_DIGITS",
    "CN_NUMERAL_CHARS",
    "normalize_digits",
    "parse_int",
    "parse_number",
    "parse_range",
    "to_chinese",
]

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "两": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
# Units inside a four-digit section.
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
# Section units: they multiply everything read so far in their section.
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
CN_NUMERAL_CHARS = "".join([*CN_DIGITS, *_SMALL_UNITS, *_BIG_UNITS])

# The full-width comma stays: in running text it is punctuation, not a thousands separator.
_FULLWIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")
_ARABIC = re.compile(r"^([0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?|\.[0-9]+)([十百千万亿]*)$")
_RANGE_SEP = re.compile(r"\s*(?:—+|–|－+|-+|~|～|〜|至|到)\s*")
_UNIT_TAIL = re.compile(r"[%‰]|个百分点|百分点$")
_MULTIPLIER = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8}


def normalize_digits(text: str) -> str:
    """Full-width digits, point and percent sign to ASCII (same length, so offsets hold)."""
    return text.translate(_FULLWIDTH)


def _parse_chinese_int(text: str) -> int:
    """An integer in Chinese numerals, standard ("一千零五") or colloquial ("两千", "三万五")."""
    if not text:
        raise ValueError("空的数字")
    # Digit-by-digit form: 二〇二二, 一九九八.
    if len(text) > 1 and all(ch in CN_DIGITS for ch in text):
        return int("".join(str(CN_DIGITS[ch]) for ch in text))
    total = 0  # everything above the current 万 section, already multiplied
    section = 0  # the current section below 亿
    small = 0  # the current four-digit group
    digit: int | None = None
    last_unit = 0
    after_zero = False
    for ch in text:
        if ch in CN_DIGITS:
            value = CN_DIGITS[ch]
            if value == 0:
                after_zero = True
                digit = None
                continue
            if digit is not None:
                raise ValueError(f"数字“{text}”中有相连的数位")
            digit = value
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            small += (1 if digit is None else digit) * unit
            digit, last_unit, after_zero = None, unit, False
        elif ch in _BIG_UNITS:
            unit = _BIG_UNITS[ch]
            group = small + (digit or 0)
            if digit is not None and not after_zero and last_unit > 10:
                group = small + digit * last_unit // 10  # 三万五千 vs 三千五 read as 3500
            if unit == 10**8:
                total = (total + section + group) * unit
                if total == 0:
                    total = unit  # bare 亿
                section = 0
            else:
                section = (section + (group or (0 if section else 1))) * unit
            small, digit, last_unit, after_zero = 0, None, unit, False
        else:
            raise ValueError(f"“{text}”不是数字")
    if digit is not None:
        if not after_zero and last_unit > 10:
            # Colloquial tail: 两千五 = 2500, 三万五 = 35000.
            small += digit * last_unit // 10
        else:
            small += digit
    return total + section + small


def parse_number(text: str) -> Decimal:
    """The number part of a quantity, multipliers applied: "3.5万" → 35000, "百亿" → 10^10."""
    raw = normalize_digits(text.strip())
    if not raw:
        raise ValueError("空的数字")
    match = _ARABIC.match(raw)
    if match:
        try:
            number = Decimal(match.group(1).replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"“{text}”不是数字") from None
        for ch in match.group(2):
            number *= _MULTIPLIER[ch]
        return number
    if "点" in raw:
        head, tail = raw.split("点", 1)
        tail_digits = "".join(ch for ch in tail if ch in CN_DIGITS)
        tail_units = tail[len(tail_digits) :]
        if not tail_digits or any(ch not in _MULTIPLIER for ch in tail_units):
            raise ValueError(f"“{text}”不是数字")
        number = Decimal(
            f"{_parse_chinese_int(head) if head else 0}.{''.join(str(CN_DIGITS[c]) for c in tail_digits)}"
        )
        for ch in tail_units:
            number *= _MULTIPLIER[ch]
        return number
    return Decimal(_parse_chinese_int(raw))


def parse_int(text: str) -> int:
    number = parse_number(text)
    if number != number.to_integral_value():
        raise ValueError(f"“{text}”不是整数")
    return int(number)


def parse_range(text: str) -> tuple[Decimal, Decimal]:
    """ "10%—15%", "6-8%", "三至五" → (low, high); the unit may be written on one side or both."""
    raw = normalize_digits(text.strip())
    parts = _RANGE_SEP.split(raw, maxsplit=1)
    if len(parts) != 2:
        raise ValueError(f"“{text}”不是数值区间")
    low, high = (_UNIT_TAIL.sub("", part) for part in parts)
    return parse_number(low), parse_number(high)


_CN_DIGIT_WRITE = "零一二三四五六七八九"


def _section(n: int) -> str:
    """0 < n < 10000 in the standard form, without a leading-十 shortening."""
    out = []
    zero = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // unit % 10
        if d == 0:
            if out:
                zero = True
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_CN_DIGIT_WRITE[d] + name)
    return "".join(out)


def _write(n: int) -> str:
    if n < 10**4:
        return _section(n)
    for unit, name in ((10**8, "亿"), (10**4, "万")):
        if n >= unit:
            head, rest = divmod(n, unit)
            text = _write(head) + name
            if rest:
                # A gap of a whole digit position is read as 零: 一万零五, 一亿零五百万.
                text += ("零" if rest < unit // 10 else "") + _write(rest)
            return text
    raise AssertionError(n)


def to_chinese(n: int) -> str:
    """Standard reading form: 10 → 十, 105 → 一百零五, 100000000 → 一亿."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"只能写非负整数（现为 {n!r}）")
    if n == 0:
        return "零"
    text = _write(n)
    # 一十 is shortened only at the very start: 十五, 十万, but 一百一十.
    return text[1:] if text.startswith("一十") else text
