"""通报 at scale: past a few dozen red projects (overdue problems) the body sums them up by division
and the full list goes to an annex, with totals that stay exact; the table writer keeps every text;
the number of queries does not grow with the rows."""

import datetime as dt
import io
from decimal import Decimal

import docx
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from docx.oxml.ns import qn
from docx.shared import Emu, Pt

from guatu.core.testing import make_project
from guatu.problems.tests.problem_helpers import make_problem
from guatu.progress.models import ProjectWarning, WarningLevel
from guatu.targets import bulletin
from guatu.targets.bulletin import HEITI, Gongwen, OverdueProblem, bulletin_content, bulletin_docx
from guatu.targets.periods import Period

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 15)
Q1 = Period.parse("2026Q1")


def light(project, level: str, reasons: list[tuple[str, str]]) -> ProjectWarning:
    """The project's light at `level` with these (rule, reason) pairs, each of that level."""
    return ProjectWarning.objects.create(
        project=project,
        region=project.region,
        level=WarningLevel.objects.get(code=level),
        reasons=[{"rule": rule, "level": level, "reason": reason} for rule, reason in reasons],
        rules="," + ",".join(rule for rule, _reason in reasons) + ",",
        computed_at=timezone.now(),
        computed_on=TODAY,
    )


def read(data: bytes):
    return docx.Document(io.BytesIO(data))


def texts(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.text]


def cells(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def table_headed(document, first: str, *, nth: int = 0):
    return [t for t in document.tables if t.rows[0].cells[0].text == first][nth]


def body_order(document) -> list:
    """The body's paragraphs and tables in document order."""
    return list(document.element.body.iterchildren(qn("w:p"), qn("w:tbl")))


@pytest.fixture
def many_red(world, monkeypatch):
    """Past the (lowered) limit: three red projects in 双塔区 of different sizes, one in 龙城区; a yellow
    one that is never listed."""
    monkeypatch.setattr(bulletin, "RED_LIST_ALL", 3)
    monkeypatch.setattr(bulletin, "RED_NAMED_PER_DIVISION", 2)
    shuangta, longcheng = world.counties["211302"], world.counties["211303"]
    specs = [
        (shuangta, "甲光伏项目", "5000", [("start", "计划1月开工，已过2个月仍未开工")]),
        (
            shuangta,
            "乙储能项目",
            "30000",
            [("start", "计划1月开工，已过2个月仍未开工"), ("deadline", "环评超过最迟办结日期40天")],
        ),
        (shuangta, "丙物流项目", "20000", [("deadline", "主体完工节点超过计划日期35天")]),
        (longcheng, "丁食品项目", "8000", [("progress", "形象进度落后序时32个百分点")]),
    ]
    for region, name, investment, reasons in specs:
        light(
            make_project(world, name=name, region=region, total_investment=Decimal(investment)),
            "red",
            reasons,
        )
    light(make_project(world, name="戊黄灯项目", region=shuangta), "yellow", [("report", "月报迟报")])


def build(**kwargs) -> bytes:
    return bulletin_docx(bulletin_content(user=None, period=Q1, today=TODAY, number=1, **kwargs))


# --- red projects past the limit


def test_division_rows_count_every_red_project_and_name_the_biggest(many_red):
    content = bulletin_content(user=None, period=Q1, today=TODAY)
    assert content.red_capped and content.annexes == ["red"]
    document = read(bulletin_docx(content))
    rows = cells(table_headed(document, "地区"))
    assert rows[0] == ["地区", "红灯项目数", "预警规则", "项目"]
    assert rows[1:] == [
        # 开工 and 节点 two projects each (乙 has both), ties by rule code; 乙 and 丙 are the biggest.
        ["双塔区", "3", "节点预警2个、开工预警2个", "乙储能项目、丙物流项目等3个"],
        ["龙城区", "1", "进度预警1个", "丁食品项目"],
        ["合计", "4", "节点预警2个、开工预警2个、进度预警1个", "名单见附件"],
    ]
    # The totals are exact: the divisions add up to the total, which is every red light.
    assert sum(int(row[1]) for row in rows[1:-1]) == int(rows[-1][1]) == len(content.red) == 4
    text = "\n".join(texts(document))
    assert "全市共有4个项目亮红灯，其中双塔区3个、龙城区1个（见表2）" in text
    assert "按触发的预警规则统计：节点预警2个、开工预警2个、进度预警1个" in text
    assert "并列举各地区总投资最大的2个项目；全部4个红灯项目的名单及红灯原因见附件。" in text
    assert "戊黄灯项目" not in text and all("戊黄灯项目" not in str(cells(t)) for t in document.tables)


def test_the_annex_lists_every_red_project_after_the_signature_on_a_new_page(many_red):
    content = bulletin_content(user=None, period=Q1, today=TODAY)
    document = read(bulletin_docx(content))
    paragraphs = texts(document)
    # 附件说明 below the body, before the signature; a single annex is not numbered.
    note = paragraphs.index("附件：红灯项目名单")
    assert paragraphs[note + 1 : note + 3] == ["朝阳市重点项目建设指挥部办公室", "2026年3月15日"]
    assert paragraphs[note + 3 : note + 5] == ["附件", "红灯项目名单"]
    mark = next(p for p in document.paragraphs if p.text == "附件")
    assert mark.paragraph_format.page_break_before is True
    assert mark.runs[0]._r.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == HEITI
    title = next(p for p in document.paragraphs if p.text == "红灯项目名单")
    assert title.style.name == "公文标题"

    annex = table_headed(document, "序号")  # the body has no full list, so this is the annex's
    rows = cells(annex)
    assert rows[0] == ["序号", "项目名称", "所在地区", "红灯原因"]
    assert rows[1:] == [
        [str(i), w.project.name, w.region.label, "；".join(w.red_reasons)]
        for i, w in enumerate(content.red, start=1)
    ]
    assert [row[2] for row in rows[1:]] == ["双塔区", "双塔区", "双塔区", "龙城区"]  # by division
    both = next(row for row in rows if row[1] == "乙储能项目")
    assert both[3] == "计划1月开工，已过2个月仍未开工；环评超过最迟办结日期40天"
    # The header repeats on every page; no row splits across pages; the 版记 comes after the annex.
    assert annex.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in annex.rows[1:])
    order = body_order(document)
    date = next(p for p in document.paragraphs if p.text == "2026年3月15日")
    assert order.index(date._p) < order.index(annex._tbl) < order.index(document.tables[-1]._tbl)
    assert document.tables[-1].rows[0].cells[0].text.startswith("抄送：")


