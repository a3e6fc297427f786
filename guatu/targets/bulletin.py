"""通报: the official bulletin of a period, laid out per GB/T 9704-2012 《党政机关公文格式》.

Two layers:

- The layout layer (`Gongwen`) knows the standard and nothing of targets: the A4 page, the margins
  and the 156 × 225 mm text block, 22 lines × 28 characters of 3号仿宋 (a grid of lines, the
  characters condensed to fit 28 a line), fonts by their East Asian names, the 版头 (issuing-
  authority mark, document number, red separator), the title, headings of four levels, body
  paragraphs, tables, the signature and date, the 附件说明 and the annexes, the 版记, and page
  numbers on the outer side of odd and even pages.
- The content layer (`bulletin_content`, `bulletin_write`, `bulletin_docx`) reads the period's
  figures through the selectors (targets and their forecasts, the ranking, red-light projects,
  overdue problems) and writes them with the layout layer. A few dozen red projects (overdue
  problems) are listed in full; past that, as at a province's scale with thousands, the body gives
  the counts by division, the warning rules and the biggest projects ("等 N 个"; the worst problems),
  and the full lists follow the signature as annexes (附件), every total counted over all of them.

Who reads: the page passes the signed-in user, so restrict() decides as it does everywhere else.
The command runs as the system, with no user: there `user=None` means the whole city, and the same
selectors read it as `system_reader()`, an account of role 领导 that exists only in memory (never
saved). A leader reads every row and writes none, so restrict() stays the one place that decides
and the command can change nothing.
"""

import datetime as dt
import io
import math
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from html import escape
from pathlib import Path
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt, RGBColor, Twips
from lxml import etree

from guatu.targets.periods import Period

# --- layout layer: GB/T 9704-2012

PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)  # A4
TOP_MARGIN = Mm(37)  # 天头
BINDING_MARGIN = Mm(28)  # 订口 (left)
TEXT_WIDTH, TEXT_HEIGHT = Mm(156), Mm(225)  # 版心
RIGHT_MARGIN = Mm(210 - 28 - 156)  # 26 mm
BOTTOM_MARGIN = Mm(297 - 37 - 225)  # 35 mm
LINES_PER_PAGE, CHARS_PER_LINE = 22, 28
ISSUER_OFFSET = Mm(35)  # 发文机关标志 from the top of the text block
SEPARATOR_GAP_PT = 11  # red line 4 mm (11.3 pt) below the 发文字号; Word counts border space in points
PAGE_NUMBER_GAP = Mm(7)  # page number's top 7 mm below the text block

# 字号 (Chinese type sizes) in points.
SIZE = {
    "初号": 42, "小初": 36, "一号": 26, "小一": 24, "二号": 22, "小二": 18,
    "三号": 16, "小三": 15, "四号": 14, "小四": 12, "五号": 10.5, "小五": 9,
}  # fmt: skip
BODY_SIZE = Pt(SIZE["三号"])
TITLE_SIZE = Pt(SIZE["二号"])
IMPRINT_SIZE = Pt(SIZE["四号"])  # 版记
PAGE_NUMBER_SIZE = Pt(SIZE["四号"])
# Tables: the standard fixes no size; 小四, or 五号 for a table too wide for it.
TABLE_SIZE = Pt(SIZE["小四"])
SMALL_TABLE_SIZE = Pt(SIZE["五号"])

# Fonts by the names Chinese government machines have; elsewhere the reader substitutes its own.
XIAOBIAOSONG = "方正小标宋简体"
FANGSONG = "仿宋_GB2312"
HEITI = "黑体"
KAITI = "楷体_GB2312"
SONGTI = "宋体"

RED = RGBColor(0xFF, 0x00, 0x00)
RED_HEX = "FF0000"

# Heading levels: 一、 in 黑体, （一） in 楷体, 1. and （1） in 仿宋.
HEADING_FONTS = {1: HEITI, 2: KAITI, 3: FANGSONG, 4: FANGSONG}

_DIGITS = "零一二三四五六七八九"


def twips(length: Length) -> int:
    return round(length / 635)  # 635 EMU to a twip (1/20 pt)


LINE_PITCH = math.floor(twips(TEXT_HEIGHT) / LINES_PER_PAGE)  # twips: 22 lines fit in 225 mm
# 28 characters a line come from the type, not from a character grid. Word and WPS lay out a
# linesAndChars grid (charSpace −849) as 28 cells of 15.79 pt, but LibreOffice gives each 16 pt
# character two such cells and sets only 14 a line. So the grid is of lines only (22 of them), and
# the body and heading styles condense their characters: 28 full-width characters of 3号 take
# 28 × 16 = 448 pt, the line is 156 mm = 442.2 pt (8844 twips), so each character gives up
# 16 − 442.2 / 28 ≈ 0.21 pt, rounded up to whole twips: −5 (−0.25 pt), a pitch of 15.75 pt and
# 441 pt a line. −4 (15.8 pt, 442.4 pt) would leave 27 a line; 29 × 15.75 = 456.75 pt cannot fit.
# Measured through LibreOffice to PDF: 28 a line, 22 lines a page (test_pdf_lines_*).
CHAR_SPACING = math.floor(twips(TEXT_WIDTH) / CHARS_PER_LINE) - SIZE["三号"] * 20  # twips: −5
CHAR_PITCH_PT = SIZE["三号"] + CHAR_SPACING / 20  # 15.75 pt, the step of one body character


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九 (headings never run past 99)."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    text = ("" if tens == 1 else _DIGITS[tens]) + "十" if tens else ""
    return text + (_DIGITS[ones] if ones else "")


def ordinal(level: int, n: int) -> str:
    """结构层次序数: 一、 （一） 1. （1）."""
    return {1: f"{chinese_number(n)}、", 2: f"（{chinese_number(n)}）", 3: f"{n}.", 4: f"（{n}）"}[level]


# Word rejects a file whose property elements are out of the schema's order (ECMA-376 part 1):
# the children of these elements, in order, so that a new child goes in its place.
SCHEMA_ORDER = {
    "pPr": [
        "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
        "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
        "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
        "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
        "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
        "sectPr", "pPrChange",
    ],
    "rPr": [
        "rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
        "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing",
        "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText",
        "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath",
    ],
    "tblPr": [
        "tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
        "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar",
        "tblLook", "tblCaption", "tblDescription",
    ],
    "pBdr": ["top", "left", "bottom", "right", "between", "bar"],
    "tblBorders": ["top", "left", "start", "bottom", "right", "end", "insideH", "insideV"],
    "tblCellMar": ["top", "left", "start", "bottom", "right", "end"],
}  # fmt: skip


