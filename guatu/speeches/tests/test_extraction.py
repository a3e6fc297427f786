from pathlib import Path

import pytest

from guatu.speeches.extraction import Item, extract, extract_document
from guatu.speeches.management.commands.extract_eval import evaluate, load_labelled
from guatu.speeches.text import read_file

SEED = Path(__file__).resolve().parent / "data" / "seed_000.txt"  # ../shared/seed/000_16491a11ba5dc244.txt
DATA = Path(__file__).resolve().parent / "data"


def quantities(text, year=2022):
    return [i for i in extract(text, year=year) if i.kind != "task"]


def only(text, year=2022) -> Item:
    items = quantities(text, year)
    assert len(items) == 1, [(text[i.start : i.end], i.kind, i.value) for i in items]
    return items[0]


def phrase(text, item):
    return text[item.start : item.end]


# --- the seed -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_items():
    text = read_file(SEED)
    speeches = extract_document(text)
    return text, speeches


@pytest.mark.parametrize(
    ("quoted", "kind", "value", "unit", "comparator", "period"),
    [
        ("120个", "target", 120, "个", "=", "2022Q1"),
        ("191个", "target", 191, "个", "=", "2022Q2"),
        ("200个以上", "target", 200, "个", ">=", "2022"),
        ("1000个以上", "target", 1000, "个", ">=", "2022"),
        ("5000万元", "funding", 50_000_000, "元", "=", None),
        ("92项", "target", 92, "项", "=", None),
        ("8个", "target", 8, "个", "=", None),
        ("17条", "target", 17, "条", "=", None),
    ],
)
def test_seed_quantities(seed_items, quoted, kind, value, unit, comparator, period):
    text, speeches = seed_items
    items = [i for s in speeches for i in s["items"] if text[i["start"] : i["end"]] == quoted]
    assert len(items) == 1, quoted
    item = items[0]
    assert (item["kind"], item["value"], item["unit"], item["comparator"], item["period"]) == (
        kind,
        value,
        unit,
        comparator,
        period,
    )
    assert quoted.rstrip("以上") in item["sentence"]


def test_seed_metrics_name_what_is_counted(seed_items):
    _text, speeches = seed_items
    metrics = {i["metric"] for s in speeches for i in s["items"]}
    assert {"开工项目", "达产项目", "引进项目", "开复工项目", "重点任务", "营商品牌", "产业链"} <= metrics
    assert any("前期工作经费" in m for m in metrics)


def test_seed_task_and_nothing_else(seed_items):
    text, speeches = seed_items
    assert [s["date"] for s in speeches] == [None, "2022-02-07"]
    items = [i for s in speeches for i in s["items"]]
    tasks = [i for i in items if i["kind"] == "task"]
    assert len(tasks) == 1
    task = tasks[0]
    assert text[task["start"] : task["end"]] == "4月份全市要组织一次项目集中开工"
    assert task["value"] is None and task["deadline"] == "2022-04-30" and task["period"] == "2022-04"
    # Nothing from the slogans, ranks, durations, structure of the speech or the page chrome.
    found = {text[i["start"] : i["end"]] for i in items if i["kind"] != "task"}
    assert found == {"120个", "191个", "200个以上", "1000个以上", "5000万元", "92项", "8个", "17条"}


def test_seed_items_have_exactly_the_documented_fields(seed_items):
    _text, speeches = seed_items
    assert set(speeches[1]) >= {"title", "speaker", "date", "chars", "reading_minutes", "items"}
    fields = {
        "kind",
        "metric",
        "value",
        "value_max",
        "unit",
        "comparator",
        "period",
        "sentence",
        "start",
        "end",
    }
    for item in speeches[1]["items"]:
        assert set(item) == (fields | {"deadline"} if item["kind"] == "task" else fields)


