"""Tables a converter damaged on the way to text, time limits written inside a task's sentence, and
notices written as news: what an office sees after importing them."""

from pathlib import Path

import pytest

from tasks.plan.deadlines import deadline_in_text
from tasks.plan.importer import DocumentError
from tasks.plan.units import UnitDirectory, parse_units
from tasks.text import cut_at_width
from tests.plan.test_family_readings import read, readings


def test_a_two_level_header_and_rows_that_lost_an_empty_cell(tmp_path: Path) -> None:
    # The second header row splits 2022年工作计划 in two; the converter dropped each row's empty
    # 累计完成 cell and padded the row at its end, so 责任单位 is one cell to the left of its name.
    plan = read(tmp_path, "序号 | 项目名称 | 总投资 | 建设年限 | 累计完成 | 2022年工作计划 | 责任单位 | 备注 | |\n"
                          "投资 | 形象进度 | | | | | | | |\n"
                          "1 | 护眼灯光工程 | 1800 | 2022 | 1800 | 建成 | 县教育局 | | |\n"
                          "2 | 停车场改造工程 | 300 | 2022-2023 | 100 | 完成基础 | 县城投集团 | | |\n")
    assert [(i.text, i.units_as_written, str(i.deadline)) for i in plan.items] == [
        ("护眼灯光工程", ["县教育局"], "2022-12-31"), ("停车场改造工程", ["县城投集团"], "2023-12-31")]
    assert not [p for p in plan.problems if p.text in ("1800", "100", "投资", "形象进度")]


def test_a_project_of_one_year_whose_content_says_when_within_it(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号 | 项目名称 | 建设规模及内容 | 建设起止年限 | 责任单位 |\n"
                          "1 | 敬老院电梯加装工程 | 7个单位加装电梯10台,由各单位在2022年11月份前完成改造 | 2022 | 县民政局 |\n"
                          "2 | 护眼灯光工程 | 对70所中小学校教室照明进行提升 | 2022 | 县教育局 |\n")
    assert [(i.text, str(i.deadline)) for i in plan.items] == [
        ("敬老院电梯加装工程", "2022-11-30"), ("护眼灯光工程", "2022-12-31")]
    assert [p.text for p in plan.problems if p.code == "deadline.from_text"] == ["在2022年11月份前"]


def test_a_figure_is_never_a_unit() -> None:
    assert parse_units("100、55.6%、区住建委", UnitDirectory()).as_written == ["区住建委"]


def test_rows_whose_merged_cells_were_dropped_belong_to_the_row_above(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号 | 项目名称 | 项目内容 | 当前进展情况 | 进度评价 | 主办单位 |\n"
                          "1 | 人居环境整治工程 | 实行网格化管理,试点村达到100个。 | 试点村达到100个; | 已完成 | 县人居环境专班 |\n"
                          "新增绿化面积387亩。 | 已完成新增造林387亩。 | 已完成 | |||\n"
                          "完成废弃坑塘治理村庄10个。 | 已完成10个坑塘整治。 | 正常推进 | |||\n")
    assert readings(plan) == [("实行网格化管理,试点村达到100个。", ["县人居环境专班"], ""),
                              ("新增绿化面积387亩。", ["县人居环境专班"], ""),
                              ("完成废弃坑塘治理村庄10个。", ["县人居环境专班"], "")]


def test_a_second_unit_and_time_under_a_merged_task_cell(tmp_path: Path) -> None:
    plan = read(tmp_path, "项目名称 | 工作任务 | 计划完成时间 | 牵头单位 |\n"
                          "1.城市提升项目 | 对三条城区道路进行综合改造; | 11月 | 建设局 |\n"
                          "2021.8 | 城投集团 | ||\n"
                          "对重点区域进行绿化亮化提档升级; | 2021.12 | 城投集团 | |\n")
    assert readings(plan) == [("对三条城区道路进行综合改造;", ["建设局", "城投集团"], "2021-11-30"),
                              ("对重点区域进行绿化亮化提档升级;", ["城投集团"], "2021-12-31")]


def test_a_one_cell_row_stays_a_heading(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号 | 工作任务 | 责任单位 | 完成时限\n1 | 开展大气治理 | 区生态环境局 | 6月底前\n"
                          "2022年任务 | | |\n2 | 改造老旧小区 | 区住建委 | 9月底前\n")
    assert readings(plan) == [("开展大气治理", ["区生态环境局"], "2021-06-30"),
                              ("改造老旧小区", ["区住建委"], "2022-09-30")]


def test_a_table_one_cell_per_line_each_row_closed_by_a_bar(tmp_path: Path) -> None:
    cells = [["序号", "项目名称", "建设地点", "建设时间", "建设内容", "投资(万元)", "责任单位"],
             ["1", "中小学运动场改造项目", "相关镇(街道)", "2024", "对三所学校运动场地进行改造。", "300", "教体局"],
             ["2", "城北小学门前道路项目", "纸坊街道", "2024", "建成城北小学门前道路。", "300", "住建局"]]
    text = "某县2024年十大民生实事项目清单\n|\n" + "|\n".join("".join(f"{c} |\n" for c in row) for row in cells) + "|\n"
    plan = read(tmp_path, text)
    assert [(i.kind, i.text, i.units_as_written, str(i.deadline)) for i in plan.items] == [
        ("project", "中小学运动场改造项目", ["教体局"], "2024-12-31"),
        ("project", "城北小学门前道路项目", ["住建局"], "2024-12-31")]


def test_the_time_limit_a_task_s_sentence_sets(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n"
                          "1. 年底前完成老旧小区改造20个。（区住建委牵头）\n"
                          "2. 6月底前建成公园3个，10月底前全部投入使用。（区园林局牵头）\n"
                          "3. 10月9日督查发现道路破损，及时修复。（区交通局）\n"
                          "4. 总投资3亿元，9月底前开工建设。（区发改委）\n"
                          "5. 截至2020年底，已建成公园5个，继续巩固提升。（区园林局）\n")
    assert readings(plan) == [
        ("年底前完成老旧小区改造20个。", ["区住建委"], "2021-12-31"),
        ("6月底前建成公园3个，10月底前全部投入使用。", ["区园林局"], "2021-10-31"),
        ("10月9日督查发现道路破损，及时修复。", ["区交通局"], ""),  # the day it was found, not a limit
        ("总投资3亿元，9月底前开工建设。", ["区发改委"], ""),  # when work starts, not when it is done
        ("截至2020年底，已建成公园5个，继续巩固提升。", ["区园林局"], ""),  # a report of what was done
    ]
    parks = plan.items[1]
    assert [m.due.isoformat() for m in parks.milestones] == ["2021-06-30", "2021-10-31"]
    said = [(p.code, p.line) for p in plan.problems if p.code == "deadline.from_text"]
    assert said == [("deadline.from_text", 2), ("deadline.from_text", 3)]


def test_a_time_limit_in_the_text_never_overrides_the_one_written_for_it() -> None:
    assert deadline_in_text("力争年底前完成投资10亿元", 2021).deadline.isoformat() == "2021-12-31"
    assert deadline_in_text("於 2023 年中完成法例檢討", 2022).deadline.isoformat() == "2023-06-30"
    assert deadline_in_text("推进垃圾分类，到2025年实现全覆盖", 2021).deadline.isoformat() == "2025-12-31"
    assert deadline_in_text("2022年全区地区生产总值增长6%", 2022) is None
    assert deadline_in_text("全年接待游客100万人次", 2022) is None


def test_a_table_row_without_a_time_takes_the_one_its_words_set(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号 | 工作任务 | 责任单位 | 完成时限\n1 | 9月底前建成农贸市场 | 区商务局 | \n"
                          "2 | 年内完成道路修缮 | 区交通局 | 12月底前\n")
    assert readings(plan) == [("9月底前建成农贸市场", ["区商务局"], "2021-09-30"),
                              ("年内完成道路修缮", ["区交通局"], "2021-12-31")]
    assert [p.code for p in plan.problems if p.code.startswith("deadline")] == ["deadline.from_text"]


def test_a_notice_written_as_a_news_report(tmp_path: Path) -> None:
    plan = read(tmp_path, "【创城曝光台】部分道路垃圾未及时清理\n"
                          "7月6日，市创城办督查组对部分道路进行督查，要求相关责任单位及时整改。\n"
                          "督查发现，某工地围挡广告破损，该项整治由市住建局负责。\n"
                          "华声小区的责任单位是市人社局，该小区的垃圾桶无分类标识。\n"
                          "车站路16号门前有汽车乱停放。权属单位为某银行支行，责任单位为市银保监分局。\n")
    assert [i.units_as_written for i in plan.items] == [["市住建局"], ["市人社局"], ["某银行支行", "市银保监分局"]]
    assert {p.code for p in plan.problems} >= {"unit.from_prose"}


