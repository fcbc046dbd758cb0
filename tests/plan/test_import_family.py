"""Other districts' documents, in the shapes real ones come in, imported end to end on both databases:
shown first as the office checks it (--dry-run), then stored, then imported again without a change.

Each document here is written after a real published one in tests/corpus (named beside it), cut down
to what the shape needs."""

import io
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.cli import main
from tasks.db import make_engine
from tasks.models import Assignment, Task, Unit

LABEL_VALUE = """\
某市2023年政府工作报告重点工作责任分工

一、经济发展主要目标
1.地区生产总值增长6.5%以上。
牵头领导：刘兴达
牵头单位：市发展和改革局
责任单位：各有关部门，各开发区、镇（街道）
完成时限：12月底前
2.一般公共预算收入增长8%以上。
牵头领导：刘兴达、汪忠野
牵头单位：市财政局
责任单位：市税务局
3.社会消费品零售总额增长10%以上。责任单位：市商务局；完成时限：三季度末。
二、创城问题整改
1. 市科技馆
(1)院内电动车未按指定区域停放;
(2)灭火器过期未更换;
问题整改责任单位：市科技馆  整改时限：9月30日前
"""  # after liaoning-haicheng-2023-rwfj, fujian-lianjiang-2021-wmbss and hubei-jingzhou-undated-cwbg

PARENTHESES = """\
关于明确2023年重点工作责任单位的通知
一、主要预期目标
(一)地区生产总值增长7%以上。(市发展改革委,各县〔市、区〕政府)
(二)地方公共预算收入增长8%。[牵头单位:县发改局(粮食局);责任单位:县税务局,各镇人民政府]
二、重点任务
常住人口控制在1150万人左右。(市人口计生委、市公安局牵头)万元地区生产总值能源消耗降低3%。(市经委牵头,市统计局配合)
(三)完成棚户区改造2836户。(责任领导:杜新国;牵头单位:区住建局)
"""  # after henan-sanmenxia-2023-zdgz, hubei-jiayu-2021-zrfj, tianjin-shi-2006-gyfg and hubei-xianan-2023-gzbg

TRADITIONAL = """\
香港特區政府2023年施政報告指標
1. 約600個各部門確定的環境衛生黑點於2023年底前消除至少75%。(政務司副司長辦公室/相關政策局)
2. 在完成為期一年的計劃的學員中,不少於70%取得進步。(勞工及福利局)
"""  # after xianggang-xianggang-2022-sbzb

MULTI_YEAR = """\
某区优化营商环境三年行动计划（2021—2023年）
2021年任务：
1.建成政务服务一网通办平台。
牵头单位：区政务服务局
完成时限：6月底前
2022年任务：
2.实现工程建设项目审批全程网办。
牵头单位：区住建局
完成时限：6月底前
"""

PROBLEM_LIST = """\
关于城区环境卫生暗访督查情况的通报
一、主次干道
1、通羊大道 - 线缆垮塌存在安全隐患
(责任单位:视讯公司)
2、九宫大道 - 路面坑洼不平、塌陷
(责任单位:住建局)
各单位要针对本次通报指出的问题,三个工作日内完成整改任务,并将整改落实情况报送县创文办。
2022年8月31日
"""  # after hubei-tongshan-2022-cwtb

FLATTENED_TABLE = """\
大竹县2016年民生实事目标任务分解表

序号

民生实事

责任单位

完成时限

1

启动建设东柳河城区段综合治理工程。

县水务局

县住建局

12月底前

2

开工建设县老年养护楼。

县民政局

5月底前

开工建设老年大学。

12月底前
"""  # after sichuan-dazhu-2016-msss: one cell per line, two units on two lines, a merged 责任单位 cell


