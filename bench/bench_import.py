"""Import speed: the bundled document, a generated 10,000-row XLSX task list, and the same rows as a
box-drawn text table (a Word file saved as text).

    .venv/bin/python bench/bench_import.py [--rows 10000] [--runs 3] [--postgres URL]

Prints wall times for reading (parse only) and for a full import into a fresh
SQLite file and, when reachable, a fresh PostgreSQL database of its own (created
beside --postgres's and dropped after each import). Each figure is the best and the
median of --runs runs.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import ADMIN_URL, add_runs_option, best_median, postgres_reachable, repeated, run, scratch_database
from openpyxl import Workbook

from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.clock import FixedClock
from tasks.db import make_engine
from tasks.events import Actor
from tasks.plan.importer import import_file, parse_file, prepare_database
from tasks.plan.units import UnitDirectory

ACTOR = Actor("bench", "import")
AREAS = ["组织领导", "产业合作", "劳务协作", "消费帮扶", "教育帮扶", "健康帮扶", "社会帮扶", "信息宣传"]
DEADLINES = ["6月底前", "8月底前", "10月底前", "年底前", "三季度末", "9月中旬", "按计划推进", "2021年6月-2021年12月"]


def generate_workbook(path: Path, rows: int, directory: UnitDirectory) -> None:
    """A task list shaped like the real one: merged areas, sub-items, unit lists with groups."""
    rng = random.Random(2021)
    units = [name for name, kind in directory.kinds.items() if kind in ("department", "office")]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("任务清单")
    sheet.append(["2021年某区工作任务清单"])
    sheet.append(["序号", "工作事项", "任务类别", "任务内容", "责任单位", "完成时限"])
    for number in range(1, rows + 1):
        area = AREAS[(number - 1) * len(AREAS) // rows]
        named = rng.sample(units, rng.randint(1, 4)) + (["各镇街"] if number % 10 == 0 else [])
        text = f"落实第{number}项重点任务，推进协作地区相关工作。"
        if number % 5 == 0:
            text = f"1. 制定第{number}项工作方案。 2. 9月底前完成中期评估。 3. 年底前总结报送。"
        sheet.append([number, area if number == 1 or AREAS[(number - 2) * len(AREAS) // rows] != area else None,
                      f"事项{number}", text, "、".join(named) + "等", rng.choice(DEADLINES)])
    workbook.save(path)


def generate_box_table(path: Path, rows: int, directory: UnitDirectory) -> None:
    """The task list drawn in box characters, each task over two lines and its time merged with the
    next row's every fifth row."""
    rng = random.Random(2021)
    units = [name for name, kind in directory.kinds.items() if kind in ("department", "office")]
    rule = "├────┼──────────────┼────────────┼──────┤"
    lines = ["2021年某区工作任务清单", "┌────┬──────────────┬────────────┬──────┐",
             "│序号│工作任务      │责任单位    │完成时限│", rule]
    for number in range(1, rows + 1):
        time_cell = rng.choice(DEADLINES) if number % 5 != 0 else ""
        named = "、".join(rng.sample(units, rng.randint(1, 3)))
        lines += [f"│{number:<4}│落实第{number}项重点任务，│{named}│{time_cell}│",
                  "│    │推进相关工作  │            │      │",
                  rule if number % 5 != 4 else "├────┼──────────────┼────────────┤      │"]
    lines[-1] = "└────┴──────────────┴────────────┴──────┘"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def import_once(bench: str, backend: str, admin_url: str, path: Path, directory: UnitDirectory) -> float:
    """Seconds to import ``path`` into a fresh database (its schema and unit directory made first, untimed)."""
    with scratch_database(bench, backend, admin_url) as url:
        engine = make_engine(url)
        clock = FixedClock(datetime(2021, 6, 18, tzinfo=UTC))
        try:
            prepare_database(engine, directory, clock, ACTOR)
            start = time.perf_counter()
            import_file(engine, path, clock, ACTOR, district=directory.district)
            return time.perf_counter() - start
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    add_runs_option(parser, 3, "reads and imports of each document")
    parser.add_argument("--postgres", default=ADMIN_URL,
                        help="a PostgreSQL server's maintenance database: each import gets a database of its own")
    args = parser.parse_args()
    directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
    work = Path(tempfile.mkdtemp(prefix="taskbot-bench-import-"))
    try:
        workbook = work / "tasks.xlsx"
        generate_workbook(workbook, args.rows, directory)
        boxed = work / "tasks.txt"
        generate_box_table(boxed, args.rows, directory)
        documents = [("seed document (2021 门头沟区)", seed_path(MENTOUGOU_2021)), (f"{args.rows}-row XLSX", workbook),
                     (f"{args.rows}-row box-drawn text table", boxed)]
        backends = [("SQLite", "sqlite")]
        if postgres_reachable(args.postgres):
            backends.append(("PostgreSQL", "postgresql"))
        for label, path in documents:
            parsed = parse_file(path, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)))
            units = sum(len(i.units) for i in parsed.items)
            reads = repeated(args.runs,
                             lambda p=path: parse_file(p, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))))
            print(f"{label}: {len(parsed.items)} items, {units} unit mentions, {len(parsed.problems)} problems")
            print(f"  read (parse only)       {best_median(reads)}", flush=True)
            for name, backend in backends:
                imports = [import_once("import", backend, args.postgres, path, directory) for _ in range(args.runs)]
                print(f"  import into {name:<12}{best_median(imports)}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run(main)
