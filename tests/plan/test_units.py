"""The unit parser on every 责任单位 string of the 2021 document, and on other districts' forms."""

import pytest

from tasks.plan.units import UnitDirectory, guess_kind, parse_units

MEMBERS = "@领导小组各成员单位"
TOWNS = "@各镇街"
FRONT = "前方挂职干部"
OFFICE = "领导小组办公室"
VAGUE = "领导小组相关成员单位"

# Every distinct 责任单位 / 责任部门 / 项目牵头单位 text in the seed document, with the units it names
# (in document order; @group stands for the group's members) and the phrases that name nobody.
SEED_STRINGS: list[tuple[str, list[str], list[str]]] = [
    ("领导小组办公室、领导小组各成员单位、前方挂职干部", [OFFICE, MEMBERS, FRONT], []),
    ("领导小组办公室、区委组织部、领导小组相关成员单位、前方挂职干部", [OFFICE, "区委组织部", FRONT], [VAGUE]),
    ("区财政局、领导小组办公室、区人力社保局、区商务局、区科技和信息化局、区农业农村局、区教委、区卫生健康委、区残联、各镇街、前方挂职干部等",
     ["区财政局", OFFICE, "区人力社保局", "区商务局", "区科技和信息化局", "区农业农村局", "区教委", "区卫生健康委",
      "区残联", TOWNS, FRONT], []),
    ("区委组织部、区人力社保局、区教委、区卫生健康委、区农业农村局等",
     ["区委组织部", "区人力社保局", "区教委", "区卫生健康委", "区农业农村局"], []),
    ("区委办公室、区政府办公室、领导小组办公室、领导小组相关成员单位、前方挂职干部",
     ["区委办公室", "区政府办公室", OFFICE, FRONT], [VAGUE]),
    ("区科技和信息化局、区农业农村局、区国资委、区文化和旅游局、中关村门头沟园服务中心、区工商联、前方挂职干部等",
     ["区科技和信息化局", "区农业农村局", "区国资委", "区文化和旅游局", "中关村门头沟园服务中心", "区工商联", FRONT], []),
    ("区人力社保局、前方挂职干部、领导小组相关成员单位", ["区人力社保局", FRONT], [VAGUE]),
    ("区商务局、区国资委、区财政局、区直机关工委、区总工会、区教委、区卫生健康委、区文化和旅游局、各镇街、前方挂职干部等",
     ["区商务局", "区国资委", "区财政局", "区直机关工委", "区总工会", "区教委", "区卫生健康委", "区文化和旅游局", TOWNS,
      FRONT], []),
    ("领导小组办公室、各镇街、区教委、区卫生健康委、前方挂职干部等", [OFFICE, TOWNS, "区教委", "区卫生健康委", FRONT], []),
    ("区委组织部、区人力社保局、区农业农村局、区科技和信息化局、区文化和旅游局、区教委、区卫生健康委、前方挂职干部等",
     ["区委组织部", "区人力社保局", "区农业农村局", "区科技和信息化局", "区文化和旅游局", "区教委", "区卫生健康委", FRONT],
     []),
    ("区委统战部、领导小组办公室、区教委、区卫生健康委、区文化和旅游局、团区委、区妇联、区工商联、区文联、各镇街、前方挂职干部等",
     ["区委统战部", OFFICE, "区教委", "区卫生健康委", "区文化和旅游局", "团区委", "区妇联", "区工商联", "区文联", TOWNS,
      FRONT], []),
    ("区教委、区卫生健康委、区残联、前方挂职干部等", ["区教委", "区卫生健康委", "区残联", FRONT], []),
    ("领导小组办公室、区委组织部、区农业农村局、区文化和旅游局、区教委、区卫生健康委、区人力社保局、区科技和信息化局、相关镇等",
     [OFFICE, "区委组织部", "区农业农村局", "区文化和旅游局", "区教委", "区卫生健康委", "区人力社保局", "区科技和信息化局"],
     ["相关镇"]),
    ("区委组织部、区人力社保局、领导小组相关成员单位", ["区委组织部", "区人力社保局"], [VAGUE]),
    ("领导小组各成员单位、前方挂职干部", [MEMBERS, FRONT], []),
    ("领导小组办公室、区委组织部、区人力社保局、区科技和信息化局、区农业农村局、区民政局、区商务局、区教委、区卫生健康委、区国资委、中关村门头沟园服务中心、区工商联、区残联、各镇街、前方挂职干部等",
     [OFFICE, "区委组织部", "区人力社保局", "区科技和信息化局", "区农业农村局", "区民政局", "区商务局", "区教委",
      "区卫生健康委", "区国资委", "中关村门头沟园服务中心", "区工商联", "区残联", TOWNS, FRONT], []),
    ("领导小组办公室、区财政局、领导小组相关成员单位、前方挂职干部", [OFFICE, "区财政局", FRONT], [VAGUE]),
    ("区委宣传部、区委网信办、区融媒体中心、领导小组办公室、领导小组各成员单位、前方挂职干部",
     ["区委宣传部", "区委网信办", "区融媒体中心", OFFICE, MEMBERS, FRONT], []),
    ("区民政局、领导小组办公室、区国资委、区科技和信息化局、中关村门头沟园服务中心、区工商联、区总工会、团区委、区妇联、区残联、区文联、区红十字会、前方挂职干部等",
     ["区民政局", OFFICE, "区国资委", "区科技和信息化局", "中关村门头沟园服务中心", "区工商联", "区总工会", "团区委",
      "区妇联", "区残联", "区文联", "区红十字会", FRONT], []),
    ("区委办公室、区政府办公室、领导小组办公室", ["区委办公室", "区政府办公室", OFFICE], []),
    ("领导小组办公室、领导小组相关成员单位、前方挂职干部等", [OFFICE, FRONT], [VAGUE]),
    ("领导小组办公室、各镇街、区教委、区卫生健康委、区民政局、区国资委、中关村门头沟园服务中心、区工商联、前方挂职干部等",
     [OFFICE, TOWNS, "区教委", "区卫生健康委", "区民政局", "区国资委", "中关村门头沟园服务中心", "区工商联", FRONT], []),
    ("领导小组办公室、领导小组相关成员单位、前方挂职干部", [OFFICE, FRONT], [VAGUE]),
    ("区科技和信息化局、区农业农村局、区国资委、中关村门头沟园服务中心、区工商联、前方挂职干部等",
     ["区科技和信息化局", "区农业农村局", "区国资委", "中关村门头沟园服务中心", "区工商联", FRONT], []),
    ("区人力社保局、前方挂职干部等", ["区人力社保局", FRONT], []),
    ("领导小组成员单位、前方挂职干部等", [MEMBERS, FRONT], []),
    ("区商务局、区国资委、区财政局、区直机关工委、区总工会、区教委、区卫生健康委、各镇街、前方挂职干部等",
     ["区商务局", "区国资委", "区财政局", "区直机关工委", "区总工会", "区教委", "区卫生健康委", TOWNS, FRONT], []),
    ("区财政局、领导小组办公室、区人力社保局、区商务局、区农业农村局、区科技和信息化局、区教委、区卫生健康委、区残联、各镇街、前方挂职干部等",
     ["区财政局", OFFICE, "区人力社保局", "区商务局", "区农业农村局", "区科技和信息化局", "区教委", "区卫生健康委", "区残联",
      TOWNS, FRONT], []),
    ("领导小组成员单位、前方挂职干部", [MEMBERS, FRONT], []),
    ("区委宣传部、区委网信办、区融媒体中心、领导小组办公室、领导小组相关成员单位、前方挂职干部等",
     ["区委宣传部", "区委网信办", "区融媒体中心", OFFICE, FRONT], [VAGUE]),
    ("区科信局", ["区科技和信息化局"], []),
    ("区农业农村局", ["区农业农村局"], []),
    ("区商务局", ["区商务局"], []),
    ("区人力社保局", ["区人力社保局"], []),
    ("区残联", ["区残联"], []),
    ("区教委", ["区教委"], []),
    ("区卫生健康委", ["区卫生健康委"], []),
]


