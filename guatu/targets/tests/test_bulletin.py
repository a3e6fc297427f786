"""通报: the Word file is read back and its layout checked against GB/T 9704-2012; its figures are
the selectors'; the command and the page write it for the right people only."""

import datetime as dt
import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt

from guatu.core.testing import make_project
from guatu.progress.models import ProjectWarning, WarningLevel
from guatu.targets import bulletin
from guatu.targets.bulletin import (
    FANGSONG,
    HEITI,
    KAITI,
    SONGTI,
    XIAOBIAOSONG,
    Gongwen,
    OverdueProblem,
    bulletin_content,
    bulletin_docx,
    number_text,
    system_reader,
)
from guatu.targets.models import Target
from guatu.targets.periods import Period
from guatu.targets.scoring import ranking_for
from guatu.targets.selectors import target_rows

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 15)
Q1 = Period.parse("2026Q1")
A4_POINTS = (595.3, 841.9)


# --- helpers


def city_target(world, metric: str, value: str) -> Target:
    return Target.objects.create(
        metric=metric,
        region=world.city,
        period=str(Q1),
        period_kind="quarter",
        start=Q1.start,
        end=Q1.end,
        value=Decimal(value),
    )


def light(project, level: str, reason: str) -> ProjectWarning:
    warning, _created = ProjectWarning.objects.update_or_create(
        project=project,
        defaults={
            "region": project.region,
            "level": WarningLevel.objects.get(code=level),
            "reasons": [{"rule": "start", "level": level, "reason": reason}],
            "rules": ",start,",
            "computed_at": timezone.now(),
            "computed_on": TODAY,
        },
    )
    return warning


@pytest.fixture
def campaign(world):
    """Two city targets of 2026Q1; one project started in February, one due to start on 20 March;
    a red light and a yellow one."""
    started = make_project(
        world, name="双塔光伏组件项目", stage="under_construction", planned_start=dt.date(2026, 2, 10)
    )
    due = make_project(
        world,
        name="龙城储能电站项目",
        region=world.counties["211303"],
        planned_start=dt.date(2026, 3, 20),
    )
    light(due, "red", "计划3月开工，前期手续超期")
    light(started, "yellow", "形象进度落后序时15个百分点")
    city_target(world, "started", "2")
    city_target(world, "investment_done", "1000")
    return {"started": started, "due": due}


def read(data: bytes):
    return docx.Document(io.BytesIO(data))


def build(user=None, **kwargs) -> bytes:
    content = bulletin_content(user=user, period=Q1, today=TODAY, number=7, **kwargs)
    return bulletin_docx(content)


def east_asia(run) -> str | None:
    fonts = run._r.rPr.find(qn("w:rFonts"))
    return fonts.get(qn("w:eastAsia")) if fonts is not None else None


def first_with(document, text: str):
    return next(p for p in document.paragraphs if text in p.text)


