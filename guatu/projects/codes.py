"""National investment project code (GB/T 40058-2021): YYYY-RRRRRR-DD-TT-NNNNNN.

The check digit's algorithm is not public, so only the format and the region are checked.
"""

import re

from django.utils.translation import gettext as _

CODE_RE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")


def code_errors(code: str) -> list[str]:
    from guatu.org.selectors import region_codes

    match = CODE_RE.match(code.strip())
    if not match:
        return [
            _("项目代码“%(code)s”格式不对，应为 YYYY-RRRRRR-DD-TT-NNNNNN，如 2026-211302-44-01-000123")
            % {"code": code}
        ]
    year, region = int(match.group(1)), match.group(2)
    if not 2000 <= year <= 2099:
        return [_("项目代码“%(code)s”的年份 %(year)s 不对") % {"code": code, "year": match.group(1)}]
    if region not in region_codes():
        return [_("项目代码“%(code)s”的地区码 %(region)s 不属于本市") % {"code": code, "region": region}]
    return []


def code_region(code: str) -> str | None:
    match = CODE_RE.match(code.strip())
    return match.group(2) if match else None
