"""Fixed facts of the demo campaign: 朝阳市's divisions, units, chains, accounts and name patterns.

Everything here is plain data; guatu.demo.generator turns it into rows. Names of people and
enterprises are invented.
"""

from dataclasses import dataclass

from guatu.accounts.models import Role

CITY_CODE = "211300"


@dataclass(frozen=True)
class County:
    code: str
    name: str  # as in GB/T 2260 and on the map
    short: str  # what people write: 喀左县 for 喀喇沁左翼蒙古族自治县
    pinyin: str  # the county account's username
    head: str  # the title of the division's head: 区长, 县长, 市长
    weight: float  # share of the city's projects
    jitter: float  # degrees around the map's centre point: districts are small


COUNTIES = (
    County("211302", "双塔区", "双塔区", "shuangta", "区长", 0.10, 0.025),
    County("211303", "龙城区", "龙城区", "longcheng", "区长", 0.16, 0.03),
    County("211321", "朝阳县", "朝阳县", "chaoyangxian", "县长", 0.15, 0.10),
    County("211322", "建平县", "建平县", "jianping", "县长", 0.16, 0.12),
    County("211324", "喀喇沁左翼蒙古族自治县", "喀左县", "kazuo", "县长", 0.13, 0.10),
    County("211381", "北票市", "北票市", "beipiao", "市长", 0.15, 0.12),
    County("211382", "凌源市", "凌源市", "lingyuan", "市长", 0.15, 0.10),
)
ZONE = ("柳城经济开发区", "211303")
FAGAI = "市发展和改革委员会"
GONGXIN = "市工业和信息化局"
SHANGWU = "市商务局"
ZIRAN = "市自然资源局"
SHENGTAI = "市生态环境局"
DEPARTMENTS = (FAGAI, GONGXIN, SHANGWU, ZIRAN, SHENGTAI)


@dataclass(frozen=True)
class ChainDef:
    name: str
    sector: str
    industry: str  # the 2-digit 行业 part of the project code (GB/T 4754 division)
    trade: str  # what an enterprise of this chain calls itself: 新能源, 食品 …


# 结构调整"三篇大文章": 深度开发"原字号", 改造升级"老字号", 培育壮大"新字号" — 17 chains.
YUAN, LAO, XIN = "原字号", "老字号", "新字号"
CHAINS = (
    ChainDef("钢铁深加工", YUAN, "31", "特钢"),
    ChainDef("有色金属精深加工", YUAN, "32", "金属材料"),
    ChainDef("绿色建材", YUAN, "30", "建材"),
    ChainDef("农产品精深加工", YUAN, "13", "食品"),
    ChainDef("畜牧产品加工", YUAN, "13", "牧业"),
    ChainDef("汽车及零部件", LAO, "36", "汽车部件"),
    ChainDef("装备制造", LAO, "35", "重工"),
    ChainDef("精细化工", LAO, "26", "化工"),
    ChainDef("轻工纺织", LAO, "18", "服饰"),
    ChainDef("新能源装备", XIN, "38", "新能源装备"),
    ChainDef("光伏", XIN, "44", "光伏"),
    ChainDef("风电", XIN, "44", "风电"),
    ChainDef("储能与氢能", XIN, "44", "储能"),
    ChainDef("新材料", XIN, "30", "新材料"),
    ChainDef("电子信息", XIN, "39", "电子"),
    ChainDef("生物医药", XIN, "27", "药业"),
    ChainDef("文旅康养", XIN, "78", "文旅"),
)


@dataclass(frozen=True)
class Template:
    """A kind of project: its name, what it builds, its usual size in 万元 and its approval path."""

    name: str  # placeholders: {county} the division, {ent} the owner's short name, {n} a size
    content: str
    median: float  # 万元
    sigma: float = 0.7  # spread of log(investment)
    sizes: tuple[int, ...] = ()  # choices for {n} when the size is not derived from the money
    per_unit: float = 0.0  # 万元 per unit of {n}: {n} follows the investment (MW from money)
    approval: str = "03"  # 项目类型 part of the code: 01 审批, 02 核准, 03 备案
    industry: str = ""  # overrides the chain's 行业 code
    owner: str = ""  # infrastructure and livelihood: which county body owns it
    two_high: bool = False
    rural: bool = False  # not in the city districts (双塔区)