def text_of(document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


def approx_mm(length, mm: float) -> bool:
    return abs(Emu(length).mm - mm) < 0.1


# --- layout


def test_page_is_a4_with_the_standard_margins_and_text_block(campaign):
    section = read(build()).sections[0]
    assert approx_mm(section.page_width, 210) and approx_mm(section.page_height, 297)
    assert approx_mm(section.top_margin, 37)
    assert approx_mm(section.left_margin, 28)  # 订口
    assert approx_mm(section.page_width - section.left_margin - section.right_margin, 156)
    assert approx_mm(section.page_height - section.top_margin - section.bottom_margin, 225)


def test_line_grid_gives_22_lines_and_condensed_type_28_characters(campaign):
    """A grid of lines only (LibreOffice sets a linesAndChars grid at 14 characters a line); the
    28 characters come from the body and heading styles, condensed by 5 twips a character."""
    document = read(build())
    grid = document.sections[0]._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines"
    assert grid.get(qn("w:charSpace")) is None
    pitch = int(grid.get(qn("w:linePitch")))
    text_height = round(Mm(225) / 635)  # twips
    assert pitch == 579
    assert 22 * pitch <= text_height < 23 * pitch
    text_width = round(Mm(156) / 635)  # twips
    for name in ["公文正文", "公文1级标题", "公文2级标题", "公文3级标题", "公文4级标题"]:
        rpr = document.styles[name].element.rPr
        spacing = int(rpr.find(qn("w:spacing")).get(qn("w:val")))
        assert spacing == -5, name
        char_pitch = 16 * 20 + spacing  # twips: 315, 15.75 pt
        assert 28 * char_pitch <= text_width < 29 * char_pitch
    # The title, tables and the 版记 keep their full width.
    for name in ["公文标题", "公文表格", "公文版记", "Normal"]:
        assert document.styles[name].element.rPr.find(qn("w:spacing")) is None, name
    # The body's first line is indented by two condensed characters exactly.
    assert document.styles["公文正文"].paragraph_format.first_line_indent == Pt(31.5)


def test_normal_font_is_3hao_fangsong_for_every_script(campaign):
    document = read(build())
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == FANGSONG and fonts.get(qn("w:ascii")) == FANGSONG
    assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would override the named one
    assert defaults.find(qn("w:sz")).get(qn("w:val")) == "32"
    assert document.styles["Normal"].font.size == Pt(16)


def test_masthead_red_issuer_number_and_separator(campaign):
    document = read(build())
    paragraphs = document.paragraphs
    issuer = paragraphs[0]
    assert issuer.text == "朝阳市重点项目建设指挥部办公室"
    assert approx_mm(issuer.paragraph_format.space_before, 35)
    assert all(str(run.font.color.rgb) == "FF0000" for run in issuer.runs)
    assert {east_asia(run) for run in issuer.runs} == {XIAOBIAOSONG}
    # Two blank lines, then the 发文字号 with the red line 4 mm below it.
    assert paragraphs[1].text == "" and paragraphs[2].text == ""
    number = paragraphs[3]
    assert number.text == "朝重项办〔2026〕7号"
    assert "〔2026〕7号" in number.text
    bottom = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert bottom.get(qn("w:color")) == "FF0000"
    assert abs(int(bottom.get(qn("w:space"))) - Mm(4).pt) < 0.5


def test_title_is_2hao_xiaobiaosong(campaign):
    document = read(build())
    title = first_with(document, "关于2026年第一季度全市重点项目建设情况的通报")
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    for run in title.runs:
        assert run.font.size == Pt(22)
        assert east_asia(run) == XIAOBIAOSONG


def test_body_is_3hao_fangsong_indented_two_characters(campaign):
    document = read(build())
    body = first_with(document, "现将2026年第一季度全市重点项目建设情况通报如下。")
    assert body.style.name == "公文正文"
    assert body.style.paragraph_format.first_line_indent > Pt(31)  # two characters of ~15.8 pt
    for run in body.runs:
        assert run.font.size == Pt(16)
        assert east_asia(run) == FANGSONG


def test_heading_levels_in_heiti_kaiti_fangsong():
    doc = Gongwen(title="测试", author="测试机关", on=TODAY)
    doc.heading(1, "总体情况")
    doc.heading(2, "开工情况")
    doc.heading(3, "新开工项目")
    doc.heading(4, "产业项目")
    doc.heading(2, "投资情况", body="完成投资1000万元。")
    doc.heading(1, "下一步工作")
    document = read(doc.to_bytes())
    expected = [
        ("一、总体情况", HEITI),
        ("（一）开工情况", KAITI),
        ("1.新开工项目", FANGSONG),
        ("（1）产业项目", FANGSONG),
        ("（二）投资情况", KAITI),
        ("二、下一步工作", HEITI),
    ]
    headings = [p for p in document.paragraphs if p.text]
    assert [p.runs[0].text for p in headings] == [text for text, _font in expected]
    for paragraph, (_text, font) in zip(headings, expected, strict=True):
        assert east_asia(paragraph.runs[0]) == font
        assert paragraph.runs[0].font.size == Pt(16)
    run_in = headings[4]
    assert run_in.text == "（二）投资情况完成投资1000万元。"
    assert east_asia(run_in.runs[1]) == FANGSONG


def test_bulletin_headings_use_the_level_fonts(campaign):
    document = read(build())
    level1 = first_with(document, "一、目标完成情况")
    assert east_asia(level1.runs[0]) == HEITI
    level2 = first_with(document, "（一）")
    assert east_asia(level2.runs[0]) == KAITI
    assert east_asia(level2.runs[1]) == FANGSONG


def test_page_numbers_odd_right_even_left_with_page_field(campaign):
    document = read(build())
    assert document.settings.odd_and_even_pages_header_footer is True
    section = document.sections[0]
    for footer, alignment in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0]
        xml = paragraph._p.xml
        assert 'w:fldCharType="begin"' in xml and 'w:fldCharType="end"' in xml
        instructions = [e.text.strip() for e in paragraph._p.iter(qn("w:instrText"))]
        assert instructions == ["PAGE"]
        assert paragraph.text == "— 1 —"
        assert paragraph.alignment == alignment
        assert all(run.font.size == Pt(14) and east_asia(run) == SONGTI for run in paragraph.runs)
    # The number's line (14 pt) ends 7 mm below the text block: bottom margin 35 − 7 − 14 pt.
    assert abs(section.footer_distance.mm - (35 - 7 - Pt(14).mm)) < 0.1