def expand(expected: list[str], directory: UnitDirectory) -> list[str]:
    names: list[str] = []
    for name in expected:
        members = directory.groups[name[1:]] if name.startswith("@") else [name]
        names += [m for m in members if m not in names]
    return names


@pytest.mark.parametrize(("text", "units", "unresolved"), SEED_STRINGS, ids=[s[0][:20] for s in SEED_STRINGS])
def test_every_seed_string(directory: UnitDirectory, text: str, units: list[str], unresolved: list[str]) -> None:
    result = parse_units(text, directory)
    assert result.names == expand(units, directory)
    assert result.unresolved == unresolved
    assert result.unknown == []
    first = expand(units[:1], directory)
    # The first named unit leads; a group named first leads member by member.
    assert [a.unit for a in result.assignees if a.role == "lead"] == first


def test_bold_label_and_markup_are_ignored(directory: UnitDirectory) -> None:
    assert parse_units("**责任单位：**区教委、区残联等", directory).names == ["区教委", "区残联"]


def test_district_prefix_and_aliases(directory: UnitDirectory) -> None:
    result = parse_units("门头沟区财政局、区政府办、区卫健委、区人社局", directory)
    assert result.names == ["区财政局", "区政府办公室", "区卫生健康委", "区人力社保局"]


def test_separators_of_other_documents(directory: UnitDirectory) -> None:
    assert parse_units("区商务局，区财政局;区国资委；区教委/区残联 区妇联", directory).names == [
        "区商务局", "区财政局", "区国资委", "区教委", "区残联", "区妇联"]