# --- value and unit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "unit", "quoted"),
    [
        ("今年要完成投资3.5亿元。", 350_000_000, "元", "3.5亿元"),
        ("力争总投资达到1.2万亿元。", 1_200_000_000_000, "元", "1.2万亿元"),
        ("安排两千万元。", 20_000_000, "元", "两千万元"),
        ("城镇新增就业3万人。", 30_000, "人", "3万人"),
        ("引进外资1.5亿美元。", 150_000_000, "美元", "1.5亿美元"),
        ("地区生产总值增长6.5%。", 6.5, "%", "6.5%"),
        ("人口自然增长率控制在3‰。", 3, "‰", "3‰"),
        ("高于全省0.5个百分点。", 0.5, "个百分点", "0.5个百分点"),
        ("新建高标准农田25万亩。", 250_000, "亩", "25万亩"),
        ("新增装机容量120万千瓦。", 1_200_000, "千瓦", "120万千瓦"),
        ("改造农村公路300公里。", 300, "公里", "300公里"),
        ("新建厂房20万平方米。", 200_000, "平方米", "20万平方米"),
        ("全年举办招商活动一百二十场次。", 120, "场次", "一百二十场次"),
        ("增长１２．５％。", 12.5, "%", "１２．５％"),
        ("审批时限压缩至5个工作日以内。", 5, "工作日", "5个工作日以内"),
    ],
)
def test_value_and_base_unit(text, value, unit, quoted):
    item = only(text)
    assert (item.value, item.unit) == (value, unit)
    assert phrase(text, item) == quoted


@pytest.mark.parametrize(
    ("text", "value", "comparator"),
    [
        ("撬动300亿社会资本投入。", 30_000_000_000, "="),
        ("打造超千亿产业集群。", 100_000_000_000, ">="),
        ("培育3个百亿级产业集群。", 10_000_000_000, ">="),
    ],
)
def test_implied_yuan(text, value, comparator):
    money = [i for i in quantities(text) if i.unit == "元"]
    assert len(money) == 1
    assert (money[0].value, money[0].comparator) == (value, comparator)


# --- comparator -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "comparator"),
    [
        ("投资80亿元以上。", ">="),
        ("实际到位资金超过50亿元。", ">="),
        ("营业收入超1000亿元。", ">="),
        ("进出口突破170亿美元。", ">="),
        ("走访企业1200余家。", ">="),
        ("减税降费3亿余元。", ">="),
        ("粮食产量不低于150万吨。", ">="),
        ("新签约项目不少于400个。", ">="),
        ("每月至少调度1次。", ">="),
        ("失业率控制在5.5%以内。", "<="),
        ("单位能耗下降控制在3%以内。", "<="),
        ("补贴不超过1000万元。", "<="),
        ("最高奖励50万元。", "<="),
        ("增长6%左右。", "≈"),
        ("新增企业约120家。", "≈"),
        ("新增专精特新企业近50家。", "≈"),
        ("力争增长8%。", "="),
        ("确保达到95%。", "="),
        ("挑战增长10%。", "="),
    ],
)
def test_comparator(text, comparator):
    assert only(text).comparator == comparator


def test_signing_is_not_about():
    # 约 in 签约 is part of a word, not 'about'.
    item = only("今年要新签约项目312个。")
    assert item.comparator == "=" and item.value == 312


@pytest.mark.parametrize(
    ("text", "low", "high", "unit"),
    [
        ("投资增速保持在10%—15%。", 10, 15, "%"),
        ("技改投资增长15%至20%。", 15, 20, "%"),
        ("力争新增上市企业2到3家。", 2, 3, "家"),
        ("增长6-8%。", 6, 8, "%"),
    ],
)
def test_range(text, low, high, unit):
    item = only(text)
    assert (item.comparator, item.value, item.value_max, item.unit) == ("range", low, high, unit)


# --- kind -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("今年要新开工项目150个。", "target"),
        ("力争引进项目200个。", "target"),
        ("计划总投资120亿元。", "target"),
        ("主要预期目标是：地区生产总值增长6%左右；一般公共预算收入增长5%。", "target"),
        ("去年确定的目标是新开工项目150个。", "target"),
        ("力争争取专项债券30亿元。", "target"),
        ("去年全市完成投资956亿元。", "fact"),
        ("全市规上工业增加值同比增长6.2%。", "fact"),
        ("已完成投资80亿元。", "fact"),
        ("累计走访企业1200家，已帮助解决问题460个。", "fact"),
        ("预计全年地区生产总值增长6%。", "fact"),
        ("固定资产投资完成428亿元，占年度计划的76%。", "fact"),
        ("今年比上年多安排20个。", "fact"),
        ("1-9月，全市新开工项目286个。", "fact"),
        ("市财政今年安排专项资金3亿元。", "funding"),
        ("市政府投入5000万元作为项目前期工作经费。", "funding"),
        ("对新认定的企业，每个给予10万元奖励。", "funding"),
        ("单个项目最高奖励50万元。", "funding"),
        ("对企业贷款给予贴息。", None),
        ("已下达补助资金3亿元。", "fact"),
    ],
)
def test_kind(text, kind):
    items = quantities(text)
    if kind is None:
        assert items == []
        return
    assert items, text
    assert {i.kind for i in items} == {kind}, [(phrase(text, i), i.kind) for i in items]