def test_date_four_characters_from_the_right_and_imprint(campaign):
    document = read(build())
    date = [p for p in document.paragraphs if p.text == "2026年3月15日"]
    assert len(date) == 1
    ind = date[0]._p.pPr.find(qn("w:ind"))
    assert ind.get(qn("w:rightChars")) == "400"
    assert date[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    imprint = document.tables[-1]
    assert imprint.rows[0].cells[0].text.startswith("抄送：")
    assert imprint.rows[1].cells[0].text.endswith("2026年3月15日印发")
    for row in imprint.rows:
        assert all(run.font.size == Pt(14) for run in row.cells[0].paragraphs[0].runs)  # 4号


def test_properties_name_the_issuer_and_nothing_else(campaign):
    data = build()
    props = read(data).core_properties
    assert props.author == "朝阳市重点项目建设指挥部办公室"
    assert props.title == "关于2026年第一季度全市重点项目建设情况的通报"
    assert b"python-docx" not in _unzipped(data, "docProps/core.xml")


def test_properties_in_schema_order_so_word_opens_it(campaign):
    """Word refuses a file whose property elements are out of the schema's order."""
    from lxml import etree

    data = build()
    checked = 0
    for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml", "word/footer2.xml"):
        root = etree.fromstring(_unzipped(data, part))
        for parent_name, order in bulletin.SCHEMA_ORDER.items():
            for parent in root.iter(qn(f"w:{parent_name}")):
                names = [etree.QName(child).localname for child in parent]
                positions = [order.index(n) for n in names if n in order]
                assert positions == sorted(positions), (part, parent_name, names)
                checked += 1
    assert checked > 100


def _unzipped(data: bytes, name: str) -> bytes:
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data)).read(name)


# --- content


def test_target_figures_are_the_selectors(campaign, world):
    rows = target_rows(user=world.users["city"], period=Q1, today=TODAY, city_only=True)
    assert len(rows) == 2
    text = text_of(read(build()))
    for row in rows:
        line = next(line for line in text.splitlines() if bulletin.metric_label(row) + "。" in line)
        assert number_text(row.target.value) in line
        assert "完成" + number_text(row.actual) in line
        if row.forecast is not None and row.method not in ("final", "none"):
            assert "预计期末达到" + number_text(row.forecast) in line
            assert f"区间{number_text(row.forecast_low)}～{number_text(row.forecast_high)}" in line
        assert line.endswith(row.status_label + "。")


def test_started_target_reads_as_hand_computed(campaign):
    """One project started in February (of a target of 2); one due on 20 March with no history
    (on-time rate 0.5): forecast 1.5, band 1.5 ± 1.28·√0.25 clipped to [1, 2]."""
    text = text_of(read(build()))
    line = next(line for line in text.splitlines() if "开工项目数。" in line)
    assert "目标≥2个" in line
    assert "截至3月15日完成1个，完成率50%" in line
    assert "预计期末达到1.5个（区间1～2个）" in line


def test_ranking_table_has_a_row_per_ranked_unit(campaign, world):
    _scheme, units = ranking_for(user=world.users["leader"], period=Q1, today=TODAY)
    assert units, "the seeded 2026 county scheme ranks the counties"
    document = read(build())
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "名次")
    body = table.rows[1:]
    assert len(body) == len(units)
    assert [row.cells[1].text for row in body] == [u.name for u in units]
    assert [row.cells[0].text for row in body] == [str(u.rank) for u in units]
    assert [row.cells[-2].text for row in body] == [number_text(u.score) for u in units]
    items = [line.label for line in units[0].breakdown if line.kind != "bonus"]
    assert [c.text for c in table.rows[0].cells[2 : 2 + len(items)]] == items