def test_news_prose_is_not_read_in_a_document_that_has_items(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n该项工作由区发改委负责统筹。\n1. 推进项目建设。（区发改委负责）\n")
    assert readings(plan) == [("推进项目建设。", ["区发改委"], "")]


def test_an_attachment_titled_on_the_line_after_its_mark(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于征集意见的通告\n附件:\n2021年某市民生实事项目\n一、教育惠民领域\n"
                          "1. 新建中小学15所。(牵头单位:市教育局;共同责任单位:市财政局,各县区)\n")
    assert readings(plan) == [("新建中小学15所。", ["市教育局", "市财政局", "各县区"], "")]


def test_the_list_of_attachments_is_not_read_as_tasks(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n1. 推进项目建设。（区发改委负责）\n"
                          "附件：1. 重点任务分解表\n2. 项目清单\n某区人民政府\n2021年3月1日\n")
    assert readings(plan) == [("推进项目建设。", ["区发改委"], "")]


def test_a_label_after_a_comma_and_a_remark_after_it(tmp_path: Path) -> None:
    plan = read(tmp_path, "二、部分项目进展情况\n1、农村道路畅通工程,牵头部门:市交通局。建设进度较慢的县区为舒城县。\n"
                          "2、农村饮水安全工程,牵头部门:市水利局。\n")
    assert readings(plan) == [("农村道路畅通工程,建设进度较慢的县区为舒城县。", ["市交通局"], ""),
                              ("农村饮水安全工程,", ["市水利局"], "")]


def test_levels_listed_before_the_name_they_share_are_one_group() -> None:
    assert parse_units("市统计局,各乡、镇人民政府,人民大垸、荒湖管理区", UnitDirectory()).as_written == [
        "市统计局", "各乡、镇人民政府", "人民大垸", "荒湖管理区"]
    assert parse_units("区发改委、各镇、街道", UnitDirectory()).as_written == ["区发改委", "各镇", "街道"]


def test_a_label_line_after_several_items_where_each_item_has_its_own(tmp_path: Path) -> None:
    plan = read(tmp_path, "（二）具体任务、完成时限及责任单位\n1.电线迁改工程,3月中旬完成。\n责任单位:市供电公司。\n"
                          "2.基坑开挖工程,6月30日前完工;\n3.地下室工程,10月30日前完成;\n"
                          "4.2021年底主体施工,2022年4月30日前封顶。\n责任单位:市发改委(代建办)。\n")
    assert readings(plan) == [("电线迁改工程,3月中旬完成。", ["市供电公司"], "2021-03-20"),
                              ("基坑开挖工程,6月30日前完工;", ["市发改委(代建办)"], "2021-06-30"),
                              ("地下室工程,10月30日前完成;", ["市发改委(代建办)"], "2021-10-30"),
                              ("2021年底主体施工,2022年4月30日前封顶。", ["市发改委(代建办)"], "2022-04-30")]


def test_how_a_unit_list_is_read_is_no_unit(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.固定资产投资增长10%。\n"
                          "责任单位:市发改委、市卫生健康委(除标注“分别牵头”外,列第一位为牵头或汇总单位,下同)\n"
                          "2.城乡居民收入增速保持全省领先。\n责任单位:市人力社保局、市农业农村局分别牵头\n"
                          "3.改厨改厕。(责任单位;住建局、畜牧局)\n")
    assert readings(plan) == [("固定资产投资增长10%。", ["市发改委", "市卫生健康委"], ""),
                              ("城乡居民收入增速保持全省领先。", ["市人力社保局", "市农业农村局"], ""),
                              ("改厨改厕。", ["住建局", "畜牧局"], "")]
    assert plan.items[1].roles == {"市人力社保局": "lead", "市农业农村局": "lead"}


def test_a_unit_heading_over_problems_each_with_no_unit(tmp_path: Path) -> None:
    plan = read(tmp_path, "现就问题清单曝光如下:\n一﹑植物园社区 (责任单位:植物园社区)\n1﹑无障碍通道破损\n2﹑电线乱牵乱搭\n"
                          "长港路社区(责任单位:长港路社区)\n1、灭烟台缺失\n2、大厅秩序杂乱\n"
                          "江汉社区(责任单位:江汉社区)\n1、杂物乱堆\n2、垃圾未清(责任单位:区城管局)\n")
    assert readings(plan) == [("无障碍通道破损", ["植物园社区"], ""), ("电线乱牵乱搭", ["植物园社区"], ""),
                              ("灭烟台缺失", ["长港路社区"], ""), ("大厅秩序杂乱", ["长港路社区"], ""),
                              ("杂物乱堆", ["江汉社区"], ""), ("垃圾未清", ["区城管局"], "")]


def test_a_page_pasted_as_html(tmp_path: Path) -> None:
    plan = read(tmp_path, '<p class="ql-block">督查发现问题如下:</p> <p class="ql-block">一、南山景区(责任单位:市旅文局)</p> '
                          '<p class="ql-block">1.空地散养家禽。</p> <p class="ql-block">2.广告栏倾倒。</p>\n'
                          "| 序号 | 任务 | 责任单位 |\n| 1 | 整治道路 | 区住建委<br>区城管委 |\n")
    assert readings(plan) == [("空地散养家禽。", ["市旅文局"], ""), ("广告栏倾倒。", ["市旅文局"], ""),
                              ("整治道路", ["区住建委", "区城管委"], "")]
    assert [item.line for item in plan.items] == [1, 1, 3]


def test_a_news_report_listing_problems_after_each_body(tmp_path: Path) -> None:
    plan = read(tmp_path, "市指挥部通报城中村问题\n问题严重的地方是:金河办事处:1.丰泽路菜市场占道经营严重;"
                          "2.郭庄城中村道路两边占道经营。雪松街道办事处:纱北路垃圾清运不及时。\n")
    assert readings(plan) == [("丰泽路菜市场占道经营严重;", ["金河办事处"], ""),
                              ("郭庄城中村道路两边占道经营。", ["金河办事处"], ""),
                              ("纱北路垃圾清运不及时。", ["雪松街道办事处"], "")]


def test_a_heading_that_names_a_body_over_items_that_name_none(tmp_path: Path) -> None:
    plan = read(tmp_path, "（三）闻喜县政府\n1、清除高速公路两侧的垃圾,2021年底前完成。\n2、取缔非法小选矿企业。\n"
                          "（四）稷山县政府\n1、淘汰落后生产工艺,2021年8月底完成。\n"
                          "（五）加快建设法治政府\n1、推进依法行政。\n")
    assert readings(plan) == [("清除高速公路两侧的垃圾,2021年底前完成。", ["闻喜县政府"], "2021-12-31"),
                              ("取缔非法小选矿企业。", ["闻喜县政府"], ""),
                              ("淘汰落后生产工艺,2021年8月底完成。", ["稷山县政府"], "2021-08-31"),
                              ("推进依法行政。", [], "")]  # a heading that names work, not a body
    assert "unit.from_place" not in {p.code for p in plan.problems}


def test_who_organises_and_who_carries_out(tmp_path: Path) -> None:
    plan = read(tmp_path, "3.加强环境监督管理(市环保局牵头组织,各区政府、各经济功能区管委会负责落实)。\n")
    assert readings(plan) == [("加强环境监督管理", ["市环保局", "各区政府", "各经济功能区管委会"], "")]
    assert plan.items[0].roles == {"市环保局": "lead", "各区政府": "co", "各经济功能区管委会": "co"}


def test_the_next_item_after_a_label_value_in_one_paragraph(tmp_path: Path) -> None:
    plan = read(tmp_path, "2、完成江滩防护林建设。责任单位:开发区管委会、市水利局,完成时间:2009年5月10日前。"
                          "3、完成绿化隔离带建设。责任单位:市林业局,完成时间:2009年5月30日前。\n")
    assert readings(plan) == [("完成江滩防护林建设。", ["开发区管委会", "市水利局"], "2009-05-10"),
                              ("完成绿化隔离带建设。", ["市林业局"], "2009-05-30")]


def test_a_village_named_at_the_head_of_each_problem(tmp_path: Path) -> None:
    plan = read(tmp_path, "现将督办问题逐村通报如下:\n1、北安乐乡北安乐村,村北砖厂路东边垃圾未清理;\n"
                          "2、邑城镇赵店村,学校往北200米成堆垃圾未清理;\n"
                          "3、上团城乡崇义二街,村东北角有一处垃圾;\n")
    assert [i.units_as_written for i in plan.items] == [["北安乐乡北安乐村"], ["邑城镇赵店村"], ["上团城乡崇义二街"]]
    assert [p.code for p in plan.problems if p.code == "unit.from_place"] == ["unit.from_place"] * 3


def test_two_bodies_printed_without_a_separator() -> None:
    assert parse_units("区发改局区统计局、区商务局", UnitDirectory()).as_written == ["区发改局", "区统计局", "区商务局"]
    assert parse_units("县委县政府督查室", UnitDirectory()).as_written == ["县委县政府督查室"]


def test_a_table_whose_merged_cells_were_dropped_keeps_a_duty_cell(tmp_path: Path) -> None:
    plan = read(tmp_path, "工作任务 | 具体要求 | 责任部门 |\n一、做好网站信息公开。 | 1.更新网站概况信息。 | 办公室 |\n"
                          "2.更新微信公众号信息。 | 办公室牵头,各科室配合 | |\n")
    assert readings(plan) == [("1.更新网站概况信息。", ["办公室"], ""),
                              ("2.更新微信公众号信息。", ["办公室", "各科室"], "")]


def test_a_name_that_begins_with_and_is_one_name() -> None:
    assert parse_units("和平区、河东区", UnitDirectory()).as_written == ["和平区", "河东区"]
    assert parse_units("区发改委和区财政局", UnitDirectory()).as_written == ["区发改委", "区财政局"]


def test_a_summary_that_is_no_notice_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError):
        read(tmp_path, "2020年工作总结\n区发改局于6月底完成了全区重大项目谋划工作。市教育局要求各学校加强管理。\n")


def test_a_news_report_of_places_and_of_bodies_as_subjects(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于落实2021年城市绿化建设任务和责任分工的通知\n和平区25万平方米,其中公园绿地12万平方米;\n"
                          "河东区90万平方米,其中公园绿地45万平方米;\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("和平区25万平方米,其中公园绿地12万平方米;", ["和平区"]), ("河东区90万平方米,其中公园绿地45万平方米;", ["河东区"])]
    plan = read(tmp_path, "市政府公布今年重点任务分工\n根据目标任务要求,今年,市住建局要在8月底完成燃煤散烧综合治理任务。"
                          "市教育局要在11月底新建幼儿园9所。赛罕区政府11月底启动旗舰店项目。\n")
    assert readings(plan) == [("市住建局要在8月底完成燃煤散烧综合治理任务。", ["市住建局"], "2021-08-31"),
                              ("市教育局要在11月底新建幼儿园9所。", ["市教育局"], "2021-11-30"),
                              ("赛罕区政府11月底启动旗舰店项目。", ["赛罕区政府"], "")]
    assert {p.code for p in plan.problems} == {"unit.from_prose", "unit.unknown", "deadline.from_text",
                                               "document.read_as_report"}


def test_a_scored_table_one_cell_per_line(tmp_path: Path) -> None:
    # "项目 | 分值 | 目标任务 | 监考单位": the item is the indicator, 分值 its points, 目标任务 the figure.
    cells = ["某区2021年度目标任务分解表", "项 目", "分值", "目标任务", "监考单位",
             "地区生产总值增长率", "3", "年终根据全省平均水平综合考核", "区发改局区统计局",
             "全社会固定资产投资额", "3", "186", "区发改委",
             "工业投资", "1", "52", "区经信局"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("地区生产总值增长率", ["区发改局", "区统计局"]), ("全社会固定资产投资额", ["区发改委"]),
        ("工业投资", ["区经信局"])]


def test_a_scored_row_without_its_unit_cell_shares_the_unit_above(tmp_path: Path) -> None:
    # The 监考单位 cell is merged over two indicators, so the second row has none; its 分值 and its
    # figure (a decimal, or four digits, never a row's 序号) are its own.
    cells = ["某区2021年度目标任务分解表", "项 目", "分值", "目标任务", "监考单位",
             "全社会固定资产投资额", "3", "186", "区发改委",
             "完成重点项目年度投资计划", "2", "18.4",
             "外商投资实际到位资金", "1", "1500", "区商务局",
             "外贸进出口额", "1"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("全社会固定资产投资额", ["区发改委"]), ("完成重点项目年度投资计划", ["区发改委"]),
        ("外商投资实际到位资金", ["区商务局"]), ("外贸进出口额", ["区商务局"])]


def test_an_assessment_table_with_measures_and_the_bodies_that_score_it(tmp_path: Path) -> None:
    # 单位 is the target's measure, 评分部门 the body that scores the indicator (not the one that does
    # the work); a target of 0 or 1 between two 序号 is a figure, not a row's number.
    cells = ["某县2021年乡村振兴任务清单", "考核项目", "序号", "考核指标", "考核内容", "单位", "年度目标", "责任部门",
             "评分部门",
             "农业高质高效", "1", "确保粮食和重要农产品有效供给", "农林牧渔业增加值增幅", "%", "≥2%",
             "县海洋与渔业局", "县农业农村局", "市海洋渔业局",
             "2", "粮食安全责任制", "-", "良好以上", "县经济和信息化局", "市商务局",
             "3", "油菜面积", "万亩", "0", "县农业农村局", "市农业农村局",
             "4", "家禽出栏", "万只", "1", "县农业农村局", "市农业农村局",
             "5", "水产品产量", "万吨", "42", "县农业农村局", "市海洋渔业局"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("确保粮食和重要农产品有效供给农林牧渔业增加值增幅", ["县海洋与渔业局", "县农业农村局"]),
        ("粮食安全责任制", ["县经济和信息化局"]), ("油菜面积", ["县农业农村局"]), ("家禽出栏", ["县农业农村局"]),
        ("水产品产量", ["县农业农村局"])]


def test_short_tasks_of_a_spaced_table_stay_tasks(tmp_path: Path) -> None:
    # (A task that starts with 市 or 县 is not the cut-off start of the unit after it.)
    plan = read(tmp_path, "序号 工作任务 责任单位 完成时限\n1 推进老旧小区改造 住建局 2021年10月底\n"
                          "2 市容环境整治 城管局 2021年6月底\n3 县城绿化提升 园林局 2021年9月底\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("推进老旧小区改造", ["住建局"]), ("市容环境整治", ["城管局"]), ("县城绿化提升", ["园林局"])]


def test_a_column_of_places_is_a_column(tmp_path: Path) -> None:
    cells = ["某县2021年民生实事", "序号", "民生实事", "所在乡镇", "责任单位", "完成时限",
             "1", "新建农村公路20公里", "城关镇", "县交通局", "2021年10月底",
             "2", "改造农村危房100户", "河口乡", "县住建局", "2021年12月底"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written, str(i.deadline)) for i in plan.items] == [
        ("新建农村公路20公里", ["县交通局"], "2021-10-31"), ("改造农村危房100户", ["县住建局"], "2021-12-31")]


def test_an_excerpt_whose_numbers_do_not_start_at_one(tmp_path: Path) -> None:
    # The rows are numbered on from an earlier page; a figure in 目标值 is no row's number.
    cells = ["某县农业农村局承担重点工作完成情况", "序号", "目标任务", "牵头责任单位", "目标值", "计划完成时间",
             "52", "建成高标准农田8.3万亩。", "农田建设管理股", "8", "2023年底",
             "53", "完成“一村一块田”改革试验20万亩。", "经管站", "20", "2023年10月底",
             "54", "持续开展农资打假专项治理行动。", "农业执法大队", "100", "2023年底"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.number, i.text, i.units_as_written, str(i.deadline)) for i in plan.items] == [
        ("52", "建成高标准农田8.3万亩。", ["农田建设管理股"], "2023-12-31"),
        ("53", "完成“一村一块田”改革试验20万亩。", ["经管站"], "2023-10-31"),
        ("54", "持续开展农资打假专项治理行动。", ["农业执法大队"], "2023-12-31")]


def test_a_header_ends_where_the_body_begins(tmp_path: Path) -> None:
    # The first body cells (a section's numeral, a body's name) come right after the header's names.
    cells = ["某区2024年民生实事项目进度表", "序号", "牵头单位", "项目名称", "业主单位", "本月进展情况",
             "一", "区住建局", "老旧小区改造项目", "区城投公司", "已完工",
             "二", "区城管局", "井盖整治项目", "区水务公司", "已完工"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written, i.project.implementing_unit) for i in plan.items] == [
        ("老旧小区改造项目", ["区住建局"], "区城投公司"), ("井盖整治项目", ["区城管局"], "区水务公司")]


def test_a_responsible_column_beside_a_column_of_those_who_help(tmp_path: Path) -> None:
    # 主要责任单位 leads and 协同配合单位 works with it: both columns are the task's units, and a list
    # may close like a sentence.
    plan = read(tmp_path, "序号 重点工作任务 主要责任单位 协同配合单位\n"
                          "1 地区生产总值增长6.5%左右。 区发改委 区政府各部门,各乡镇人民政府、街道办事处,区城投集团。\n"
                          "2 一般公共预算收入增长5%左右。 区财政局 区税务局\n")
    assert [(i.text, i.units_as_written, i.roles) for i in plan.items] == [
        ("地区生产总值增长6.5%左右。", ["区发改委", "区政府各部门", "各乡镇人民政府", "街道办事处", "区城投集团"],
         {"区发改委": "lead", "区政府各部门": "co", "各乡镇人民政府": "co", "街道办事处": "co", "区城投集团": "co"}),
        ("一般公共预算收入增长5%左右。", ["区财政局", "区税务局"], {"区财政局": "lead", "区税务局": "co"})]


def test_a_lead_column_after_the_units_it_comes_from(tmp_path: Path) -> None:
    # 分类 groups the rows, 事项 is the task; 牵头单位 repeats one of the 责任单位 beside it.
    cells = ["2023年某区政府工作报告重点工作责任分解", "分类", "序号", "事项", "责任单位", "牵头单位",
             "发展目标", "1", "地区生产总值增长6.5%以上。", "区农业农村局、区经商局、区发改局", "区发改局",
             "2", "区本级规上工业增加值增长10%。", "区经商局、莲都经开区管委会", "区经商局"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written, i.roles) for i in plan.items] == [
        ("地区生产总值增长6.5%以上。", ["区农业农村局", "区经商局", "区发改局"],
         {"区发改局": "lead", "区农业农村局": "co", "区经商局": "co"}),
        ("区本级规上工业增加值增长10%。", ["区经商局", "莲都经开区管委会"], {"区经商局": "lead", "莲都经开区管委会": "co"})]


