"""Quantities and dated tasks in a speech, as ../shared/EXTRACTION.md defines them.

The module is a rule table (the cue words and units below are data) and one scanner:

1. a single compiled regex finds every candidate number with its unit, comparator words and
   ranges (Arabic and Chinese numerals, 万/亿 multipliers);
2. each candidate is checked against the rules for what is *not* a quantity (years, dates,
   ordinals and ranks, durations, slogans and enumerations, technical specifications);
3. the sentence around it gives the metric phrase, the kind (target, fact, funding) and the
   period; distributive wording ("均增长9%") gives one item per measure;
4. clauses that name a deadline and an action but no number become `task` items.

Offsets are offsets into the text as given (plus `base`): full-width digits are normalised by a
same-length translation, so no offset ever shifts.

Task deadlines: the last day of the stated period as an ISO date ("4月份" in 2022 → "2022-04-30",
"年底前" → "2022-12-31", "6月15日前" → "2022-06-15") when the year is known; otherwise the period
code ("4月", "Q1", "全年").

Periods when the year is unknown: "全年" (as EXTRACTION.md says for 今年), "Q1", "H1", "4月",
"1-9月"; plan periods are "十四五" and the like either way.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from guatu.speeches.numerals import normalize_digits, parse_number

__all__ = ["Item", "extract", "extract_document"]

# ---------------------------------------------------------------------------------------------
# Rule table
# ---------------------------------------------------------------------------------------------

# Units as written → base unit. Multipliers (万, 亿) belong to the number part, so "亿元" is the
# number "3.5亿" and the unit "元".
UNITS: dict[str, str] = {
    **{u: u for u in ("元", "美元", "欧元", "港元", "日元")},
    "人民币": "元",
    "%": "%",
    "‰": "‰",
    "个百分点": "个百分点",
    "百分点": "个百分点",
    "倍": "倍",
    **{
        u: u
        for u in (
            "个",
            "项",
            "家",
            "件",
            "条",
            "人",
            "人次",
            "名",
            "户",
            "场",
            "场次",
            "次",
            "批",
            "宗",
            "笔",
            "台",
            "套",
            "辆",
            "座",
            "所",
            "张",
            "间",
            "处",
            "栋",
            "艘",
            "架",
            "株",
            "头",
            "只",
            "亩",
            "公顷",
            "平方米",
            "平方公里",
            "公里",
            "千米",
            "延米",
            "米",
            "千瓦",
            "兆瓦",
            "千瓦时",
            "吨",
            "吨标准煤",
            "立方米",
            "微克/立方米",
            "标箱",
            "个床位",
            "张床位",
            "所学校",
            "个村",
            "户次",
            "件次",
            "千克",
            "公斤",
            "斤",
            "起",
            "批次",
            "立方米/日",
            "吨/日",
            "吨/年",
            "标准箱",
        )
    },
    "㎡": "平方米",
    # Time limits ("压缩至5个工作日以内") in their base unit.
    "个工作日": "工作日",
    "工作日": "工作日",
    "个小时": "小时",
    "小时": "小时",
    "分钟": "分钟",
    "个月": "月",
    "天": "天",
    "km": "公里",
}
# Count measure words: "一个" with these is an article, not a quantity.
COUNT_UNITS = frozenset("个项家件条人名户场次批宗笔台套辆座所张间处栋艘架株头只起") | {
    "人次",
    "场次",
    "户次",
    "件次",
    "批次",
}
MONEY_UNITS = frozenset({"元", "美元", "欧元", "港元", "日元"})
# Units of time: a number with them is a duration or a date unless it is a time limit.
TIME_UNITS = (
    "个工作日",
    "工作日",
    "个小时",
    "小时",
    "分钟",
    "个月",
    "个季度",
    "季度",
    "周",
    "天",
    "日",
    "年",
)
# Technical specifications and structural counters: never a quantity.
REJECT_UNITS = (
    "千伏",
    "伏",
    "kV",
    "KV",
    "纳米",
    "英寸",
    "寸",
    "兆帕",
    "点",
    "位",
    "届",
    "号",
    "层",
    "版",
    "代",
)

# Comparator words (EXTRACTION.md § comparator).
PRE_COMPARATORS = {
    "超过": ">=",
    "超出": ">=",
    "超": ">=",
    "突破": ">=",
    "不低于": ">=",
    "不少于": ">=",
    "至少": ">=",
    "逾": ">=",
    "不超过": "<=",
    "不高于": "<=",
    "不多于": "<=",
    "最高": "<=",
    "最多": "<=",
    "约": "≈",
    "大约": "≈",
    "近": "≈",
    "将近": "≈",
    "接近": "≈",
    "几乎": "≈",
}
POST_COMPARATORS = {
    "以上": ">=",
    "余": ">=",
    "多": ">=",
    "以内": "<=",
    "以下": "<=",
    "左右": "≈",
    "上下": "≈",
}
# Comparator words that stand a little before the number: "最高奖励50万元", "控制在3%以内".
NEAR_COMPARATORS = (
    ("最高", "<="),
    ("最多", "<="),
    ("不超过", "<="),
    ("控制在", "<="),
    ("不低于", ">="),
    ("不少于", ">="),
    ("至少", ">="),
)


def _words(*words: str) -> re.Pattern:
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


# Kind cues (EXTRACTION.md § kind). The nearest strong cue before the number decides; weak cues
# only decide when no strong cue is found.
STRONG_TARGET = re.compile(
    r"(?<![重主需只纪摘提扼])要(?![素闻点害])|力争|确保|(?<!年度)计划|目标|(?<!超)预期|拟|力求|务必|必须|"
    r"(?<![即])将(?![近其这此])|预定|挑战|规划|努力"
)
STRONG_FACT = _words(
    "已",
    "同比",
    "比上年",
    "较上年",
    "比去年",
    "较去年",
    "去年",
    "上年",
    "过去一年",
    "一年来",
    "五年来",
    "过去五年",
    "以来",
    "预计全年",
    "预计",
    "完成了",
    "实现了",
    "达到了",
    "超额完成",
    "全年完成",
    "全年实现",
    "共完成",
    "共实施",
    "共引进",
    "分别完成",
    "增长了",
    "荣获",
    "获批",
    "共有",
    "现有",
    "拥有",
    "截至",
    # The event the speech is given at: "今天集中签约的28个项目".
    "今天",
    "刚才",
    "本次",
    "此次",
)
# Modal words: a completion ratio after them is an aim ("确保上半年完成全年目标的55%").
MODAL_TARGET = re.compile(
    r"(?<![重主需只纪摘提扼])要(?![素闻点害])|力争|确保|争取|务必|必须|(?<![即])将(?![近其这此])"
)
# Year-to-date figures are measured: "1-9月", "前三季度，……累计".
YTD_FACT = re.compile(r"\d{1,2}[-—–~～至]\d{1,2}月(?:份)?[，,]|前三季度[，,]|截至|截止")
_EXPLICIT_YEAR = re.compile(r"(?<![较比与同])((?:19|20)\d\d)年(?!的|同期|水平)")
# A verb with 了 reports something done: 组建了, 印发了 (not 为了, 除了, 了解).
PAST_LE = re.compile(r"(?<![为除罢])了(?!解|如指掌)")
WEAK_TARGET = _words(
    "实施", "安排", "推进", "打造", "启动", "新建", "续建", "谋划", "今年", "全年", "培育", "争取"
)
# Only verbs that say something is done; 达到/增长 are as common in aims as in results.
WEAK_FACT = _words("完成", "建成", "竣工", "投产", "共计", "合计", "累计")
# Completion ratios and remarks about a target's size are facts whatever else the clause says.
RATIO_FACT = re.compile(
    r"占[^，。；]{0,12}(?:计划|目标|任务)|完成[^，。；]{0,10}(?:计划|目标|任务)的|比上年多|较上年多|序时进度"
)
# Money the government allocates or commits; money it aims to raise is a target instead.
FUNDING_CUES = re.compile(
    r"安排[^，。；]{0,6}(?:资金|经费|专项|预算|补助|奖)|投入|经费|补助|补贴|奖励|奖补|贴息|给予|扶持资金|专项资金|"
    r"引导基金|拨付|下达|设立[^，。；]{0,6}基金|兑现|出资|发放|养老金|低保|救助|补助标准|最低标准|每人每月|每人每年"
)
# Clauses that continue the one before: its funding cue applies to them too.
CONTINUATION = re.compile(
    r"^(?:最高|最多|单个|单家|每个|每家|每户|每人|其中|首期|总额|合计|达到|达|增至|提高到|提高至)"
)
# Rates the government pays: "按投资额的10%给予补助", "贴息比例不超过50%".
FUNDING_RATE_CUES = re.compile(r"给予|补助|补贴|贴息|奖励|奖补")
# A money amount that defines the class of what is counted: "亿元以上项目", "超50亿元的重大项目".
CLASS_THRESHOLD = re.compile(r"^(?:的)?[^，。；、0-9]{0,6}?(?:项目|企业|工业|单位|基地|园区|景区|城市|乡镇)")
RAISE_CUES = re.compile(r"争取|筹集|融资|招引|引进|吸引|撬动|带动|募集|发行|签约|到位")
PAST_MONEY = re.compile(r"已|累计|去年|上年|共兑现|共拨付|共下达|以来")

# Lead words stripped from the front of a metric phrase.
METRIC_LEAD = re.compile(
    r"^(?:就是要做到|就是要|共有|现有|拥有|有|总体上|总的来看|其中|全市|我市|全县|全区|全省|今年|全年|上半年|下半年|年底前|年内|"
    r"[一二三四1-4]季度|第[一二三四]季度|前三季度|\d{1,2}月份?|\d{1,2}[-—~至]\d{1,2}月|20\d\d年|去年|明年|"
    r"十[一二三四五六]五(?:时期|期间|末)?|到|在|要|力争|确保|做到|实现|完成|计划|安排|争取|预计|努力|力求|务必|必须|"
    r"将|拟|共|累计|新增|达到|同比|比上年末|较上年末|比上年|较上年|分别|均|都|也|还|再|的|和|及|、|是|为|使|让|把|对|向)+"
)
METRIC_TAIL = re.compile(
    r"(?:达到|达|为|是|至|到|突破|超过|超|不低于|不少于|控制在|保持在|约|近|共|累计|分别|均|都|总计|合计|在)+$"
)
METRIC_AFTER_LEAD = re.compile(r"^(?:作为|用于|的)+")
# Bare verbs that count projects: "一季度开工120个" counts 开工项目.
PROJECT_VERBS = re.compile(
    r"^(?:新|集中)?(?:开工|复工|开复工|竣工|投产|达产|签约|落地|引进|招引|谋划|储备|建成|续建|新建|在建)$"
)
# Heads that make a count non-economic: people at a meeting, departments.
NON_MEASURE_HEADS = re.compile(r"^[^，。；]{0,8}(?:部门|负责人|书记|市长|县长|领导|同志|委员|代表|发言|讲话)")
# Nouns after a count that make it a structural enumeration of the speech itself.
STRUCTURAL_NOUNS = re.compile(
    r"^(?:方面|维度|层面|意见|考虑|原则|字|意识|自信|维护|确立|全面|务必|大局|毫不动摇|坚持|吃透|非常|"
    r"一百年|必须|关系|转变|统筹|结合|特点|问题上|阶段|步|事$|事[，。；！])"
)
# Time limits: a duration with these is a quantity ("压缩至5个工作日").
TIME_LIMIT_CUES = re.compile(
    r"压缩|缩短|控制在|时限|办结|提速|以内|内办|减少|不少于|不低于|至少|每人每月|每人每年"
)

# Periods (EXTRACTION.md § period).
_CN_MONTH = "一二三四五六七八九十"
PERIOD_RE = re.compile(
    r"(?P<plan>十[一二三四五六七八九]五)(?:”|\")?(?:时期|期间|末|规划)?"
    r"|(?P<ytd>(?P<ytd_a>\d{1,2})[-—–~～至到](?P<ytd_b>\d{1,2})月(?:份)?)"
    r"|(?P<q3>前三季度)"
    r"|(?:(?P<qyear>20\d\d)年)?(?:第)?(?P<quarter>[一二三四1-4])季度"
    r"|(?:(?P<hyear>20\d\d)年)?(?P<half>上半年|下半年)"
    r"|(?:(?P<myear>20\d\d)年)?(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月(?:份)?(?P<mend>底|末)?(?![0-9一二三四五六七八九十]+[日号])"
    # 全年 in "全年目标的50%" names the target, not the period.
    r"|(?P<this>今年|(?:全年|本年度|本年)(?!目标|任务|计划的|[^，。；]{1,4}(?:目标|任务))|年内|年底前|(?<!上)年底|(?<!上)年末)"
    r"|(?P<next>明年)|(?P<last>去年|(?<![比较])上年|过去一年|一年来)"
    # "恢复到2019年的108%": a year followed by 的 is a base of comparison, not the period.
    r"|(?<![较比与同])(?P<year>(?:19|20)\d\d)年(?!\d|[一二三四五六七八九十]+月|的|同期|水平)"
)
# Deadline expressions that make a numberless clause a task.
TASK_DATE_RE = re.compile(
    r"(?:(?P<year>20\d\d)年)?(?:"
    r"(?P<month>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月(?:份|底|末|中旬|上旬|下旬)?(?:(?P<day>\d{1,2})日)?(?P<mbefore>前|之前)?"
    r"|(?P<quarter>[一二三四1-4])季度(?:末)?(?P<qbefore>前)?"
    r"|(?P<half>上半年|下半年)"
    r"|(?P<yearend>年底前|年底|年末|年内)|(?P<nextyear>明年)"
    r")(?![0-9一二三四五六七八九十]*[日号]?(?:目标|任务|计划|的))"
)
TASK_MODAL = re.compile(r"要|必须|务必|将|确保|力争|争取|全部|全面|前|完成|实现")
TASK_ACTION = re.compile(
    r"实现|组织|开展|完成|启动|建成|出台|制定|召开|举办|开工|投产|竣工|印发|编制|落地|推出|上线|建立|形成|部署|"
    r"签约|办结|达产|投用|通车|交付|验收|组建|成立|实施|召集|举行|发布|提交|上报|报送|摸排|梳理|清理|整改|开通"
)

# Sentence and clause boundaries.
SENTENCE_RE = re.compile(r"[^。！？；!?;\n]+")
FULL_SENTENCE_RE = re.compile(r"[^。！？!?\n]+")
CLAUSE_BOUNDARY = re.compile(r"[，,：:]")
METRIC_BOUNDARY = re.compile(r"[，,：:、；;。（(“”\"《》]|和|及|与|以及")
PARAGRAPH_RE = re.compile(r"[^\n]+")
REVIEW_CUES = re.compile(
    r"过去一年|去年|一年来|过去五年|五年来|回顾|(?<![比较])上年|以来|截至|截止|\d{1,2}[-—–~～至]\d{1,2}月|前三季度，"
)
FORWARD_CUES = re.compile(
    r"今年(?!以来|\d{1,2}[-—–~～至])|目标|(?<![重主需只纪摘提])要(?![素求])|总体要求|工作安排|主要任务|(?<!超)预期|明年|部署|力争|确保"
)

# ---------------------------------------------------------------------------------------------
# The candidate scanner
# ---------------------------------------------------------------------------------------------


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_AR = r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?"
_AR_MULT = r"(?:[十百千]?万亿|[十百千]?[万亿]|[十百千](?![伏瓦克米]))?"
_CN = r"[零〇两一二三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+[万亿]*)?"
_NUM = rf"(?:{_AR}{_AR_MULT}|{_CN})"
_UNIT_ALT = _alternation([*UNITS, *TIME_UNITS, *REJECT_UNITS])
# 约 in 签约/节约 and 近 in 最近/附近 are parts of words, not comparators.
_PRE_ALT = (
    _alternation(w for w in PRE_COMPARATORS if w not in ("约", "近"))
    + r"|(?<![签节制预公合条契相])约|(?<![最附接靠临将亲])近"
)
_POST_ALT = _alternation(POST_COMPARATORS)
CANDIDATE_RE = re.compile(
    rf"(?P<pre>{_PRE_ALT})?"
    rf"(?P<pct>百分之)?"
    rf"(?P<num>{_NUM})"
    rf"(?:(?P<unit1>{_UNIT_ALT})?(?P<sep>—+|–|－|-|~|～|至|到)(?P<num2>{_NUM}))?"
    rf"(?P<mid>余|多)?"
    rf"(?P<unit>{_UNIT_ALT})?"
    rf"(?P<grade>级)?"
    rf"(?P<post>{_POST_ALT})?"
)
_LIST_TAIL = re.compile(rf"(?:和|、|及|与|或)(?:{_NUM})(?P<unit>{_alternation(UNITS)})")
_PEOPLE_METRIC = re.compile(r"(?:人口|人数|游客|居民|职工|学生|就业|人才|劳动力|群众)[^，,。；]{0,4}$")


_CN_ONLY_UNITS = re.compile(r"^[百千万亿]+$")
_ASCII_ALNUM = re.compile(r"[A-Za-z+＋/.]")
_QUOTE_OPEN = "“《「『‘"
_QUOTE_CLOSE = "”》」』’"


@dataclass
class Item:
    kind: str
    metric: str
    value: int | float | None
    value_max: int | float | None
    unit: str | None
    comparator: str | None
    period: str | None
    sentence: str
    start: int
    end: int
    deadline: str | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        if self.kind != "task":
            data.pop("deadline")
        return data


_LIST_BEFORE = re.compile(r"((?:[^，。；、：“”\"]{1,12}、)+[^，。；、：“”\"]{1,12})$")
_QUOTED_ITEM = re.compile(r"[“\"][^“”\"，。；]{1,12}[”\"]")
_QUOTED_LIST_BEFORE = re.compile(r"(?:[“\"][^“”\"，。；]{1,12}[”\"][、,，]?){2,}$")
# Verbs that make a counted list a plan ("打造新材料、高端装备两个产业集群"), not a description.
_CREATE_VERBS = re.compile(r"打造|培育|建设|建成|新建|引进|形成|新增|争创|创建|组建")


def _is_enumeration_summary(norm: str, sent_start: int, num_start: int, value: Decimal) -> bool:
    """ "围绕新能源、新材料、精细化工三条主导产业链": the number only counts the names just listed."""
    quoted = _QUOTED_LIST_BEFORE.search(norm, sent_start, num_start)
    if quoted and len(_QUOTED_ITEM.findall(quoted.group(0))) == value:
        return True  # 擦亮"常有善育""常有优学"……六张民生名片
    m = _LIST_BEFORE.search(norm, sent_start, num_start)
    if not m or len(m.group(1).split("、")) != value:
        return False
    first_item = m.group(1).split("、", 1)[0]
    lead = norm[max(sent_start, m.start() - 12) : m.start() + len(first_item)]
    return not _CREATE_VERBS.search(lead)


def _number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _inside_quotes(text: str, pos: int, end: int, line_start: int) -> bool:
    """True when the number sits in a short quotation or a title: "三个吃透", 《……》."""
    window_start = max(line_start, pos - 16)
    before = text[window_start:pos]
    after = text[end : end + 16]
    # Curly quotes and book-title marks: an opening mark with no closing mark after it.
    for open_ch, close_ch in zip(_QUOTE_OPEN, _QUOTE_CLOSE, strict=True):
        i = before.rfind(open_ch)
        if i >= 0 and before.rfind(close_ch) < i and close_ch in after:
            return True
    # Straight quotes: inside when an odd number of them stand before on the line.
    if '"' in after and text.count('"', line_start, pos) % 2 == 1:
        return '"' in before
    return False


class _Context:
    """Sentence, clause and paragraph look-ups over one text."""

    def __init__(self, text: str, year: int | None):
        self.text = text
        self.year = year
        self.sentences = [(m.start(), m.end()) for m in SENTENCE_RE.finditer(text)]
        self.sentence_starts = [s for s, _e in self.sentences]
        self.full = [(m.start(), m.end()) for m in FULL_SENTENCE_RE.finditer(text)]
        self.full_starts = [s for s, _e in self.full]
        self.lines = [(m.start(), m.end()) for m in PARAGRAPH_RE.finditer(text)]
        self.line_starts = [s for s, _e in self.lines]
        self.modes = self._paragraph_modes()
        # Reference year and carried period at the start of each line: a line that opens with
        # its own cues starts afresh, others continue the line before (a review section).
        self.line_state: list[tuple[int | None, str | None]] = []
        state: tuple[int | None, str | None] = (year, None)
        for (start, end), fresh in zip(self.lines, self.fresh, strict=True):
            if fresh:
                state = (year, None)
            self.line_state.append(state)
            state = _advance(state, text[start:end], year)

    def _span_at(self, spans, starts, pos):
        i = bisect.bisect_right(starts, pos) - 1
        if i >= 0 and spans[i][0] <= pos < spans[i][1]:
            return spans[i]
        return (pos, pos)

    def sentence(self, pos):
        return self._span_at(self.sentences, self.sentence_starts, pos)

    def full_sentence(self, pos):
        return self._span_at(self.full, self.full_starts, pos)

    def line(self, pos):
        return self._span_at(self.lines, self.line_starts, pos)

    def mode(self, pos) -> str | None:
        i = bisect.bisect_right(self.line_starts, pos) - 1
        return self.modes[i] if i >= 0 else None

    def _paragraph_modes(self) -> list[str | None]:
        # A paragraph that opens by looking back (去年, 五年来) reports facts; one that opens with
        # this year's aims sets targets; others keep the mode of the paragraph before.
        modes: list[str | None] = []
        self.fresh: list[bool] = []
        mode = None
        last_year = str(self.year - 1) + "年" if self.year else None
        this_year = str(self.year) + "年" if self.year else None
        for start, end in self.lines:
            first = self.text[start : min(end, start + 60)]
            first = first.split("。", 1)[0]
            review = _first_pos(first, REVIEW_CUES, last_year)
            forward = _first_pos(first, FORWARD_CUES, this_year)
            if review is not None and forward is None:
                mode = "fact"
            elif forward is not None and review is None:
                mode = "target"
            elif review is not None and forward is not None:
                mode = "fact" if review < forward else "target"
            self.fresh.append(review is not None or forward is not None)
            modes.append(mode)
        return modes


def _first_pos(text: str, cues: re.Pattern, year_word: str | None) -> int | None:
    found = [m.start()] if (m := cues.search(text)) else []
    if year_word and year_word in text:
        found.append(text.index(year_word))
    return min(found) if found else None


def _last_cue(text: str, cues: re.Pattern) -> tuple[int, str] | None:
    last = None
    for m in cues.finditer(text):
        last = m
    return (last.end(), last.group()) if last else None


def _classify_with_source(
    ctx: _Context, clause_before: str, clause_after: str, sent_before: str, pos: int
) -> tuple[str, str]:
    """(kind, source): source "cue" when a word in the sentence decided, else "context"."""
    clause = clause_before + clause_after
    if RATIO_FACT.search(clause) and not MODAL_TARGET.search(clause_before):
        return "fact", "cue"
    target = _last_cue(sent_before, STRONG_TARGET)
    facts = [c for c in (_last_cue(sent_before, r) for r in (STRONG_FACT, PAST_LE, YTD_FACT)) if c]
    if ctx.year:
        # A figure for a year before the speech's is a result: "刚刚过去的2022年，……".
        past = [m for m in _EXPLICIT_YEAR.finditer(sent_before) if int(m.group(1)) < ctx.year]
        if past:
            facts.append((past[-1].end(), past[-1].group()))
    fact = max(facts) if facts else None
    if target and fact:
        # 目标 said of last year is still a target ("去年确定的目标是…").
        return ("target" if target[0] > fact[0] else "fact"), "cue"
    if target:
        return "target", "cue"
    if fact:
        return "fact", "cue"
    mode = ctx.mode(pos)
    if mode:
        return mode, "context"
    weak_t = _last_cue(sent_before, WEAK_TARGET)
    weak_f = _last_cue(clause_before, WEAK_FACT)
    if weak_t and weak_f:
        return ("target" if weak_t[0] > weak_f[0] else "fact"), "context"
    if weak_f:
        return "fact", "context"
    return "target", "context"


def _period_of(match: re.Match, year: int | None, speech_year: int | None = None) -> str | None:
    """The period code of one PERIOD_RE match; `year` is the year in force, `speech_year` the
    year 去年 and 明年 count from."""
    speech_year = speech_year if speech_year is not None else year
    g = match.groupdict()
    if g["plan"]:
        return g["plan"]
    if g["ytd"]:
        a, b = int(g["ytd_a"]), int(g["ytd_b"])
        if not (1 <= a < b <= 12):
            return None
        return f"{year}年{a}-{b}月" if year else f"{a}-{b}月"
    if g["q3"]:
        return f"{year}年1-9月" if year else "1-9月"
    if g["quarter"]:
        q = "一二三四".find(g["quarter"]) + 1 or int(g["quarter"])
        y = int(g["qyear"]) if g["qyear"] else year
        return f"{y}Q{q}" if y else f"Q{q}"
    if g["half"]:
        y = int(g["hyear"]) if g["hyear"] else year
        h = 1 if g["half"] == "上半年" else 2
        return f"{y}H{h}" if y else f"H{h}"
    if g["month"]:
        m = _month(g["month"])
        y = int(g["myear"]) if g["myear"] else year
        return f"{y}-{m:02d}" if y else f"{m}月"
    if g["this"]:
        if g["this"] == "今年":
            year = speech_year
        return str(year) if year else "全年"
    if g["next"]:
        return str(speech_year + 1) if speech_year else None
    if g["last"]:
        return str(speech_year - 1) if speech_year else None
    if g["year"]:
        return g["year"]
    return None


def _month(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text.startswith("十"):
        return 10 + ("一二".find(text[1:]) + 1 if len(text) > 1 else 0)
    return _CN_MONTH.find(text) + 1


_YEAR_LEVEL = ("year", "last", "next", "this", "ytd", "q3", "plan")


def _advance(state: tuple[int | None, str | None], text: str, speech_year: int | None):
    """The reference year and the year-level period in force after `text`: "2021年，……全年" makes
    later 全年 and 年末 mean 2021; 去年 and 明年 count from the speech's year."""
    ref, carried = state
    for m in PERIOD_RE.finditer(text):
        kind = m.lastgroup
        if m.group("year"):
            ref = int(m.group("year"))
        elif m.group("last") and speech_year:
            ref = speech_year - 1
        elif m.group("next") and speech_year:
            ref = speech_year + 1
        elif m.group("this") == "今年":
            ref = speech_year
        if any(m.group(k) for k in _YEAR_LEVEL) or kind in _YEAR_LEVEL:
            carried = _period_of(m, ref, speech_year)
    return ref, carried


