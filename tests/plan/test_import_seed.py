"""The bundled 2021 document, read whole: every item with the units and dates the document gives."""

from collections import Counter
from datetime import date

import pytest

from tasks.plan.parsed import ParsedPlan
from tasks.plan.units import UnitDirectory
from tasks.plan.workplan import read_workplan

D = date


@pytest.fixture
def plan(seed_text: str, directory: UnitDirectory) -> ParsedPlan:
    return read_workplan(seed_text, directory, source="seed")


def by_ref(plan: ParsedPlan) -> dict[str, object]:
    return {item.ref: item for item in plan.items}


def test_title_and_year(plan: ParsedPlan) -> None:
    assert (plan.year, plan.title) == (2021, "2021年门头沟区支援合作工作要点")


def test_counts(plan: ParsedPlan) -> None:
    top_level_tasks = [i for i in plan.of_kind("task") if i.parent is None]
    assert len(plan.of_kind("workpoint")) == 19
    assert len(plan.of_kind("team")) == 10
    assert len(top_level_tasks) == 17
    assert len(plan.of_kind("project")) == 16
    regions = Counter(i.project.region for i in plan.of_kind("project"))
    assert regions == {"内蒙古武川县": 10, "西藏拉萨堆龙德庆区": 4, "神农架林区": 2}


def test_work_points_in_order_with_sections(plan: ParsedPlan) -> None:
    points = plan.of_kind("workpoint")
    assert [p.number for p in points] == [str(n) for n in range(1, 20)]
    assert points[0].text.startswith("深入学习贯彻中央和本市关于支援合作工作的新精神新部署。")
    assert points[0].category == "持续提高政治站位,强化组织领导和制度建设"
    assert points[12].category == "扎实推进南水北调对口协作工作"
    assert all(p.units for p in points)
    # A sentence cut by a page break is one paragraph again.
    assert "确保进度、质量、成效。" in points[2].text


def test_work_point_units(plan: ParsedPlan, directory: UnitDirectory) -> None:
    points = {p.number: p for p in plan.of_kind("workpoint")}
    assert points["4"].units == ["区委组织部", "区人力社保局", "区教委", "区卫生健康委", "区农业农村局"]
    assert points["4"].lead == "区委组织部"
    assert points["7"].units == ["区人力社保局", "前方挂职干部"]
    # 各镇街 expands into the 4 streets and 9 towns.
    assert set(directory.groups["各镇街"]) <= set(points["3"].units)
    assert points["3"].lead == "区财政局"
    # 区科技 / 和信息化局 was split across a page in work point 19.
    assert "区科技和信息化局" in points["19"].units
    assert points["19"].units[-1] == "前方挂职干部"
    assert len(points["19"].units) == 13


EXPECTED_TASK_ROWS = [
    # (工作事项, 任务类别, deadline, lead, number of units, sub-items)
    ("组织领导", "研究部署", D(2021, 10, 31), "区委办公室", 3, 2),
    ("组织领导", "调研对接", D(2021, 8, 31), "区委办公室", 4, 2),
    ("组织领导", "政策文件", D(2021, 10, 31), "领导小组办公室", 2, 0),
    ("组织领导", "结对帮扶", D(2021, 10, 31), "领导小组办公室", 21, 2),
    ("组织领导", "问题整改", D(2021, 6, 30), "领导小组办公室", 2, 0),
    ("助力巩固拓展脱贫攻坚成果", "产业帮扶", D(2021, 10, 31), "区科技和信息化局", 6, 0),
    ("助力巩固拓展脱贫攻坚成果", "就业帮扶", D(2021, 10, 31), "区人力社保局", 2, 0),
    ("助力巩固拓展脱贫攻坚成果", "倾斜支持", D(2021, 10, 31), "领导小组办公室", 29, 0),
    ("助力巩固拓展脱贫攻坚成果", "消费帮扶", D(2021, 10, 31), "区商务局", 21, 0),
    ("加强区域协作", "共建产业园", D(2021, 10, 31), "区科技和信息化局", 6, 0),
    ("加强区域协作", "引导企业", D(2021, 10, 31), "区科技和信息化局", 6, 0),
    ("助推乡村振兴", "干部人才", None, "区委组织部", 5, 0),
    ("助推乡村振兴", "资金项目", D(2021, 10, 31), "区财政局", 23, 9),
    ("助推乡村振兴", "打造乡村振兴示范村", D(2021, 10, 31), "领导小组办公室", 2, 0),
    ("创新创优", "工作创新", D(2021, 10, 31), "领导小组办公室", 29, 4),
    ("信息宣传", "信息报送", D(2021, 10, 31), "领导小组办公室", 2, 4),
    ("信息宣传", "媒体宣传", D(2021, 10, 31), "区委宣传部", 5, 2),
]


def test_task_list_rows(plan: ParsedPlan) -> None:
    rows = [i for i in plan.of_kind("task") if i.parent is None]
    children = Counter(i.parent for i in plan.of_kind("task") if i.parent)
    actual = [(r.category, r.topic, r.deadline, r.lead, len(r.units), children[r.ref]) for r in rows]
    assert actual == EXPECTED_TASK_ROWS


def test_merged_cells_and_page_continuation(plan: ParsedPlan) -> None:
    items = by_ref(plan)
    # 就业帮扶's 工作事项 cell is empty (merged): it belongs to the row above.
    assert items["list:助力巩固拓展脱贫攻坚成果/就业帮扶"].category == "助力巩固拓展脱贫攻坚成果"
    # Sub-items 4-9 of 资金项目 continue on the next page in a row of their own.
    fourth = items["list:助推乡村振兴/资金项目#4"]
    assert fourth.text.startswith("会同协作地区制定年度项目计划")
    assert fourth.units == items["list:助推乡村振兴/资金项目"].units
    assert [(m.due, m.text) for m in fourth.milestones] == [(D(2021, 9, 30), "产业项目9月底100%开工")]