def run(database_url: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--database-url", database_url, *args], stdout=out)
    return code, out.getvalue()


def import_twice(database_url: str, path: Path) -> str:
    """The preview; then the import, and a second one that finds nothing to change."""
    assert run(database_url, "init")[0] == 0
    code, preview = run(database_url, "import", str(path), "--dry-run")
    assert code == 0
    code, output = run(database_url, "import", str(path))
    assert code == 0 and "新增" in output
    code, output = run(database_url, "import", str(path))
    assert code == 0 and "与数据库中的内容一致，没有任何改动。" in output
    return preview


def stored(database_url: str) -> dict[str, tuple[list[tuple[str, str]], date | None, str]]:
    """Each stored task's text -> its units with their roles in order, its deadline, its officials."""
    with Session(make_engine(database_url)) as session:
        result = {}
        for task in session.exec(select(Task)).all():
            units = session.exec(select(Unit.name, Assignment.role).join(Assignment, col(Assignment.unit_id) == Unit.id)
                                 .where(Assignment.task_id == task.id).order_by(col(Assignment.position))).all()
            result[task.text] = ([(name, str(role)) for name, role in units], task.deadline, task.officials)
        return result


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "文件.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_label_lines_under_points_and_a_problem_list(database_url: str, tmp_path: Path) -> None:
    preview = import_twice(database_url, write(tmp_path, LABEL_VALUE))
    assert "试导入（未写入数据库）：2023年《某市2023年政府工作报告重点工作责任分工》" in preview
    assert ("  1 地区生产总值增长6.5%以上。\n"
            "     责任单位：市发展和改革局（牵头）、各开发区、镇（街道）、各有关部门（待指\n"
            "               定）\n"
            "     责任领导：刘兴达\n"
            "     完成时限：2023-12-31（12月底前）\n") in preview
    assert "〔创城问题整改 / 市科技馆〕\n  1 院内电动车未按指定区域停放;\n     责任单位：市科技馆\n" in preview
    assert preview.count("“市科技馆”不在单位名录中") == 1  # one line serves both problems: said once
    tasks = stored(database_url)
    assert tasks["地区生产总值增长6.5%以上。"] == (
        [("市发展和改革局", "lead"), ("各开发区", "co"), ("镇（街道）", "co")], date(2023, 12, 31), "刘兴达")
    assert tasks["一般公共预算收入增长8%以上。"] == (
        [("市财政局", "lead"), ("市税务局", "co")], None, "刘兴达、汪忠野")
    assert tasks["社会消费品零售总额增长10%以上。"] == ([("市商务局", "lead")], date(2023, 9, 30), "")
    for problem in ("院内电动车未按指定区域停放;", "灭火器过期未更换;"):
        assert tasks[problem] == ([("市科技馆", "lead")], date(2023, 9, 30), "")
    assert "市科技馆" not in tasks  # the heading over the problems is not a task of its own


def test_units_in_brackets_after_each_sentence(database_url: str, tmp_path: Path) -> None:
    preview = import_twice(database_url, write(tmp_path, PARENTHESES))
    assert "责任单位：县发改局(粮食局)（牵头）、县税务局、各镇人民政府\n" in preview
    assert "  · 万元地区生产总值能源消耗降低3%。\n     责任单位：市经委（牵头）、市统计局\n" in preview
    tasks = stored(database_url)
    assert tasks["地区生产总值增长7%以上。"][0] == [("市发展改革委", "lead"), ("各县〔市、区〕政府", "co")]
    assert tasks["常住人口控制在1150万人左右。"][0] == [("市人口计生委", "lead"), ("市公安局", "lead")]
    assert tasks["完成棚户区改造2836户。"] == ([("区住建局", "lead")], None, "杜新国")
    assert len(tasks) == 5  # the two headings are not tasks


def test_a_traditional_script_document_keeps_its_characters(database_url: str, tmp_path: Path) -> None:
    preview = import_twice(database_url, write(tmp_path, TRADITIONAL))
    assert "责任单位：政務司副司長辦公室、相關政策局（待指定）" in preview
    assert "“勞工及福利局”不在单位名录中" in preview
    tasks = stored(database_url)
    assert tasks["在完成為期一年的計劃的學員中,不少於70%取得進步。"][0] == [("勞工及福利局", "lead")]
    with Session(make_engine(database_url)) as session:
        assert session.exec(select(Unit.name).where(col(Unit.name).in_(["政務司副司長辦公室", "政务司副司长办公室"]))
                            ).all() == ["政務司副司長辦公室"]


def test_a_multi_year_plan_dates_each_year_s_tasks_in_that_year(database_url: str, tmp_path: Path) -> None:
    preview = import_twice(database_url, write(tmp_path, MULTI_YEAR))
    assert "完成时限：2021-06-30（6月底前）" in preview and "完成时限：2022-06-30（6月底前）" in preview
    tasks = stored(database_url)
    assert tasks["建成政务服务一网通办平台。"][1] == date(2021, 6, 30)
    assert tasks["实现工程建设项目审批全程网办。"][1] == date(2022, 6, 30)


def test_a_problem_list_s_time_limit_counts_working_days_from_its_date(database_url: str, tmp_path: Path) -> None:
    """Issued on Wednesday 31 August 2022: three working days are 1, 2 and (after the weekend) 5 September."""
    preview = import_twice(database_url, write(tmp_path, PROBLEM_LIST))
    assert "  1 通羊大道 - 线缆垮塌存在安全隐患\n     责任单位：视讯公司\n     完成时限：2022-09-05（三个工作日内）\n" in preview
    tasks = stored(database_url)
    assert tasks["九宫大道 - 路面坑洼不平、塌陷"] == ([("住建局", "lead")], date(2022, 9, 5), "")


def test_a_table_flattened_to_one_cell_per_line(database_url: str, tmp_path: Path) -> None:
    preview = import_twice(database_url, write(tmp_path, FLATTENED_TABLE))
    assert ("  1 启动建设东柳河城区段综合治理工程。\n     责任单位：县水务局（牵头）、县住建局\n"
            "     完成时限：2016-12-31（12月底前）\n") in preview
    tasks = stored(database_url)
    assert tasks["开工建设县老年养护楼。"] == ([("县民政局", "lead")], date(2016, 5, 31), "")
    # A second row under one 序号 shares the merged 责任单位 cell above it.
    assert tasks["开工建设老年大学。"] == ([("县民政局", "lead")], date(2016, 12, 31), "")


@pytest.mark.parametrize("text", [MULTI_YEAR.replace("某区优化营商环境三年行动计划（2021—2023年）\n", "")])
def test_a_document_without_its_year_asks_for_it(database_url: str, tmp_path: Path, text: str,
                                                 capsys: pytest.CaptureFixture) -> None:
    """The year headings below date their own tasks; the plan's year is still the office's to give."""
    path = write(tmp_path, text.replace("2021年任务：\n", "").replace("2022年任务：\n", ""))
    assert run(database_url, "init")[0] == 0
    assert run(database_url, "import", str(path), "--dry-run")[0] == 1
    assert "无法从文档中确定年份，请用 --year 指定" in capsys.readouterr().err