def _local(element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _set(element, tag: str, **attrs: str | int) -> Any:
    """The child `tag` of an oxml element, created in its schema place if missing, with these w:
    attributes."""
    child = element.find(qn(tag))
    if child is None:
        child = OxmlElement(tag)
        order = SCHEMA_ORDER.get(_local(element))
        name = tag.split(":", 1)[1]
        later = None
        if order and name in order:
            after = set(order[order.index(name) + 1 :])
            later = next((c for c in element if _local(c) in after), None)
        if later is not None:
            later.addprevious(child)
        else:
            element.append(child)
    for name, value in attrs.items():
        child.set(qn(f"w:{name}"), str(value))
    return child


def set_fonts(rpr, name: str) -> None:
    """One font for every script, East Asian included (w:rFonts eastAsia), and no theme font that
    would override it."""
    fonts = _set(rpr, "w:rFonts")
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{attr}"), name)
    fonts.set(qn("w:hint"), "eastAsia")


def style_run(run, *, font: str, size: Length, bold: bool = False, color: RGBColor | None = None) -> None:
    run.font.size = size
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    set_fonts(run._r.get_or_add_rPr(), font)
    _set(run._r.get_or_add_rPr(), "w:szCs", val=round(size.pt * 2))


def no_grid(paragraph) -> None:
    """Opt out of the line grid: large type and table cells keep their own line spacing."""
    _set(paragraph._p.get_or_add_pPr(), "w:snapToGrid", val=0)


def indent_chars(paragraph, *, first_line: int = 0, left: int = 0, right: int = 0) -> None:
    """Indents in characters (空二字): Word reads the *Chars attributes, other readers the twips."""
    fmt = paragraph.paragraph_format
    pitch = Pt(CHAR_PITCH_PT)
    if first_line:
        fmt.first_line_indent = pitch * first_line
    if left:
        fmt.left_indent = pitch * left
    if right:
        fmt.right_indent = pitch * right
    ind = _set(paragraph._p.get_or_add_pPr(), "w:ind")
    for name, chars in (("firstLineChars", first_line), ("leftChars", left), ("rightChars", right)):
        if chars:
            ind.set(qn(f"w:{name}"), str(chars * 100))


def border(paragraph, side: str, *, size_eighths: int, color: str = "000000", space_pt: int = 1) -> None:
    """A line above or below the paragraph across the text block (w:pBdr)."""
    pbdr = _set(paragraph._p.get_or_add_pPr(), "w:pBdr")
    _set(pbdr, f"w:{side}", val="single", sz=size_eighths, space=space_pt, color=color)


def add_page_field(paragraph, *, font: str, size: Length) -> None:
    """A PAGE field (begin, instruction, separate, shown value, end), each run in the footer's font."""

    def run_with(element_tag: str, **attrs) -> None:
        run = paragraph.add_run()
        style_run(run, font=font, size=size)
        element = OxmlElement(element_tag)
        for name, value in attrs.items():
            element.set(qn(name), value)
        if element_tag == "w:instrText":
            element.set(qn("xml:space"), "preserve")
            element.text = " PAGE "
        run._r.append(element)

    run_with("w:fldChar", **{"w:fldCharType": "begin"})
    run_with("w:instrText")
    run_with("w:fldChar", **{"w:fldCharType": "separate"})
    shown = paragraph.add_run("1")
    style_run(shown, font=font, size=size)
    run_with("w:fldChar", **{"w:fldCharType": "end"})


def table_style_name(size: Length) -> str:
    """The paragraph style of a table's cells: 小四, or 五号 for wide tables and long lists."""
    return "公文表格" if size == TABLE_SIZE else "公文表格五号"


def body_rows_xml(
    rows: Sequence[Sequence[str]], *, widths: Sequence[Length], style_id: str, left_columns: frozenset[int]
) -> str:
    """The XML of a table's body rows (w:tr, the w: prefix declared by the document): a row never
    splits across pages; each cell has its width, is centred vertically and holds one paragraph of
    `style_id`, centred unless its column is in `left_columns`, with its text in one run."""
    cells = []
    for i, width in enumerate(widths):
        jc = "left" if i in left_columns else "center"
        cells.append(
            f'<w:tc><w:tcPr><w:tcW w:w="{twips(width)}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr>'
            f'<w:p><w:pPr><w:pStyle w:val="{escape(style_id, quote=True)}"/><w:jc w:val="{jc}"/></w:pPr>'
            "<w:r>"
        )
    end = "</w:r></w:p></w:tc>"
    parts = []
    for values in rows:
        parts.append('<w:tr><w:trPr><w:cantSplit w:val="1"/></w:trPr>')
        for cell, text in zip(cells, values, strict=True):
            parts.extend((cell, run_content_xml(str(text)), end))
        parts.append("</w:tr>")
    return "".join(parts)


# Characters XML 1.0 cannot hold; a name pasted from elsewhere may carry one.
_NOT_XML = re.compile("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]")
_BREAKS = re.compile("(\\t|\\r\\n|\\n|\\r)")


def run_content_xml(text: str) -> str:
    """A run's content as python-docx writes it: w:t (spaces at its ends kept), a tab as w:tab, a line
    break as w:br."""
    text = _NOT_XML.sub("", text)
    if text == text.strip() and not _BREAKS.search(text):
        return f"<w:t>{escape(text, quote=False)}</w:t>" if text else ""
    parts = []
    for piece in _BREAKS.split(text):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r\n", "\n", "\r"):
            parts.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if piece != piece.strip() else ""
            parts.append(f"<w:t{space}>{escape(piece, quote=False)}</w:t>")
    return "".join(parts)


class Gongwen:
    """A document laid out per GB/T 9704-2012. Build it top to bottom, then `save()` or `to_bytes()`."""

    def __init__(self, *, title: str, author: str, on: dt.date):
        self.document = Document()
        self._counters = [0, 0, 0, 0]
        self._style_ids: dict[str, str] = {}
        self._rows: dict[str, str] = {}  # a table's marker comment → the XML of its body rows
        self._page_setup()
        self._defaults()
        self._footers()
        props = self.document.core_properties
        props.title = title
        props.subject = title
        props.author = author
        props.last_modified_by = author
        props.comments = ""
        props.keywords = _("通报")
        props.category = _("通报")
        props.revision = 1
        props.created = props.modified = dt.datetime.combine(on, dt.time(8, 0))

    # page, grid, defaults

    def _page_setup(self) -> None:
        section = self.document.sections[0]
        section.start_type = WD_SECTION_START.NEW_PAGE
        section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
        section.top_margin, section.bottom_margin = TOP_MARGIN, BOTTOM_MARGIN
        section.left_margin, section.right_margin = BINDING_MARGIN, RIGHT_MARGIN
        section.gutter = Twips(0)
        section.header_distance = Mm(15)
        # The footer's bottom edge from the page's: the number's line sits 7 mm below the text block.
        section.footer_distance = BOTTOM_MARGIN - PAGE_NUMBER_GAP - PAGE_NUMBER_SIZE
        # A grid of lines only: the characters are condensed in the styles (see CHAR_SPACING).
        grid = _set(section._sectPr, "w:docGrid")
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(LINE_PITCH))
        grid.attrib.pop(qn("w:charSpace"), None)

    def _defaults(self) -> None:
        doc = self.document
        defaults = doc.styles.element.find(qn("w:docDefaults"))
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        set_fonts(rpr, FANGSONG)
        _set(rpr, "w:sz", val=32)
        _set(rpr, "w:szCs", val=32)
        _set(rpr, "w:lang", val="en-US", eastAsia="zh-CN", bidi="ar-SA")
        ppr = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
        spacing = _set(ppr, "w:spacing", before=0, after=0, line=LINE_PITCH, lineRule="exact")
        spacing.attrib.pop(qn("w:afterAutospacing"), None)
        normal = doc.styles["Normal"]
        normal.font.size = BODY_SIZE
        set_fonts(normal.element.get_or_add_rPr(), FANGSONG)
        _set(normal.element.get_or_add_rPr(), "w:szCs", val=32)
        # Settings: even and odd pages get their own footer; East Asian layout; Chinese theme language.
        doc.settings.odd_and_even_pages_header_footer = True
        settings = doc.settings.element
        theme_lang = settings.find(qn("w:themeFontLang"))
        if theme_lang is not None:
            theme_lang.set(qn("w:eastAsia"), "zh-CN")
        self._style("公文正文", font=FANGSONG, size=BODY_SIZE, first_line=2, justify=True, condensed=True)
        for level in range(1, 5):
            font = HEADING_FONTS[level]
            style = self._style(f"公文{level}级标题", font=font, size=BODY_SIZE, first_line=2, condensed=True)
            _set(style.element.get_or_add_pPr(), "w:outlineLvl", val=level - 1)
            style.paragraph_format.keep_with_next = True
        self._style("公文标题", font=XIAOBIAOSONG, size=TITLE_SIZE, center=True)
        for name, size in (("公文表格", TABLE_SIZE), ("公文表格五号", SMALL_TABLE_SIZE)):
            # Cells: exact line height of 1.5 lines of their type, off the page's line grid.
            style = self._style(name, font=FANGSONG, size=size)
            style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            style.paragraph_format.line_spacing = Pt(size.pt * 1.5)
            _set(style.element.get_or_add_pPr(), "w:snapToGrid", val=0)
        self._style("公文版记", font=FANGSONG, size=IMPRINT_SIZE)
        self._style("公文页码", font=SONGTI, size=PAGE_NUMBER_SIZE)

    def _style(
        self,
        name: str,
        *,
        font: str,
        size: Length,
        first_line: int = 0,
        center=False,
        justify=False,
        condensed=False,
    ):
        style = self.document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = self.document.styles["Normal"]
        style.quick_style = True
        style.font.size = size
        set_fonts(style.element.get_or_add_rPr(), font)
        if condensed:  # 28 characters a line (see CHAR_SPACING)
            _set(style.element.get_or_add_rPr(), "w:spacing", val=CHAR_SPACING)
        fmt = style.paragraph_format
        if first_line:
            fmt.first_line_indent = Pt(CHAR_PITCH_PT) * first_line
        if center:
            fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif justify:
            fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        return style

    def _footers(self) -> None:
        """ "— 1 —" in 4号半角宋体: odd pages at the right, even pages at the left, one character in."""
        section = self.document.sections[0]
        for footer, side in ((section.footer, "right"), (section.even_page_footer, "left")):
            footer.is_linked_to_previous = False
            paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
            paragraph.style = self.document.styles["公文页码"]
            fmt = paragraph.paragraph_format
            fmt.alignment = WD_ALIGN_PARAGRAPH.RIGHT if side == "right" else WD_ALIGN_PARAGRAPH.LEFT
            fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            fmt.line_spacing = PAGE_NUMBER_SIZE
            fmt.space_before = fmt.space_after = Pt(0)
            if side == "right":
                fmt.right_indent = PAGE_NUMBER_SIZE
            else:
                fmt.left_indent = PAGE_NUMBER_SIZE
            no_grid(paragraph)
            style_run(paragraph.add_run("— "), font=SONGTI, size=PAGE_NUMBER_SIZE)
            add_page_field(paragraph, font=SONGTI, size=PAGE_NUMBER_SIZE)
            style_run(paragraph.add_run(" —"), font=SONGTI, size=PAGE_NUMBER_SIZE)

    # building blocks

    def style_id(self, name: str) -> str:
        """A style's id by its name, looked up once: python-docx looks a style up on every paragraph
        it styles (some milliseconds each, as it scans every style for the default)."""
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]

    def styled(self, paragraph, style: str):
        paragraph._p.style = self.style_id(style)
        return paragraph

    def new_paragraph(self, style: str):
        return self.styled(self.document.add_paragraph(), style)

    def paragraph(
        self,
        text: str = "",
        *,
        style: str = "公文正文",
        font: str = FANGSONG,
        size: Length = BODY_SIZE,
        bold: bool = False,
        color: RGBColor | None = None,
    ):
        paragraph = self.new_paragraph(style)
        if text:
            style_run(paragraph.add_run(text), font=font, size=size, bold=bold, color=color)
        return paragraph

    def blank(self, lines: int = 1) -> None:
        for _line in range(lines):
            paragraph = self.new_paragraph("公文正文")
            paragraph.paragraph_format.first_line_indent = Pt(0)

    def masthead(self, *, issuer: str, number: str) -> None:
        """版头: the red issuing-authority mark 35 mm down, two blank lines, the 发文字号, the red line."""
        size = Pt(min(SIZE["小初"], math.floor(TEXT_WIDTH.pt / max(len(issuer), 1) * 0.92)))
        mark = self.paragraph(issuer, style="公文标题", font=XIAOBIAOSONG, size=size, color=RED)
        fmt = mark.paragraph_format
        fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fmt.space_before = ISSUER_OFFSET
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
        no_grid(mark)
        self.blank(2)
        numbered = self.paragraph(number)
        numbered.paragraph_format.first_line_indent = Pt(0)
        numbered.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        # The separator as the 发文字号 line's bottom border: the text block's width, red, 4 mm down.
        border(numbered, "bottom", size_eighths=12, color=RED_HEX, space_pt=SEPARATOR_GAP_PT)

    def title(self, text: str) -> None:
        """标题: 2号小标宋, centred, two blank lines below the red line."""
        self.blank(2)
        title = self.paragraph(text, style="公文标题", font=XIAOBIAOSONG, size=TITLE_SIZE)
        title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        title.paragraph_format.line_spacing = Pt(SIZE["二号"] * 1.5)
        no_grid(title)

    def recipients(self, text: str) -> None:
        """主送机关: one blank line below the title, flush left, ending with a full-width colon."""
        self.blank()
        paragraph = self.paragraph(text)
        paragraph.paragraph_format.first_line_indent = Pt(0)

    def body(self, text: str):
        return self.paragraph(text)

    def heading(self, level: int, text: str, *, body: str = ""):
        """A numbered heading (一、 （一） 1. （1）); with `body` the text runs on in 仿宋."""
        self._counters[level - 1] += 1
        for deeper in range(level, 4):
            self._counters[deeper] = 0
        paragraph = self.new_paragraph(f"公文{level}级标题")
        label = ordinal(level, self._counters[level - 1]) + text
        style_run(paragraph.add_run(label), font=HEADING_FONTS[level], size=BODY_SIZE)
        if body:
            self.styled(paragraph, "公文正文")
            _set(paragraph._p.get_or_add_pPr(), "w:outlineLvl", val=level - 1)
            style_run(paragraph.add_run(body), font=FANGSONG, size=BODY_SIZE)
        return paragraph

    def caption(self, text: str):
        paragraph = self.paragraph(text, font=HEITI, size=Pt(SIZE["四号"]))
        paragraph.paragraph_format.first_line_indent = Pt(0)
        paragraph.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_with_next = True
        return paragraph

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        widths_mm: Sequence[float] | None = None,
        left_columns: Sequence[int] = (),
    ):
        """A ruled table across the text block: headers in 黑体, cells in 仿宋, the header row
        repeated on every page.

        python-docx costs about a millisecond a cell (each style lookup scans every style), minutes
        for a list of thousands of rows. So the header row is built through it, and the body rows are
        written as XML at once: each cell a paragraph of the table style (font, size, exact line
        height and no grid are the style's, not repeated in every run), its alignment and its text."""
        table = self.document.add_table(rows=1, cols=len(headers))
        table._tbl.tblPr.style = self.style_id("Table Grid")
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        chars = column_chars(headers, rows)
        size = table_size(headers, rows, chars=chars)
        widths = list(widths_mm or column_widths(headers, rows, size=size, chars=chars))
        scale = TEXT_WIDTH.mm / sum(widths)
        widths = [Mm(w * scale) for w in widths]
        for i, column in enumerate(table.columns):
            column.width = widths[i]
        header_row = table.rows[0]
        _set(header_row._tr.get_or_add_trPr(), "w:tblHeader", val=1)
        for i, (cell, text) in enumerate(zip(header_row.cells, headers, strict=True)):
            self._cell(cell, text, font=HEITI, size=size, center=True)
            cell.width = widths[i]
        if rows:
            # The rows go into the file as text when it is written (see `to_bytes`): parsing them
            # into the tree and serialising them again took most of the time of a long list.
            marker = f"guatu-rows-{len(self._rows)}"
            self._rows[marker] = body_rows_xml(
                rows,
                widths=widths,
                style_id=self.style_id(table_style_name(size)),
                left_columns=frozenset(left_columns),
            )
            table._tbl.append(etree.Comment(marker))
        return table

    def _cell(self, cell, text: str, *, font: str, size: Length, center: bool) -> None:
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        paragraph = cell.paragraphs[0]
        self.styled(paragraph, table_style_name(size))
        paragraph.paragraph_format.alignment = (
            WD_ALIGN_PARAGRAPH.CENTER if center else WD_ALIGN_PARAGRAPH.LEFT
        )
        style_run(paragraph.add_run(text), font=font, size=size)

    def after_table(self) -> None:
        """Tables end flush; the next paragraph starts after one blank line."""
        self.blank()

    def annex_note(self, titles: Sequence[str]) -> None:
        """附件说明: one blank line below the body, two characters in, 附件： and the names; several
        are numbered 1. 2. and the later ones aligned under the first name; no closing punctuation."""
        self.blank()
        for i, name in enumerate(titles, start=1):
            numbered = f"{i}.{name}" if len(titles) > 1 else name
            if i == 1:
                self.body(_("附件：") + numbered)
            else:
                paragraph = self.body(numbered)
                paragraph.paragraph_format.first_line_indent = Pt(0)
                indent_chars(paragraph, left=5)  # 空二字 + 附件：

    def annex(self, label: str, title: str) -> None:
        """An annex on a new page: 附件 (with its number) in 3号黑体 flush left on the first line,
        its title centred on the third, one blank line before what follows."""
        mark = self.paragraph(label, font=HEITI)
        mark.paragraph_format.first_line_indent = Pt(0)
        mark.paragraph_format.page_break_before = True
        self.blank()
        heading = self.paragraph(title, style="公文标题", font=XIAOBIAOSONG, size=TITLE_SIZE)
        heading.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        no_grid(heading)
        self.blank()

    def signature(self, *, issuer: str, on: dt.date) -> None:
        """发文机关署名 over 成文日期; the date four characters in from the right, the name centred
        over it."""
        date_text = chinese_date(on)
        self.blank(2)
        name = self.paragraph(issuer)
        name.paragraph_format.first_line_indent = Pt(0)
        name.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        shift = (text_width_chars(date_text) - text_width_chars(issuer)) / 2
        indent_chars(name, right=max(0, round(4 + shift)))
        date = self.paragraph(date_text)
        date.paragraph_format.first_line_indent = Pt(0)
        date.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        indent_chars(date, right=4)

    def imprint(self, *, copy_to: str, printer: str, printed_on: dt.date) -> None:
        """版记 in 4号仿宋: 抄送 and the printer one character in from each side, between rules as
        wide as the text block (thick above and below, thin between), the printing date at the right."""
        self.blank()
        table = self.document.add_table(rows=2, cols=1)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        tbl_pr = table._tbl.tblPr
        _set(tbl_pr, "w:tblW", w=twips(TEXT_WIDTH), type="dxa")
        borders = _set(tbl_pr, "w:tblBorders")
        for side, size in (
            ("top", 8),
            ("left", 0),
            ("bottom", 8),
            ("right", 0),
            ("insideH", 6),
            ("insideV", 0),
        ):
            if size:  # 0.35 mm thick rules outside, a 0.25 mm thin one between
                _set(borders, f"w:{side}", val="single", sz=size, space=0, color="000000")
            else:
                _set(borders, f"w:{side}", val="nil")
        margins = _set(tbl_pr, "w:tblCellMar")
        one_char = twips(IMPRINT_SIZE)
        _set(margins, "w:left", w=one_char, type="dxa")
        _set(margins, "w:right", w=one_char, type="dxa")
        lines = (f"抄送：{copy_to}。", printer)
        for row, text in zip(table.rows, lines, strict=True):
            cell = row.cells[0]
            cell.width = TEXT_WIDTH
            paragraph = cell.paragraphs[0]
            self.styled(paragraph, "公文版记")
            style_run(paragraph.add_run(text), font=FANGSONG, size=IMPRINT_SIZE)
            _set(row._tr.get_or_add_trPr(), "w:cantSplit", val=1)
        last = table.rows[1].cells[0].paragraphs[0]
        stop = TEXT_WIDTH - IMPRINT_SIZE * 2
        last.paragraph_format.tab_stops.add_tab_stop(stop, alignment=WD_TAB_ALIGNMENT.RIGHT)
        style_run(last.add_run(f"\t{chinese_date(printed_on)}印发"), font=FANGSONG, size=IMPRINT_SIZE)
        self.imprint_table = table

    def save(self, target: str | os.PathLike | IO[bytes]) -> None:
        data = self.to_bytes()
        if isinstance(target, str | os.PathLike):
            Path(target).write_bytes(data)
        else:
            target.write(data)

    def to_bytes(self) -> bytes:
        """The .docx file. The tables' body rows are not in `self.document` (only a marker comment
        is): they are put in place of their markers in word/document.xml as the file is written."""
        buffer = io.BytesIO()
        self.document.save(buffer)
        if not self._rows:
            return buffer.getvalue()
        written = zipfile.ZipFile(buffer)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
            for info in written.infolist():
                content = written.read(info.filename)
                if info.filename == "word/document.xml":
                    xml = content.decode("utf-8")
                    for marker, rows in self._rows.items():
                        if f"<!--{marker}-->" not in xml:  # never a table without its rows
                            raise RuntimeError(f"table rows marker {marker} not found in the document")
                        xml = xml.replace(f"<!--{marker}-->", rows, 1)
                    content = xml.encode("utf-8")
                package.writestr(info, content)
        return out.getvalue()


