"""A small Excel engine any model can reuse: a column spec, a bounded reader (python-calamine) that
matches headers by text and parses every cell into a value or a RowError, and a writer (openpyxl)
with a styled header, widths, drop-down lists, a 说明 sheet and formula neutralising."""

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation
from python_calamine import CalamineError, CalamineWorkbook

from guatu.core import uploads
from guatu.core.uploads import INFLATE_RATIO

Source = str | os.PathLike | IO[bytes]
Parser = Callable[[Any], Any]

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Text starting with these is run as a formula by Excel and friends (CSV/formula injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class CellError(ValueError):
    """Raised by a parser: the message says, in Chinese, what is wrong with the cell."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    """One problem with the file: a row (1-based, as Excel shows it) and column, or the whole file."""

    row: int | None
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(_("第%(row)s行") % {"row": self.row})
        if self.column:
            where.append(_("“%(column)s”列") % {"column": self.column})
        shown = _("（值：“%(value)s”）") % {"value": self.value} if self.value != "" else ""
        prefix = "，".join(where)
        return f"{prefix}：{self.message}{shown}" if prefix else f"{self.message}{shown}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class Column:
    header: str  # matched after normalize_header(); the template shows required ones with "*"
    field: str
    required: bool = False
    parse: Parser | None = None  # raw non-blank cell -> value; raises CellError. None: text
    width: int = 14
    help: str = ""
    choices: Callable[[], Sequence[str]] | None = None  # drop-down list in the template
    number_format: str | None = None

    @property
    def title(self) -> str:
        return f"{self.header}*" if self.required else self.header


@dataclass
class Row:
    number: int
    values: dict[str, Any]  # field -> parsed value, only for non-blank cells that parsed
    raw: dict[str, Any]  # field -> cell as read
    errors: list[RowError] = field(default_factory=list)

    def error(self, column: Column, message: str) -> None:
        self.errors.append(RowError(self.number, column.header, display(self.raw.get(column.field)), message))


@dataclass
class Sheet:
    columns: list[Column]  # the spec's columns present in the file
    rows: list[Row]
    errors: list[RowError]  # file and header problems

    def all_errors(self) -> list[RowError]:
        errors = self.errors + [e for row in self.rows for e in row.errors]
        order = {c.header: i for i, c in enumerate(self.columns)}
        return sorted(errors, key=lambda e: (e.row or 0, order.get(e.column, len(order))))


# --- values ---------------------------------------------------------------------------------


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).strip()


def unquote(value: str) -> str:
    """Undo neutralise(): a leading quote that guards a formula character is not part of the text."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def normalize_header(value: Any) -> str:
    text = re.sub(r"\s+", "", display(value)).replace("（", "(").replace("）", ")")
    return text.strip("*＊")


# --- parsers ----------------------------------------------------------------------------------


def text(max_length: int | None = None) -> Parser:
    def parse(value: Any) -> str:
        result = display(value) if not isinstance(value, str) else unquote(value.strip())
        if max_length and len(result) > max_length:
            raise CellError(_("不能超过 %(n)s 个字") % {"n": max_length})
        return result

    return parse


def number(*, places: int, max_digits: int = 14, negative_message: str | None = None) -> Parser:
    """A decimal; negative_message set means negatives are refused with that message."""
    quantum = Decimal(1).scaleb(-places)

    def parse(value: Any) -> Decimal:
        if isinstance(value, (bool, dt.date, dt.time, dt.timedelta)):
            raise CellError(_("不是有效的数字"))
        raw = value if isinstance(value, (int, float)) else re.sub(r"[,，\s]", "", unquote(str(value)))
        try:
            result = Decimal(str(raw))
        except InvalidOperation:
            raise CellError(_("不是有效的数字")) from None
        if not result.is_finite():
            raise CellError(_("不是有效的数字"))
        if negative_message and result < 0:
            raise CellError(negative_message)
        if abs(result) >= Decimal(10) ** (max_digits - places):
            raise CellError(_("数值过大"))
        return result.quantize(quantum, rounding=ROUND_HALF_UP)

    return parse


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
# Excel serial numbers of 2000-01-01 and 2099-12-31: a date cell that lost its date format.
_SERIAL_RANGE = (36526, 73415)


def date() -> Parser:
    def parse(value: Any) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
                return from_excel(value).date()
        elif isinstance(value, str) and (match := _DATE_RE.match(value.strip())):
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                pass
        raise CellError(_("不是有效的日期，请填写如 2026-03-01、2026/3/1 或 2026年3月1日"))

    return parse


def choice(options: Mapping[str, Any], *, what: str, shown: Sequence[str] | None = None) -> Parser:
    """Look the cell's text up in options (keys as written: names, short names, codes)."""
    names = list(shown if shown is not None else options)

    def parse(value: Any) -> Any:
        key = text()(value)
        if key in options:
            return options[key]
        listed = "、".join(names[:20]) + ("等" if len(names) > 20 else "")
        raise CellError(_("未知%(what)s，可选：%(names)s") % {"what": what, "names": listed or _("无")})

    return parse


# --- reading ----------------------------------------------------------------------------------


def _file_error(message: str) -> list[RowError]:
    return [RowError(None, "", "", message)]


def check_file(source: Source, *, max_bytes: int, name: str | None = None) -> list[RowError]:
    """Refuse what is not a modest .xlsx before any parser sees it (the shared upload checks:
    size, content sniffing, a bounded look inside the zip)."""
    is_path = isinstance(source, (str, os.PathLike))
    if name is None:
        name = uploads.display_name(source if is_path else getattr(source, "name", "")) or _("上传的文件")
    size = uploads.source_size(source)
    try:
        uploads.check_size(size, limit=max_bytes, name=name, advice=_("，请拆分后分批导入"))
    except uploads.UploadRefused as err:
        return _file_error(err.message)
    if size == 0:
        return _file_error(_("“%(name)s”：文件是空的") % {"name": name})
    kind = uploads.sniff(_head(source))
    if kind == "ole":
        return _file_error(
            _("文件“%(name)s”是旧版 .xls 或加密的工作簿，请在 Excel 中另存为 .xlsx（不设密码）后再导入")
            % {"name": name}
        )
    not_xlsx = _file_error(
        _("文件“%(name)s”不是 Excel 工作簿（.xlsx），请使用下载的模板填写") % {"name": name}
    )
    if kind != "zip":
        return not_xlsx
    fp = open(source, "rb") if is_path else source  # noqa: SIM115 (closed in finally)
    try:
        uploads.check_office(fp, name=name, max_inflated=max_bytes * INFLATE_RATIO, kinds=("xlsx",))
    except uploads.UploadRefused as err:
        if err.code == "not_office":
            return not_xlsx
        return _file_error(err.message)
    finally:
        if is_path:
            fp.close()
    return []


def _head(source: Source) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return fh.read(8)
    source.seek(0)
    head = source.read(8)
    source.seek(0)
    return head


def read_sheet(source: Source, columns: Sequence[Column], *, max_bytes: int) -> Sheet:
    """Read the first worksheet: header row = first non-blank row; every later non-blank row parsed."""
    errors = check_file(source, max_bytes=max_bytes)
    if errors:
        return Sheet([], [], errors)
    try:
        with CalamineWorkbook.from_object(source) as workbook:
            if not workbook.sheet_names:
                return Sheet([], [], _empty(columns))
            cells = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as err:
        return Sheet([], [], _file_error(_("无法读取工作簿：%(error)s") % {"error": err}))
    numbered = [(i + 1, row) for i, row in enumerate(cells) if not all(is_blank(c) for c in row)]
    if not numbered:
        return Sheet([], [], _empty(columns))
    header_number, header = numbered[0]
    positions, errors = match_headers(header, columns, header_number)
    if errors:
        return Sheet([], [], errors)
    present = [column for column in columns if column.field in positions]
    if len(numbered) == 1:
        return Sheet(present, [], [RowError(header_number + 1, "", "", _("表头下面没有数据行"))])
    rows = [_parse_row(number, cells, present, positions) for number, cells in numbered[1:]]
    return Sheet(present, rows, [])


def count_rows(source: Source, *, max_bytes: int) -> int:
    """Rows below the header of the first sheet (blank ones included); 0 for a file read_sheet refuses."""
    if check_file(source, max_bytes=max_bytes):
        return 0
    try:
        with CalamineWorkbook.from_object(source) as workbook:
            height = workbook.get_sheet_by_index(0).height if workbook.sheet_names else 0
    except (CalamineError, ValueError, OSError):
        return 0
    finally:
        if not isinstance(source, (str, os.PathLike)):
            source.seek(0)
    return max(height - 1, 0)


def _empty(columns: Sequence[Column]) -> list[RowError]:
    required = "、".join(c.header for c in columns if c.required)
    return [
        RowError(1, "", "", _("工作簿是空的：第1行应为表头，必填列有 %(columns)s") % {"columns": required})
    ]


def match_headers(
    header: Sequence[Any], columns: Sequence[Column], row: int
) -> tuple[dict[str, int], list[RowError]]:
    by_name = {normalize_header(c.header): c for c in columns}
    positions: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(header):
        column = by_name.get(normalize_header(cell))
        if column is None:
            continue  # extra columns (a remark, a serial number) are the user's business
        if column.field in positions:
            errors.append(
                RowError(
                    row, column.header, "", _("表头中“%(column)s”列出现了两次") % {"column": column.header}
                )
            )
        positions[column.field] = index
    for column in columns:
        if column.required and column.field not in positions:
            errors.append(
                RowError(
                    row,
                    column.header,
                    "",
                    _("缺少必填列“%(column)s”（按表头文字匹配）") % {"column": column.header},
                )
            )
    return positions, errors


def _parse_row(
    number: int, cells: Sequence[Any], columns: Sequence[Column], positions: Mapping[str, int]
) -> Row:
    raw = {c.field: cells[positions[c.field]] if positions[c.field] < len(cells) else "" for c in columns}
    row = Row(number, {}, raw)
    for column in columns:
        value = raw[column.field]
        if is_blank(value):
            if column.required:
                row.error(column, _("必填项不能为空"))
            continue
        try:
            row.values[column.field] = (column.parse or text())(value)
        except CellError as err:
            row.error(column, err.message)
    return row


# --- writing ----------------------------------------------------------------------------------

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="206BC4")
_REQUIRED_FILL = PatternFill("solid", fgColor="D63939")
_THIN = Side(style="thin", color="A0A0A0")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
LISTS_SHEET = "下拉选项"
NOTES_SHEET = "说明"