@pytest.mark.parametrize("text", [
    "牵头单位：区商务局；配合单位：区财政局、区国资委",
    "区商务局牵头，区财政局、区国资委配合",
    "区商务局（牵头）、区财政局、区国资委",
])
def test_explicit_roles(directory: UnitDirectory, text: str) -> None:
    result = parse_units(text, directory)
    assert result.roles == {"区商务局": "lead", "区财政局": "co", "区国资委": "co"}


def test_co_unit_marked_first_does_not_lead(directory: UnitDirectory) -> None:
    result = parse_units("区财政局（配合）、区商务局（牵头）", directory)
    assert result.roles == {"区财政局": "co", "区商务局": "lead"}


def test_shared_duty_makes_every_unit_lead(directory: UnitDirectory) -> None:
    result = parse_units("公安厅、财政厅、医保局按职责分工负责", directory)
    assert result.roles == {"公安厅": "lead", "财政厅": "lead", "医保局": "lead"}
    assert result.unknown == ["公安厅", "财政厅", "医保局"]


def test_shared_tail_is_distributed(directory: UnitDirectory) -> None:
    result = parse_units("城关区、堆龙德庆区、当雄县、尼木县有关部门", directory)
    assert result.names == ["城关区有关部门", "堆龙德庆区有关部门", "当雄县有关部门", "尼木县有关部门"]
    assert result.unresolved == []


def test_shared_head_is_distributed(directory: UnitDirectory) -> None:
    assert parse_units("城关区发改委及工商联", directory).names == ["城关区发改委", "城关区工商联"]
    # A district unit after 及 resolves on its own and borrows nothing.
    assert parse_units("区商务局及区财政局", directory).names == ["区商务局", "区财政局"]
    # "及时" is a word, not a conjunction.
    assert parse_units("及时响应办公室", directory).names == ["及时响应办公室"]


def test_unknown_names_are_kept_and_listed(directory: UnitDirectory) -> None:
    result = parse_units("区商务局、区火星开发局等", directory)
    assert result.names == ["区商务局", "区火星开发局"]
    assert result.unknown == ["区火星开发局"]
    assert [a.known for a in result.assignees] == [True, False]


@pytest.mark.parametrize("phrase", ["领导小组相关成员单位", "相关镇", "有关部门", "其他相关单位"])
def test_vague_phrases_name_nobody(directory: UnitDirectory, phrase: str) -> None:
    result = parse_units(f"区教委、{phrase}", directory)
    assert result.names == ["区教委"]
    assert result.unresolved == [phrase]


def test_repeated_unit_is_assigned_once(directory: UnitDirectory) -> None:
    result = parse_units("领导小组办公室、领导小组各成员单位", directory)
    assert result.names.count(OFFICE) == 1


@pytest.mark.parametrize(("name", "kind"), [
    ("城关区发改委", "external"), ("尼木县有关部门", "external"), ("王村镇", "town"),
    ("新华街道", "street"), ("区火星开发局", "department"),
])
def test_guessed_kinds_for_new_units(name: str, kind: str) -> None:
    assert guess_kind(name) == kind