def test_a_named_item_and_what_it_is_to_achieve(tmp_path: Path) -> None:
    # 事项名称 then 项目内容, one cell per line; the 事项分类 cell is merged over rows, "/" says no
    # helper, and a narrow column wraps a unit's name.
    cells = ["某区2024年民生实事任务分解方案", "序号", "事项分类", "事项名称", "项目内容", "牵头单位", "协同单位",
             "1", "打造区域教育高地", "中小学校阳光厨房建设", "对28所中小学校食堂安装数字化验收平台。", "区教体局", "/",
             "2", "献血屋建设", "建设献血屋1个。", "区卫健局", "区生态", "环境局", "区红十字会",
             "3", "“医”心为民工程", "新(改)建村卫生室", "新(改)建村卫生室80家。", "区卫健局", "各乡镇(街道)"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("中小学校阳光厨房建设：对28所中小学校食堂安装数字化验收平台。", ["区教体局"]),
        ("献血屋建设：建设献血屋1个。", ["区卫健局", "区生态环境局", "区红十字会"]),
        ("新(改)建村卫生室：新(改)建村卫生室80家。", ["区卫健局", "各乡镇(街道)"])]


def test_a_progress_column_one_cell_per_line_is_not_the_task(tmp_path: Path) -> None:
    cells = ["某市2024年重点工作上半年落实情况", "序号", "重点工作", "牵头责任单位", "上半年落实情况",
             "1", "力争实施技改项目400个。", "市工信局", "1-6月,全市305家规模工业企业共开展335个技改项目,完成投资48.4亿元。",
             "2", "推进水土流失综合治理,新增治理面积91平方公里。", "市水利局", "截至6月底,已完成治理面积78.93平方公里。"]
    plan = read(tmp_path, "\n".join(cells) + "\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("力争实施技改项目400个。", ["市工信局"]), ("推进水土流失综合治理,新增治理面积91平方公里。", ["市水利局"])]


def test_a_row_that_lost_its_merged_middle_cell(tmp_path: Path) -> None:
    # The converter dropped the merged 牵头单位 cell and padded the row at its end: the report is put
    # back under 落实情况, and the unit comes from the row above.
    plan = read(tmp_path, "2024年4月民生实事项目进展情况汇总表\n"
                          "序号 | 项目内容 | 月度工作计划 | 牵头单位 | 落实情况 |\n"
                          "1 | 为全县老年人免费接种流感疫苗。 | 4月:制定工作方案。 | 县卫生健康局 | 已完成。 已下发工作方案。 |\n"
                          "2 | 为重点人群免费开展结直肠癌筛查。 | 4月:完成筛查1480人。 | 已完成。 完成筛查3495人。 | |\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("为全县老年人免费接种流感疫苗。", ["县卫生健康局"]), ("为重点人群免费开展结直肠癌筛查。", ["县卫生健康局"])]


def test_a_numbered_row_that_lost_its_empty_helper_cell(tmp_path: Path) -> None:
    # The converter dropped row 3's empty 配合单位 and padded the row at its end; its 序号 and task
    # stay where they are, its 牵头单位 stays its lead.
    plan = read(tmp_path, "序号 | 工作任务 | 牵头单位 | 配合单位 | 完成时限 |\n"
                          "2 | 新建公办幼儿园5所 | 市教育局 | 市财政局 | 2021年9月底 |\n"
                          "3 | 开展全市财政资金绩效评价 | 市财政局 | 2021年12月底 | |\n")
    assert [(i.text, i.units_as_written, i.roles, str(i.deadline)) for i in plan.items] == [
        ("新建公办幼儿园5所", ["市教育局", "市财政局"], {"市教育局": "lead", "市财政局": "co"}, "2021-09-30"),
        ("开展全市财政资金绩效评价", ["市财政局"], {"市财政局": "lead"}, "2021-12-31")]


def test_a_mirrored_page_s_pinyin_glosses_are_dropped(tmp_path: Path) -> None:
    plan = read(tmp_path, "2025年縣政府重點(diǎn)工作任務(wù)\n"
                          "序號(hào) 重點(diǎn)工作任務(wù) 牽頭責(zé)任單位 一季度完成情況\n"
                          "1 地區(qū)生產(chǎn)總值增長6%以上。 縣發(fā)改委 一季度增長6.8%\n"
                          "2 財(cái)政收入增長3.7%以上。 縣財(cái)政局、縣稅務(wù)局 增長4.8%\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("地區生產總值增長6%以上。", ["縣發改委"]), ("財政收入增長3.7%以上。", ["縣財政局", "縣稅務局"])]


def test_a_table_whose_cells_follow_bars_and_whose_lead_is_printed_down_the_page(tmp_path: Path) -> None:
    # "| cell" lines, a "|" line after each row; the merged 牵头单位 cell printed a character or two a
    # line; rows below it lost that cell, and the last rows their 责任单位 as well.
    text = ("牵头单位\n| 目 标 任 务\n| 责 任 单 位\n|\n"
            "市\n监\n察\n局\n| 严肃查处利用职权谋取私利的腐败行为\n| 审计局、财政局\n|\n"
            "建设诚信、廉洁的政府\n| 市直各单位\n|\n"
            "市发\n改委\n| 地区生产总值增长13%\n| 统计局\n|\n"
            "固定资产投资增长20%\n|\n")
    plan = read(tmp_path, text)
    assert [(i.text, i.units_as_written) for i in plan.items] == [
        ("严肃查处利用职权谋取私利的腐败行为", ["市监察局", "审计局", "财政局"]),
        ("建设诚信、廉洁的政府", ["市监察局", "市直各单位"]),
        ("地区生产总值增长13%", ["市发改委", "统计局"]), ("固定资产投资增长20%", ["市发改委", "统计局"])]


def test_a_table_that_lost_every_separator(tmp_path: Path) -> None:
    # Each row one run of words: number, project, content, progress, start, completion, the official,
    # the units; page breaks joined the rows, a unit's name wrapped to its own line.
    text = ("某市2021年为民办实事项目进展情况的通报\n"
            "市城管执法局\n"
            "57城区绿化工程建成区绿地率达35%已完成萍水河两岸绿化2021年2022年市建设局\n"
            "58滨河北路临河房屋立面改造方案已报市政府2021年2021年11月市治河办\n"
            "59迎宾路改造按60米宽城市道路标准改造已开工2021年2021年新城区管委会、\n上栗县、安源区\n"
            "60鹅湖公园三期改造人工岛修建已开工建设2021年1月2021年12月张学民市建设局\n"
            "61煤气质量改造工程新上湿法脱硫工艺已启动前期工作2021年2021年12月萍钢、市环保局\n")
    plan = read(tmp_path, text)
    assert [(i.text[:8], i.units_as_written, i.officials, str(i.deadline)) for i in plan.items] == [
        ("城区绿化工程建成", ["市建设局"], [], "2022-12-31"), ("滨河北路临河房屋", ["市治河办"], [], "2021-11-30"),
        ("迎宾路改造按60", ["新城区管委会", "上栗县", "安源区"], [], "2021-12-31"),
        ("鹅湖公园三期改造", ["市建设局"], ["张学民"], "2021-12-31"),
        ("煤气质量改造工程", ["萍钢", "市环保局"], [], "2021-12-31")]
    assert "table.run_together" in {p.code for p in plan.problems}
    assert plan.title == "某市2021年为民办实事项目进展情况的通报"


def test_what_a_table_without_separators_is_not(tmp_path: Path) -> None:
    # A list of people who lost their separators is no table of tasks.
    with pytest.raises(DocumentError):
        read(tmp_path, "公示名单\n1张伟男1985年3月市公安局\n2李娜女1990年5月市财政局\n3王强男1988年7月市教育局\n"
                       "4赵敏女1992年1月市民政局\n")
    # Names that begin like a surname stay whole; the preamble's "第57项" and the date after the table
    # are neither rows nor parts of one. (A signature right after the last row, on a line that does not
    # end its sentence, would still be read as the last of its units.)
    text = ("某区2021年重点项目第57项至第60项进展情况的通报\n"
            "57老旧小区改造已开工2021年2021年12月高新区管委会\n"
            "58林地保护修复已完成2021年2021年10月林业和草原局\n"
            "59江北片区道路建设已开工2021年2021年11月江北新区管委会\n"
            "60河道治理已启动2021年2021年12月黄河河务局。\n"
            "2021年12月5日\n")
    plan = read(tmp_path, text)
    assert [(i.text, i.units_as_written, i.officials) for i in plan.items] == [
        ("老旧小区改造已开工", ["高新区管委会"], []), ("林地保护修复已完成", ["林业和草原局"], []),
        ("江北片区道路建设已开工", ["江北新区管委会"], []), ("河道治理已启动", ["黄河河务局"], [])]


def test_a_spaced_table_whose_first_row_runs_on_after_its_header(tmp_path: Path) -> None:
    # The page ran the title, the header and the rows together, a space between cells.
    text = ("附件 某县2018年环境空气质量综合整治方案职责清单 工作任务和内容 责任单位 配合单位 完成时间 "
            "负责全县环境空气质量达标整治工作的舆论宣传. 县委宣传部 持续开展 负责大气污染综合治理工作任务的督导和检查考核工作. "
            "县政府督查室 县环保局 7月底前 负责抓好砂石场的扬尘污染防治工作. 县交通运输局 12月底前\n")
    plan = read(tmp_path, text)
    assert [(i.text, i.units_as_written, str(i.deadline)) for i in plan.items] == [
        ("负责全县环境空气质量达标整治工作的舆论宣传.", ["县委宣传部"], "None"),
        ("负责大气污染综合治理工作任务的督导和检查考核工作.", ["县政府督查室", "县环保局"], "2021-07-31"),
        ("负责抓好砂石场的扬尘污染防治工作.", ["县交通运输局"], "2021-12-31")]


def test_words_that_name_columns_inside_a_sentence_make_no_table(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某区工作要点\n1. 明确 责任单位 完成时限 要求，压实各方责任（区委办牵头）。\n")
    assert [(i.text, i.units_as_written) for i in plan.items] == [("明确 责任单位 完成时限 要求，压实各方责任", ["区委办"])]


def test_the_text_after_a_table_of_leading_bars_is_read_as_text(tmp_path: Path) -> None:
    text = ("序号\n| 工作任务\n| 责任单位\n| 完成时限\n|\n"
            "1\n| 开展全民健身活动\n|\n| 2021年10月底\n|\n"
            "2\n| 改造老旧小区\n| 市住建局\n| 2021年12月底\n|\n"
            "二、其他工作要求\n1.加强组织领导，压实工作责任（市政府办公室）。\n")
    plan = read(tmp_path, text)
    # (A "|" line before a "| cell" is an empty cell: the first row has no unit but keeps its time.)
    assert sorted((i.line, i.text, i.units_as_written, str(i.deadline)) for i in plan.items) == [
        (6, "开展全民健身活动", [], "2021-10-31"), (11, "改造老旧小区", ["市住建局"], "2021-12-31"),
        (17, "加强组织领导，压实工作责任", ["市政府办公室"], "None")]


def test_dates_that_set_no_limit(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年工作要点\n"
                          "1. 持续巩固2020年底脱贫成果。（区农业农村局）\n"
                          "2. 在2020年完成32个小区改造的基础上，再改造20个。（区住建委）\n"
                          "3. 落实在2月底召开的会议上部署的工作。（区政府办）\n"
                          "4. 条例于2021年3月1日起施行，做好宣传。（区司法局）\n"
                          "5. 鼠患黑点数目于2021年底前至少减半。（区卫健委）\n")
    assert [item.deadline.isoformat() if item.deadline else "" for item in plan.items] == ["", "", "", "", "2021-12-31"]


def test_a_bracket_that_says_how_is_no_unit(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年工作要点\n1.推进生活垃圾分类（试点先行实施）。\n")
    assert readings(plan) == [("推进生活垃圾分类（试点先行实施）。", [], "")]


def test_headings_and_labels_that_name_work_not_bodies(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年工作要点\n一、扩大消费\n（一）区商务局\n1.举办消费节。\n二、保障民生\n1.新增就业5000人。\n"
                          "（三）打造区域医疗中心\n1.建设胸痛中心。\n"
                          "1.打造特色小镇，推进产业融合。\n"
                          "1.开展消防检查，重点单位：学校、医院。（区消防救援大队负责）\n")
    assert readings(plan) == [("举办消费节。", ["区商务局"], ""), ("新增就业5000人。", [], ""),
                              ("建设胸痛中心。", [], ""), ("打造特色小镇，推进产业融合。", [], ""),
                              ("开展消防检查，重点单位：学校、医院。", ["区消防救援大队"], "")]


def test_a_line_wrapped_before_its_bracket_is_joined_back(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年工作要点\n1.加快推进城区污水管网改造\n工程（责任单位：区住建局；完成时限：2021年10月底）\n")
    assert readings(plan) == [("加快推进城区污水管网改造工程", ["区住建局"], "2021-10-31")]


def test_table_rows_the_repairs_leave_alone(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 序号 | 工作任务 | 牵头单位 | 配合单位 | 完成时限 |\n| 一 | 扩大有效投资 | 区发改局 | | 年底前完成 |\n"
                          "| 1 | 关爱妇女 | 妇联 | 县人社局 | 年底前 |\n| 2 | 乡村振兴 | 各村 | 县农业农村局 | 年底前 |\n")
    assert readings(plan) == [("扩大有效投资", ["区发改局"], "2021-12-31"), ("关爱妇女", ["妇联", "县人社局"], "2021-12-31"),
                              ("乡村振兴", ["各村", "县农业农村局"], "2021-12-31")]


def test_names_the_unit_splitters_keep_whole() -> None:
    assert parse_units("各镇、区直各部门", UnitDirectory()).as_written == ["各镇", "区直各部门"]
    assert parse_units("市委市直机关工委、市委市政府督查办", UnitDirectory()).as_written == [
        "市委市直机关工委", "市委市政府督查办"]


def test_a_long_task_with_many_dates_says_each_limit_once() -> None:
    said = deadline_in_text("确保6月底前完成，" * 2999 + "确保12月底前完成。", 2021)
    assert said is not None and said.deadline.isoformat() == "2021-12-31" and said.text.count("；") == 1


def test_a_jurisdiction_label_after_a_comma(tmp_path: Path) -> None:
    plan = read(tmp_path, "二、管理较差路段\n1.育新路沿线生活垃圾多,责任辖区:川汇区。\n"
                          "2.交通大道人行道树根堆积,责任辖区:川汇区,环卫监理:孙海叶、王晓霞。\n")
    assert readings(plan) == [("育新路沿线生活垃圾多,", ["川汇区"], ""), ("交通大道人行道树根堆积,", ["川汇区"], "")]
    assert plan.items[1].officials == ["孙海叶", "王晓霞"]


def test_a_span_of_financial_years_inside_a_task_is_its_limit() -> None:
    ten = deadline_in_text("在未來十年(2023-24 至 2032-33 年度)依時提供約 3,300 公頃新平整土地", 2022)
    five = deadline_in_text("在未來五年(2023-24 至 2027-28 年度),準備好可供市場興建的土地", 2022)
    assert ten is not None and ten.deadline.isoformat() == "2033-03-31"
    assert five is not None and five.deadline.isoformat() == "2028-03-31"


def test_bullets_under_a_heading_share_the_parenthesis_that_closes_them(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年施政指標\n1. 改善環境衛生:\n- 環境衛生黑點於 2021 年底前消除。(環境局)\n- 每年進行聯合清潔行動。(房屋局)\n"
                          "2. 確保土地如期到位:\n- 於 2021 年中提供新平整土地。\n- 準備好可供興建的土地。\n- 每年公布供應預測。(發展局)\n")
    assert readings(plan) == [("環境衛生黑點於 2021 年底前消除。", ["環境局"], "2021-12-31"),
                              ("每年進行聯合清潔行動。", ["房屋局"], ""),
                              ("於 2021 年中提供新平整土地。", ["發展局"], "2021-06-30"),
                              ("準備好可供興建的土地。", ["發展局"], ""), ("每年公布供應預測。", ["發展局"], "")]


def test_a_table_header_wrapped_over_two_lines(tmp_path: Path) -> None:
    plan = read(tmp_path, "工作任务 | 具体要求\n| 责任单位 |\n"
                          "一、做好规划公开。 | 1.主动公开规划纲要。 | 市直有关部门;各镇(街) |\n"
                          "2.做好规划的归集整理。 | 市政府办公室牵头,市直有关部门配合;各镇(街)参照落实 |\n")
    assert readings(plan) == [("1.主动公开规划纲要。", ["市直有关部门", "各镇(街)"], ""),
                              ("2.做好规划的归集整理。", ["市政府办公室", "市直有关部门", "各镇(街)"], "")]
    assert plan.items[1].lead == "市政府办公室"


def test_a_numbered_task_cell_alone_shares_the_merged_cells_above(tmp_path: Path) -> None:
    plan = read(tmp_path, "工作任务 | 具体要求 | 责任单位 |\n"
                          "三、做好财政信息公开。 | 7.推进预算、决算公开。 | 市财政局牵头,市直各部门落实 |\n"
                          "8.深化债务信息公开。 |\n"
                          "四、做好网站信息公开。 | 9.更新网站概况信息。 | 各镇(街) |\n")
    assert readings(plan) == [("7.推进预算、决算公开。", ["市财政局", "市直各部门"], ""),
                              ("8.深化债务信息公开。", ["市财政局", "市直各部门"], ""),
                              ("9.更新网站概况信息。", ["各镇(街)"], "")]


def test_a_task_written_across_both_task_columns(tmp_path: Path) -> None:
    # 工作任务 and 细化分工 merged into one cell where there is nothing to divide, and no 备注 given.
    plan = read(tmp_path, "序号 | 工作任务 | 细化分工 | 责任处室 | 完成时限 | 备注 |\n"
                          "1 | 做好疫情信息发布 | 围绕隔离管控发布权威信息 | 应急处、疾控处 | 长期推进 |\n"
                          "2 | 做好疫苗接种信息公开 | 疾控处 | 长期推进 |\n"
                          "3 | 提高信息发布规范化水平 | 宣传处会办公室 | 2021年8月前 |\n")
    assert readings(plan) == [("围绕隔离管控发布权威信息", ["应急处", "疾控处"], ""),
                              ("做好疫苗接种信息公开", ["疾控处"], ""),
                              ("提高信息发布规范化水平", ["宣传处", "办公室"], "2021-07-31")]
    assert plan.items[0].category == "做好疫情信息发布"


def test_names_joined_by_hui_are_two_unless_one_name() -> None:
    directory = UnitDirectory()
    assert parse_units("市财政局会同市审计局", directory).as_written == ["市财政局", "市审计局"]
    assert parse_units("宣传处会办公室", directory).as_written == ["宣传处", "办公室"]
    for one in ("开发区管委会办公室", "区社会福利院", "县财政局会计核算中心", "市商务局会展服务中心", "县总工会"):
        assert parse_units(one, directory).as_written == [one]


def test_names_a_space_separates_stay_apart() -> None:
    # Abbreviations and names without a usual ending are not a wrapped name's halves.
    for written, names in [("县委党校 档案馆", ["县委党校", "档案馆"]), ("县人大 政协", ["县人大", "政协"]),
                           ("县医保 财政局", ["县医保", "财政局"]), ("王强 发改局", ["王强", "发改局"])]:
        assert parse_units(written, UnitDirectory()).as_written == names


def test_a_plan_wide_limit_before_the_list_is_every_task_s_own(tmp_path: Path) -> None:
    plan = read(tmp_path, "某市2021年民生工程实施方案\n一、总体要求\n坚持以人民为中心。2021年任务目标力争10月底前基本完成，"
                          "12月底前高标准、高质量完成。\n二、主要任务\n1.棚户区改造工程。建成安置房1559套。(责任单位:市住建局)\n"
                          "2.口袋公园建设工程。新建口袋公园14个,6月底前完成。(责任单位:市城管局)\n")
    assert readings(plan) == [("棚户区改造工程。建成安置房1559套。", ["市住建局"], "2021-12-31"),
                              ("口袋公园建设工程。新建口袋公园14个,6月底前完成。", ["市城管局"], "2021-06-30")]
    assert [m.due.isoformat() for m in plan.items[0].milestones] == ["2021-10-31", "2021-12-31"]


@pytest.mark.parametrize("after", ["二、工作要求\n- 加强组织领导。各单位主要负责同志要亲自抓。\n",
                                   "相关链接\n- 某区人民政府\n- 网站地图\n"])
def test_bullets_that_open_no_list_are_no_tasks(tmp_path: Path, after: str) -> None:
    plan = read(tmp_path, "1.推进老旧小区改造，完成改造小区20个。（责任单位：区住建委）\n"
                          "2.实施道路畅通工程，新建改建道路15公里。（责任单位：区交通局）\n" + after)
    assert readings(plan)[:2] == [("推进老旧小区改造，完成改造小区20个。", ["区住建委"], ""),
                                  ("实施道路畅通工程，新建改建道路15公里。", ["区交通局"], "")]
    assert not [item for item in plan.items if item.units and item.text.startswith(("某区", "网站", "加强组织"))]


def test_a_pdf_page_number_is_no_part_of_a_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.推进老旧小区改造。（责任单位：区住建委）\n- 3 -\n2.实施道路畅通工程。（责任单位：区交通局）\n"
                          "3.开展背街小巷整治。\n- 4 -\n4.新建公园2个。（责任单位：区园林局）\n")
    assert [item.text for item in plan.items] == ["推进老旧小区改造。", "实施道路畅通工程。", "开展背街小巷整治。",
                                                  "新建公园2个。"]


@pytest.mark.parametrize("sentence", [
    "今年共实施民生实事项目10项，其中重点项目6月底前完成招标，力争年底前全部建成。",  # a step of some of them
    "请各牵头单位抓紧制定具体实施方案，确保各项任务3月底前完成分解细化。",  # a step, not the tasks' end
    "去年各项任务均于11月底前完成。"])  # last year's
def test_a_sentence_before_the_list_that_sets_no_limit_for_all(tmp_path: Path, sentence: str) -> None:
    plan = read(tmp_path, f"某区2021年民生实事实施方案\n一、总体要求\n{sentence}\n二、主要任务\n"
                          "1.每月开展一次水质检测。（区水务局）\n2.新建公园2个。（区园林局）\n")
    assert readings(plan) == [("每月开展一次水质检测。", ["区水务局"], ""), ("新建公园2个。", ["区园林局"], "")]


def test_a_short_numbered_row_alone_is_a_heading_not_a_merged_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "工作任务 | 具体要求 | 责任单位 |\n"
                          "一、做好财政信息公开。 | 1.推进部门预算、决算及相关报表公开。 | 区财政局 |\n"
                          "2.社会民生 |\n"
                          "二、做好网站信息公开。 | 3.及时更新政府网站的各类型概况信息。 | 各镇(街) |\n")
    assert "2.社会民生" not in [item.text for item in plan.items]


def test_a_header_s_second_row_under_a_spanning_name_is_no_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 序号 | 工作任务 | 责任单位 | | 完成时限 |\n牵头单位 | 配合单位\n"
                          "| 1 | 新建公园 | 区园林局 | 区财政局 | 12月底前 |\n")
    assert [item.text for item in plan.items] == ["新建公园"]


def test_a_header_s_last_names_wrapped_to_the_next_line(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 序号 | 工作任务 | 责任单位 |\n| 完成时限 |\n| 1 | 新建公园 | 区园林局 | 12月底前 |\n")
    assert readings(plan) == [("新建公园", ["区园林局"], "2021-12-31")]


def test_a_box_drawn_table_with_cells_merged_down(tmp_path: Path) -> None:
    # Saved as text from Word: each column is cut into cells by its own rules, so the units cell
    # beside two tasks' rows is theirs, and the leader's and the time's cells serve all of them.
    plan = read(tmp_path, "┌────────────┬───┬────────┬────┐\n"
                          "│ 工 作 任 务 │分管领│牵头组织实施单位│完成时限│\n"
                          "│            │ 导 │        │    │\n"
                          "├────────────┼───┼────────┼────┤\n"
                          "│△加强财政监督,提高资金│梁志强│市财政局、国家税│10月底前│\n"
                          "│使用效益      │   │务局        │    │\n"
                          "│△加强税源监控  │   │        │    │\n"
                          "├────────────┤   ├────────┤    │\n"
                          "│△各级财政安排13.3亿元│   │市教育局     │    │\n"
                          "│支持教育发展    │   │        │    │\n"
                          "└────────────┴───┴────────┴────┘\n")
    tasks = [(i.text, i.units_as_written, i.officials) for i in plan.items if i.parent]
    assert tasks == [("加强财政监督,提高资金使用效益", ["市财政局", "国家税务局"], ["梁志强"]),
                     ("加强税源监控", ["市财政局", "国家税务局"], ["梁志强"])]
    education = next(i for i in plan.items if "教育发展" in i.text)
    assert education.units_as_written == ["市教育局"] and str(education.deadline) == "2021-10-31"


def test_a_group_row_that_names_a_leader_and_units_that_say_their_part(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号\n|\n重点工作任务\n|\n责任单位\n|\n(一)刘忻市长牵头重点工作\n|\n1\n|\n加快建设城西科创大走廊。\n|\n"
                          "市科技局、市发改委\n|\n2\n|\n推进人才创新创业服务综合体建设。\n|\n市发改委、市人力社保局、团市委配合落实\n|\n"
                          "3\n|\n全面推进开发区(园区)整合提升。\n|\n市发改委、市商务局,各区、县(市)政府(管委会)\n|\n"
                          "4\n|\n加强项目谋划,加大政府专项债争取力度。\n|\n市财政局、市发改委")
    assert readings(plan) == [
        ("加快建设城西科创大走廊。", ["市科技局", "市发改委"], ""),
        ("推进人才创新创业服务综合体建设。", ["市发改委", "市人力社保局", "团市委"], ""),
        ("全面推进开发区(园区)整合提升。", ["市发改委", "市商务局", "各区、县(市)政府(管委会)"], ""),
        ("加强项目谋划,加大政府专项债争取力度。", ["市财政局", "市发改委"], "")]


def test_problems_each_closed_by_their_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "3月12日,市城镇办抽查发现:南外街白色垃圾较多(牌楼居委会);金盆水果市场垃圾成堆(市场管理所、金盆居委会);"
                          "城南市场垃圾成片(城南市场管理所);大桥路污水横流(环卫站)。请相关单位尽快抓好整改落实。")
    assert [(i.text.split(":")[-1], i.units_as_written) for i in plan.items] == [
        ("南外街白色垃圾较多", ["牌楼居委会"]), ("金盆水果市场垃圾成堆", ["市场管理所", "金盆居委会"]),
        ("城南市场垃圾成片", ["城南市场管理所"]), ("大桥路污水横流", ["环卫站"])]


def test_a_place_in_brackets_is_no_unit(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.人民路与解放路交叉口垃圾堆放，无人清理（西北角处）。责任单位：区城管局；整改时限：5月底前。\n")
    assert readings(plan) == [("人民路与解放路交叉口垃圾堆放，无人清理（西北角处）。", ["区城管局"], "2021-05-31")]


def test_a_table_header_in_a_column_name_we_knew_under_another() -> None:
    from tasks.plan.columns import detect_header
    header = detect_header(["重点任务", "工作内容", "负责科室"])
    assert header is not None and header.columns.get("units") == 2


def test_numbered_measures_whose_subjects_are_the_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "第二步:集中整治阶段\n(一)8月31日前,市城管局完成环卫三轮车的改造工作,会同市公安局完成牌证换发工作;"
                          "市城管局会同有关部门对餐厨垃圾回收车进行改造。\n(二)市法制办协调有关部门完成有关法规的修订工作。\n")
    assert readings(plan) == [
        ("8月31日前,市城管局完成环卫三轮车的改造工作,会同市公安局完成牌证换发工作;市城管局会同有关部门对餐厨垃圾回收车进行改造。",
         ["市城管局", "市公安局", "有关部门"], "2021-08-31"),
        ("市法制办协调有关部门完成有关法规的修订工作。", ["市法制办", "有关部门"], "")]
    assert {p.code for p in plan.problems} >= {"unit.from_prose"}


def test_words_to_every_unit_after_the_list_are_no_task_s(tmp_path: Path) -> None:
    plan = read(tmp_path, "1、供水公司片区:巷道内有野广告未清理彻底。\n整改措施:由包片单位县供水公司负责清除。\n"
                          "请各责任单位针对上述通报的问题迅速整改。县双创办将进行跟踪督查。\n")
    assert [(i.units_as_written, "双创办" in i.text) for i in plan.items] == [(["县供水公司"], False)]


BOX_TWO_LEVEL_HEADER = """2021年市政府重点工作分工方案
┌──┬────────────┬───────────┬──────┐
│序│            │  责任单位  │      │
│号│  工作任务   ├─────┬─────┤完成时限│
│  │            │牵头 │配合 │      │
├──┼────────────┼─────┼─────┼──────┤
│1 │加快推进老旧│市住建│市财政│6月底 │
│  │小区改造    │局    │局    │      │
├──┴────────────┴─────┴─────┴──────┤
│二、保障改善民生                    │
├──┬────────────┬─────┬─────┬──────┤
│2 │实施城市道路│市城管│市公安│      │
│  │提升工程    │局    │局    │      │

                 — 3 —

│3 │开展全民健身│市体育│     │11月底│
│  │活动        │局    │     │      │
└──┴────────────┴─────┴─────┴──────┘
"""


def test_a_box_table_s_two_level_header_section_row_page_break_and_empty_cell(tmp_path: Path) -> None:
    plan = read(tmp_path, BOX_TWO_LEVEL_HEADER)
    assert readings(plan) == [("加快推进老旧小区改造", ["市住建局", "市财政局"], "2021-06-30"),
                              ("实施城市道路提升工程", ["市城管局", "市公安局"], ""),
                              ("开展全民健身活动", ["市体育局"], "2021-11-30")]
    assert plan.items[0].lead == "市住建局" and plan.items[1].category == "保障改善民生"


def test_an_empty_time_cell_is_no_merged_one(tmp_path: Path) -> None:
    # One cell per line with "|" between: the empty 完成时限 of row 2 is empty, and said so.
    plan = read(tmp_path, "序号\n| 工作任务\n| 责任单位\n| 完成时限\n|\n1\n| 改造老旧小区\n| 市住建局\n| 2021年12月底\n|\n"
                          "2\n| 开展全民健身活动\n| 市体育局\n|\n| \n|\n3\n| 做好防汛工作\n| 市水务局\n| 2021年6月底\n|\n")
    assert [str(item.deadline) for item in plan.items] == ["2021-12-31", "None", "2021-06-30"]
    assert "deadline.unreadable" in {p.code for p in plan.problems}


def test_a_bracket_numbered_task_whose_cells_are_merged_above_stays_a_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年区政府重点工作任务分解表\n\n工作任务\n| 责任单位\n| 完成时限\n|\n"
                          "（一）完成老旧小区改造30个，同步推进加装电梯\n| 区住建局\n| 2021年12月底前\n|\n"
                          "（二）推进物业管理提质增效，开展星级物业评定\n|\n|\n"
                          "（三）新建口袋公园10个\n| 区城管局\n| 2021年11月底前\n|\n")
    assert [item.text for item in plan.items] == ["（一）完成老旧小区改造30个，同步推进加装电梯",
                                                  "（二）推进物业管理提质增效，开展星级物业评定", "（三）新建口袋公园10个"]


def test_a_copy_list_after_the_table_is_no_unit(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号|\n工作任务|\n责任单位|\n完成时限|\n1|\n完成固定资产投资增长8%以上|\n县发改局|\n2021年12月底前|\n"
                          "2|\n新建口袋公园10个|\n县城管局|\n2021年11月底前|\n\n\n抄送：县委办公室，县人大常委会办公室，县政协办公室。")
    assert [item.units_as_written for item in plan.items] == [["县发改局"], ["县城管局"]]


def test_last_year_s_limit_is_not_this_plan_s(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年某县民生实事\n2020年，全县各项民生实事均于11月底前完成，群众满意度明显提升。2021年，具体如下：\n"
                          "1.新建改建农村公路50公里。（县交通运输局）\n2.持续开展春季爱国卫生运动。（县卫健局）\n")
    assert [item.deadline for item in plan.items] == [None, None]


def test_words_after_an_annotation_that_open_with_qing_still_begin_a_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年市政府工作要点\n一、推进经济高质量发展\n"
                          "1.加快构建现代产业体系。（市发改委牵头）请各县区于6月底前完成辖区内老旧工业区改造方案编制。\n"
                          "（各县区政府负责）\n2.优化营商环境。（市政务服务局牵头）\n")
    assert readings(plan) == [("加快构建现代产业体系。", ["市发改委"], ""),
                              ("请各县区于6月底前完成辖区内老旧工业区改造方案编制。", ["各县区政府"], "2021-06-30"),
                              ("优化营商环境。", ["市政务服务局"], "")]


def test_a_section_row_with_a_lead_unit_is_no_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 重点工作 | 具体任务 | 牵头单位 | 完成时限 |\n| 一、稳定经济增长 | | 区发改局 | |\n"
                          "| | 1.完成固定资产投资增长8%以上 | 区发改局 | 2021年12月底前 |\n"
                          "| | 2.规上工业增加值增长6% | 区工信局 | 2021年12月底前 |\n")
    assert [(item.text, item.category) for item in plan.items] == [
        ("1.完成固定资产投资增长8%以上", "一、稳定经济增长"), ("2.规上工业增加值增长6%", "一、稳定经济增长")]