def test_red_projects_listed_yellow_ones_not(campaign):
    document = read(build())
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "序号")
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert rows == [["1", "龙城储能电站项目", "龙城区", "计划3月开工，前期手续超期"]]
    assert "全市共有1个项目亮红灯，其中龙城区1个" in text_of(document)
    assert "双塔光伏组件项目" not in text_of(document)


def test_overdue_problems_section_only_once_problems_exist(campaign, monkeypatch):
    assert bulletin.overdue_problems(user=None, period=Q1, today=TODAY) == []
    assert "逾期未解决问题" not in text_of(read(build()))
    problem = OverdueProblem(
        title="用地指标未落实",
        project="龙城储能电站项目",
        region="龙城区",
        owner="龙城区自然资源局",
        lead_leader="张副区长",
        due_date=dt.date(2026, 2, 28),
        days_overdue=15,
    )
    monkeypatch.setattr(bulletin, "overdue_problems", lambda **kwargs: [problem])
    document = read(build())
    assert "四、逾期未解决问题" in text_of(document)
    table = next(t for t in document.tables if t.rows[0].cells[1].text == "问题")
    assert [c.text for c in table.rows[1].cells] == [
        "1",
        "用地指标未落实",
        "龙城储能电站项目",
        "龙城区自然资源局",
        "张副区长",
        "2026年2月28日",
        "15",
    ]


def test_without_a_user_the_system_reads_the_whole_city(campaign, world):
    """user=None (the command) sees what the project office sees; it is a leader only in memory."""
    reader = system_reader()
    assert reader.pk is None and reader.role == "leader"
    as_system = bulletin_content(user=None, period=Q1, today=TODAY)
    as_city = bulletin_content(user=world.users["city"], period=Q1, today=TODAY)
    assert [r.target.pk for r in as_system.targets] == [r.target.pk for r in as_city.targets]
    assert [w.pk for w in as_system.red] == [w.pk for w in as_city.red]
    assert [(u.name, u.score) for u in as_system.units] == [(u.name, u.score) for u in as_city.units]
    assert as_system.number == 1  # a quarter's bulletin is numbered by its quarter by default


def test_empty_period_still_makes_a_document(world):
    document = read(bulletin_docx(bulletin_content(user=None, period=Period.parse("2027Q2"), today=TODAY)))
    text = text_of(document)
    assert "本期未设全市目标。" in text
    assert "本期未设考核方案，不作排名。" in text
    assert "本期没有亮红灯的项目。" in text


# --- command


def test_command_writes_the_file(campaign, tmp_path, capsys):
    out = tmp_path / "通报.docx"
    call_command(
        "bulletin", "--period", "2026Q1", "--output", str(out), "--number", "7", "--date", "2026-03-15"
    )
    printed = capsys.readouterr().out
    assert str(out) in printed and "〔2026〕7号" in printed and "红灯项目 1 个" in printed
    document = read(out.read_bytes())
    assert document.paragraphs[3].text == "朝重项办〔2026〕7号"
    assert "2026年3月15日" in text_of(document)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026Q5"], "期间“2026Q5”有误：季度须为 1–4"),
        (["--period", "2026Q1", "--date", "2026-13-01"], "日期“2026-13-01”格式不对"),
        (["--period", "2026Q1", "--number", "0"], "发文字号的序号须为正整数"),
    ],
)
def test_command_rejects_bad_input_and_writes_nothing(world, tmp_path, args, message):
    out = tmp_path / "bulletin.docx"
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("bulletin", *args, "--output", str(out))
    assert not out.exists()


# --- page