def test_review_paragraph_reports_facts_and_plan_paragraph_targets():
    text = "过去一年，全市经济稳中有进。\n新签约项目312个，总投资2400亿元。\n今年工作的总体要求是稳中求进。\n新签约项目350个。\n"
    kinds = [(phrase(text, i), i.kind) for i in quantities(text, 2024)]
    assert kinds == [("312个", "fact"), ("2400亿元", "fact"), ("350个", "target")]


def test_completion_ratio_set_as_an_aim_is_a_target():
    assert only("确保上半年完成固定资产投资占全年目标的55%。").kind == "target"
    assert only("上半年完成固定资产投资占全年目标的55%。").kind == "fact"


# --- period ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "year", "period"),
    [
        ("一季度要开工120个项目。", 2022, "2022Q1"),
        ("第二季度开工项目50个。", 2022, "2022Q2"),
        ("上半年完成投资50%以上。", 2022, "2022H1"),
        ("下半年新开工项目80个。", 2022, "2022H2"),
        ("全年引进项目200个。", 2022, "2022"),
        ("今年引进项目200个。", None, "全年"),
        ("4月份开工项目30个。", 2022, "2022-04"),
        ("年底前建成项目40个。", 2022, "2022"),
        ("“十四五”时期年均增长7%。", 2021, "十四五"),
        ("1-9月，固定资产投资增长8%。", 2022, "2022年1-9月"),
        ("前三季度新开工项目286个。", 2022, "2022年1-9月"),
        ("明年力争增长8%。", 2022, "2023"),
        ("去年完成投资956亿元。", 2022, "2021"),
        ("到2025年突破5000亿元。", 2021, "2025"),
        ("2023年一季度开工50个。", 2022, "2023Q1"),
        ("投资增长8%。", 2022, None),
    ],
)
def test_period(text, year, period):
    assert only(text, year).period == period


def test_period_of_the_opening_governs_the_sentence_but_not_the_next():
    text = "今年的目标是：增长6%；就业5万人。投资增长8%。"
    assert [i.period for i in quantities(text, 2024)] == ["2024", "2024", None]


def test_year_written_in_the_paragraph_is_the_reference_for_full_year():
    text = "2021年，全市生产总值增长8.1%。全年城镇新增就业4.3万人。\n"
    assert [i.period for i in quantities(text, 2022)] == ["2021", "2021"]


def test_base_year_of_comparison_is_not_the_period():
    item = quantities("去年游客人数恢复到2019年的108%。", 2024)[0]
    assert item.period == "2023"


# --- several values in one phrase ------------------------------------------------------------


def test_distributive_gives_one_item_per_measure():
    text = "工业投资、服务业投资均增长9%。"
    items = quantities(text)
    assert [(i.metric, i.value, i.unit) for i in items] == [("工业投资", 9, "%"), ("服务业投资", 9, "%")]
    assert all(phrase(text, i) == "9%" for i in items)


def test_per_capita_is_not_distributive():
    text = "城镇和农村居民人均可支配收入分别增长5.1%和7.3%。"
    assert [i.value for i in quantities(text)] == [5.1, 7.3]


def test_respectively_with_trailing_about_applies_to_both():
    text = "城乡居民收入分别增长6%和8%左右。"
    items = quantities(text)
    assert [(i.value, i.comparator) for i in items] == [(6, "≈"), (8, "≈")]


def test_unit_written_once_for_a_list():
    text = "分别增长6和8%。"
    assert [(i.value, i.unit) for i in quantities(text)] == [(6, "%"), (8, "%")]