INDUSTRY_TEMPLATES: dict[str, tuple[Template, ...]] = {
    "钢铁深加工": (
        Template("{ent}年产{n}万吨精密冷轧带钢项目", "建设冷轧生产线及配套设施", 60000, sizes=(20, 30, 50)),
        Template("{ent}高端装备铸锻件项目", "建设铸造、锻造车间及热处理线", 30000),
        Template(
            "{ent}年产{n}万吨特钢棒材技改项目", "电炉短流程特钢技术改造", 80000, sizes=(30, 60), two_high=True
        ),
    ),
    "有色金属精深加工": (
        Template("{ent}年产{n}万吨铝合金型材项目", "建设熔铸、挤压、表面处理生产线", 25000, sizes=(3, 5, 10)),
        Template("{ent}钼铁精深加工项目", "建设钼精矿焙烧及钼铁冶炼生产线", 40000, two_high=True, rural=True),
        Template("{ent}铜箔新材料项目", "建设电解铜箔生产线", 35000),
    ),
    "绿色建材": (
        Template(
            "{ent}年产{n}万立方米装配式建筑构件项目", "建设预制构件生产线及堆场", 15000, sizes=(10, 15, 20)
        ),
        Template(
            "{ent}新型干法水泥熟料生产线技改项目",
            "水泥熟料生产线节能降碳改造",
            50000,
            two_high=True,
            rural=True,
        ),
        Template("{ent}膨润土深加工项目", "建设膨润土提纯及有机膨润土生产线", 12000, rural=True),
        Template("{ent}尾矿综合利用制砂项目", "利用铁尾矿生产机制砂及新型墙材", 8000, rural=True),
    ),
    "农产品精深加工": (
        Template(
            "{ent}年产{n}万吨小米杂粮精深加工项目", "建设杂粮清理、加工及包装生产线", 6000, sizes=(2, 3, 5)
        ),
        Template("{ent}沙棘饮品生产线项目", "建设沙棘果汁、饮品生产线", 5000, rural=True),
        Template("{ent}果蔬冷链仓储项目", "建设气调冷库及分拣中心", 8000),
        Template("{ent}设施农业产业园项目", "建设日光温室及育苗中心", 10000, rural=True),
        Template("{ent}食用菌工厂化生产项目", "建设菌种繁育及工厂化出菇车间", 4000, rural=True),
    ),
    "畜牧产品加工": (
        Template(
            "{ent}年屠宰{n}万头生猪项目", "建设屠宰、分割、冷藏车间", 20000, sizes=(30, 50, 100), rural=True
        ),
        Template("{ent}肉牛屠宰及精深加工项目", "建设肉牛屠宰线及熟食加工车间", 15000, rural=True),
        Template(
            "{ent}{n}万只肉鸡养殖加工一体化项目",
            "建设养殖小区、屠宰及饲料车间",
            25000,
            sizes=(500, 1000),
            rural=True,
        ),
        Template("{ent}绒山羊繁育基地项目", "建设种羊场及羊绒初加工车间", 3000, rural=True),
    ),
    "汽车及零部件": (
        Template("{ent}年产{n}万套汽车零部件项目", "建设冲压、焊装生产线", 20000, sizes=(10, 30, 50)),
        Template("{ent}新能源汽车电机壳体项目", "建设压铸及机加工生产线", 15000),
        Template("{ent}专用车改装项目", "建设专用车改装及检测车间", 8000),
    ),
    "装备制造": (
        Template("{ent}智能矿山装备制造项目", "建设矿山机械总装及试验车间", 18000),
        Template("{ent}农机装备生产基地项目", "建设农机整机生产线", 10000),
        Template("{ent}数控机床再制造项目", "建设机床再制造及检测车间", 6000),
    ),
    "精细化工": (
        Template(
            "{ent}年产{n}万吨医药中间体项目", "建设合成车间及储罐区", 30000, sizes=(1, 2, 3), two_high=True
        ),
        Template("{ent}水性涂料项目", "建设水性涂料生产线", 8000),
        Template("{ent}电子化学品项目", "建设高纯试剂生产线", 20000),
    ),
    "轻工纺织": (
        Template("{ent}服装加工园项目", "建设标准化服装加工车间", 5000),
        Template("{ent}年产{n}万件羊绒制品项目", "建设羊绒纺纱及针织车间", 6000, sizes=(20, 50)),
        Template("{ent}针织服饰智能工厂项目", "建设智能针织及成衣车间", 2000),
    ),
    "新能源装备": (
        Template("{ent}风电主机装配项目", "建设风电机组总装车间", 60000),
        Template("{ent}年产{n}套风电叶片项目", "建设叶片模具及生产车间", 50000, sizes=(300, 500, 600)),
        Template("{ent}风电塔筒法兰项目", "建设塔筒卷制及法兰锻造车间", 25000),
        Template("{ent}光伏组件支架生产项目", "建设支架冷弯及镀锌生产线", 8000),
    ),
    "光伏": (
        Template(
            "{county}{n}MW光伏发电项目", "建设集中式光伏电站及升压站", 40000, per_unit=400, approval="03"
        ),
        Template("{county}{n}MW农光互补光伏项目", "板上发电、板下种植", 30000, per_unit=420, rural=True),
        Template("{county}分布式屋顶光伏项目", "利用工业厂房屋顶建设分布式光伏", 5000),
    ),
    "风电": (
        Template(
            "{county}{n}MW风电项目",
            "建设风电机组、集电线路及升压站",
            120000,
            per_unit=600,
            approval="02",
            rural=True,
        ),
        Template("{county}分散式风电项目", "建设分散式风电机组", 20000, approval="02", rural=True),
    ),
    "储能与氢能": (
        Template("{county}{n}MW独立储能电站项目", "建设电化学储能电站", 30000, per_unit=300, approval="03"),
        Template(
            "{county}风光制氢一体化示范项目", "建设电解水制氢及储运设施", 80000, approval="02", rural=True
        ),
        Template("{ent}储能电池PACK生产线项目", "建设电池模组及PACK生产线", 20000),
    ),
    "新材料": (
        Template("{ent}年产{n}吨高纯硅材料项目", "建设提纯及切片生产线", 40000, sizes=(3000, 5000)),
        Template("{ent}碳纤维复合材料项目", "建设预浸料及复合材料制品生产线", 25000),
        Template("{ent}石墨烯导热膜项目", "建设石墨烯导热膜生产线", 15000),
        Template("{ent}硅藻土功能材料项目", "建设硅藻土提纯及助滤剂生产线", 8000, rural=True),
    ),
    "电子信息": (
        Template("{county}数字经济产业园项目", "建设研发楼、孵化器及数据机房", 30000),
        Template("{ent}电子元器件生产项目", "建设表面贴装及封装测试车间", 12000),
        Template("{county}大数据中心项目", "建设数据中心机房及配套电力", 50000),
    ),
    "生物医药": (
        Template("{ent}中药饮片生产项目", "建设中药饮片及配方颗粒车间", 8000),
        Template("{ent}生物制品研发生产基地项目", "建设研发中心及GMP车间", 45000),
        Template("{ent}医疗器械产业园项目", "建设医疗器械标准厂房", 15000),
    ),
    "文旅康养": (
        Template("{county}康养小镇项目", "建设康养公寓、医养中心及配套设施", 40000, rural=True),
        Template("{county}乡村旅游综合体项目", "建设游客中心、民宿及采摘园", 10000, rural=True),
        Template("{county}红山文化遗址公园提升项目", "建设展示馆、游步道及停车场", 20000, rural=True),
        Template("{county}冰雪温泉度假区项目", "建设温泉酒店及冰雪乐园", 35000, rural=True),
    ),
}