def _find_period(ctx: _Context, pos: int, seg_start: int, full_start: int) -> str | None:
    line_start, _line_end = ctx.line(pos)
    i = bisect.bisect_right(ctx.line_starts, pos) - 1
    state = ctx.line_state[i] if i >= 0 else (ctx.year, None)
    ref, _carried = _advance(state, ctx.text[line_start:full_start], ctx.year)
    last = None
    for m in PERIOD_RE.finditer(ctx.text, seg_start, pos):
        last = m
    if last:
        # The reference year is what stood before this phrase in the sentence.
        ref_here, _c = _advance((ref, None), ctx.text[full_start : last.start()], ctx.year)
        return _period_of(last, ref_here, ctx.year)
    # A period that opens the sentence governs its later clauses ("今年……：……；……");
    # a sentence that states none has none (EXTRACTION.md), even if the paragraph did.
    first = PERIOD_RE.search(ctx.text, full_start, seg_start)
    if first:
        return _period_of(first, ref, ctx.year)
    return None


def _metric(text: str, start: int, end: int, clause_start: int, sent_end: int, unit: str | None) -> str:
    after = text[end:sent_end]
    b = METRIC_BOUNDARY.search(after)
    after = after[: b.start()] if b else after
    after = re.split(r"[0-9零〇两一二三四五六七八九十百千万亿]", after, maxsplit=1)[0][:12]
    after_lead = METRIC_AFTER_LEAD.match(after)
    before = text[clause_start:start]
    cut = max((m.end() for m in METRIC_BOUNDARY.finditer(before)), default=0)
    before = before[cut:]
    before = METRIC_LEAD.sub("", before)
    before = METRIC_TAIL.sub("", before).strip()
    if after_lead:
        return after[after_lead.end() :].strip()
    if after and (unit in COUNT_UNITS or not before):
        return after.strip()
    if before and PROJECT_VERBS.match(before) and unit in COUNT_UNITS:
        return before + "项目"
    return before


