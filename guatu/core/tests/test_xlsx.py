import datetime as dt
import io
import struct
import zipfile
import zlib
from decimal import Decimal

import openpyxl
import pytest

from guatu.core import xlsx
from guatu.core.xlsx import CellError, Column, RowError

COLUMNS = [
    Column("编号", "code", required=True),
    Column("金额(万元)", "amount", required=True, parse=xlsx.number(places=2, negative_message="不能为负")),
    Column("日期", "day", parse=xlsx.date()),
    Column(
        "颜色",
        "color",
        parse=xlsx.choice({"红": "red", "绿": "green"}, what="颜色"),
        choices=lambda: ["红", "绿"],
    ),
]
LIMIT = 1024 * 1024


def write(path, header, *rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_headers_match_by_text_in_any_order_and_rows_keep_excel_numbers(tmp_path):
    # Full-width brackets, spaces and a trailing * still name the column; an unknown column is ignored.
    path = write(
        tmp_path / "a.xlsx",
        ["备注", "颜色", "金额（万元）*", " 编 号 ", "日期"],
        ["x", "红", 12.345, "A-1", dt.date(2026, 3, 1)],
        [None, None, None, None, None],
        ["y", "", "1,200", 7, "2026年3月2日"],
    )
    sheet = xlsx.read_sheet(path, COLUMNS, max_bytes=LIMIT)
    assert sheet.errors == []
    assert [row.number for row in sheet.rows] == [2, 4]  # the blank row 3 is skipped, numbering kept
    first, second = sheet.rows
    assert first.values == {
        "code": "A-1",
        "amount": Decimal("12.35"),
        "day": dt.date(2026, 3, 1),
        "color": "red",
    }
    assert second.values == {"code": "7", "amount": Decimal("1200.00"), "day": dt.date(2026, 3, 2)}
    assert "color" not in second.values  # blank optional cell: no value at all


def test_missing_required_columns_are_each_named_on_the_header_row(tmp_path):
    path = write(tmp_path / "a.xlsx", ["日期", "颜色"], ["2026-01-01", "红"])
    errors = xlsx.read_sheet(path, COLUMNS, max_bytes=LIMIT).errors
    assert [(e.row, e.column) for e in errors] == [(1, "编号"), (1, "金额(万元)")]
    assert "缺少必填列“编号”" in str(errors[0])
    assert str(errors[0]).startswith("第1行，“编号”列")


def test_a_column_given_twice_is_an_error(tmp_path):
    path = write(tmp_path / "a.xlsx", ["编号", "金额(万元)", "编号*"], ["A", 1, "B"])
    errors = xlsx.read_sheet(path, COLUMNS, max_bytes=LIMIT).errors
    assert len(errors) == 1 and errors[0].column == "编号" and "出现了两次" in errors[0].message


def test_header_is_the_first_non_blank_row(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active["B3"], workbook.active["C3"] = "编号", "金额(万元)"
    workbook.active["B4"], workbook.active["C4"] = "A", 5
    workbook.save(tmp_path / "a.xlsx")
    sheet = xlsx.read_sheet(tmp_path / "a.xlsx", COLUMNS, max_bytes=LIMIT)
    assert (
        sheet.errors == [] and sheet.rows[0].number == 4 and sheet.rows[0].values["amount"] == Decimal("5.00")
    )


def test_cell_errors_name_row_column_value_and_reason(tmp_path):
    path = write(
        tmp_path / "a.xlsx",
        ["编号", "金额(万元)", "日期", "颜色"],
        ["A", -3, "2026-02-30", "蓝"],
        ["", "abc", 46000.0, "绿"],
    )
    sheet = xlsx.read_sheet(path, COLUMNS, max_bytes=LIMIT)
    found = {(e.row, e.column, e.value): e.message for e in sheet.all_errors()}
    assert found[(2, "金额(万元)", "-3")] == "不能为负"
    assert "不是有效的日期" in found[(2, "日期", "2026-02-30")]
    assert found[(2, "颜色", "蓝")] == "未知颜色，可选：红、绿"
    assert found[(3, "编号", "")] == "必填项不能为空"
    assert found[(3, "金额(万元)", "abc")] == "不是有效的数字"
    assert len(found) == 5  # 46000 is an Excel serial date (2025-12-09), not an error
    assert sheet.rows[1].values["day"] == dt.date(2025, 12, 9)
    assert (
        str(RowError(3, "金额(万元)", "abc", "不是有效的数字"))
        == "第3行，“金额(万元)”列：不是有效的数字（值：“abc”）"
    )


def test_an_empty_workbook_and_a_header_without_rows_are_refused(tmp_path):
    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    [error] = xlsx.read_sheet(tmp_path / "empty.xlsx", COLUMNS, max_bytes=LIMIT).errors
    assert error.row == 1 and "工作簿是空的" in error.message and "编号、金额(万元)" in error.message
    write(tmp_path / "header.xlsx", ["编号", "金额(万元)"])
    [error] = xlsx.read_sheet(tmp_path / "header.xlsx", COLUMNS, max_bytes=LIMIT).errors
    assert error.row == 2 and "没有数据行" in error.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"code,amount\nA,1\n", "不是 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "旧版 .xls"),
        (b"PK\x03\x04 not really a zip", "已损坏"),
        (b"", "文件是空的"),
    ],
)
def test_what_is_not_an_xlsx_is_refused_before_parsing(tmp_path, content, message):
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(content)
    [error] = xlsx.read_sheet(path, COLUMNS, max_bytes=LIMIT).errors
    assert error.row is None and message in error.message


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "doc.xlsx", "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    [error] = xlsx.read_sheet(tmp_path / "doc.xlsx", COLUMNS, max_bytes=LIMIT).errors
    assert "不是 Excel 工作簿" in error.message


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = write(tmp_path / "a.xlsx", ["编号", "金额(万元)"], ["A", 1])
    [error] = xlsx.read_sheet(path, COLUMNS, max_bytes=path.stat().st_size - 1).errors
    assert "超过上限" in error.message
    assert xlsx.read_sheet(path, COLUMNS, max_bytes=path.stat().st_size).errors == []


