"""The chain map: links by position with the enterprises present, missing links (补链), 链主, the
leads along a chain, and who sees what."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guatu.attraction.models import ChainLeader, ChainLink, LinkPosition
from guatu.attraction.selectors import chain_leads, chain_map
from guatu.attraction.tests.funnel_data import LONGCHENG, SHUANGTA, D, make_lead
from guatu.org.models import Chain, Unit

pytestmark = pytest.mark.django_db

UP, MID, DOWN = LinkPosition.UPSTREAM, LinkPosition.MIDSTREAM, LinkPosition.DOWNSTREAM
TO_REGISTERED = [
    ("clue", D(2026, 1, 5)),
    ("negotiating", D(2026, 1, 20)),
    ("framework", D(2026, 2, 10)),
    ("signed", D(2026, 3, 1)),
    ("registered", D(2026, 4, 1)),
]


@pytest.fixture
def chain(world):
    """新能源装备 as the test world's chain:
    上游 叶片材料 — an enterprise recorded on the link (present);
    中游 风电整机 — a lead registered there, not yet in the registry (present, by its investor);
    中游 控制系统 — a registered lead that was dropped (missing);
    下游 储能系统 — a lead converted to a project of 龙城测试制造 (present, in 龙城区);
    下游 运维服务 — only a lead in negotiation (missing, one in the pipeline).
    链主: 朝阳测试实业."""
    c = world.chain
    links = {}
    for order, (name, position) in enumerate(
        [("运维服务", DOWN), ("储能系统", DOWN), ("控制系统", MID), ("风电整机", MID), ("叶片材料", UP)]
    ):
        links[name] = ChainLink.objects.create(chain=c, name=name, position=position, order=10 - order)
    links["叶片材料"].enterprises.add(world.enterprise)
    make_lead(
        world, "风电整机落户", county=SHUANGTA, amount=900, entries=TO_REGISTERED, link=links["风电整机"]
    )
    make_lead(
        world,
        "控制系统放弃",
        county=SHUANGTA,
        amount=200,
        entries=TO_REGISTERED,
        link=links["控制系统"],
        dropped=D(2026, 4, 20),
    )
    make_lead(
        world,
        "储能入库",
        county=LONGCHENG,
        amount=3000,
        entries=[*TO_REGISTERED, ("started", D(2026, 5, 1))],
        link=links["储能系统"],
        project_stage="started",
        project={"enterprise": world.other_enterprise},
    )
    make_lead(
        world,
        "运维洽谈",
        county=SHUANGTA,
        amount=50,
        entries=TO_REGISTERED[:2],
        link=links["运维服务"],
    )
    make_lead(world, "未定环节", county=SHUANGTA, amount=10, entries=TO_REGISTERED[:1])
    ChainLeader.objects.create(chain=c, unit=world.enterprise, note="整机龙头")
    Chain.objects.create(name="文旅康养", order=9)  # no links yet
    return c


def names(cards) -> list[str]:
    return [card.link.name for card in cards]


def test_links_are_grouped_upstream_midstream_downstream_in_order(world, chain):
    card = chain_map(user=world.users["city"], chain=chain)[0]
    assert [(g.position, g.label) for g in card.groups] == [(UP, "上游"), (MID, "中游"), (DOWN, "下游")]
    assert [names(g.links) for g in card.groups] == [
        ["叶片材料"],
        ["风电整机", "控制系统"],
        ["储能系统", "运维服务"],
    ]


def test_present_enterprises_and_missing_links(world, chain):
    card = chain_map(user=world.users["city"], chain=chain)[0]
    by_name = {link.link.name: link for link in card.links}
    assert [u.name for u in by_name["叶片材料"].enterprises] == ["朝阳测试实业有限公司"]
    assert by_name["风电整机"].enterprises == [] and by_name["风电整机"].landed == [
        "风电整机落户投资有限公司"
    ]
    assert [u.name for u in by_name["储能系统"].enterprises] == ["龙城测试制造有限公司"]
    assert names(card.missing) == ["控制系统", "运维服务"]
    assert by_name["运维服务"].pipeline == 1 and by_name["控制系统"].pipeline == 0
    assert [leader.unit.name for leader in card.leaders] == ["朝阳测试实业有限公司"]
    assert card.leads == 4  # the dropped one is not counted


def test_an_enterprise_on_the_link_and_its_project_is_listed_once(world, chain):
    link = ChainLink.objects.get(chain=chain, name="储能系统")
    link.enterprises.add(world.other_enterprise)
    card = chain_map(user=world.users["city"], chain=chain)[0]
    assert [u.name for u in next(c for c in card.links if c.link == link).enterprises] == [
        "龙城测试制造有限公司"
    ]


def test_a_chain_without_links_has_nothing_missing(world, chain):
    cards = {card.chain.name: card for card in chain_map(user=world.users["city"])}
    assert list(cards) == ["新能源", "文旅康养"]
    assert (
        cards["文旅康养"].links == [] and cards["文旅康养"].missing == [] and cards["文旅康养"].leaders == []
    )


def test_leads_outside_the_users_scope_do_not_fill_a_link(world, chain):
    # 双塔区 cannot see the lead landing in 龙城区: for it, 储能系统 is still a gap.
    card = chain_map(user=world.users["county"], chain=chain)[0]
    assert names(card.missing) == ["控制系统", "储能系统", "运维服务"]
    assert card.leads == 3


def test_chain_leads_grouped_by_link_with_the_unplaced_last(world, chain):
    groups = chain_leads(user=world.users["city"], chain=chain)
    assert [(g.position_label, g.label) for g in groups] == [
        ("上游", "叶片材料"),
        ("中游", "风电整机"),
        ("中游", "控制系统"),
        ("下游", "储能系统"),
        ("下游", "运维服务"),
        ("", "未指定环节"),
    ]
    assert [[lead.name for lead in g.leads] for g in groups] == [
        [],
        ["风电整机落户"],
        ["控制系统放弃"],
        ["储能入库"],
        ["运维洽谈"],
        ["未定环节"],
    ]
    county = chain_leads(user=world.users["other_county"], chain=chain)
    assert [lead.name for g in county for lead in g.leads] == ["储能入库"]


# ---------------------------------------------------------------- pages


def test_chain_map_page(client, world, chain):
    client.force_login(world.users["city"])
    response = client.get(reverse("attraction:chain_map"))
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["summary"] == {"chains": 2, "links": 5, "missing": 2, "with_leader": 1}
    for text in (
        "新能源",
        "叶片材料",
        "朝阳测试实业有限公司",
        "龙城测试制造有限公司",
        "风电整机落户投资有限公司",
        "补链",
        "链主",
    ):
        assert text in html
    assert html.count("chain-link-missing") == 2
    assert "尚未设置产业链环节" in html  # 文旅康养
    assert reverse("attraction:chain_detail", args=[chain.pk]) in html


def test_chain_map_page_queries_do_not_grow_with_chains(client, world, chain, django_assert_max_num_queries):
    client.force_login(world.users["city"])
    url = reverse("attraction:chain_map")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(4):
        extra = Chain.objects.create(name=f"链{n}", order=20 + n)
        link = ChainLink.objects.create(chain=extra, name="环节", position=UP)
        link.enterprises.add(
            Unit.objects.create(name=f"企业{n}", kind=Unit.Kind.ENTERPRISE, region=world.city)
        )
        ChainLeader.objects.create(chain=extra, unit=world.enterprise)
        make_lead(
            world, f"链{n}线索", county=SHUANGTA, amount=1, entries=TO_REGISTERED, chain=extra, link=link
        )
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert response.context["summary"]["chains"] == 6


def test_chain_detail_page_lists_the_leads_along_the_chain(client, world, chain):
    client.force_login(world.users["city"])
    response = client.get(reverse("attraction:chain_detail", args=[chain.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        "风电整机落户",
        "控制系统放弃",
        "储能入库",
        "运维洽谈",
        "未指定环节",
        "已放弃",
        "已入库",
        "本链招商漏斗",
    ):
        assert text in html
    assert f"?chain={chain.pk}" in html
    assert client.get(reverse("attraction:chain_detail", args=[99999])).status_code == 404


def test_enterprise_sees_the_map_but_no_leads(client, world, chain):
    client.force_login(world.users["enterprise"])
    response = client.get(reverse("attraction:chain_map"))
    assert response.status_code == 200
    assert "本链招商漏斗" not in response.content.decode()
    detail = client.get(reverse("attraction:chain_detail", args=[chain.pk])).content.decode()
    assert "叶片材料" in detail and "运维洽谈" not in detail
    # Without leads in scope, only the enterprise recorded on a link shows it as present.
    card = chain_map(user=world.users["enterprise"], chain=chain)[0]
    assert {c.link.name for c in card.missing} == {"风电整机", "控制系统", "储能系统", "运维服务"}


@pytest.mark.parametrize("role", ["auditor", "sysadmin"])
def test_administrators_are_refused(client, world, chain, role):
    client.force_login(world.users[role])
    assert client.get(reverse("attraction:chain_map")).status_code == 403
    assert client.get(reverse("attraction:chain_detail", args=[chain.pk])).status_code == 403