def _deadline(m: re.Match, year: int | None) -> tuple[str | None, str | None]:
    """(period code, deadline) of a task's date expression."""
    g = m.groupdict()
    y = int(g["year"]) if g["year"] else year
    if g["month"]:
        month = _month(g["month"])
        if not y:
            return f"{month}月", f"{month}月"
        if g["day"]:
            day = int(g["day"])
            try:
                return f"{y}-{month:02d}", dt.date(y, month, day).isoformat()
            except ValueError:
                return f"{y}-{month:02d}", None
        last = calendar.monthrange(y, month)[1]
        return f"{y}-{month:02d}", dt.date(y, month, last).isoformat()
    if g["quarter"]:
        q = "一二三四".find(g["quarter"]) + 1 or int(g["quarter"])
        if not y:
            return f"Q{q}", f"Q{q}"
        last_month = q * 3
        return f"{y}Q{q}", dt.date(y, last_month, calendar.monthrange(y, last_month)[1]).isoformat()
    if g["half"]:
        h = 1 if g["half"] == "上半年" else 2
        if not y:
            return f"H{h}", f"H{h}"
        return f"{y}H{h}", (dt.date(y, 6, 30) if h == 1 else dt.date(y, 12, 31)).isoformat()
    if g["yearend"]:
        if not y:
            return "全年", "全年"
        return str(y), dt.date(y, 12, 31).isoformat()
    if g["nextyear"] and year:
        return str(year + 1), dt.date(year + 1, 12, 31).isoformat()
    return None, None


