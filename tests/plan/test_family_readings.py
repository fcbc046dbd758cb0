"""How the importer reads the places where the family's documents are easy to misread: brackets that
explain rather than name units, numbers inside a sentence, label lines, titles over flattened tables."""

from pathlib import Path

import pytest

from tasks.plan.importer import parse_file
from tasks.plan.parsed import ParsedPlan
from tasks.plan.units import UnitDirectory


def read(tmp_path: Path, text: str, directory: UnitDirectory | None = None) -> ParsedPlan:
    path = tmp_path / "文件.txt"
    path.write_text(text, encoding="utf-8")
    return parse_file(path, directory or UnitDirectory(), year=2021)


def readings(plan: ParsedPlan) -> list[tuple[str, list[str], str]]:
    return [(item.text, item.units_as_written, item.deadline.isoformat() if item.deadline else "")
            for item in plan.items]


@pytest.mark.parametrize("bracket", ["（试行）", "（以下简称专班）", "（不含民办学校）", "（共3处）", "（国家卫生城市）"])
def test_a_bracket_that_explains_stays_in_the_text(tmp_path: Path, bracket: str) -> None:
    plan = read(tmp_path, f"2021年某区工作要点\n1. 推进专项工作{bracket}。\n")
    assert readings(plan) == [(f"推进专项工作{bracket}。", [], "")]
    assert plan.new_units == {}


def test_a_bracket_with_units_and_a_time_gives_both(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n"
                          "1. 整治占道经营。（区城管委负责，完成时限：12月底前）\n"
                          "2. 推进项目建设。（区发改委牵头，2021年10月底前完成）\n"
                          "3. 改造老旧小区。（区住建委牵头，区财政局配合；9月底前）\n")
    assert readings(plan) == [("整治占道经营。", ["区城管委"], "2021-12-31"),
                              ("推进项目建设。", ["区发改委"], "2021-10-31"),
                              ("改造老旧小区。", ["区住建委", "区财政局"], "2021-09-30")]


def test_numbers_inside_a_sentence_do_not_start_items(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n"
                          "1. 做好防汛工作。一、二季度完成隐患排查，三、四季度开展检查。（区水务局负责）\n"
                          "2. 深化营商环境改革。（1）完善审批制度；（2）加强事中事后监管。（区发改委负责）\n"
                          "3. 推进疫苗接种。全区接种率增长 3. 5%。（区卫健委负责）\n")
    assert [(item.number, item.units) for item in plan.items] == [
        ("1", ["区水务局"]), ("2", ["区发改委"]), ("3", ["区卫健委"])]


def test_a_document_run_into_one_line_is_split_at_its_numbers(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于分解落实2009年工作任务的通知 现将任务分解如下。 一、主要工作目标 "
                          "1、地区生产总值增长11%(市发改委,各县市区政府)。 2、固定资产投资增长25%(市发改委)。\n")
    assert readings(plan) == [("地区生产总值增长11%", ["市发改委", "各县市区政府"], ""),
                              ("固定资产投资增长25%", ["市发改委"], "")]
    assert plan.items[0].category == "主要工作目标"


def test_a_label_line_serves_the_items_of_its_group_only(tmp_path: Path) -> None:
    # Two work points, the first without a 责任单位 line of its own: it stays without, and is reported.
    plan = read(tmp_path, "2021年某区工作要点\n1. 健全工作机制。\n\n2. 加强干部选派。\n\n**责任单位：区委组织部**\n")
    assert [item.units_as_written for item in plan.items] == [[], ["区委组织部"]]
    assert [p.code for p in plan.problems].count("workpoint.no_units") == 1
    # Problems under their place's heading share the line after them.
    plan = read(tmp_path, "2021年督查问题清单\n1. 市科技馆\n(1)电动车乱停放;\n(2)灭火器过期;\n"
                          "问题整改责任单位：市科技馆  整改时限：9月30日前\n")
    assert readings(plan) == [("电动车乱停放;", ["市科技馆"], "2021-09-30"),
                              ("灭火器过期;", ["市科技馆"], "2021-09-30")]
    assert plan.items[0].topic == "市科技馆"


def test_a_contact_line_names_nobody_responsible(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n1. 加强宣传引导。\n责任单位：区委宣传部\n"
                          "联系单位：区政府办公室，联系人：张三，联系电话：69860000。\n")
    assert readings(plan) == [("加强宣传引导。", ["区委宣传部"], "")]