def test_a_task_that_ends_in_a_place_and_luoshi_is_no_unit_list(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年区政府重点工作任务分解\n\n序号\n工作任务\n责任单位\n完成时限\n1\n完成固定资产投资增长8%以上\n区发改局\n"
                          "2021年12月底前\n2\n省级惠企政策在各镇街道落实\n区工信局\n2021年10月底前\n")
    assert readings(plan) == [("完成固定资产投资增长8%以上", ["区发改局"], "2021-12-31"),
                              ("省级惠企政策在各镇街道落实", ["区工信局"], "2021-10-31")]


def test_bullets_under_a_point_with_units_are_its_to_do(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年区政府工作要点\n一、城市建设\n1.推进城市更新行动（区住建局牵头，各街道配合），重点做好以下工作：\n"
                          "- 完成老旧小区改造30个；\n- 改造背街小巷20条。\n2.新建口袋公园10个。（区城管局）\n")
    assert [(item.text, item.units_as_written) for item in plan.items][1:] == [
        ("完成老旧小区改造30个；", ["区住建局", "各街道"]), ("改造背街小巷20条。", ["区住建局", "各街道"]),
        ("新建口袋公园10个。", ["区城管局"])]


def test_offices_as_headings_over_circled_items(tmp_path: Path) -> None:
    # A development zone's offices, each with its year's tasks run together as ①②③.
    plan = read(tmp_path, "(一)综合办公室(党群工作部、监察室、财务室)\n(1)年度主要任务与要求:\n"
                          "①积极宣传推介园区,完成上稿8篇;②年内新增入统企业5家以上;\n(二)招商合作局(行政审批局)\n"
                          "(1)年度主要任务与要求:\n①制作和更新园区招商手册;②全程代办相关证照手续。\n")
    assert readings(plan) == [("积极宣传推介园区,完成上稿8篇;", ["综合办公室(党群工作部、监察室、财务室)"], ""),
                              ("年内新增入统企业5家以上;", ["综合办公室(党群工作部、监察室、财务室)"], "2021-12-31"),
                              ("制作和更新园区招商手册;", ["招商合作局(行政审批局)"], ""),
                              ("全程代办相关证照手续。", ["招商合作局(行政审批局)"], "")]