def extract(text: str, *, year: int | None = None, base: int = 0) -> list[Item]:
    """Every quantity and dated task in `text`; offsets are into `text`, plus `base`."""
    norm = normalize_digits(text)
    ctx = _Context(norm, year)
    items: list[Item] = []
    for m in CANDIDATE_RE.finditer(norm):
        made = _candidate(norm, text, m, ctx, year, base)
        if made:
            items.extend(made)
    items.sort(key=lambda item: item.start)
    _fix_lists(items, norm, base)
    items.extend(_tasks(norm, text, ctx, year, base))
    items.sort(key=lambda item: (item.start, item.kind == "task"))
    return items


def _candidate(norm: str, text: str, m: re.Match, ctx: _Context, year, base) -> list[Item]:
    num = m.group("num")
    unit_raw = m.group("unit")
    start, end = m.start(), m.end()
    num_start = m.start("num")
    line_start, line_end = ctx.line(num_start)

    # Implied 元: "300亿社会资本", "超千亿", "百亿级" (a multiplier and no unit).
    grade = bool(m.group("grade"))
    if m.group("pct"):
        if unit_raw is not None:
            return []
        unit_raw = "%"  # 百分之八 = 8%
    if unit_raw is None and (tail := _LIST_TAIL.match(norm, end)) and num[0].isdigit():
        unit_raw = tail.group("unit")  # "分别增长6和8%": the unit is written once for the list
    if unit_raw is None:
        if not num.endswith(("万", "亿")):
            return []
        # Bare 万/千万/亿万 are adverbs and idioms (千万不能, 亿万人民) unless 超/级 marks a scale.
        if _CN_ONLY_UNITS.match(num) and not (
            m.group("pre") or grade or (num.endswith("亿") and len(num) > 1)
        ):
            return []
        nxt = norm[end : end + 1]
        if nxt and (nxt in "年月日天人个" or nxt.isdigit()):
            return []
        # Implied unit: people for population-like measures, otherwise money (EXTRACTION.md).
        unit_raw = (
            "人"
            if _PEOPLE_METRIC.search(norm[max(ctx.sentence(num_start)[0], num_start - 12) : num_start])
            else "元"
        )
    if unit_raw in REJECT_UNITS:
        return []
    # Technical specifications and formulas: G15, 5G, PM2.5, 1+N.
    before_ch = norm[num_start - 1 : num_start] if num_start > line_start else ""
    after_ch = norm[end : end + 1]
    if (before_ch and _ASCII_ALNUM.match(before_ch)) or (after_ch and _ASCII_ALNUM.match(after_ch)):
        return []
    # Ordinals and ranks: 第二, 前十名, 后三强.
    if before_ch == "第" or (before_ch in ("前", "后", "倒") and unit_raw in ("名", "强")):
        return []
    sent_start, sent_end = ctx.sentence(num_start)
    if unit_raw in TIME_UNITS:
        window = norm[max(sent_start, num_start - 12) : min(sent_end, end + 4)]
        # Years and quarters are periods, "6月15日" a date; other durations count only as limits.
        if unit_raw in ("年", "季度", "个季度") or (unit_raw == "日" and before_ch == "月"):
            return []
        if not TIME_LIMIT_CUES.search(window):
            return []
    if norm[end : end + 1] in ("大", "强") or norm[m.end("num") : m.end("num") + 1] in ("大", "强"):
        return []
    if _inside_quotes(norm, num_start, end, line_start):
        return []
    try:
        value = parse_number(num)
    except ValueError:
        return []
    unit = UNITS.get(unit_raw, unit_raw)
    is_cn = not num[0].isdigit()
    if unit in COUNT_UNITS and is_cn:
        # "一个", "一项": an article; "千家万户", "亿万人民": idioms.
        if _CN_ONLY_UNITS.match(num) or value == 1:
            return []
        if norm[end : end + 1] == num[-1]:  # 一个个 and the like
            return []
    after_text = norm[end:sent_end]
    if unit in COUNT_UNITS and (STRUCTURAL_NOUNS.match(after_text) or NON_MEASURE_HEADS.match(after_text)):
        return []
    if unit in COUNT_UNITS and not after_text.strip() and STRUCTURAL_NOUNS.match(norm[end:line_end]):
        return []
    if unit == "次" and after_text.startswith("产业"):
        return []  # 三次产业: the three sectors
    if unit in COUNT_UNITS and is_cn and _is_enumeration_summary(norm, sent_start, num_start, value):
        return []

    threshold = m.group("post") == "以上" or m.group("pre") in ("超", "超过")
    # Only for measures other than the count itself: "3个以上重点项目" counts projects.
    if threshold and unit not in COUNT_UNITS and CLASS_THRESHOLD.match(norm[end:sent_end]):
        return []

    comparator = "="
    value_max = None
    pre = m.group("pre")
    if pre:
        comparator = PRE_COMPARATORS[pre]
    if m.group("num2"):
        try:
            value_max = parse_number(m.group("num2"))
        except ValueError:
            return []
        if m.group("unit1") and UNITS.get(m.group("unit1"), m.group("unit1")) != unit:
            return []
        if value_max <= value:
            return []
        comparator = "range"
    if m.group("mid"):
        comparator = ">="
    post = m.group("post")
    if post and comparator != "range":
        comparator = POST_COMPARATORS[post]
    elif grade and comparator == "=":
        comparator = ">="
    clause_cut = max(
        (b.end() for b in CLAUSE_BOUNDARY.finditer(norm, sent_start, num_start)), default=sent_start
    )
    if comparator == "=":
        # "最高不超过1000万元", "每季度至少举办2场": the word governs the first number after it.
        near = norm[clause_cut:num_start]
        if not _HAS_NUMBER.search(near):
            for word, comp in NEAR_COMPARATORS:
                if word in near:
                    comparator = comp
    clause_after_m = CLAUSE_BOUNDARY.search(norm, end, sent_end)
    clause_end = clause_after_m.start() if clause_after_m else sent_end
    clause_before = norm[clause_cut:num_start]
    clause_after = norm[end:clause_end]
    full_start, _full_end = ctx.full_sentence(num_start)
    sent_before = norm[full_start:num_start]
    kind, source = _classify_with_source(
        ctx, clause_before, norm[end : min(len(norm), clause_end + 10)], sent_before, num_start
    )
    clause = clause_before + clause_after
    if CONTINUATION.match(clause_before) and clause_cut > sent_start:
        # "给予奖励，最高不超过1000万元": the cap belongs to the clause before.
        prev_cut = max(
            (b.end() for b in CLAUSE_BOUNDARY.finditer(norm, sent_start, clause_cut - 1)), default=sent_start
        )
        clause = norm[prev_cut:clause_cut] + clause
    if unit in MONEY_UNITS and FUNDING_CUES.search(clause) and not RAISE_CUES.search(clause):
        # Paid or received only when the sentence says so, not because the paragraph reviews.
        kind = "fact" if (kind == "fact" and source == "cue") or PAST_MONEY.search(clause) else "funding"
    elif unit == "%" and FUNDING_RATE_CUES.search(clause) and kind != "fact":
        kind = "funding"
    period = _find_period(ctx, num_start, sent_start, full_start)
    metric = _metric(norm, start, end, clause_cut, sent_end, unit)
    sentence = text[sent_start:sent_end].strip()
    item = Item(
        kind=kind,
        metric=metric,
        value=_number(value),
        value_max=_number(value_max) if value_max is not None else None,
        unit=unit,
        comparator=comparator,
        period=period,
        sentence=sentence,
        start=base + start,
        end=base + end,
    )
    return _distribute(norm, item, clause_before, num_start)