def test_page_previews_for_city_and_leader(campaign, world, client):
    for who in ("city", "leader"):
        client.force_login(world.users[who])
        response = client.get(reverse("targets:bulletin"), {"period": "2026Q1", "date": "2026-03-15"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "下载通报 (Word)" in page
        assert "关于2026年第一季度全市重点项目建设情况的通报" in page
        assert "龙城储能电站项目" in page


@pytest.mark.parametrize("who", ["county", "department", "enterprise", "steward", "auditor", "sysadmin"])
def test_page_and_download_refused_to_other_roles(world, client, who):
    client.force_login(world.users[who])
    assert client.get(reverse("targets:bulletin")).status_code == 403
    assert client.get(reverse("targets:bulletin_download"), {"period": "2026Q1"}).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("targets:bulletin_download"), {"period": "2026Q1"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_download_is_the_docx_with_a_chinese_filename(campaign, world, client):
    client.force_login(world.users["city"])
    response = client.get(
        reverse("targets:bulletin_download"), {"period": "2026Q1", "number": "7", "date": "2026-03-15"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml"
    )
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''" in disposition
    from urllib.parse import quote

    assert quote("朝阳市重点项目建设2026年第一季度通报.docx") in disposition
    document = read(response.content)
    assert document.paragraphs[3].text == "朝重项办〔2026〕7号"


def test_bad_period_on_the_page_says_why_and_downloads_nothing(world, client):
    client.force_login(world.users["city"])
    response = client.get(reverse("targets:bulletin_download"), {"period": "2026Q5"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "期间“2026Q5”有误：季度须为 1–4" in response.content.decode()


# --- PDF through LibreOffice


def _pdf_facts(pdf: bytes) -> tuple[int, list[tuple[float, float]]]:
    """(page count, each page's MediaBox size in points)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        pages = re.findall(rb"/Type\s*/Page(?![s\w])", pdf)
        boxes = re.findall(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", pdf)
        sizes = [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]
        return len(pages), sizes
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def to_pdf(data: bytes, tmp_path: Path) -> bytes:
    source = tmp_path / "bulletin.docx"
    source.write_bytes(data)
    profile = tmp_path / "profile"  # a profile of its own, so that parallel runs do not collide
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return (tmp_path / "bulletin.pdf").read_bytes()


needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed here"
)
needs_pdftotext = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed here"
)


@needs_soffice
def test_libreoffice_converts_it_to_an_a4_pdf(campaign, tmp_path):
    pdf = to_pdf(build(), tmp_path)
    assert pdf.startswith(b"%PDF")
    count, sizes = _pdf_facts(pdf)
    assert count > 0
    assert sizes, "every page has a MediaBox"
    for width, height in sizes:
        assert abs(width - A4_POINTS[0]) < 1 and abs(height - A4_POINTS[1]) < 1


# Forty different characters, none of them punctuation (which a reader may compress or hang).
HANZI = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就年说得下自会可也你对"


def hanzi(start: int, count: int) -> str:
    return "".join(HANZI[(start + i) % len(HANZI)] for i in range(count))


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    """Each page's lines as pdftotext lays them out, blank lines and spaces dropped."""
    (tmp_path / "laid.pdf").write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "laid.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    pages = [[re.sub(r"\s+", "", line) for line in page.splitlines()] for page in out.split("\f")]
    return [[line for line in page if line] for page in pages if any(page)]


@needs_soffice
@needs_pdftotext
def test_pdf_lines_hold_28_characters_and_pages_22_lines(tmp_path):
    """Through LibreOffice: a body paragraph of 60 characters indented two runs 26, 28, 6; flush,
    28, 28, 4; a heading of 40 (with its 一、) 26, 14; then full lines of 28, 22 to a page."""
    doc = Gongwen(title="测试", author="测试机关", on=TODAY)
    indented = hanzi(0, 60)
    doc.body(indented)
    flush = hanzi(7, 60)
    doc.body(flush).paragraph_format.first_line_indent = Pt(0)
    heading = hanzi(13, 38)
    doc.heading(1, heading)
    long = hanzi(21, 28 * 40)
    doc.body(long).paragraph_format.first_line_indent = Pt(0)

    pages = pdf_pages(to_pdf(doc.to_bytes(), tmp_path), tmp_path)
    assert len(pages) == 3
    body = []
    for number, page in enumerate(pages, start=1):
        assert page[-1] == f"—{number}—"  # the page number, in the footer
        body.append(page[:-1])
    assert [len(line) for line in body[0]] == [26, 28, 6, 28, 28, 4, 26, 14] + [28] * 14
    assert [len(line) for line in body[1]] == [28] * 22
    assert [len(line) for line in body[2]] == [28] * 4
    # Every character is there, in order, each line a full-width character to a cell.
    assert "".join(line for page in body for line in page) == indented + flush + "一、" + heading + long