def _works(rows: tuple[tuple, ...]) -> tuple[Template, ...]:
    """Public works: (name, what it builds, usual 万元, 行业 code, owner, rural[, sizes])."""
    return tuple(
        Template(name, content, median, industry=industry, owner=owner, rural=rural, approval="01",
                 sizes=rest[0] if rest else ())
        for name, content, median, industry, owner, rural, *rest in rows
    )  # fmt: skip


INFRASTRUCTURE_TEMPLATES = _works((
    ("{county}城区道路改扩建工程", "道路拓宽、管网及路灯改造", 15000, "48", "交通", False),
    ("{county}大凌河综合治理工程", "堤防加固、河道清淤及生态护岸", 20000, "76", "水利", True),
    ("{county}污水处理厂提标改造项目", "污水处理厂提标至一级A", 8000, "46", "城投", False),
    ("{county}城区供热管网改造工程", "更换老旧供热管网及换热站", 6000, "44", "城投", False),
    ("{county}老旧小区改造项目", "改造小区屋面、外墙、管网及环境", 5000, "70", "住建", False),
    ("{county}城乡集中供水工程", "建设水源井、净水厂及输配水管网", 10000, "46", "水利", False),
    ("{county}66千伏输变电工程", "新建变电站及输电线路", 6000, "44", "城投", False),
    ("{county}标准化厂房项目", "建设标准化厂房及配套道路", 12000, "47", "城投", False),
    ("{county}城市更新项目", "片区棚户区改造及公共空间提升", 30000, "70", "住建", False),
    ("{county}高标准农田建设项目", "土地平整、灌溉及田间道路", 5000, "05", "水利", True),
    ("{county}农村公路提质改造工程", "县乡道路面改造及桥涵建设", 8000, "48", "交通", True),
    ("{county}乡村道路硬化工程", "村组道路硬化及排水边沟", 600, "48", "交通", True),
    ("{county}冷链物流园区道路工程", "园区道路、给排水及照明", 4000, "48", "交通", False),
))  # fmt: skip