_DISTRIBUTIVE = re.compile(
    r"(?P<subject>[^，。；：]+?)(?:(?<![人平年户亩日月])均(?![衡等匀])|(?<![首成京])都(?![市会城]))(?=[\u4e00-\u9fff])"
)


def _distribute(norm: str, item: Item, clause_before: str, num_start: int) -> list[Item]:
    """ "工业投资、服务业投资均增长9%" → one item per measure."""
    if "均" not in clause_before and "都" not in clause_before:  # cheap test before the regex
        return [item]
    m = _DISTRIBUTIVE.search(clause_before)
    if not m:
        return [item]
    subject = METRIC_LEAD.sub("", m.group("subject"))
    parts = [p for p in re.split(r"、|和|及|与|以及", subject) if p]
    if len(parts) < 2:
        return [item]
    out = []
    for part in parts:
        copy = Item(**{**asdict(item), "metric": part.strip()})
        out.append(copy)
    return out


_LIST_GAPS = ("和", "、", "及", "与", "或")
_RESPECTIVELY = re.compile(r"(?P<subject>[^，,：:；;。]+?)分别[^，,：:；;。0-9]{0,8}$")


def _fix_lists(items: list[Item], norm: str, base: int) -> None:
    """ "A和B分别增长6%和8%左右": a trailing 左右 (or 以上) applies to every value of the list, and
    分别 pairs the measures named before it with the values in order."""
    runs: list[list[Item]] = []
    for item in items:
        prev = runs[-1][-1] if runs else None
        if (
            prev is not None
            and norm[prev.end - base : item.start - base] in _LIST_GAPS
            and prev.unit == item.unit
            and prev.sentence == item.sentence
        ):
            runs[-1].append(item)
        else:
            runs.append([item])
    for run in runs:
        if len(run) < 2:
            continue
        last = run[-1].comparator
        if last in ("≈", ">=", "<="):
            for item in run[:-1]:
                if item.comparator == "=":
                    item.comparator = last
        first = run[0].start - base
        line_start = norm.rfind("\n", 0, first) + 1
        m = _RESPECTIVELY.search(norm, max(line_start, first - 40), first)
        if m:
            subject = METRIC_LEAD.sub("", m.group("subject"))
            parts = [p.strip() for p in re.split(r"、|和|及|与|以及", subject) if p.strip()]
            if len(parts) == len(run):
                for item, part in zip(run, parts, strict=True):
                    item.metric = part