def test_figure_stated_twice_is_reported_twice():
    text = "全年引进项目200个。这200个项目要在年内全部开工。"
    assert [i.value for i in quantities(text)] == [200, 200]


# --- what is not a quantity ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2022年是关键之年。",
        "会议于2月7日召开。",
        "增速位居全省第二。",
        "综合实力跃居全省前五位。",
        "五年来，我们砥砺前行。",
        "连续三个月保持增长。",
        "经过7天春节假期。",
        "打好三大攻坚战。",
        "实施“1+N”政策体系。",
        "做好六稳六保工作。",
        "实施十大工程。",
        "建设220千伏变电站。",
        "G15沈海高速改扩建。",
        "新建5G基站。",
        "PM2.5浓度下降。",
        '要做到"三个吃透"。',
        "从三个维度来认识。",
        "重点要聚焦3个方面。",
        "重点要做好3件事。",
        "我讲3点意见。",
        "7位县(市)区委书记和5家市直部门单位负责人作了表态发言。",
        "这是一个重要会议。",
        "一步一个脚印。",
        "千家万户的事。",
        "千万不能松懈。",
        "新签约亿元以上项目。",
        "引进投资超50亿元的重大项目。",
        "围绕新能源、新材料、精细化工三条主导产业链开展招商。",
        "三次产业结构持续优化。",
        "党的二十届三中全会。",
        "落实中央1号文件。",
        "世界500强企业落户。",
        "牢记两个务必。",
        "增强四个意识。",
        "十四五规划。",
        "全市上下一条心。",
        "对新建千亩以上规模化种植基地给予支持。",
        "每千人口拥有医师。",
    ],
)
def test_not_a_quantity(text):
    assert quantities(text) == [], [(phrase(text, i), i.value) for i in quantities(text)]


def test_count_of_work_items_is_a_quantity_but_quoted_count_is_not():
    assert only("抓实36项重点任务。").value == 36
    assert quantities('抓实"36项重点任务"。') == []


# --- tasks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "year", "quoted", "period", "deadline"),
    [
        (
            "4月份全市要组织一次项目集中开工。",
            2022,
            "4月份全市要组织一次项目集中开工",
            "2022-04",
            "2022-04-30",
        ),
        ("4月份全市要组织一次项目集中开工。", None, "4月份全市要组织一次项目集中开工", "4月", "4月"),
        (
            "9月底前，各县区要完成全部拖欠账款清理。",
            2022,
            "9月底前，各县区要完成全部拖欠账款清理",
            "2022-09",
            "2022-09-30",
        ),
        ("确保年底前建成通车。", 2023, "年底前建成通车", "2023", "2023-12-31"),
        ("二季度末前要出台实施细则。", 2024, "二季度末前要出台实施细则", "2024Q2", "2024-06-30"),
        ("上半年要启动招商活动。", 2024, "上半年要启动招商活动", "2024H1", "2024-06-30"),
        ("6月15日前要提交方案。", 2024, "6月15日前要提交方案", "2024-06", "2024-06-15"),
        ("力争明年全部建成投产。", 2023, "明年全部建成投产", "2024", "2024-12-31"),
    ],
)
def test_task(text, year, quoted, period, deadline):
    tasks = [i for i in extract(text, year=year) if i.kind == "task"]
    assert len(tasks) == 1
    task = tasks[0]
    assert (phrase(text, task), task.period, task.deadline, task.value, task.unit) == (
        quoted,
        period,
        deadline,
        None,
        None,
    )
    assert task.as_dict()["deadline"] == deadline


@pytest.mark.parametrize(
    "text",
    [
        "年前,市委印发了《实施意见》。",  # done already
        "一季度要比开门红。",  # no action
        "4月份要开工项目30个。",  # a number: a quantity, not a task
        "看谁能全面完成全年目标。",
    ],
)
def test_not_a_task(text):
    assert [i for i in extract(text, year=2022) if i.kind == "task"] == []


# --- offsets --------------------------------------------------------------------------------


def test_offsets_are_into_the_text_plus_base():
    text = "开头。\n要完成投资５０亿元，增长10%。"
    items = extract(text, year=2022, base=1000)
    assert [text[i.start - 1000 : i.end - 1000] for i in items] == ["５０亿元", "10%"]
    assert items[0].value == 5_000_000_000
    assert items[0].sentence == "要完成投资５０亿元，增长10%"