def test_few_red_projects_are_all_listed_in_the_body_without_an_annex(world):
    longcheng = light(
        make_project(world, name="龙城项目", region=world.counties["211303"]), "red", [("start", "未开工")]
    )
    shuangta = light(make_project(world, name="双塔项目"), "red", [("deadline", "节点超期")])
    content = bulletin_content(user=None, period=Q1, today=TODAY)
    assert not content.red_capped and content.annexes == []
    document = read(bulletin_docx(content))
    rows = cells(table_headed(document, "序号"))
    # By division (region code), each with its reasons.
    assert rows[1:] == [["1", "双塔项目", "双塔区", "节点超期"], ["2", "龙城项目", "龙城区", "未开工"]]
    assert [w.pk for w in content.red] == [shuangta.pk, longcheng.pk]
    assert not any(p.startswith("附件") for p in texts(document))
    assert not [t for t in document.tables if t.rows[0].cells[0].text == "地区"]


def test_command_names_the_annexes(many_red, tmp_path, capsys):
    out = tmp_path / "通报.docx"
    call_command("bulletin", "--period", "2026Q1", "--output", str(out), "--date", "2026-03-15")
    assert "红灯项目 4 个，逾期问题 0 个；附件：红灯项目名单" in capsys.readouterr().out
    assert "附件：红灯项目名单" in texts(read(out.read_bytes()))


# --- overdue problems past the limit


def overdue(n: int) -> list[OverdueProblem]:
    return [
        OverdueProblem(
            title=f"问题{i}",
            project=f"项目{i}",
            region="龙城区" if i % 2 else "双塔区",
            owner="市自然资源局",
            lead_leader="副市长刘志刚",
            due_date=TODAY - dt.timedelta(days=30 - i),
            days_overdue=30 - i,
        )
        for i in range(1, n + 1)
    ]