def write_sheet(
    output: Source,
    *,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    notes: Sequence[str] = (),
    validation_rows: int = 1000,
) -> int:
    """Rows under a styled header, drop-downs where columns have choices; returns the rows written."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append([c.title for c in columns])
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.border = _HEADER_FONT, _BORDER
        cell.fill = _REQUIRED_FILL if column.required else _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.row_dimensions[1].height = 24
    sheet.freeze_panes = "A2"
    count = 0
    for count, values in enumerate(rows, start=1):
        sheet.append([neutralise(v) for v in values])
        for index, column in enumerate(columns, start=1):
            if column.number_format:
                sheet.cell(row=count + 1, column=index).number_format = column.number_format
    last_row = max(validation_rows, count) + 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(count + 1, 2)}"
    choices = {c.field: list(c.choices()) for c in columns if c.choices}
    _add_validations(workbook, sheet, columns, choices, last_row)
    _add_notes(workbook, columns, choices, notes)
    workbook.save(output)
    return count


def _add_validations(workbook, sheet, columns, choices: dict[str, list[str]], last_row: int) -> None:
    # Lists live on a hidden sheet: an inline list is limited to 255 characters.
    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    list_column = 0
    for index, column in enumerate(columns, start=1):
        options = choices.get(column.field)
        if not options:
            continue
        list_column += 1
        letter = get_column_letter(list_column)
        lists.cell(row=1, column=list_column, value=column.header)
        for offset, option in enumerate(options, start=2):
            lists.cell(row=offset, column=list_column, value=neutralise(option))
        validation = DataValidation(
            type="list",
            formula1=f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(options) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=_("输入有误"),
            error=_("请从下拉列表中选择“%(column)s”") % {"column": column.header},
        )
        target = get_column_letter(index)
        validation.add(f"{target}2:{target}{last_row}")
        sheet.add_data_validation(validation)


def _add_notes(workbook, columns, choices: dict[str, list[str]], notes: Sequence[str]) -> None:
    sheet = workbook.create_sheet(NOTES_SHEET, 1)
    sheet.append([_("列名"), _("是否必填"), _("说明"), _("可选值")])
    for cell in sheet[1]:
        cell.font, cell.fill, cell.border = _HEADER_FONT, _HEADER_FILL, _BORDER
    for column in columns:
        options = "、".join(choices.get(column.field, []))
        # The options are names people typed (units, chains): guarded like any exported text.
        row = [column.header, _("必填") if column.required else "", column.help, options]
        sheet.append([neutralise(v) for v in row])
    for letter, width in zip("ABCD", (20, 10, 60, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if notes:
        sheet.append([])
        for note in notes:
            sheet.append([neutralise(note)])