def test_plan_based_deadline_is_kept_as_text(plan: ParsedPlan) -> None:
    cadres = by_ref(plan)["list:助推乡村振兴/干部人才"]
    assert cadres.deadline is None
    assert cadres.deadline_text == "按选派和培训计划完成"


def test_recurring_sub_items(plan: ParsedPlan) -> None:
    items = by_ref(plan)
    assert items["list:组织领导/研究部署#1"].recurrence == "half-yearly"
    assert items["list:组织领导/研究部署#2"].recurrence == "half-yearly"
    assert [(m.due, m.text) for m in items["list:组织领导/调研对接#1"].milestones] == [(D(2021, 8, 31), "8月底前完成")]


EXPECTED_PROJECTS = [
    # (region, category, name, lead, start, completion)
    ("内蒙古武川县", "产业合作类", "武川县乡村振兴加工车间援建项目", "区科技和信息化局", D(2021, 6, 1), D(2021, 9, 30)),
    ("内蒙古武川县", "产业合作类", "武川县哈乐镇根根渠村玫瑰补植养护项目", "区农业农村局", D(2021, 4, 1), D(2021, 11, 30)),
    ("内蒙古武川县", "产业合作类", "西乌兰不浪镇红山子村养殖产业扶持项目", "区农业农村局", D(2021, 6, 1), D(2021, 10, 31)),
    ("内蒙古武川县", "产业合作类", "得胜沟乡大路耗村标准化养殖场项目", "区农业农村局", D(2021, 6, 1), D(2021, 10, 31)),
    ("内蒙古武川县", "消费帮扶类", "武川县消费扶贫展销服务中心运营项目", "区商务局", D(2021, 6, 1), D(2021, 10, 31)),
    ("内蒙古武川县", "劳务协作类", "武川县稳定就业补贴项目", "区人力社保局", D(2021, 6, 1), D(2021, 11, 30)),
    ("内蒙古武川县", "残疾人帮扶", "武川县脱贫残疾人帮扶专岗项目", "区残联", D(2021, 6, 1), D(2021, 12, 31)),
    ("内蒙古武川县", "社会事业类", "武川县脱贫家庭学生资助项目", "区教委", D(2021, 6, 1), D(2021, 7, 31)),
    ("内蒙古武川县", "社会事业类", "武川县乡村卫生室改造提升项目", "区卫生健康委", D(2021, 6, 1), D(2021, 11, 30)),
    ("内蒙古武川县", "社会事业类", "武川县疫情防控保障及基层医疗卫生能力提升项目", "区卫生健康委", D(2021, 6, 1), D(2021, 9, 30)),
    ("西藏拉萨堆龙德庆区", "产业合作类", "堆龙德庆区乌骨羊扩大养殖项目", "区科技和信息化局", D(2021, 6, 1), D(2021, 12, 31)),
    ("西藏拉萨堆龙德庆区", "产业合作类", "堆龙德庆区高山芦笋、羊肚菌种植项目", "区科技和信息化局", D(2021, 6, 1), D(2021, 12, 31)),
    ("西藏拉萨堆龙德庆区", "劳务协作类", "堆龙德庆区2021年稳定就业补贴项目", "区人力社保局", D(2021, 5, 1), D(2021, 12, 31)),
    ("西藏拉萨堆龙德庆区", "社会事业类", "堆龙德庆区村级卫生室标准化建设项目", "区卫生健康委", D(2021, 6, 1), D(2021, 12, 31)),
    ("神农架林区", "产业合作类", "神农架林区高山玫瑰、奇异莓试种项目", "区农业农村局", D(2021, 4, 1), D(2021, 5, 31)),
    ("神农架林区", "劳务协作类", "神农架林区生态资源管护岗项目", "区人力社保局", D(2021, 1, 1), D(2021, 12, 31)),
]


def test_projects(plan: ParsedPlan) -> None:
    actual = [(p.project.region, p.category, p.text, p.lead, p.start, p.deadline) for p in plan.of_kind("project")]
    assert actual == EXPECTED_PROJECTS
    first = plan.of_kind("project")[0].project
    assert (str(first.total_investment), str(first.funds), first.nature) == ("30", "30", "新建")
    assert first.implementing_unit.startswith("(1)大青山乡人民政府")


def test_work_teams(plan: ParsedPlan) -> None:
    teams = {t.text: t for t in plan.of_kind("team")}
    assert list(teams) == ["干部人才专班", "产业合作专班", "劳务协作专班", "教育帮扶专班", "健康帮扶专班", "消费帮扶专班",
                           "社会组织专班", "科技帮扶专班", "残疾人工作专班", "统计工作专班"]
    assert teams["产业合作专班"].units == ["区科技和信息化局", "区农业农村局", "区国资委", "中关村门头沟园服务中心", "区工商联"]
    assert set(teams["产业合作专班"].roles.values()) == {"lead"}
    assert teams["统计工作专班"].units == ["区统计局"]


def test_only_genuine_problems_are_reported(plan: ParsedPlan) -> None:
    # The document names "领导小组相关成员单位" and "相关镇" without saying who they are; nothing else is wrong.
    assert {p.code for p in plan.problems} == {"unit.unresolved"}
    assert sorted(p.line for p in plan.problems) == [29, 43, 57, 91, 97, 115, 164, 165, 167, 183, 185, 186]
    assert {p.text for p in plan.problems} == {"领导小组相关成员单位", "相关镇"}


def test_refs_are_unique(plan: ParsedPlan) -> None:
    refs = [i.ref for i in plan.items]
    assert len(refs) == len(set(refs))