def test_many_overdue_problems_list_the_worst_and_annex_them_all(many_red, monkeypatch):
    monkeypatch.setattr(bulletin, "PROBLEMS_LIST_ALL", 3)
    monkeypatch.setattr(bulletin, "PROBLEMS_IN_BODY", 2)
    problems = overdue(5)
    monkeypatch.setattr(bulletin, "overdue_problems", lambda **kwargs: problems)
    content = bulletin_content(user=None, period=Q1, today=TODAY)
    assert content.annexes == ["red", "problems"]
    document = read(bulletin_docx(content))
    text = "\n".join(texts(document))
    assert (
        "全市共有5个问题已超过办理时限仍未解决，其中龙城区3个、双塔区2个。逾期最久的2个见表3，"
        "全部5个问题的清单见附件2。" in text
    )
    body, annex = table_headed(document, "序号", nth=0), table_headed(document, "序号", nth=2)
    assert [row[1] for row in cells(body)[1:]] == ["问题1", "问题2"]
    assert cells(annex)[0][1] == "问题" and [row[1] for row in cells(annex)[1:]] == [
        f"问题{i}" for i in range(1, 6)
    ]
    assert cells(annex)[5] == ["5", "问题5", "项目5", "市自然资源局", "副市长刘志刚", "2026年2月18日", "25"]
    # Two annexes: numbered in the note, the later name aligned under the first, and on their pages.
    paragraphs = texts(document)
    note = paragraphs.index("附件：1.红灯项目名单")
    assert paragraphs[note + 1] == "2.逾期未解决问题清单"
    second = next(p for p in document.paragraphs if p.text == "2.逾期未解决问题清单")
    assert second._p.pPr.find(qn("w:ind")).get(qn("w:leftChars")) == "500"
    assert [p for p in paragraphs if p in ("附件1", "附件2")] == ["附件1", "附件2"]
    assert cells(table_headed(document, "地区"))[-1][-1] == "名单见附件1"
    assert "全部4个红灯项目的名单及红灯原因见附件1。" in text


# --- the table writer


def test_table_cells_keep_every_text_and_take_the_table_style(tmp_path):
    doc = Gongwen(title="测试", author="测试机关", on=TODAY)
    doc.table(
        ["甲", "乙", "丙"],
        [["A&B <c>", "  两端空格  ", "第一行\n第二行\t后"], ["\x07控制符", "", "普通"]],
        left_columns=(1,),
    )
    doc.save(tmp_path / "table.docx")
    document = docx.Document(str(tmp_path / "table.docx"))
    table = document.tables[0]
    assert cells(table) == [
        ["甲", "乙", "丙"],
        ["A&B <c>", "  两端空格  ", "第一行\n第二行\t后"],
        ["控制符", "", "普通"],  # a character XML cannot hold is dropped
    ]
    row = table.rows[1]
    assert [c.paragraphs[0].style.name for c in row.cells] == ["公文表格"] * 3
    assert [c.paragraphs[0].alignment for c in row.cells] == [1, 0, 1]  # centre, left, centre
    style = document.styles["公文表格"]
    assert style.font.size == Pt(12)
    assert style.paragraph_format.line_spacing == Pt(18)
    assert style.element.pPr.find(qn("w:snapToGrid")).get(qn("w:val")) == "0"
    # Columns across the text block, each body cell as wide as its column.
    grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.iterchildren(qn("w:gridCol"))]
    assert abs(Emu(sum(grid) * 635).mm - 156) < 0.5
    for body_row in table.rows[1:]:
        widths = [int(tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for tc in body_row._tr.tc_lst]
        assert widths == grid


def test_a_wide_table_takes_the_smaller_table_style():
    doc = Gongwen(title="测试", author="测试机关", on=TODAY)
    doc.table(["序号", "说明"], [["1", "很长的说明" * 30], ["2", "短"]])
    document = read(doc.to_bytes())
    table = document.tables[0]
    assert {c.paragraphs[0].style.name for row in table.rows[1:] for c in row.cells} == {"公文表格五号"}
    assert all(run.font.size == Pt(10.5) for c in table.rows[0].cells for run in c.paragraphs[0].runs)
    assert document.styles["公文表格五号"].paragraph_format.line_spacing == Pt(15.75)


# --- queries


def test_queries_do_not_grow_with_red_projects_or_problems(world):
    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as reading:
            content = bulletin_content(user=None, period=Q1, today=TODAY)
        with CaptureQueriesContext(connection) as writing:
            bulletin_docx(content)
        return len(reading.captured_queries), len(writing.captured_queries)

    def add(n: int) -> None:
        for _i in range(n):
            project = make_project(world)
            light(project, "red", [("start", "未开工")])
            make_problem(world, project=project, due_date=dt.date(2026, 3, 1), today=dt.date(2026, 2, 1))

    add(1)
    few = count()
    add(4)
    many = count()
    content = bulletin_content(user=None, period=Q1, today=TODAY)
    assert len(content.red) == 5 and len(content.problems) == 5
    assert many == few
    assert few[1] == 0  # the writer reads nothing


def test_page_links_the_red_projects_it_shows(many_red, world, client):
    client.force_login(world.users["city"])
    response = client.get(reverse("targets:bulletin"), {"period": "2026Q1", "date": "2026-03-15"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "全市共有 4 个项目亮红灯" in page
    for warning in ProjectWarning.objects.filter(level__code="red"):
        url = reverse("projects:project_detail", args=[warning.project_id])
        assert f'href="{url}">{warning.project.name}</a>（{warning.region.label}）' in page