def _tasks(norm: str, text: str, ctx: _Context, year: int | None, base: int) -> list[Item]:
    items = []
    for s_start, s_end in ctx.sentences:
        if not TASK_DATE_RE.search(norm, s_start, s_end):
            continue
        spans = []
        clause_start = s_start
        for b in [*CLAUSE_BOUNDARY.finditer(norm, s_start, s_end), None]:
            spans.append((clause_start, b.start() if b else s_end))
            clause_start = b.end() if b else s_end
        i = 0
        while i < len(spans):
            c_start, c_end = spans[i]
            # "9月底前，各县区要完成……": a clause that is only a date governs the next one.
            if i + 1 < len(spans) and _DATE_ONLY.fullmatch(norm[c_start:c_end].strip()):
                c_end = spans[i + 1][1]
                i += 1
            made = _task_in_clause(norm, text, norm[c_start:c_end], c_start, s_start, s_end, year, base)
            if made:
                items.append(made)
            i += 1
    return items


_DATE_ONLY = re.compile(rf"(?:在|要在|力争|确保|争取)?(?:{TASK_DATE_RE.pattern})")


_HAS_NUMBER = re.compile(r"[0-9]")


def _task_in_clause(norm, text, clause, clause_start, s_start, s_end, year, base) -> Item | None:
    m = TASK_DATE_RE.search(clause)
    if not m or not m.group(0):
        return None
    rest = clause[m.end() :]
    action = TASK_ACTION.search(rest)
    if not action:
        return None
    modal_zone = clause[m.start() : m.end() + action.start() + 1]
    if not TASK_MODAL.search(modal_zone):
        return None
    # Something already done is not a task: 印发了, 已经部署.
    if PAST_LE.search(rest) or "已" in clause:
        return None
    # A clause with its own number is a quantity, not a task.
    if _HAS_NUMBER.search(rest) or re.search(r"[两二三四五六七八九十百千万亿]+(?:个|项|家|亿|万)", rest):
        return None
    period, deadline = _deadline(m, year)
    if period is None:
        return None
    start = clause_start + m.start()
    end = clause_start + len(clause.rstrip())
    metric = rest[action.start() :].strip()
    return Item(
        kind="task",
        metric=metric,
        value=None,
        value_max=None,
        unit=None,
        comparator=None,
        period=period,
        sentence=text[s_start:s_end].strip(),
        start=base + start,
        end=base + end,
        deadline=deadline,
    )


