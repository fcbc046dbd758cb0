"""Import speed: the bundled document, and a generated 10,000-row XLSX task list.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--postgres URL]

Prints wall times for reading (parse only) and for a full import into a fresh
SQLite file and, when reachable, a fresh PostgreSQL database. Each figure is the
best of --repeat runs.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
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


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def postgres_reachable(admin_url: str) -> bool:
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def fresh_postgres(admin_url: str) -> tuple[str, Callable[[], None]] | None:
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        return None
    name = f"taskbot_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{admin_url.rsplit('/', 1)[0]}/{name}", drop


def import_once(url_factory: Callable[[], tuple[str, Callable[[], None]]], path: Path,
                directory: UnitDirectory) -> float:
    url, cleanup = url_factory()
    engine = make_engine(url)
    clock = FixedClock(datetime(2021, 6, 18, tzinfo=UTC))
    try:
        prepare_database(engine, directory, clock, ACTOR)
        start = time.perf_counter()
        import_file(engine, path, clock, ACTOR, district=directory.district)
        return time.perf_counter() - start
    finally:
        engine.dispose()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    directory = UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))
    work = Path(tempfile.mkdtemp(prefix="taskbot-bench-"))
    workbook = work / "tasks.xlsx"
    generate_workbook(workbook, args.rows, directory)

    def sqlite_url() -> tuple[str, Callable[[], None]]:
        path = work / f"{uuid.uuid4().hex}.db"
        return f"sqlite:///{path}", lambda: None

    documents = [("seed document (2021 门头沟区)", seed_path(MENTOUGOU_2021)), (f"{args.rows}-row XLSX", workbook)]
    backends: list[tuple[str, Callable[[], tuple[str, Callable[[], None]]]]] = [("SQLite", sqlite_url)]
    if postgres_reachable(args.postgres):  # each run makes its own database below, and drops it
        backends.append(("PostgreSQL", lambda: fresh_postgres(args.postgres)))  # type: ignore[arg-type,return-value]
    for label, path in documents:
        parsed = parse_file(path, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)))
        units = sum(len(i.units) for i in parsed.items)
        read = best_of(args.repeat, lambda p=path: parse_file(p, UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY))))
        print(f"{label}: {len(parsed.items)} items, {units} unit mentions, {len(parsed.problems)} problems")
        print(f"  read (parse only)       {read:8.3f} s")
        for backend, factory in backends:
            elapsed = min(import_once(factory, path, directory) for _ in range(args.repeat))
            print(f"  import into {backend:<12}{elapsed:8.3f} s")


if __name__ == "__main__":
    main()