def text_width_chars(text: str) -> float:
    """Width in full-width characters: ASCII (digits, Latin) takes half a character."""
    return sum(0.5 if ord(ch) < 0x80 else 1 for ch in text)


CELL_PADDING_MM = 2 * 1.91  # Word's default cell margins, 0.19 cm a side


def _cell_chars(text: str) -> float:
    # Latin letters and digits of a Chinese font run a little wider than half a character.
    return len(text) - 0.4 * len(text.encode("ascii", "ignore"))


def column_chars(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[tuple[float, float]]:
    """Each column's longest and mean cell, in characters, over the body rows (a column of a table
    without rows: 0 and its header's). Read once a table: a list may have thousands of rows."""
    found = []
    for i, header in enumerate(headers):
        cells = [_cell_chars(r[i]) for r in rows]
        found.append((max(cells), sum(cells) / len(cells)) if cells else (0, _cell_chars(header)))
    return found


def column_needs(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, size: Length, chars=None
) -> list[float]:
    """What each column needs (mm) to hold its longest cell on one line; a header of four characters
    or more may wrap onto two. `chars`: the rows' `column_chars`, when already read."""
    chars = chars or column_chars(headers, rows)
    char_mm = size.pt * 25.4 / 72
    need = []
    for header, (longest, _mean) in zip(headers, chars, strict=True):
        head = _cell_chars(header)
        head = head if head <= 3 else math.ceil(head / 2)
        need.append(max(head, longest, 1) * char_mm + CELL_PADDING_MM)
    return need


def column_widths(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, size: Length, chars=None
) -> list[float]:
    """Column widths (mm) across the text block: each column gets what its longest cell needs; when
    the table is too wide the short columns keep theirs and the long ones share the rest; room to
    spare goes to every column in proportion."""
    chars = chars or column_chars(headers, rows)
    need = column_needs(headers, rows, size=size, chars=chars)
    width = TEXT_WIDTH.mm
    widths = [0.0] * len(need)
    remaining, room = list(range(len(need))), width
    while remaining:
        share = room / len(remaining)
        fits = [i for i in remaining if need[i] <= share]
        if not fits:
            # The long columns share what is left as their typical cells need, so that an
            # ordinary row is not made tall by one long cell elsewhere in the column.
            typical = {i: max(chars[i][1], 1) * size.pt * 25.4 / 72 + CELL_PADDING_MM for i in remaining}
            total = sum(typical.values())
            for i in remaining:
                widths[i] = room * typical[i] / total
            break
        for i in fits:
            widths[i] = need[i]
            room -= need[i]
        remaining = [i for i in remaining if i not in fits]
    spare = width - sum(widths)
    if spare > 0:
        total = sum(widths)
        widths = [w + spare * w / total for w in widths]
    return widths


def table_size(headers: Sequence[str], rows: Sequence[Sequence[str]], *, chars=None) -> Length:
    """小四 when every column fits on one line at it, else 五号 (wide tables, long lists)."""
    if sum(column_needs(headers, rows, size=TABLE_SIZE, chars=chars)) <= TEXT_WIDTH.mm:
        return TABLE_SIZE
    return SMALL_TABLE_SIZE


def chinese_date(day: dt.date) -> str:
    """成文日期 in Arabic numerals, year in full, no padding: 2026年4月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


def document_number(*, code: str, year: int, number: int) -> str:
    """发文字号: 机关代字〔年份〕序号号, the year in 六角括号, the number without padding."""
    return f"{code}〔{year}〕{number}号"


# --- content layer


@dataclass(frozen=True)
class OverdueProblem:
    """One problem past its deadline, as the bulletin names it (filled by the problems app)."""

    title: str
    project: str
    region: str
    owner: str  # 推进主体
    lead_leader: str  # 牵头领导
    due_date: dt.date
    days_overdue: int


OVERDUE_COLUMNS = (
    "title", "project__name", "region__short_name", "region__name", "owner_unit__name", "lead_leader",
    "due_date",
)  # fmt: skip


def overdue_problems(*, user, period: Period, today: dt.date) -> list[OverdueProblem]:
    """Problems past their deadline and not closed on `today`, worst first, for the bulletin.

    Read through the problems app's problem_queryset (restrict() for `user`, the system reader when
    the command runs), each as an `OverdueProblem`. Without overdue problems it returns nothing, and
    the bulletin leaves the section out."""
    from guatu.problems.selectors import problem_queryset

    # The columns the bulletin prints, not the problems with all that their pages show: at 100,000
    # projects some 4,000 are overdue, and building them as models took seconds. Overdue: not
    # closed and due before `today`, so the days overdue are simply the days since the due date.
    found = (
        problem_queryset(user=user)
        .filter(status__is_closed=False, due_date__lt=today)
        .select_related(None)
        .prefetch_related(None)
        .values_list(*OVERDUE_COLUMNS)
    )
    rows = [
        OverdueProblem(
            title=title,
            project=project,
            region=short_name or name,  # Region.label
            owner=owner,
            lead_leader=lead_leader,
            due_date=due_date,
            days_overdue=(today - due_date).days,
        )
        for title, project, short_name, name, owner, lead_leader, due_date in found
    ]
    return sorted(rows, key=lambda row: (-row.days_overdue, row.region, row.title))


def system_reader():
    """The command's reader: an unsaved, read-only account of role 领导 (whole city, no writes)."""
    from guatu.accounts.models import Role, User

    return User(username="system", role=Role.LEADER, is_active=True)