def _compilation_year(title: str | None) -> int | None:
    """A fragment has no date line; the compilation's title ("2022年2月领导讲话汇编") dates it."""
    m = re.search(r"((?:19|20)\d\d)年", title or "")
    return int(m.group(1)) if m else None


def extract_document(text: str, *, year: int | None = None) -> list[dict]:
    """Split `text` into speeches and extract each body, skipping page chrome; offsets are into
    `text` as given. Returns the "speeches" list of EXTRACTION.md's JSON."""
    from guatu.speeches.text import chrome_spans, count_chars, reading_minutes, split_speeches

    chrome = sorted(chrome_spans(text))
    chrome_starts = [s for s, _e in chrome]

    def in_chrome(start: int, end: int) -> bool:
        i = bisect.bisect_right(chrome_starts, end) - 1
        while i >= 0:
            c_start, c_end = chrome[i]
            if c_start < end and start < c_end:
                return True
            if c_end <= start:
                break
            i -= 1
        return False

    speeches = []
    for part in split_speeches(text):
        body = text[part.start : part.end]
        part_year = year or (part.date.year if part.date else None) or _compilation_year(part.compilation)
        items = [
            item
            for item in extract(body, year=part_year, base=part.start)
            if not in_chrome(item.start, item.end)
        ]
        chars = count_chars(body)
        speeches.append(
            {
                "title": part.title,
                "speaker": part.speaker,
                "position": part.position,
                "date": part.date.isoformat() if part.date else None,
                "is_fragment": part.is_fragment,
                "chars": chars,
                "reading_minutes": reading_minutes(chars),
                "items": [item.as_dict() for item in items],
            }
        )
    return speeches