LIVELIHOOD_TEMPLATES = _works((
    ("{county}第{n}中学新建项目", "建设教学楼、宿舍及运动场", 12000, "83", "教育", False, (2, 3, 5, 6)),
    ("{county}人民医院综合楼项目", "建设门诊、住院综合楼", 25000, "84", "卫健", False),
    ("{county}中医院门诊楼项目", "建设门诊楼及配套设施", 10000, "84", "卫健", False),
    ("{county}社区卫生服务中心项目", "新建社区卫生服务中心", 800, "84", "卫健", False),
    ("{county}养老服务中心项目", "建设养老床位及医养结合设施", 6000, "85", "民政", False),
    ("{county}村级综合服务中心项目", "新建村级党群服务及便民服务用房", 400, "85", "民政", True),
    ("{county}保障性租赁住房项目", "建设保障性租赁住房及配套", 15000, "70", "住建", False),
    ("{county}全民健身中心项目", "建设体育馆及室外健身场地", 8000, "89", "城投", False),
    ("{county}公办幼儿园建设项目", "新建公办幼儿园", 1200, "83", "教育", False),
    ("{county}公共实训基地项目", "建设职业技能实训楼", 5000, "83", "教育", False),
    ("{county}农贸市场升级改造项目", "改造农贸市场及停车场", 1000, "51", "城投", False),
))  # fmt: skip

