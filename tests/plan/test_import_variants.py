"""Documents of the same family that are not the seed: broken rows, other layouts, other districts."""

from datetime import date

import pytest

from tasks.plan.parsed import ParsedPlan
from tasks.plan.units import UnitDirectory
from tasks.plan.workplan import DocumentError, read_workplan

D = date


def read(text: str, directory: UnitDirectory, **kwargs: object) -> ParsedPlan:
    return read_workplan(text, directory, source="test", **kwargs)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_unknown_unit_is_created_and_reported_with_its_line(seed_text: str, directory: UnitDirectory) -> None:
    broken = seed_text.replace("**责任单位：区委组织部、区人力社保局、区教委、区卫生健康委、区农业农村局等**",
                               "**责任单位：区委组织部、区火星开发局、区教委**")
    plan = read(broken, directory)
    point = plan.of_kind("workpoint")[3]
    assert point.units == ["区委组织部", "区火星开发局", "区教委"]
    problem = next(p for p in plan.problems if p.code == "unit.unknown")
    assert (problem.text, problem.line) == ("区火星开发局", line_of(broken, "区火星开发局"))
    assert plan.new_units == {"区火星开发局": "department"}
    assert len(plan.of_kind("workpoint")) == 19 and len(plan.of_kind("project")) == 16


def test_unreadable_deadline_is_kept_and_reported(seed_text: str, directory: UnitDirectory) -> None:
    broken = seed_text.replace("领导小组办公室、领导小组相关成员单位、前方挂职干部\t6月底前", "领导小组办公室、领导小组相关成员单位、前方挂职干部\t尽快完成")
    plan = read(broken, directory)
    task = next(i for i in plan.items if i.ref == "list:组织领导/问题整改")
    assert (task.deadline, task.deadline_text) == (None, "尽快完成")
    problem = next(p for p in plan.problems if p.code == "deadline.unreadable")
    assert (problem.text, problem.line) == ("尽快完成", line_of(broken, "尽快完成"))
    assert len([i for i in plan.of_kind("task") if i.parent is None]) == 17


def test_truncated_project_table_is_reported(seed_text: str, directory: UnitDirectory) -> None:
    lines = seed_text.splitlines()
    cut = line_of(seed_text, "神农架林区生态资源管护岗项目")
    plan = read("\n".join(lines[: cut - 1]), directory)
    assert len(plan.of_kind("project")) == 15
    mismatches = [p for p in plan.problems if p.code == "project.count_mismatch"]
    assert {p.text for p in mismatches} == {"神农架林区", "劳务协作类"}
    assert all("实际读到" in p.message for p in mismatches)


def test_row_cut_short_is_reported_and_the_rest_imports(seed_text: str, directory: UnitDirectory) -> None:
    row = next(line for line in seed_text.splitlines() if line.startswith("\t引导企业"))
    broken = seed_text.replace(row, "\t引导企业\t引导企业投资、吸纳当地就业。")
    plan = read(broken, directory)
    codes = {p.code for p in plan.problems if p.line == line_of(broken, "\t引导企业")}
    assert codes == {"table.short_row", "task.no_units", "deadline.unreadable"}
    task = next(i for i in plan.items if i.ref == "list:加强区域协作/引导企业")
    assert task.units == [] and task.deadline is None
    assert len([i for i in plan.of_kind("task") if i.parent is None]) == 17


def test_refs_survive_a_number_printed_twice(seed_text: str, directory: UnitDirectory) -> None:
    original = {i.ref for i in read(seed_text, directory).items}
    broken = seed_text.replace("6. 助力乡村特色产业发展", "5. 助力乡村特色产业发展")
    plan = read(broken, directory)
    assert {i.ref for i in plan.items} == original
    assert any(p.code == "workpoint.numbering" for p in plan.problems)


def test_refs_survive_an_inserted_row(seed_text: str, directory: UnitDirectory) -> None:
    original = read(seed_text, directory)
    anchor = next(line for line in seed_text.splitlines() if line.startswith("\t政策文件"))
    inserted = "\t经验交流\t组织一次经验交流会。\t领导小组办公室\t9月底前"
    plan = read(seed_text.replace(anchor, anchor + "\n" + inserted), directory)
    before = {i.ref: (i.text, i.deadline, i.units) for i in original.items}
    after = {i.ref: (i.text, i.deadline, i.units) for i in plan.items}
    assert set(after) - set(before) == {"list:组织领导/经验交流"}
    assert all(after[ref] == value for ref, value in before.items())