def test_sentence_splits_on_semicolon_and_line_end():
    text = "增长6%；增长7%\n增长8%！"
    assert [i.sentence for i in quantities(text)] == ["增长6%", "增长7%", "增长8%"]


def test_as_dict_leaves_deadline_to_tasks():
    item = only("要增长6%。")
    assert "deadline" not in item.as_dict()
    assert item.as_dict()["value"] == 6


# --- the labelled examples -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["labelled_speeches", "labelled_heldout", "labelled_unseen", "labelled_fresh"]
)
def test_precision_and_recall_on_labelled_examples(name, record_property, capsys):
    docs = load_labelled([DATA / f"{name}.jsonl"])
    result = evaluate(docs)
    line = (
        f"{name}: {result['documents']} texts, {result['labels']} labels, {result['negatives']} negatives; "
        f"precision {result['precision']:.3f}, recall {result['recall']:.3f}, "
        f"comparator {result['comparator_agreement']:.3f}, period {result['period_agreement']:.3f}"
    )
    record_property("precision", result["precision"])
    record_property("recall", result["recall"])
    with capsys.disabled():
        print("\n" + line)
    assert result["negative_hits"] == [], result["negative_hits"]
    assert result["precision"] >= 0.85, line + "\n" + "\n".join(result["spurious"])
    assert result["recall"] >= 0.8, line + "\n" + "\n".join(result["missed"])


def test_labelled_set_is_large_enough():
    docs = load_labelled()
    labels = sum(len(d["items"]) for d in docs)
    negatives = sum(len(d["negatives"]) for d in docs)
    sentences = sum(
        len([s for s in __import__("re").split(r"[。！？；\n]", d["text"]) if s.strip()]) for d in docs
    )
    assert labels + negatives >= 120 and sentences >= 60
    kinds = {i["kind"] for d in docs for i in d["items"]}
    assert kinds == {"target", "fact", "funding", "task"}


def test_respectively_pairs_measures_with_values():
    text = "城镇和农村居民人均可支配收入分别增长5.1%和7.3%。"
    assert [i.metric for i in quantities(text)] == ["城镇", "农村居民人均可支配收入"]
    text = "工业投资和民间投资分别增长10%、12%以上。"
    items = quantities(text)
    assert [(i.metric, i.comparator) for i in items] == [("工业投资", ">="), ("民间投资", ">=")]


@pytest.mark.parametrize(
    ("text", "value", "comparator"),
    [
        ("投资增长百分之十以上。", 10, ">="),
        ("增长百分之八左右。", 8, "≈"),
        ("增长百分之十二点五。", 12.5, "="),
    ],
)
def test_percent_in_words(text, value, comparator):
    item = only(text)
    assert (item.value, item.unit, item.comparator) == (value, "%", comparator)
    assert phrase(text, item).startswith("百分之")


def test_implied_unit_of_a_population_is_people():
    assert (only("常住人口280万。").unit, only("撬动社会资本280亿。").unit) == ("人", "元")


def test_ten_in_chinese_is_a_count():
    assert only("今年要办好十件民生实事。").value == 10


def test_year_of_comparison_does_not_make_a_target_a_fact():
    item = only("力争技术合同交易额较2020年增长1.5倍。", 2024)
    assert (item.kind, item.value, item.unit, item.period) == ("target", 1.5, "倍", None)


def test_event_of_the_speech_is_a_fact():
    text = "今天集中签约的28个项目，总投资达326亿元。"
    assert [i.kind for i in quantities(text)] == ["fact", "fact"]


@pytest.mark.parametrize(
    "text", ["6月15日前办结全部事项。", "压缩审批时间，一季度完成改革。", "连续3年压缩审批时限。"]
)
def test_dates_and_periods_near_time_limit_words_are_not_limits(text):
    assert quantities(text) == []


def test_number_after_a_deadline_word_is_a_quantity():
    item = only("年底前40个项目要全部开工。")
    assert (item.value, item.period) == (40, "2022")


def test_days_of_work_required_are_a_quantity():
    item = only("每人每月到基层调研不少于4天。")
    assert (item.value, item.unit, item.comparator) == (4, "天", ">=")