def test_three_columns_that_name_the_task_and_sections_named_ke(tmp_path: Path) -> None:
    # 工作要求 groups 工作任务, which groups each row's own 具体要求; the sections answer as 科 and 室.
    plan = read(tmp_path, "工作要求 | 工作任务 | 具体要求 | 责任科室 |\n"
                          "一、优化政务公开基础 | (一)深化文件公开。 | 1.逐步推进行政规范性文件库建设。 | 局政法科 |\n"
                          "(二)推进基层政务公开。 | 2.持续推动主动公开目录的动态更新。 | 局办公室 |\n"
                          "3.及时反馈网民对调查征集信息的意见。 | 局主办科室 | |\n")
    assert readings(plan) == [("1.逐步推进行政规范性文件库建设。", ["局政法科"], ""),
                              ("2.持续推动主动公开目录的动态更新。", ["局办公室"], ""),
                              ("3.及时反馈网民对调查征集信息的意见。", ["局主办科室"], "")]
    assert (plan.items[0].category, plan.items[0].topic) == ("一、优化政务公开基础", "(一)深化文件公开。")


def test_each_name_with_the_part_it_plays() -> None:
    listed = parse_units("局防控办主办、各工作组协办", UnitDirectory())
    assert listed.as_written == ["局防控办", "各工作组"]
    assert [(a.unit, a.role) for a in listed.assignees] == [("局防控办", "lead"), ("各工作组", "co")]


def test_a_year_s_target_said_in_the_task_is_due_at_the_year_s_end() -> None:
    said = deadline_in_text("积极宣传推介园区,全年在省、市、县等主要媒体完成上稿3篇", 2019)
    assert said is not None and said.deadline.isoformat() == "2019-12-31"


def test_indicators_each_with_its_body_said_in_prose(tmp_path: Path) -> None:
    plan = read(tmp_path, "县域经济考核指标目标任务情况汇报\n一、8项区人代会考核指标设置情况\n"
                          "人均地区生产总值:增长6%左右,责任单位为区发改委;\n"
                          "固定资产投资及技术改造投资占比:固定资产投资162亿元,增长7%,责任单位为区发改委;"
                          "技改投资占固定资产投资比重16.5%,责任单位为区经信局;\n")
    assert [(item.text, item.units_as_written) for item in plan.items] == [
        ("人均地区生产总值:增长6%左右,责任单位为区发改委;", ["区发改委"]),
        ("固定资产投资及技术改造投资占比:固定资产投资162亿元,增长7%,责任单位为区发改委;", ["区发改委"]),
        ("技改投资占固定资产投资比重16.5%,责任单位为区经信局;", ["区经信局"])]


def test_and_the_like_and_levels_that_share_their_government() -> None:
    directory = UnitDirectory()
    assert parse_units("区发改委等相关区直部门、各镇(办)", directory).as_written == ["区发改委", "各镇(办)"]
    assert parse_units("市财政局、有关市、区政府", directory).as_written == ["市财政局", "有关市、区政府"]


def test_a_project_named_beside_its_target(tmp_path: Path) -> None:
    # 民生实事项目名称 names the task; 目标任务 is the figure it is to reach, not the task.
    plan = read(tmp_path, "序号 | 省重点民生实事项目名称 | 责任单位 | 目标任务 | 实际完成情况 |\n"
                          "1 | 精准扶贫:农村饮用水安全巩固提升 | 农林水务局 | 1300人 | 700 |\n"
                          "2 | 新增城镇就业 | 人社局 | 8950 | 7356 |\n")
    assert readings(plan) == [("精准扶贫:农村饮用水安全巩固提升", ["农林水务局"], ""), ("新增城镇就业", ["人社局"], "")]


def test_circled_stages_inside_a_numbered_item_stay_its_own(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年区政府工作要点\n一、城市建设\n"
                          "1.推进滨江公园建设：①3月底前完成设计；②6月底前开工建设；③12月底前建成开放。（区住建局牵头，区财政局配合）\n")
    assert [(item.units_as_written, str(item.deadline)) for item in plan.items] == [
        (["区住建局", "区财政局"], "2021-12-31")]


def test_circled_items_one_a_line_share_the_list_s_closing_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年区政府工作要点\n一、城市建设\n1.加快重点项目建设，重点推进以下项目：\n"
                          "①城市综合体项目，9月底前建成；\n②滨江公园项目，年底前建成。（区住建局牵头，区财政局配合）\n")
    assert readings(plan) == [("城市综合体项目，9月底前建成；", ["区住建局", "区财政局"], "2021-09-30"),
                              ("滨江公园项目，年底前建成。", ["区住建局", "区财政局"], "2021-12-31")]


def test_circled_items_one_a_line_under_an_opener_with_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、城市建设\n1.推进城市更新行动（区住建局牵头），重点做好以下工作：\n①完成老旧小区改造30个；\n"
                          "②改造背街小巷20条。\n2.加强生态环境保护。（区生态环境局）\n")
    assert [item.units_as_written for item in plan.items] == [["区住建局"], ["区住建局"], ["区住建局"], ["区生态环境局"]]