# The county bodies that own public projects.
OWNERS = {
    "城投": "{county}城市建设投资有限公司",
    "交通": "{county}交通运输局",
    "水利": "{county}水利局",
    "住建": "{county}住房和城乡建设局",
    "教育": "{county}教育局",
    "卫健": "{county}卫生健康局",
    "民政": "{county}民政局",
}

ENTERPRISE_PREFIXES = ("辽宁", "朝阳")
ENTERPRISE_BRANDS = (
    "鑫源", "华锐", "金鼎", "恒泰", "天成", "瑞丰", "宏达", "中研", "北辰", "燕辽", "红山", "凌河",
    "龙腾", "凤翔", "华晟", "嘉禾", "锦程", "利民", "盛世", "东方", "新元", "博远", "万通", "聚力",
    "兴业", "信诚", "远航", "泰和", "宏远", "祥瑞", "牛河梁", "慕容", "柳城", "大凌", "青峰", "德润",
)  # fmt: skip
ENTERPRISE_SUFFIXES = ("有限公司", "科技有限公司", "股份有限公司", "集团有限公司")

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程"
GIVEN_NAMES = (
    "建国", "志刚", "海涛", "晓明", "立军", "国栋", "伟", "磊", "洋", "静", "敏", "丽华", "文博", "宏伟",
    "晓东", "春雨", "玉梅", "国庆", "明远", "振华", "立新", "学军", "秀英", "红梅", "卫东", "佳", "鹏",
)  # fmt: skip
CITY_LEADERS = ("常务副市长杨国栋", "副市长刘志刚", "副市长王海涛", "副市长陈晓明", "市委常委韩立军")

# The demo's own enterprise: the `qiye` account's unit, owner of a handful of projects in the zone.
FLAGSHIP_ENTERPRISE = "辽宁天锐新能源装备有限公司"


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    last_name: str
    first_name: str
    county: str = ""  # region: a county code, or "city"
    unit: str = ""  # unit name


ACCOUNTS = (
    Account("city", Role.CITY_ADMIN, "孙", "立新", county="city"),
    Account("leader", Role.LEADER, "王", "振华", county="city"),
    Account("auditor", Role.AUDITOR, "周", "静"),
    Account("sysadmin", Role.SYSADMIN, "吴", "磊"),
    Account("secadmin", Role.SECADMIN, "郑", "洁"),
    Account("shuangta", Role.COUNTY, "李", "文博", county="211302"),
    Account("longcheng", Role.COUNTY, "赵", "春雨", county="211303"),
    Account("chaoyangxian", Role.COUNTY, "高", "国庆", county="211321"),
    Account("jianping", Role.COUNTY, "徐", "宏伟", county="211322"),
    Account("kazuo", Role.COUNTY, "包", "玉梅", county="211324"),
    Account("beipiao", Role.COUNTY, "于", "卫东", county="211381"),
    Account("lingyuan", Role.COUNTY, "邓", "学军", county="211382"),
    Account("fagai", Role.DEPARTMENT, "陈", "建军", county="city", unit=FAGAI),
    Account("qiye", Role.ENTERPRISE, "刘", "天锐", county="211303", unit=FLAGSHIP_ENTERPRISE),
    # One steward per division (1+1+n): `guanjia` serves 龙城区 and 柳城经济开发区.
    Account("guanjia", Role.STEWARD, "马", "晓东", county="211303"),
    Account("guanjia_shuangta", Role.STEWARD, "冯", "佳", county="211302"),
    Account("guanjia_chaoyangxian", Role.STEWARD, "田", "鹏", county="211321"),
    Account("guanjia_jianping", Role.STEWARD, "蒋", "敏", county="211322"),
    Account("guanjia_kazuo", Role.STEWARD, "白", "秀英", county="211324"),
    Account("guanjia_beipiao", Role.STEWARD, "曹", "洋", county="211381"),
    Account("guanjia_lingyuan", Role.STEWARD, "罗", "红梅", county="211382"),
)
DEMO_USERNAMES = tuple(account.username for account in ACCOUNTS)