def test_an_archive_that_inflates_past_twenty_times_the_limit_is_refused(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 400_000)
    size = path.stat().st_size
    assert size < 5_000
    [error] = xlsx.read_sheet(path, COLUMNS, max_bytes=size * 2).errors  # may inflate to 40× size
    assert "解压后过大" in error.message


def test_an_archive_that_lies_about_its_inflated_size_is_refused(tmp_path):
    # Claim 100 bytes (with the CRC of those 100 bytes) for an entry that inflates to 400 kB.
    payload = b"\0" * 400_000
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/big.xml", payload)
    data = bytearray(path.read_bytes())
    name = b"xl/big.xml"
    fake_crc = zlib.crc32(payload[:100])
    for signature, crc_at, size_at in ((b"PK\x03\x04", 14, 22), (b"PK\x01\x02", 16, 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", data, start + crc_at, fake_crc)
                struct.pack_into("<I", data, start + size_at, 100)
            start += 4
    path.write_bytes(bytes(data))
    [error] = xlsx.read_sheet(path, COLUMNS, max_bytes=LIMIT).errors
    assert "解压后过大" in error.message


def test_a_file_like_source_is_read_like_a_path(tmp_path):
    path = write(tmp_path / "a.xlsx", ["编号", "金额(万元)"], ["A", 1])
    sheet = xlsx.read_sheet(io.BytesIO(path.read_bytes()), COLUMNS, max_bytes=LIMIT)
    assert sheet.errors == [] and sheet.rows[0].values["code"] == "A"


def test_parsers():
    date = xlsx.date()
    assert (
        date("2026-03-01")
        == date("2026/3/1")
        == date("2026年3月1日")
        == date("2026.3.1")
        == dt.date(2026, 3, 1)
    )
    assert date(dt.datetime(2026, 3, 1, 8, 0)) == dt.date(2026, 3, 1)
    for bad in ("2026", "3/1/2026", 2026, "明天"):
        with pytest.raises(CellError):
            date(bad)
    number = xlsx.number(places=2, max_digits=6)
    assert number(" 1,234.5 ") == Decimal("1234.50")
    assert number(-1) == Decimal("-1.00")  # negatives only refused when a message says why
    for bad in ("1e9999", "NaN", True, "12345.6", dt.date(2026, 1, 1)):
        with pytest.raises(CellError):
            number(bad)
    with pytest.raises(CellError, match="不能超过 3 个字"):
        xlsx.text(3)("四个字呀")
    assert xlsx.text()("'=SUM(A1)") == "=SUM(A1)"  # the writer's guard quote is not part of the text
    assert xlsx.text()("'tis") == "'tis"


def test_writer_styles_header_sets_widths_lists_and_notes(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = [["=1+1", Decimal("3.50"), dt.date(2026, 3, 1), "红"], ["@cmd", Decimal("-2"), None, "绿"]]
    count = xlsx.write_sheet(path, title="数据", columns=COLUMNS, rows=rows, notes=["注意：示例"])
    assert count == 2
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["数据", "说明", "下拉选项"]
    sheet = workbook["数据"]
    assert [c.value for c in sheet[1]] == ["编号*", "金额(万元)*", "日期", "颜色"]
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 14
    # Text that Excel would run as a formula is stored as text; numbers stay numbers.
    assert sheet["A2"].value == "'=1+1" and sheet["A3"].value == "'@cmd"
    assert sheet["B3"].value == -2
    [validation] = sheet.data_validations.dataValidation
    assert validation.type == "list" and str(validation.sqref) == "D2:D1001"
    lists = workbook["下拉选项"]
    assert lists.sheet_state == "hidden"
    assert validation.formula1 == "'下拉选项'!$A$2:$A$3"
    assert [lists["A2"].value, lists["A3"].value] == ["红", "绿"]
    notes = workbook["说明"]
    assert [c.value for c in notes[1]] == ["列名", "是否必填", "说明", "可选值"]
    assert [notes["A2"].value, notes["B2"].value] == ["编号", "必填"]
    assert notes["D5"].value == "红、绿"
    assert any(row[0].value == "注意：示例" for row in notes.iter_rows())
    # What the writer wrote, the reader reads back unchanged.
    sheet = xlsx.read_sheet(path, COLUMNS, max_bytes=LIMIT)
    assert sheet.rows[0].values["code"] == "=1+1" and sheet.rows[1].values["code"] == "@cmd"
    assert sheet.rows[0].values["day"] == dt.date(2026, 3, 1)