def test_document_without_anything_recognisable_is_refused(directory: UnitDirectory) -> None:
    with pytest.raises(DocumentError, match="没有读到"):
        read("# 2021年某区工作总结\n\n今年工作顺利。\n", directory)


def test_document_without_a_year_is_refused_unless_given(directory: UnitDirectory) -> None:
    text = "# 支援合作工作要点\n\n1. 做好对接工作。\n\n责任单位：区商务局\n"
    with pytest.raises(DocumentError, match="--year"):
        read(text, directory)
    assert read(text, directory, year=2022).year == 2022


OTHER_DISTRICT = """\
# 关于印发《2023年某区对口支援工作要点》的通知

2023年某区对口支援工作要点

一、加强组织领导

（一）健全工作机制。完善联席会议制度，每季度召开一次工作推进会。（区发改委牵头，区财政局、城关区发改委及工商联配合）

（二）做好资金保障。年内足额拨付援助资金。（区财政局、区审计局按职责分工负责）

二、深化产业合作

（三）推动产业园区共建。引导企业到受援地投资。

责任单位：区商务局、城关区、堆龙德庆区、当雄县、尼木县有关部门

附件：1. 2023年某区对口支援重点任务分解表

附件1

2023年某区对口支援重点任务分解表

| 序号 | 重点任务 | 牵头单位 | 配合单位 | 时间节点 |
|---|---|---|---|---|
| 1 | 召开援受双方联席会议 | 区发改委 | 区财政局、区商务局 | 2023年6月底前 |
| 2 | 组织消费帮扶进机关活动 | 区商务局 | 各镇街 | 三季度末 |
| 合计 | 2项 |  |  |  |
"""


def test_another_districts_layout(directory: UnitDirectory) -> None:
    plan = read(OTHER_DISTRICT, directory)
    assert (plan.year, plan.title) == (2023, "2023年某区对口支援工作要点")
    points = plan.of_kind("workpoint")
    assert [p.number for p in points] == ["一", "二", "三"]
    assert points[0].roles == {"区发展改革委": "lead", "区财政局": "co", "城关区发改委": "co", "城关区工商联": "co"}
    assert points[0].recurrence == "quarterly"
    assert points[0].text == "健全工作机制。完善联席会议制度，每季度召开一次工作推进会。"
    assert points[1].roles == {"区财政局": "lead", "区审计局": "lead"}
    assert points[1].deadline == D(2023, 12, 31)  # "年内足额拨付": the time limit its sentence sets
    assert points[2].units == ["区商务局", "城关区有关部门", "堆龙德庆区有关部门", "当雄县有关部门", "尼木县有关部门"]
    tasks = plan.of_kind("task")
    assert [(t.text, t.deadline, t.lead) for t in tasks] == [
        ("召开援受双方联席会议", D(2023, 6, 30), "区发展改革委"),
        ("组织消费帮扶进机关活动", D(2023, 9, 30), "区商务局"),
    ]
    assert tasks[1].roles["大峪街道"] == "co" and len(tasks[1].units) == 14
    assert set(plan.new_units) == {"城关区发改委", "城关区工商联", "城关区有关部门", "堆龙德庆区有关部门",
                                   "当雄县有关部门", "尼木县有关部门"}
    assert {p.code for p in plan.problems} == {"unit.unknown", "deadline.from_text"}


PROJECT_PLAN_WITH_DATE_COLUMNS = """\
# 2022年某区东西部协作工作要点

1. 抓好项目实施。责任单位：区农业农村局。

附件2：2022年东西部协作项目计划表

序号\t项目名称\t项目类别\t实施单位\t计划开工时间\t计划竣工时间\t区级牵头单位\t帮扶资金（万元）
某县（2个）
1\t蔬菜大棚项目\t产业\t某县农业局\t2022年3月\t2022年10月\t区农委\t120
2\t劳务培训项目\t就业\t某县人社局\t2022年5月\t2022年12月\t区人社局\t35.5
"""


def test_project_plan_with_separate_start_and_end_columns(directory: UnitDirectory) -> None:
    plan = read(PROJECT_PLAN_WITH_DATE_COLUMNS, directory)
    projects = plan.of_kind("project")
    assert [(p.text, p.start, p.deadline, p.lead, str(p.project.funds)) for p in projects] == [
        ("蔬菜大棚项目", D(2022, 3, 1), D(2022, 10, 31), "区农业农村局", "120"),
        ("劳务培训项目", D(2022, 5, 1), D(2022, 12, 31), "区人力社保局", "35.5"),
    ]
    assert plan.of_kind("workpoint")[0].units == ["区农业农村局"]
    assert plan.problems == []