def test_numbering_that_goes_on_across_headings(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、提升城市管理水平\n（一）深化马路办公\n1.全面推行马路办公机制。（区城管局）\n"
                          "（二）党建引领城市管理\n2.开展红色物业创建。（区住建局）\n")
    assert [(item.text, item.topic) for item in plan.items] == [
        ("全面推行马路办公机制。", "深化马路办公"), ("开展红色物业创建。", "党建引领城市管理")]


def test_sections_named_for_offices_own_their_items(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年县交通运输局机关各股室工作要点\n一、办公室\n1.做好机关文电运转工作。\n"
                          "二、规划建设股\n1.完成综合交通规划编制。\n")
    assert [item.units_as_written for item in plan.items] == [["办公室"], ["规划建设股"]]


def test_a_footnote_after_the_list_is_no_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "二、重点任务\n1.推进老旧小区改造，完成改造30个。（区住建局牵头）\n2.实施道路提升工程。（区交通局牵头）\n"
                          "①按可比价格计算。\n")
    assert readings(plan) == [("推进老旧小区改造，完成改造30个。", ["区住建局"], ""), ("实施道路提升工程。", ["区交通局"], "")]


@pytest.mark.parametrize("heading", ["（二）全国文化中心", "（二）坚持以人民为中心", "（一）构建新发展格局",
                                     "（一）服务全市发展大局", "（三）区域医疗中心"])
def test_a_heading_that_names_work_gives_no_units(tmp_path: Path, heading: str) -> None:
    plan = read(tmp_path, f"二、重点任务\n{heading}\n1.推进中轴线申遗保护。\n2.做好重大国事活动服务保障。\n")
    assert [item.units_as_written for item in plan.items] == [[], []]


def test_offices_that_end_in_chu_and_ke_head_their_items(tmp_path: Path) -> None:
    plan = read(tmp_path, "各处室重点工作\n（一）规划处\n1.完成综合交通规划编制。\n（二）人事教育科\n1.开展干部教育培训。\n"
                          "（三）办公室\n1.做好机关文电运转工作，全年无差错。（办公室、机要科）\n")
    assert [item.units_as_written for item in plan.items] == [["规划处"], ["人事教育科"], ["办公室", "机要科"]]


@pytest.mark.parametrize("sentence", ["市体育中心完成改造提升，新增健身步道10公里。", "成立工作协调领导小组，统筹推进。",
                                      "主动协调周边县市，共同做好边界地区治理。", "市场监管局对面小广场垃圾成堆。"])
def test_a_clause_s_subject_that_does_not_act_is_no_unit(tmp_path: Path, sentence: str) -> None:
    plan = read(tmp_path, f"二、重点任务\n1.{sentence}\n")
    assert plan.items[0].units_as_written == []


def test_the_closing_limit_said_to_every_unit(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于城区环境问题的督查通报\n（一）区住建局\n1.幸福小区楼道堆放杂物。\n2.和平小区化粪池满溢。\n"
                          "（二）区城管局\n1.滨河公园垃圾桶破损。\n请各责任单位于5月20日前整改完毕，并将整改情况报区督查室。\n")
    assert readings(plan) == [("幸福小区楼道堆放杂物。", ["区住建局"], "2021-05-20"),
                              ("和平小区化粪池满溢。", ["区住建局"], "2021-05-20"),
                              ("滨河公园垃圾桶破损。", ["区城管局"], "2021-05-20")]


def test_a_hospital_s_department_in_a_task_is_no_unit(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号\n| 工作任务\n| 责任单位\n| 完成时限\n|\n1\n| 县人民医院新设老年病科\n| 县卫健局\n| 2021年6月底\n|\n"
                          "2\n| 县中医院新建康复科\n| 县卫健局\n| 2021年9月底\n|\n")
    assert readings(plan) == [("县人民医院新设老年病科", ["县卫健局"], "2021-06-30"),
                              ("县中医院新建康复科", ["县卫健局"], "2021-09-30")]


def test_three_task_columns_where_the_last_is_a_target(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 序号 | 工作任务 | 具体措施 | 工作目标 | 责任单位 | 完成时限 |\n"
                          "| 1 | 推进老旧小区改造 | 对30个小区实施水电气改造 | 群众满意度达到90%以上 | 区住建局 | 2021年6月底前 |\n")
    assert readings(plan) == [("对30个小区实施水电气改造", ["区住建局"], "2021-06-30")]
    assert plan.items[0].category == "推进老旧小区改造"


def test_a_box_header_whose_text_sits_at_the_top_of_its_cells(tmp_path: Path) -> None:
    plan = read(tmp_path, "┌──┬──────┬───────────┬────┐\n│序号│工作任务│  责任单位  │完成时限│\n"
                          "│  │      ├─────┬─────┤    │\n│  │      │牵头 │配合 │    │\n"
                          "├──┼──────┼─────┼─────┼────┤\n│1 │实施城市道路提升工程│市城管局│市交通局│12月底│\n"
                          "└──┴──────┴─────┴─────┴────┘\n")
    assert readings(plan) == [("实施城市道路提升工程", ["市城管局", "市交通局"], "2021-12-31")]
    assert plan.items[0].lead == "市城管局"


def test_bulleted_items_under_an_opener_with_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、推进城市建设\n1.推进城市更新行动（区住建局牵头），重点做好以下工作：\n● 完成老旧小区改造30个；\n"
                          "● 新建保障性住房500套。\n2.加强生态环境保护。（区生态环境局）\n")
    assert [item.units_as_written for item in plan.items] == [["区住建局"], ["区住建局"], ["区住建局"], ["区生态环境局"]]


def test_a_cell_s_one_bullet_is_no_part_of_its_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 工作任务 | 责任单位 | 完成时限 |\n| △各级财政安排13.3亿元支持教育发展 | 市财政局 | 年底前 |\n")
    assert readings(plan) == [("各级财政安排13.3亿元支持教育发展", ["市财政局"], "2021-12-31")]


def test_the_whole_year_yields_to_a_sooner_limit_and_is_no_limit_of_a_report() -> None:
    assert deadline_in_text("确保全年任务在11月底前完成", 2021).deadline.isoformat() == "2021-11-30"
    assert deadline_in_text("全年改造任务9月底前全部完工", 2021).deadline.isoformat() == "2021-09-30"
    assert deadline_in_text("做好全年工作完成情况的统计分析和考核", 2021) is None


def test_circled_notes_after_an_item_with_units_are_no_tasks(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、主要预期目标\n1.地区生产总值增长6.5%左右。（区发改局）\n2.一般公共预算收入增长5%。（区财政局）\n"
                          "①地区生产总值增速按可比价格计算；②城镇调查失业率为预期性指标。\n")
    assert [item.text for item in plan.items] == ["地区生产总值增长6.5%左右。", "一般公共预算收入增长5%。"]


@pytest.mark.parametrize("heading", ["（一）劳模创新工作室", "（二）家长委员会", "（三）奋力开创新局", "（四）各项工作落到实处"])
def test_more_headings_that_name_no_office(tmp_path: Path, heading: str) -> None:
    plan = read(tmp_path, f"二、重点工作\n{heading}\n1.新创建县级劳模创新工作室5个。\n2.开展工作室成果交流活动。\n")
    assert [item.units_as_written for item in plan.items] == [[], []]


@pytest.mark.parametrize("bracket", ["（语数英三科）", "（四年级以上各科）", "（普外科、急诊科）"])
def test_subjects_and_clinics_in_brackets_are_no_units(tmp_path: Path, bracket: str) -> None:
    plan = read(tmp_path, f"一、提升教育质量\n1.组织九年级学业水平质量检测{bracket}。\n")
    assert plan.items[0].units_as_written == []


def test_a_task_addressed_to_named_units_is_kept(tmp_path: Path) -> None:
    plan = read(tmp_path, "二、重点任务\n（一）农村厕所革命\n请各乡镇于6月底前完成农村户厕问题摸排整改工作。\n责任单位：各乡镇\n")
    assert [(item.units_as_written, str(item.deadline)) for item in plan.items] == [(["各乡镇"], "2021-06-30")]
    assert "请各乡镇于6月底前完成" in plan.items[0].text


def test_a_measures_column_beside_the_key_point(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 序号 | 工作要点 | 主要措施 | 责任单位 | 完成时限 |\n"
                          "| 1 | 稳增长 | 完成固定资产投资增长8%以上 | 区发改局 | 2021年12月底前 |\n")
    assert readings(plan) == [("完成固定资产投资增长8%以上", ["区发改局"], "2021-12-31")]
    assert plan.items[0].category == "稳增长"


def test_an_indicator_is_the_task_and_its_target_no_task(tmp_path: Path) -> None:
    plan = read(tmp_path, "| 序号 | 指标名称 | 目标 | 责任单位 |\n| 1 | 地区生产总值增速 | 6.5%左右 | 区发改局 |\n")
    assert readings(plan) == [("地区生产总值增速", ["区发改局"], "")]


@pytest.mark.parametrize("text", [
    "2021年度全市重点工作目标任务完成情况的报告\n老旧小区改造工作由市住建局牵头负责，全年完成改造30个。\n",
    "关于召开全市重点工作推进会的通知\n市直各责任单位：\n定于3月3日召开推进会。会务工作由市发改委负责。\n"])
def test_a_report_or_a_notice_is_no_task_list(tmp_path: Path, text: str) -> None:
    with pytest.raises(DocumentError):
        read(tmp_path, text)