def test_a_stray_bracket_does_not_hide_the_units_after_it(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n1. 开展创建工作（含示范点。（区文明办负责） 2. 推进垃圾分类。（区城管委负责）\n")
    assert [item.units for item in plan.items] == [["区文明办"], ["区城管委"]]


def test_a_flattened_table_under_its_title_with_tasks_named_like_places(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年民生实事任务分解表\n\n序号\n民生实事\n责任领导\n责任单位\n完成时限\n"
                          "1\n新建社区卫生服务站\n钱七 孙八\n区卫健委\n6月底前\n"
                          "2\n建成区级养老服务中心\n李四\n区民政局\n9月底前\n")
    assert plan.title == "2021年民生实事任务分解表"
    assert readings(plan) == [("新建社区卫生服务站", ["区卫健委"], "2021-06-30"),
                              ("建成区级养老服务中心", ["区民政局"], "2021-09-30")]
    assert [item.officials for item in plan.items] == [["钱七", "孙八"], ["李四"]]


def test_a_traditional_name_is_the_unit_the_directory_holds_in_simplified(tmp_path: Path) -> None:
    directory = UnitDirectory()
    directory.add_unit("区城管委", "department")
    plan = read(tmp_path, "2021年某區工作要點\n1. 推進垃圾分類工作。（區城管委負責）\n", directory)
    assert plan.items[0].units == ["区城管委"]
    assert plan.items[0].units_as_written == ["區城管委"]
    assert plan.new_units == {}


def test_advice_under_its_own_heading_is_no_one_s_deadline(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区安全生产工作要点\n1. 开展安全生产大检查。（区应急局负责）\n"
                          "三、工作要求\n各单位对检查发现的隐患，要督促企业在3日内完成整改。\n\n2021年3月1日\n")
    assert readings(plan) == [("开展安全生产大检查。", ["区应急局"], "")]


def test_a_heading_over_a_list_that_starts_again_at_one(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n一、加强生态保护\n（一）推进污染防治\n"
                          "1. 开展大气治理。（区生态环境局负责）\n2. 加强水环境治理。（区水务局负责）\n")
    assert [(item.text, item.topic) for item in plan.items] == [
        ("开展大气治理。", "推进污染防治"), ("加强水环境治理。", "推进污染防治")]
    plan = read(tmp_path, "2021年督查问题整改清单\n1. 市科技馆\n(1)电动车乱停放;\n问题整改责任单位：市科技馆\n"
                          "2. 市图书馆\n(1)消防通道堵塞;\n问题整改责任单位：市图书馆\n")
    assert [(item.text, item.units, item.topic) for item in plan.items] == [
        ("电动车乱停放;", ["市科技馆"], "市科技馆"), ("消防通道堵塞;", ["市图书馆"], "市图书馆")]


def test_label_value_blocks_without_numbers(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区重点任务清单\n具体任务：推进项目建设\n责任单位：区发改委\n完成时限：6月底前\n"
                          "具体任务：改造老旧小区\n责任单位：区住建委\n完成时限：9月底前\n")
    assert readings(plan) == [("推进项目建设", ["区发改委"], "2021-06-30"), ("改造老旧小区", ["区住建委"], "2021-09-30")]


def test_one_lead_and_units_sharing_the_work(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n1. 推进项目建设。（区发改委牵头，区财政局、区住建委按职责分工负责）\n")
    assert plan.items[0].roles == {"区发改委": "lead", "区财政局": "co", "区住建委": "co"}


def test_a_year_row_in_a_table_whichever_column_it_lands_in(tmp_path: Path) -> None:
    plan = read(tmp_path, "某区三年行动计划任务分解表\n序号\t工作任务\t责任单位\t完成时限\n2021年任务\n"
                          "1\t开展大气治理\t区生态环境局\t6月底前\n2022年任务\n2\t改造老旧小区\t区住建委\t9月底前\n")
    assert readings(plan) == [("开展大气治理", ["区生态环境局"], "2021-06-30"),
                              ("改造老旧小区", ["区住建委"], "2022-09-30")]
    assert plan.problems == [p for p in plan.problems if p.code.startswith("unit.")]


def test_words_after_an_annotation_stay_with_their_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n1. 推进项目建设。（区发改委负责）力争年底前完成投资10亿元。\n"
                          "2. 加强宣传。（区委宣传部负责）\n")
    assert readings(plan) == [("推进项目建设。力争年底前完成投资10亿元。", ["区发改委"], "2021-12-31"),
                              ("加强宣传。", ["区委宣传部"], "")]


def test_a_title_and_a_label_line_end_without_a_full_stop(tmp_path: Path) -> None:
    path = tmp_path / "文件.txt"
    path.write_text("2021年某区重点工作任务分解\n\n为贯彻落实区委全会精神，制定本分解方案。\n"
                    "1. 推进项目建设。\n责任单位：区发改委\n\n中共某区委办公室\n2021年3月1日\n", encoding="utf-8")
    plan = parse_file(path, UnitDirectory())
    assert (plan.year, plan.title) == (2021, "2021年某区重点工作任务分解")
    assert readings(plan) == [("推进项目建设。", ["区发改委"], "")]


def test_the_year_is_the_title_s_or_the_signature_s_not_a_look_back(tmp_path: Path) -> None:
    path = tmp_path / "文件.txt"
    path.write_text("某区重点工作任务分解\n2020年，全区经济保持平稳增长。\n1. 推进项目建设。（区发改委负责，6月底前）\n"
                    "2021年3月1日\n", encoding="utf-8")
    plan = parse_file(path, UnitDirectory())
    assert plan.year == 2021 and readings(plan) == [("推进项目建设。", ["区发改委"], "2021-06-30")]


def test_a_time_in_the_bracket_after_the_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n1. 推进项目建设。（区发改委负责）（2021年12月底前）\n")
    assert readings(plan) == [("推进项目建设。", ["区发改委"], "2021-12-31")]