def issuer_names() -> tuple[str, str, str]:
    """(issuing authority, its 机关代字, the city's name) for the configured city."""
    from guatu.org.selectors import city_region

    city = city_region()
    name = city.name if city else _("本市")
    return (
        _("%(city)s重点项目建设指挥部办公室") % {"city": name},
        _("%(short)s重项办") % {"short": name[:1]},
        name,
    )


@dataclass
class BulletinContent:
    period: Period
    today: dt.date
    number: int
    issuer: str
    issuer_code: str
    city: str
    targets: list = field(default_factory=list)  # TargetRow from selectors.target_rows
    scheme: Any = None
    units: list = field(default_factory=list)  # UnitScore from scoring.ranking_for
    red: list["RedProject"] = field(default_factory=list)
    problems: list[OverdueProblem] = field(default_factory=list)
    rule_names: dict[str, str] = field(default_factory=dict)  # warning rule code → its name

    @property
    def title(self) -> str:
        return _("关于%(period)s全市重点项目建设情况的通报") % {"period": self.period.label}

    @property
    def document_number(self) -> str:
        return document_number(code=self.issuer_code, year=self.today.year, number=self.number)

    @property
    def as_of(self) -> str:
        if self.today >= self.period.end:
            return _("截至期末")
        return _("截至%(m)s月%(d)s日") % {"m": self.today.month, "d": self.today.day}

    @property
    def summary(self) -> str:
        return targets_summary(self.targets)

    @property
    def target_lines(self) -> list[tuple[Any, str, str]]:
        """(row, metric name, the sentence the bulletin prints) for each target."""
        return [(row, metric_label(row), target_sentence(row, as_of=self.as_of)) for row in self.targets]

    @property
    def ranking_table(self) -> tuple[list[str], list[list[str]]]:
        return ranking_table_rows(self.units)

    @property
    def red_by_region(self) -> dict[str, int]:
        return {division.region: division.count for division in self.red_divisions}

    @property
    def red_capped(self) -> bool:
        """Past RED_LIST_ALL red projects the body lists them by division (a few named each) and the
        full list goes to an annex."""
        return len(self.red) > RED_LIST_ALL

    @cached_property
    def red_divisions(self) -> list["RedDivision"]:
        """The red projects by division, in the order they are listed (by region code)."""
        return red_divisions(self.red, rule_names=self.rule_names)

    @cached_property
    def red_rule_counts(self) -> list[tuple[str, int]]:
        """Red projects per warning rule across the city, most first."""
        return rule_counts(self.red, rule_names=self.rule_names)

    @property
    def problems_capped(self) -> bool:
        """Past PROBLEMS_LIST_ALL overdue problems the body lists the worst PROBLEMS_IN_BODY and the
        full list goes to an annex."""
        return len(self.problems) > PROBLEMS_LIST_ALL

    @property
    def problems_in_body(self) -> list[OverdueProblem]:
        return self.problems[:PROBLEMS_IN_BODY] if self.problems_capped else self.problems

    @property
    def problems_by_region(self) -> dict[str, int]:
        """Overdue problems per region, most first (ties by name)."""
        counts: dict[str, int] = {}
        for problem in self.problems:
            counts[problem.region] = counts.get(problem.region, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def annexes(self) -> list[str]:
        """The annexes in their order (附件1, 附件2): "red", "problems"."""
        return [
            key
            for key, present in (("red", self.red and self.red_capped), ("problems", self.problems_capped))
            if present
        ]

    def annex_title(self, key: str) -> str:
        return {"red": _("红灯项目名单"), "problems": _("逾期未解决问题清单")}[key]

    def annex_label(self, key: str) -> str:
        """附件 alone when there is one annex, else 附件1, 附件2."""
        if len(self.annexes) == 1:
            return _("附件")
        return _("附件%(n)s") % {"n": self.annexes.index(key) + 1}

    @property
    def filename(self) -> str:
        label = self.period.label.replace("/", "-")  # a month label may hold a slash in English
        return _("%(city)s重点项目建设%(period)s通报.docx") % {"city": self.city, "period": label}


def number_text(value) -> str:
    """A figure as the text prints it: 120, 81.7, 1234.5 (no trailing zeros, no exponent)."""
    if value is None:
        return "—"
    value = Decimal(value) if not isinstance(value, Decimal) else value
    value = value.quantize(Decimal("0.01")).normalize()
    return f"{value:f}"


def figure(value, unit: str) -> str:
    return number_text(value) + unit if value is not None else _("暂无数据")


# Up to this many red projects (overdue problems) the body lists every one; past it the body
# summarises by division and the full list is an annex: at a province's scale there are thousands.
RED_LIST_ALL = 30
RED_NAMED_PER_DIVISION = 3  # the biggest projects named in a division's summary row, then "等 N 个"
PROBLEMS_LIST_ALL = 30
PROBLEMS_IN_BODY = 20  # the most overdue, listed in the body when the rest go to the annex


@dataclass
class RedProject:
    """A red light as the bulletin prints it: the project's name and size, its region, the reasons
    and rules that made it red. Read as plain columns (at 100,000 projects some 15,000 are red, and
    building each light with its project as models took seconds)."""

    pk: int  # the light's
    project_id: int
    name: str
    total_investment: Decimal | None
    region: Any  # org.Region, one instance per region
    red_reasons: list[str]
    red_rules: list[str]

    @cached_property
    def project(self):
        """The project as a model with its name (the page links the few it shows)."""
        from guatu.projects.models import Project

        return Project(pk=self.project_id, name=self.name, total_investment=self.total_investment)


def red_projects(*, user) -> list[RedProject]:
    """Projects whose light is red, with the reasons that made them red (`red_reasons`) and the
    codes of their rules (`red_rules`), in the lights' order (worst, then region, then name)."""
    from guatu.org.models import Region
    from guatu.progress.selectors import warning_queryset

    found = list(
        warning_queryset(user=user)
        .filter(level__code="red")
        .select_related(None)
        .values_list("pk", "project_id", "project__name", "project__total_investment", "region_id", "reasons")
    )
    regions = Region.objects.in_bulk({row[4] for row in found})
    rows = []
    for pk, project_id, name, investment, region_id, reasons in found:
        red = [r for r in reasons if r.get("level") == "red"] or reasons
        rows.append(
            RedProject(
                pk=pk,
                project_id=project_id,
                name=name,
                total_investment=investment,
                region=regions[region_id],
                red_reasons=[r.get("reason", "") for r in red if r.get("reason")],
                red_rules=list(dict.fromkeys(r.get("rule", "") for r in red if r.get("rule"))),
            )
        )
    return rows


@dataclass(frozen=True)
class RedDivision:
    """One division's red projects as the bulletin's summary row prints them."""

    region: str
    count: int
    rules: list[tuple[str, int]]  # (rule name, projects), most first
    named: list[str]  # its RED_NAMED_PER_DIVISION biggest projects (total investment), biggest first

    @property
    def rules_text(self) -> str:
        return rules_text(self.rules)

    @property
    def projects_text(self) -> str:
        """甲、乙、丙等12个 (or the names alone when all are named)."""
        names = "、".join(self.named)
        if self.count > len(self.named):
            return _("%(names)s等%(n)s个") % {"names": names, "n": self.count}
        return names


def rules_text(rules: Sequence[tuple[str, int]]) -> str:
    """开工预警12个、节点预警8个."""
    return "、".join(_("%(rule)s%(n)s个") % {"rule": name, "n": n} for name, n in rules)


def rule_counts(warnings, *, rule_names: dict[str, str]) -> list[tuple[str, int]]:
    """(rule name, red projects that rule made red), most first; a project counts once a rule."""
    counts: dict[str, int] = {}
    for warning in warnings:
        for code in warning.red_rules:
            counts[code] = counts.get(code, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(rule_names.get(code, code), n) for code, n in ordered]


def red_divisions(warnings, *, rule_names: dict[str, str]) -> list[RedDivision]:
    groups: dict[str, list] = {}
    for warning in warnings:
        groups.setdefault(warning.region.label, []).append(warning)
    return [
        RedDivision(
            region=region,
            count=len(members),
            rules=rule_counts(members, rule_names=rule_names),
            named=[w.name for w in biggest(members, RED_NAMED_PER_DIVISION)],
        )
        for region, members in groups.items()
    ]


def biggest(warnings, n: int) -> list:
    """The n projects of largest total investment (unknown last), ties in the list's order."""
    ranked = sorted(enumerate(warnings), key=lambda item: (-(item[1].total_investment or 0), item[0]))
    return [warning for _i, warning in ranked[:n]]


def warning_rule_names(*, user) -> dict[str, str]:
    from guatu.progress.selectors import warning_rule_list

    return {rule.code: rule.name for rule in warning_rule_list(user=user)}


def bulletin_content(
    *, user, period: Period, today: dt.date | None = None, number: int | None = None
) -> BulletinContent:
    """Everything the bulletin says, read for `user` (None: the whole city, read by the system)."""
    from guatu.targets.scoring import ranking_for
    from guatu.targets.selectors import target_rows

    today = today or timezone.localdate()
    reader = user if user is not None else system_reader()
    issuer, code, city = issuer_names()
    scheme, units = ranking_for(user=reader, period=period, group="county", today=today)
    return BulletinContent(
        period=period,
        today=today,
        number=number if number is not None else default_number(period),
        issuer=issuer,
        issuer_code=code,
        city=city,
        targets=list(target_rows(user=reader, period=period, today=today, city_only=True)),
        scheme=scheme,
        units=list(units),
        red=red_projects(user=reader),
        problems=overdue_problems(user=reader, period=period, today=today),
        rule_names=warning_rule_names(user=reader),
    )


def default_number(period: Period) -> int:
    """Without a number given, a quarter's bulletin is numbered by its quarter, a month's by its
    month, a year's 1."""
    return period.index or 1


def target_sentence(row, *, as_of: str) -> str:
    """One target's progress and forecast as the bulletin words it: the figures are the row's, as
    `number_text` prints them."""
    from guatu.targets.metrics import get_metric

    target = row.target
    metric = get_metric(target.metric)
    unit = metric.unit
    parts = [
        _("目标%(cmp)s%(value)s")
        % {"cmp": target.get_comparator_display(), "value": figure(target.value, unit)}
    ]
    if row.actual is None:
        parts.append(_("%(as_of)s暂无数据") % {"as_of": as_of})
    else:
        done = _("%(as_of)s完成%(value)s") % {"as_of": as_of, "value": figure(row.actual, unit)}
        if metric.kind != "rate" and target.comparator != "le" and target.value > 0:
            ratio = Decimal(100) * row.actual / target.value
            done += _("，完成率%(ratio)s%%") % {"ratio": number_text(ratio.quantize(Decimal("0.1")))}
        parts.append(done)
    if row.method not in ("final", "none", "") and row.forecast is not None:
        band = ""
        if row.forecast_low is not None and row.forecast_high is not None:
            band = _("（区间%(low)s～%(high)s）") % {
                "low": number_text(row.forecast_low),
                "high": figure(row.forecast_high, unit),
            }
        parts.append(_("预计期末达到%(value)s%(band)s") % {"value": figure(row.forecast, unit), "band": band})
    if row.parts_total is not None:
        split = _("已分解到县（市）区合计%(total)s") % {"total": figure(row.parts_total, unit)}
        if row.parts_gap:
            split += _("，与目标相差%(gap)s") % {"gap": figure(abs(row.parts_gap), unit)}
        parts.append(split)
    return "；".join(parts) + _("，%(status)s。") % {"status": row.status_label}


STATUS_ORDER = ("met", "on_track", "at_risk", "off_track", "missed", "no_data")


def targets_summary(rows) -> str:
    from guatu.targets.forecast import STATUS_LABELS

    counts = {status: sum(1 for r in rows if r.status == status) for status in STATUS_ORDER}
    spread = "、".join(
        _("%(label)s%(n)s项") % {"label": STATUS_LABELS[s], "n": n} for s, n in counts.items() if n
    )
    return _("全市本期共设%(n)s项目标：%(spread)s。") % {"n": len(rows), "spread": spread}


def movement_text(movement) -> str:
    if movement is None:
        return ""
    if movement > 0:
        return f"↑{movement}"
    if movement < 0:
        return f"↓{-movement}"
    return "—"


def ranking_table_rows(units) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the ranking table: rank, unit, each item's points, bonus, score, movement."""
    items = [line.label for line in units[0].breakdown if line.kind != "bonus"] if units else []
    headers = [_("名次"), _("单位"), *items, _("名次加分"), _("总分"), _("升降")]
    rows = []
    for unit in units:
        points = [number_text(line.points) for line in unit.breakdown if line.kind != "bonus"]
        rows.append(
            [
                str(unit.rank),
                unit.name,
                *points,
                number_text(unit.bonus),
                number_text(unit.score),
                movement_text(unit.movement),
            ]
        )
    return headers, rows


def red_table(warnings) -> tuple[list[str], list[list[str]]]:
    """Every red project: 序号, 项目名称, 所在地区, 红灯原因."""
    rows = [
        [str(i), w.name, w.region.label, "；".join(w.red_reasons)] for i, w in enumerate(warnings, start=1)
    ]
    return [_("序号"), _("项目名称"), _("所在地区"), _("红灯原因")], rows


def problems_table(problems: Sequence[OverdueProblem]) -> tuple[list[str], list[list[str]]]:
    headers = [_("序号"), _("问题"), _("项目"), _("推进主体"), _("牵头领导"), _("时限"), _("逾期天数")]
    rows = [
        [str(i), p.title, p.project, p.owner, p.lead_leader, chinese_date(p.due_date), str(p.days_overdue)]
        for i, p in enumerate(problems, start=1)
    ]
    return headers, rows


def red_section(doc: "Gongwen", content: BulletinContent, tables: int) -> int:
    """The red projects: every one in a table when they are few; else a row per division with its
    count, its projects per warning rule and its biggest projects by name ("等 N 个"), the totals over all of
    them, and the full list in the annex. Returns the number of tables so far."""
    total = len(content.red)
    spread = "、".join(
        _("%(region)s%(n)s个") % {"region": r, "n": n} for r, n in content.red_by_region.items()
    )
    doc.body(
        _(
            "全市共有%(n)s个项目亮红灯，其中%(spread)s（见表%(t)s），请所在县（市）区和推进单位逐一查明原因、限期整改。"
        )
        % {"n": total, "spread": spread, "t": tables + 1}
    )
    tables += 1
    if not content.red_capped:
        doc.caption(_("表%(t)s  红灯项目") % {"t": tables})
        doc.table(*red_table(content.red), left_columns=(1, 3))
        doc.after_table()
        return tables
    rules = rules_text(content.red_rule_counts)
    if rules:
        doc.body(
            _("按触发的预警规则统计：%(rules)s（一个项目可同时触发几条规则，各项之和可多于红灯项目数）。")
            % {"rules": rules}
        )
    doc.body(
        _(
            "表%(t)s按地区列出红灯项目数、各预警规则触发的项目数，并列举各地区总投资最大的%(k)s个项目；"
            "全部%(n)s个红灯项目的名单及红灯原因见%(annex)s。"
        )
        % {"t": tables, "k": RED_NAMED_PER_DIVISION, "n": total, "annex": content.annex_label("red")}
    )
    doc.caption(_("表%(t)s  红灯项目分地区情况") % {"t": tables})
    rows = [[d.region, str(d.count), d.rules_text, d.projects_text] for d in content.red_divisions]
    rows.append([_("合计"), str(total), rules, _("名单见%(annex)s") % {"annex": content.annex_label("red")}])
    doc.table([_("地区"), _("红灯项目数"), _("预警规则"), _("项目")], rows, left_columns=(2, 3))
    doc.after_table()
    return tables


def problems_section(doc: "Gongwen", content: BulletinContent, tables: int) -> int:
    """The overdue problems: every one when they are few; else the most overdue in the body, the
    count per region over all of them, and the full list in the annex."""
    total = len(content.problems)
    if content.problems_capped:
        spread = "、".join(
            _("%(region)s%(n)s个") % {"region": r, "n": n} for r, n in content.problems_by_region.items()
        )
        doc.body(
            _(
                "全市共有%(n)s个问题已超过办理时限仍未解决，其中%(spread)s。逾期最久的%(k)s个见表%(t)s，"
                "全部%(n)s个问题的清单见%(annex)s。请推进主体和牵头领导加快推进。"
            )
            % {
                "n": total,
                "spread": spread,
                "k": len(content.problems_in_body),
                "t": tables + 1,
                "annex": content.annex_label("problems"),
            }
        )
    else:
        doc.body(
            _("以下%(n)s个问题已超过办理时限仍未解决（见表%(t)s），请推进主体和牵头领导加快推进。")
            % {"n": total, "t": tables + 1}
        )
    tables += 1
    doc.caption(_("表%(t)s  逾期未解决问题") % {"t": tables})
    doc.table(*problems_table(content.problems_in_body), left_columns=(1, 2, 3))
    doc.after_table()
    return tables


def bulletin_write(content: BulletinContent) -> Gongwen:
    """Lay the content out as the bulletin."""
    doc = Gongwen(title=content.title, author=content.issuer, on=content.today)
    doc.masthead(issuer=content.issuer, number=content.document_number)
    doc.title(content.title)
    doc.recipients(_("各县（市）区人民政府、开发区管委会，市直有关部门："))
    doc.body(_("现将%(period)s全市重点项目建设情况通报如下。") % {"period": content.period.label})
    tables = 0

    doc.heading(1, _("目标完成情况"))
    if content.targets:
        doc.body(content.summary)
        for _row, name, sentence in content.target_lines:
            doc.heading(2, name + "。", body=sentence)
    else:
        doc.body(_("本期未设全市目标。"))

    doc.heading(1, _("考核排名"))
    if content.scheme is None or not content.units:
        doc.body(_("本期未设考核方案，不作排名。"))
    else:
        scheme = content.scheme
        doc.body(
            _("按照《%(scheme)s》（第%(v)s版），对%(n)s个县（市）区和开发区进行考核，结果如下（见表%(t)s）。")
            % {"scheme": scheme.name, "v": scheme.version, "n": len(content.units), "t": tables + 1}
        )
        leaders = [u.name for u in content.units if u.rank <= 3]
        bottom = [u.name for u in content.units if u.is_bottom]
        if leaders:
            line = _("位列前三的是%(names)s") % {"names": "、".join(leaders)}
            if bottom:
                line += _("；排在后三位的是%(names)s") % {"names": "、".join(bottom)}
            doc.body(line + "。")
        tables += 1
        doc.caption(_("表%(t)s  %(period)s考核排名") % {"t": tables, "period": content.period.label})
        headers, rows = content.ranking_table
        doc.table(headers, rows, left_columns=(1,))
        doc.after_table()

    doc.heading(1, _("红灯项目"))
    if content.red:
        tables = red_section(doc, content, tables)
    else:
        doc.body(_("本期没有亮红灯的项目。"))

    if content.problems:
        doc.heading(1, _("逾期未解决问题"))
        tables = problems_section(doc, content, tables)

    doc.body(
        _(
            "各地各部门要对照目标任务，倒排工期、挂图作战，以月保季、以季保年；亮红灯项目所在地区和推进单位要逐一查明原因、限期整改，确保完成全年目标任务。"
        )
    )
    if content.annexes:
        doc.annex_note([content.annex_title(key) for key in content.annexes])
    doc.signature(issuer=content.issuer, on=content.today)
    for key in content.annexes:
        doc.annex(content.annex_label(key), content.annex_title(key))
        if key == "red":
            doc.table(*red_table(content.red), left_columns=(1, 3))
        else:
            doc.table(*problems_table(content.problems), left_columns=(1, 2, 3))
    doc.imprint(
        copy_to=_("市委办公室，市人大常委会办公室，市政府办公室，市政协办公室"),
        printer=content.issuer,
        printed_on=content.today,
    )
    return doc


def metric_label(row) -> str:
    from guatu.targets.metrics import metric_name

    return metric_name(row.target.metric)


def bulletin_docx(content: BulletinContent) -> bytes:
    return bulletin_write(content).to_bytes()


# --- who may issue it, and the periods offered


def may_issue(user) -> bool:
    """The bulletin names every county's rank and every red-light project of the city: it is the
    project office's document to the leaders. Only the roles that read the whole city open it (项目办
    and 领导); restrict() still decides every row it reads (both see all of them)."""
    from guatu.accounts.models import Role
    from guatu.core.permissions import can
    from guatu.targets.models import Target

    return can(user, "view", Target) and getattr(user, "role", None) in {Role.CITY_ADMIN, Role.LEADER}


def period_choices(today: dt.date) -> list[Period]:
    """The quarters of this year up to the current one and of last year, newest first, each year
    after its quarters."""
    from guatu.targets.periods import QUARTER, YEAR

    current = Period.containing(today, QUARTER)
    choices: list[Period] = []
    for year in (today.year, today.year - 1):
        last = current.index if year == today.year else 4
        choices.extend(Period(year, QUARTER, q) for q in range(last, 0, -1))
        choices.append(Period(year, YEAR))
    return choices