def test_names_ending_in_bu_close_an_item(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、加强政治建设\n1.开展党史学习教育。（区委组织部、区委宣传部）\n2.推进统一战线工作。（区委统战部）\n")
    assert [item.units_as_written for item in plan.items] == [["区委组织部", "区委宣传部"], ["区委统战部"]]


def test_a_unit_cell_with_its_role_word_in_a_one_cell_per_line_table(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号\n工作任务\n责任单位\n完成时限\n1\n加快推进老旧小区改造，完成改造30个。\n区住建局牵头\n2021年6月底\n"
                          "2\n实施城市道路提升工程。\n区交通局负责\n2021年12月底\n")
    assert readings(plan) == [("加快推进老旧小区改造，完成改造30个。", ["区住建局"], "2021-06-30"),
                              ("实施城市道路提升工程。", ["区交通局"], "2021-12-31")]


def test_a_partner_named_before_the_date(tmp_path: Path) -> None:
    plan = read(tmp_path, "二、重点任务\n1.区交通局会同区城管局于9月底前完成占道停车整治。\n")
    assert plan.items[0].units_as_written == ["区交通局", "区城管局"]


@pytest.mark.parametrize(("written", "names"), [
    ("县交通 运输局", ["县交通运输局"]), ("县发展和 改革局", ["县发展和改革局"]),
    ("县委县政府 督查室", ["县委县政府督查室"]), ("区政府 办公室 区财政局", ["区政府办公室", "区财政局"])])
def test_a_name_a_narrow_cell_wrapped_is_one_name(written: str, names: list[str]) -> None:
    assert parse_units(written, UnitDirectory()).as_written == names


def test_a_lead_name_split_into_the_partner_column_is_one_name(tmp_path: Path) -> None:
    # The space-separated row put the wrapped name's second half under 配合单位.
    plan = read(tmp_path, "工作任务 责任单位 配合单位 完成时间\n"
                          "负责督导和检查考核工作. 县委县政府 督查室 持续开展\n"
                          "负责抓好砂石场扬尘污染防治. 县交通 运输局 12月底前完成\n")
    assert [item.units_as_written for item in plan.items] == [["县委县政府督查室"], ["县交通运输局"]]


def test_clauses_each_closed_by_its_units_and_a_comma_are_tasks_each(tmp_path: Path) -> None:
    plan = read(tmp_path, "3月12日,城镇办对城区环境卫生进行了抽查,抽查发现:南外街白色垃圾较多(牌楼居委会);"
                          "大桥路超市前污水横流(市政处),人行道上白色垃圾较多(环卫处)。请相关单位尽快抓好整改落实。\n")
    assert [(item.text, item.units_as_written) for item in plan.items][-2:] == [
        ("大桥路超市前污水横流", ["市政处"]), ("人行道上白色垃圾较多", ["环卫处"])]


def test_a_bracket_saying_where_stays_in_the_text(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.路口垃圾堆放，无人清理（西北角处），清运不及时（多处）。责任单位：区城管局；整改时限：5月底前。\n")
    assert readings(plan) == [("路口垃圾堆放，无人清理（西北角处），清运不及时（多处）。", ["区城管局"], "2021-05-31")]


def test_a_heading_over_one_paragraph_with_its_units_is_that_task_s_title(tmp_path: Path) -> None:
    plan = read(tmp_path, "2021年省级民生实事项目\n一、新生儿免费参加城乡医保\n"
                          "全省新生儿参加城乡居民基本医疗保险个人缴费部分实行政府全额补助。(牵头部门:省医保局)\n"
                          "二、中小学智慧教育基础环境建设\n为全省中小学建设多媒体教室6500间。(牵头部门:省教育厅)\n")
    assert [(item.number, item.text, item.units_as_written) for item in plan.items] == [
        ("一", "新生儿免费参加城乡医保 全省新生儿参加城乡居民基本医疗保险个人缴费部分实行政府全额补助。", ["省医保局"]),
        ("二", "中小学智慧教育基础环境建设 为全省中小学建设多媒体教室6500间。", ["省教育厅"])]


def test_a_heading_over_several_tasks_stays_their_group(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、教育\n新建幼儿园5所。(区教委)\n改造中小学校舍3所。(区教委)\n")
    assert [(item.category, item.text) for item in plan.items] == [
        ("教育", "新建幼儿园5所。"), ("教育", "改造中小学校舍3所。")]


def test_measures_said_by_their_doers_under_each_place_inspected(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、观音阁菜市场\n督查组发现多只流浪犬在菜市场流窜。\n整改建议:\n"
                          "1.县公安局、城管执法局负责,落实对流浪犬只的捕捉、收容。\n"
                          "2.县商务局、县城管执法局负责,包保单位配合、支持,设置诚信建设等公益广告。\n"
                          "二、霍邱汽车站\n有停车泊位,但没有顺向停车标识。\n整改建议:\n"
                          "县交通局负责督促指导,包保单位给予支持,施划顺向停车标识。\n")
    assert [(item.text, item.units_as_written) for item in plan.items] == [
        ("县公安局、城管执法局负责,落实对流浪犬只的捕捉、收容。", ["县公安局", "城管执法局"]),
        ("县商务局、县城管执法局负责,包保单位配合、支持,设置诚信建设等公益广告。", ["县商务局", "县城管执法局", "包保单位"]),
        ("县交通局负责督促指导,包保单位给予支持,施划顺向停车标识。", ["县交通局", "包保单位"])]


def test_a_partner_column_of_bodies_and_institutions(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号\n\n督查内容\n\n牵头责任单位\n\n协同责任单位\n\n落实情况\n\n"
                          "1\n\n地区生产总值增长8.5%以上。\n\n市发改委\n\n市政府各部门、各直属机构。\n\n"
                          "全年地区生产总值增长11%,增幅高于全省平均水平2.7个百分点\n\n"
                          "2\n\n规上工业增加值增长9.5%以上。\n\n市经信局\n\n市发改委、市税务局等。\n\n"
                          "全年规上工业增加值增长16.5%,居全省第1位\n")
    assert [item.units_as_written for item in plan.items] == [
        ["市发改委", "市政府各部门", "各直属机构"], ["市经信局", "市发改委", "市税务局"]]


@pytest.mark.parametrize("task", ["2021年全市力争培育高新技术企业150家。", "2021年再创建4个省级森林城镇。",
                                  "全年在省、市、县等主要媒体或报刊上稿2篇以上。"])
def test_the_year_a_task_is_framed_in_is_its_limit(task: str) -> None:
    said = deadline_in_text(task, 2021)
    assert said is not None and said.deadline is not None and said.deadline.isoformat() == "2021-12-31"


@pytest.mark.parametrize("task", ["2020年全市培育高新技术企业150家，今年继续推进。", "全年接待游客100万人次。",
                                  "在2021年完成改造的基础上继续推进。", "2021年新建农村户厕部分存在质量问题，群众使用率不高。",
                                  "2021年改造提升农贸市场3个已全部完工。", "加快2021年建设项目前期工作。"])
def test_a_year_said_of_something_else_is_no_limit(task: str) -> None:
    assert deadline_in_text(task, 2021) is None


def cut_page(text: str, columns: int) -> str:
    """Every line of ``text`` cut at ``columns``, as a PDF's text layer gives it."""
    return "\n".join(piece for line in text.split("\n") for piece in cut_at_width(line, columns))


def test_a_pdf_s_lines_cut_at_its_width_are_read_as_its_paragraphs(tmp_path: Path) -> None:
    # Cut inside a name, after a full stop, before a label, inside a bracket: wherever the width ends.
    document = ("2021年某市政府工作报告重点工作责任分解方案\n"
                "为做好今年政府工作,实现经济社会发展目标任务,现就2021年市政府工作报告确定的重点工作,制定分工方案如下。"
                "各责任单位要细化措施,明确进度,确保按期完成。\n"
                "一、经济社会发展主要预期目标\n"
                "1.地区生产总值增长6%左右,规模以上工业增加值增长7%左右,固定资产投资增长12%左右。\n"
                "牵头单位:市发展改革委\n"
                "责任单位:全市经济运行工作专班各部门,各县(市)区政府、各开发区管委会\n"
                "2.城乡居民收入增长与经济增长基本同步,城镇登记失业率控制在4.5%以内。"
                "(责任领导:杜新国、丁玲;牵头单位:市发改局、市农业农村局、市人力资源和社会保障局)\n"
                "3.推进老旧小区改造,完成改造小区30个,惠及居民1.2万户,年底前全部完工。"
                "(牵头单位:市住房和城乡建设局,配合单位:市财政局、市自然资源局、市生态环境局)\n")
    expected = [
        ("地区生产总值增长6%", ["市发展改革委", "全市经济运行工作专班各部门", "各县(市)区政府", "各开发区管委会"]),
        ("城乡居民收入增长与经", ["市发改局", "市农业农村局", "市人力资源和社会保障局"]),
        ("推进老旧小区改造,完", ["市住房和城乡建设局", "市财政局", "市自然资源局", "市生态环境局"])]
    for columns in (60, 68, 74):
        cut = cut_page(document, columns)
        assert cut.count("\n") >= document.count("\n") + 4
        plan = read(tmp_path, cut)
        assert [(item.text[:10], item.units_as_written) for item in plan.items] == expected, columns
        assert plan.items[2].deadline is not None and plan.items[2].deadline.isoformat() == "2021-12-31"


def test_lines_of_one_length_in_a_short_list_are_not_a_cut_page(tmp_path: Path) -> None:
    # Each line ends where its item does; that they are about as long is chance.
    plan = read(tmp_path, "1.推进老旧小区改造,完成改造小区三十个。(区住建委)\n"
                          "2.实施道路畅通工程,新建改建道路十五公里。(区交通局)\n"
                          "新建口袋公园十四个,方便群众就近休闲健身。(区园林局)\n")
    assert [item.units_as_written for item in plan.items] == [["区住建委"], ["区交通局"], ["区园林局"]]


def test_a_wrapped_table_header_with_empty_lines_between(tmp_path: Path) -> None:
    plan = read(tmp_path, "工作任务 | 具体要求\n\n| 责任单位 |\n\n"
                          "一、做好规划公开。 | 1.主动公开规划纲要。 | 市直有关部门;各镇(街) |\n\n"
                          "二、做好财政信息公开。 | 2.推进部门预算公开。 | 市财政局牵头,市直各部门落实 |\n")
    assert [item.units_as_written for item in plan.items] == [["市直有关部门", "各镇(街)"], ["市财政局", "市直各部门"]]


def test_numbered_rows_under_cells_merged_down_take_them(tmp_path: Path) -> None:
    # One cell a line, a merged cell written on its first row only: the rows below it have their
    # number and words, and the row above's 完成时限, 责任领导 and units.
    plan = read(tmp_path, "序号\n指标\n工作任务\n完成时限\n责任领导\n责任股室\n备注\n"
                          "1\n公共文化服务\n“两馆一站”免费开放服务人次较上年增长15%。\n12月底前\n夏俊贵\n文化宣传股\n文化馆\n"
                          "2\n全年组织开展文化下乡等惠民演出不少于100场。\n文化宣传股文化馆\n"
                          "3\n开展好“三下乡”活动。\n"
                          "4\n三建设一整治\n新建、改建旅游厕所6座。\n5月底\n周斐\n旅游股\n"
                          "5\n抓好旅游环境综合整治工作。\n")
    assert [(item.number, item.units_as_written, item.deadline_text, item.officials) for item in plan.items] == [
        ("1", ["文化宣传股", "文化馆"], "12月底前", ["夏俊贵"]), ("2", ["文化宣传股", "文化馆"], "12月底前", ["夏俊贵"]),
        ("3", ["文化宣传股", "文化馆"], "12月底前", ["夏俊贵"]), ("4", ["旅游股"], "5月底", ["周斐"]),
        ("5", ["旅游股"], "5月底", ["周斐"])]


@pytest.mark.parametrize(("written", "names"), [
    ("文化宣传股文化馆", ["文化宣传股", "文化馆"]), ("各股室", ["各股室"]), ("股份制改革办", ["股份制改革办"]),
    ("县供销社股金服务中心", ["县供销社股金服务中心"]), ("县股权交易中心", ["县股权交易中心"]),
    ("区分局牵头,各有关部门按照职责分工负责", ["区分局", "各有关部门"])])
def test_sections_and_shared_duty_in_a_unit_cell(written: str, names: list[str]) -> None:
    assert parse_units(written, UnitDirectory()).as_written == names


def test_items_numbered_with_a_pdf_s_number_glyphs(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、重点任务\n⒈推进老旧小区改造，完成改造小区30个。（区住建委）\n"
                          "⒉实施道路畅通工程。（区交通局）\n二、民生实事\n⑴新建幼儿园5所。（区教委）\n⑵新建养老驿站3个。（区民政局）\n")
    assert [(item.number, item.text, item.units_as_written) for item in plan.items] == [
        ("1", "推进老旧小区改造，完成改造小区30个。", ["区住建委"]), ("2", "实施道路畅通工程。", ["区交通局"]),
        ("1", "新建幼儿园5所。", ["区教委"]), ("2", "新建养老驿站3个。", ["区民政局"])]


@pytest.mark.parametrize(("cut_between", "expected"), [
    (("完成", "时间"), ("完善厂区防护绿地。", ["武钢集团鄂城钢铁有限责任公司"], "2021-05-10")),
    (("设置),", "责任单位为"), ("技改投资占固定资产投资比重16.5%(依据区人代会目标设置),责任单位为区经信局;", ["区经信局"], ""))])
def test_a_pdf_line_cut_before_a_label_goes_on(tmp_path: Path, cut_between: tuple[str, str],
                                               expected: tuple[str, list[str], str]) -> None:
    # Wherever the width falls, a label's first word or a comma at a line's end leaves the sentence open.
    body = ("为做好今年政府工作,实现经济社会发展目标任务,现就区政府工作报告确定的重点工作制定分工方案如下。"
            "各责任单位要高度重视,主要负责同志亲自抓,细化工作措施,明确时间节点,确保各项任务按期完成,"
            "并于每季度末将工作进展情况报区政府办公室汇总。\n"
            "1.完成鄂州大道绿化隔离带建设。责任单位:市林业局、市交通局、鄂城区、西山街办,完成时间:2021年5月10日前。\n"
            "2.完善厂区防护绿地。责任单位:武钢集团鄂城钢铁有限责任公司,完成时间:2021年5月10日前。\n"
            "3.技改投资占固定资产投资比重16.5%(依据区人代会目标设置),责任单位为区经信局;\n")
    found = 0
    for columns in range(40, 90):
        cut = cut_page(body, columns)
        if "\n".join(cut_between) not in cut:
            continue
        found += 1
        plan = read(tmp_path, cut)
        assert expected in readings(plan), columns
    assert found



def test_a_row_left_empty_in_a_table_with_separators_takes_nothing_from_above(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号 | 工作任务 | 责任单位 | 完成时限 |\n"
                          "1 | 开展危化品安全专项整治。 | 县应急管理局 | 12月底前 |\n"
                          "2 | 开展城镇燃气安全排查整治。 | | 9月底前 |\n")
    assert readings(plan)[1] == ("开展城镇燃气安全排查整治。", [], "2021-09-30")


def test_a_row_under_merged_cells_keeps_what_its_own_words_say(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号\n工作任务\n完成时限\n责任领导\n责任单位\n"
                          "1\n开展危化品安全专项整治。\n12月底前\n张明\n县应急管理局\n"
                          "2\n县住建局负责开展城镇燃气安全排查整治，9月底前完成。\n"
                          "3\n开展工贸企业安全检查。\n")
    assert [(item.units_as_written, item.deadline.isoformat() if item.deadline else "") for item in plan.items] == [
        (["县应急管理局"], "2021-12-31"), (["县住建局"], "2021-09-30"), (["县应急管理局"], "2021-12-31")]


def test_a_heading_over_one_item_among_categories_of_several_stays_its_category(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、教育\n新建幼儿园5所。(县教育局)\n改造中小学校舍3所。(县教育局)\n"
                          "二、养老服务\n新建农村互助幸福院10个。(县民政局)\n")
    assert [(item.category, item.text) for item in plan.items] == [
        ("教育", "新建幼儿园5所。"), ("教育", "改造中小学校舍3所。"), ("养老服务", "新建农村互助幸福院10个。")]


def test_the_parts_of_a_report_are_no_task_s_title(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于秸秆禁烧工作的督查通报\n一、存在的问题\n部分乡镇秸秆禁烧巡查不到位。(县农业农村局)\n"
                          "二、整改要求\n各乡镇要加强巡查，发现火点及时处置。(各乡镇)\n")
    assert [item.text for item in plan.items] == ["部分乡镇秸秆禁烧巡查不到位。", "各乡镇要加强巡查，发现火点及时处置。"]


def test_a_bracket_after_a_place_and_a_comma_explains_it(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.完善社会救助体系，提高城乡低保标准（县民政局）。指导各乡镇（街道），全面开展低保对象动态复核，"
                          "做到应保尽保（县民政局）。\n")
    assert [item.units_as_written for item in plan.items] == [["县民政局"], ["县民政局"]]
    assert plan.items[1].text.startswith("指导各乡镇（街道），全面开展")


def test_a_closing_paragraph_that_says_who_follows_up_sets_the_limit(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于城区环境卫生问题的督查通报\n1.人民路垃圾清运不及时。（县城管执法局）\n"
                          "2.农贸市场周边占道经营。（县市场监管局）\n"
                          "县政府办负责跟踪督办，各责任单位要于7月15日前将整改情况书面报县政府办。\n")
    assert readings(plan) == [("人民路垃圾清运不及时。", ["县城管执法局"], "2021-07-15"),
                              ("农贸市场周边占道经营。", ["县市场监管局"], "2021-07-15")]


def test_short_paragraphs_of_about_one_length_are_no_cut_page(tmp_path: Path) -> None:
    tasks = ["县城管执法局负责清理城北农贸市场周边占道经营。", "县市场监管局负责检查城南农贸市场食品安全情况。",
             "县交通运输局负责整治城区客运站周边出租车乱停。", "县住建局负责督促城区建筑工地落实扬尘防治措施。",
             "县卫生健康局负责做好城区公共场所控烟宣传工作。"]
    plan = read(tmp_path, "关于城区环境整治工作的通知\n" + "\n".join(tasks) + "\n")
    assert [item.text for item in plan.items] == tasks


def test_a_numbered_line_after_a_bracket_left_open_is_its_own_item(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.推进老旧小区改造，完成改造小区30个。（区住建委、高新园(邹区镇\n"
                          "2.)实施道路畅通工程，新建道路15公里。（区交通局）\n")
    assert [item.number for item in plan.items] == ["1", "2"]


def test_a_campaign_s_period_and_a_sentence_for_each_body_that_leads(tmp_path: Path) -> None:
    plan = read(tmp_path, "全市开展安全生产专项整治行动\n"
                          "此次专项行动时间为2021年12月1日至2022年2月28日。按照安委会要求,各县区负责组织开展本辖区专项整治工作。\n"
                          "市安全监管局牵头,负责组织开展对危险化学品领域的专项整治工作。市公安局牵头,负责组织开展对道路交通领域的"
                          "专项整治工作。公安消防支队牵头,负责组织开展对人员密集场所的专项整治工作。\n")
    assert readings(plan) == [
        ("按照安委会要求,各县区负责组织开展本辖区专项整治工作。", ["各县区"], "2022-02-28"),
        ("市安全监管局牵头,负责组织开展对危险化学品领域的专项整治工作。", ["市安全监管局"], "2022-02-28"),
        ("市公安局牵头,负责组织开展对道路交通领域的专项整治工作。", ["市公安局"], "2022-02-28"),
        ("公安消防支队牵头,负责组织开展对人员密集场所的专项整治工作。", ["公安消防支队"], "2022-02-28")]


def test_a_body_named_after_by_is_no_sentence_s_doer(tmp_path: Path) -> None:
    plan = read(tmp_path, "【创城曝光台】督查通报\n由北海工业园管委会负责的长安金苑内,车辆随意停放。\n"
                          "京泰路上,车辆随意停放阻挡盲道,应由市交警支队负责整治。\n")
    assert [item.units_as_written for item in plan.items] == [["北海工业园管委会"], ["市交警支队"]]


def test_a_main_responsible_unit_column_leads_the_others(tmp_path: Path) -> None:
    plan = read(tmp_path, "领域 | 主要目标 | 主要责任单位 | 责任单位 |\n"
                          "妇女与健康 | 孕产妇死亡率控制在15/10万以内。 | 省卫生厅 | 省人口计生委、省公安厅 |\n")
    item = plan.items[0]
    assert item.units_as_written == ["省卫生厅", "省人口计生委", "省公安厅"] and item.lead == "省卫生厅"


def test_bullets_under_an_unnumbered_lead_in_share_its_closing_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "土地房屋篇\n确保土地如期到位:\n- 在未来十年依时提供约3300公顷新平整土地。\n"
                          "- 每年公布未来十年可供发展土地的供应预测。(发展局)\n增加土地供应:\n"
                          "- 在2023年内成立专责部门。\n- 于2025年启动将军澳第137区的工程。(房屋局)\n")
    assert [(item.text, item.units_as_written) for item in plan.items] == [
        ("在未来十年依时提供约3300公顷新平整土地。", ["发展局"]), ("每年公布未来十年可供发展土地的供应预测。", ["发展局"]),
        ("在2023年内成立专责部门。", ["房屋局"]), ("于2025年启动将军澳第137区的工程。", ["房屋局"])]


def test_years_ahead_given_as_financial_years_in_a_task_s_words() -> None:
    said = deadline_in_text("在5年内(2022-23至2026-27年度)为政府项目收回约500公顷私人土地。", 2022)
    assert said is not None and said.deadline is not None and said.deadline.isoformat() == "2027-03-31"


def test_figures_in_a_table_of_one_cell_a_line_are_no_dates(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号\n指标名称\n目标值（%）\n责任单位\n完成时限\n"
                          "1\n地区生产总值增长\n8.5\n县发改委\n12月底前\n2\n规上工业增加值增长\n9.5\n县工信局\n12月底前\n")
    assert readings(plan) == [("地区生产总值增长", ["县发改委"], "2021-12-31"),
                              ("规上工业增加值增长", ["县工信局"], "2021-12-31")]


def test_a_row_that_writes_its_empty_cell_takes_nothing_from_above(tmp_path: Path) -> None:
    plan = read(tmp_path, "序号\n工作任务\n责任单位\n完成时限\n"
                          "1\n新建农村公路30公里。\n县交通运输局\n6月底前\n"
                          "2\n常态化开展安全生产大检查。\n县应急管理局\n—\n"
                          "3\n开展景区安全检查。\n县文旅体局\n无\n")
    assert readings(plan) == [("新建农村公路30公里。", ["县交通运输局"], "2021-06-30"),
                              ("常态化开展安全生产大检查。", ["县应急管理局"], ""),
                              ("开展景区安全检查。", ["县文旅体局"], "")]


def test_an_indented_pdf_paragraph_cut_before_a_label(tmp_path: Path) -> None:
    # pdftotext indents each paragraph's first line; that line is cut at the same width as the others.
    paragraphs = ["为做好今年政府工作,实现经济社会发展目标任务,现就区政府工作报告确定的重点工作制定分工方案如下,"
                  "请各责任单位结合实际认真贯彻执行,确保各项任务按期完成,并按季度报送工作进展情况。",
                  "1.地区生产总值增长6%左右,固定资产投资增长8%以上,社会消费品零售总额增长7%左右,"
                  "城乡居民人均可支配收入与经济增长基本同步。(牵头单位:市发改委;责任单位:市统计局、市财政局)",
                  "2.规模以上工业增加值增长15%,高新技术产业增加值占规模以上工业增加值比重达到40%以上,"
                  "新增规模以上工业企业30家。(牵头单位:市科经局;责任单位:市统计局、市商务局、市财政局)"]
    body = "\n".join("\u3000\u3000" + paragraph for paragraph in paragraphs)
    found = 0
    for columns in range(50, 90):
        cut = cut_page(body, columns)
        if "责任\n单位:市统计局、市商务局" not in cut:
            continue
        found += 1
        plan = read(tmp_path, cut)
        assert plan.items[1].units_as_written == ["市科经局", "市统计局", "市商务局", "市财政局"], columns
    assert found


def test_closing_paragraphs_after_a_list_are_no_tasks(tmp_path: Path) -> None:
    plan = read(tmp_path, "一、重点任务\n1.推进老旧小区改造。（县住建局）\n2.实施道路畅通工程。（县交通局）\n"
                          "二、工作要求\n县政府办负责对各项工作进行跟踪督查，每季度通报一次进展情况。\n")
    assert [item.text for item in plan.items] == ["推进老旧小区改造。", "实施道路畅通工程。"]


@pytest.mark.parametrize("text", ["（二）加强宣传引导，动员社会各界和用人单位支持退役军人就业。",
                                  "（三）加大金融支持，金融部门给予支持，扩大信贷投放。"])
def test_who_supports_in_a_task_s_words_is_no_unit(tmp_path: Path, text: str) -> None:
    plan = read(tmp_path, text + "\n")
    assert [item.units_as_written for item in plan.items] == [[]]


@pytest.mark.parametrize("place", ["市场东侧低洼处", "楼道连接处", "路口交叉处"])
def test_a_place_ending_in_chu_is_no_unit(tmp_path: Path, place: str) -> None:
    plan = read(tmp_path, f"1.农贸市场周边杂物乱堆（{place}）。责任单位：区城管局。\n")
    assert readings(plan) == [(f"农贸市场周边杂物乱堆（{place}）。", ["区城管局"], "")]


def test_a_bracket_of_places_before_a_comma_says_where(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.完善社会救助体系（县民政局）。推进老旧小区改造（城关镇、城东街道），改造小区20个，"
                          "惠及居民3000户（县住建局）。\n")
    assert [(item.text[:8], item.units_as_written) for item in plan.items] == [
        ("完善社会救助体系", ["县民政局"]), ("推进老旧小区改造", ["县住建局"])]


def test_labels_written_inside_a_bracket_leave_its_close_out_of_the_names(tmp_path: Path) -> None:
    plan = read(tmp_path, "2.关于加快落实长洲岛邮政服务的建议(第1520号。牵头单位:省邮政局;协办单位:广东银监局,广州市政府); "
                          "3.关于建设北斗卫星导航产业基地的建议(第1603号。牵头单位:省经济和信息化委;协办单位:省财政厅)\n")
    assert [item.units_as_written for item in plan.items] == [["省邮政局", "广东银监局", "广州市政府"],
                                                              ["省经济和信息化委", "省财政厅"]]


def test_a_name_a_republishing_site_masked_stays_in_the_text(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.认真学习贯彻***总书记重要论述，传达学习有关重要会议精神。（机关党委）\n"
                          "2.**加强**督办落实。（机关纪委）\n")
    assert [item.text for item in plan.items] == ["认真学习贯彻***总书记重要论述，传达学习有关重要会议精神。", "加强督办落实。"]


@pytest.mark.parametrize(("written", "names"), [("教育局 2所", ["教育局"]), ("区民政局、71个", ["区民政局"]),
                                                ("第一派出所", ["第一派出所"]), ("110指挥中心", ["110指挥中心"])])
def test_a_count_beside_a_unit_is_no_unit(written: str, names: list[str]) -> None:
    assert parse_units(written, UnitDirectory()).as_written == names


def test_news_of_heads_of_bureaus_is_no_list_of_duties(tmp_path: Path) -> None:
    with pytest.raises(DocumentError):
        read(tmp_path, "3月5日，市长张明带队调研安全生产工作。市应急管理局负责同志陪同调研。"
                       "市卫健委负责人介绍了疫情防控有关情况。\n")


def test_one_follow_up_sentence_leaves_a_report_to_the_report_reader(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于暗访情况的通报\n城关镇解放路垃圾堆放，该项整治由城关镇负责。东关村道路破损，责任单位为东关镇。"
                          "部分建筑工地裸土未覆盖。县住建局负责督促整改。\n")
    assert [item.units_as_written for item in plan.items][:2] == [["城关镇"], ["东关镇"]]


@pytest.mark.parametrize("text", ["1.市发改委负责重大项目申报，积极争取上级部门支持。",
                                  "1.市住建局牵头，负责老旧小区改造，需要产权单位配合。"])
def test_a_doer_s_clause_that_asks_for_support_names_no_helper(tmp_path: Path, text: str) -> None:
    plan = read(tmp_path, text + "\n")
    assert [len(item.units_as_written) for item in plan.items] == [1]


def test_a_provincial_department_s_divisions_in_brackets(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.加强干部队伍建设。（人事处）\n2.推进依法行政。（法规处、综合处）\n3.深化审批改革。（行政审批处、财务处）\n")
    assert [item.units_as_written for item in plan.items] == [["人事处"], ["法规处", "综合处"], ["行政审批处", "财务处"]]


def test_a_request_for_materials_is_no_list_of_tasks(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于城区环境问题的督查通报\n1.人民路垃圾清运不及时。（县城管执法局）\n2.农贸市场周边占道经营。（县市场监管局）\n"
                          "请于6月30日前整改完毕，并报送以下材料：\n- 整改前后对比照片\n- 整改情况报告\n")
    assert readings(plan) == [("人民路垃圾清运不及时。", ["县城管执法局"], "2021-06-30"),
                              ("农贸市场周边占道经营。", ["县市场监管局"], "2021-06-30")]


def test_an_inspection_s_days_a_report_looks_back_on_are_no_limit(tmp_path: Path) -> None:
    plan = read(tmp_path, "关于秸秆禁烧的督查通报\n县督查室开展了专项督查，督查时间为3月1日至3日。现将督查发现的问题通报如下：\n"
                          "1.城关镇巡查不到位。（城关镇）\n2.东关镇宣传不到位。（东关镇）\n")
    assert [item.deadline for item in plan.items] == [None, None]


def test_a_requirements_label_after_a_list_is_no_measures_label(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.推进老旧小区改造。（县住建局）\n2.实施道路畅通工程。（县交通局）\n工作要求：\n"
                          "各单位负责人要高度重视，切实抓好整改落实。区政府办负责跟踪督查，每周通报一次整改进展。\n")
    assert [item.text for item in plan.items] == ["推进老旧小区改造。", "实施道路畅通工程。"]


def test_a_measure_whose_doer_comes_after_its_first_sentence(tmp_path: Path) -> None:
    plan = read(tmp_path, "1.立即清理占道车辆，恢复通行秩序。县交通局负责督促指导，包保单位给予支持，施划停车位。\n")
    assert plan.items[0].units_as_written == ["县交通局", "包保单位"]


def test_a_table_of_cells_between_bars_with_empty_lines_ending_on_its_last_units(tmp_path: Path) -> None:
    plan = read(tmp_path, "\n\n".join(["序号", "|", "重点工作任务", "|", "责任单位", "|",
                                       "1", "|", "加快建设城西科创大走廊。", "|", "市科技局、市发改委", "|",
                                       "2", "|", "加强项目谋划,加大政府专项债争取力度。", "|", "市财政局、市发改委"]) + "\n")
    assert readings(plan) == [("加快建设城西科创大走廊。", ["市科技局", "市发改委"], ""),
                              ("加强项目谋划,加大政府专项债争取力度。", ["市财政局", "市发改委"], "")]
