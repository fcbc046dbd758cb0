"""Import limits: a 50 MB text document and a 20 MB XLSX task list, each imported by `taskbot import`
into a scratch database of its own (SQLite, or PostgreSQL with --backend postgresql), or refused;
wall time and the peak memory of the whole process tree, best and median of --runs imports.

    .venv/bin/python bench/bench_limits.py [--text-mb 50] [--xlsx-mb 20] [--hostile-mb 5] [--runs 1] [--keep DIR]
                                           [--backend sqlite|postgresql] [--postgres URL]

The text document is the bundled 2021 document repeated; the text without tasks (--hostile-mb) is made
of what costs the readers most and never makes a task: lines of column names with spaces between them
and runs of numbered words ending in a body's name, so that every header and row search has to try
and fail; the workbook is a task list shaped like
bench_import's (areas, topics, sub-items, unit lists), written as XLSX directly so that making it
takes seconds. Peak memory is the largest sum of the resident sizes of `taskbot import` and its
children (the workbook reader), sampled every 10 ms from /proc.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from common import add_database_options, add_runs_option, best_median, run, scratch_database, taskbot

from seed import MENTOUGOU_2021, UNIT_DIRECTORY, seed_path
from tasks.plan.units import UnitDirectory

AREAS = ["组织领导", "产业合作", "劳务协作", "消费帮扶", "教育帮扶", "健康帮扶", "社会帮扶", "信息宣传"]
DEADLINES = ["6月底前", "8月底前", "10月底前", "年底前", "三季度末", "9月中旬", "按计划推进", "2021年6月-2021年12月"]


def write_text(path: Path, megabytes: float) -> None:
    seed = seed_path(MENTOUGOU_2021).read_text(encoding="utf-8")
    path.write_text(seed * max(1, round(megabytes * 1e6 / len(seed.encode()))), encoding="utf-8")


# Every one names a column or looks as if it might, but none names the units a task table needs.
COLUMN_WORDS = ["序号", "工作任务", "完成时限", "建设", "内容", "情况", "进展", "措施", "目标", "项目", "投资", "推进",
                "完成", "时限", "单位", "任务", "备注", "分值"]


def write_hostile(path: Path, megabytes: float) -> None:
    rng = random.Random(2021)
    lines: list[str] = ["2021年工作情况"]
    size = 0
    while size < megabytes * 1e6:
        if rng.random() < 0.5:
            line = " ".join(rng.choice(COLUMN_WORDS) for _ in range(rng.randint(3, 40)))
        else:
            line = "".join(f"{rng.randint(1, 99)}项工作推进{rng.randint(1, 999)}个区住建局"
                           for _ in range(rng.randint(1, 20)))
        lines.append(line)
        size += len(line.encode()) + 1
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_xlsx(path: Path, megabytes: float) -> int:
    """A task list of about ``megabytes`` (compressed, as the file is); returns its rows."""
    units = [name for name, kind in UnitDirectory.from_toml(seed_path(UNIT_DIRECTORY)).kinds.items()
             if kind in ("department", "office")]
    rng = random.Random(2021)

    def row(number: int) -> str:
        text = (f"1. 制定第{number}项工作方案。 2. 9月底前完成中期评估。 3. 年底前总结报送。" if number % 5 == 0
                else f"落实第{number}项重点任务，推进协作地区相关工作，{rng.random():.12f}。")
        cells = [str(number), AREAS[number % len(AREAS)], f"事项{number}", text,
                 "、".join(rng.sample(units, rng.randint(1, 4))), rng.choice(DEADLINES)]
        return f'<row r="{number + 2}">' + "".join(
            f'<c r="{"ABCDEF"[i]}{number + 2}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
            for i, v in enumerate(cells)) + "</row>"

    header = ['<row r="1"><c r="A1" t="inlineStr"><is><t>2021年某区工作任务清单</t></is></c></row>',
              '<row r="2">' + "".join(f'<c r="{"ABCDEF"[i]}2" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in
                                      enumerate(["序号", "工作事项", "任务类别", "任务内容", "责任单位", "完成时限"]))
              + "</row>"]
    # About 45 bytes of compressed XML a row, measured; the loop below stops at the size asked for.
    rows = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            sheet.write("".join(header).encode())
            while True:
                chunk = "".join(row(rows + n) for n in range(1, 10_001))
                sheet.write(chunk.encode())
                rows += 10_000
                if rows * 45 >= megabytes * 1e6:
                    break
            sheet.write(b"</sheetData></worksheet>")
    return rows


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
OFFICE_TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE_TYPES}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{OFFICE_TYPES}.worksheet+xml"/></Types>')
ROOT_RELS = (f'<Relationships xmlns="{RELATIONSHIPS}"><Relationship Id="rId1" '
             f'Type="{OFFICE_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (f'<workbook xmlns="{MAIN}" xmlns:r="{OFFICE_RELATIONSHIPS}">'
            '<sheets><sheet name="任务清单" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (f'<Relationships xmlns="{RELATIONSHIPS}"><Relationship Id="rId1" '
                 f'Type="{OFFICE_RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants now."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) * 1024
            pending += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def measure(path: Path, url: str, log: Path) -> tuple[float, int, int, str]:
    """Seconds, peak tree RSS, exit code and first output line (what was imported, or the refusal)."""
    # To a file, not a pipe: an import lists every problem it met, more than a pipe holds unread.
    with log.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(taskbot("--database-url", url, "import", str(path), "--year", "2021"),
                                   stdout=out, stderr=subprocess.STDOUT)
        try:
            peak = 0
            while process.poll() is None:
                peak = max(peak, tree_rss(process.pid))
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
        finally:
            if process.poll() is None:  # interrupted: the import does not outlive the bench
                process.kill()
                process.wait()
    output = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return elapsed, peak, process.returncode, (output[0] if output else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text-mb", type=float, default=50)
    parser.add_argument("--xlsx-mb", type=float, default=20)
    parser.add_argument("--hostile-mb", type=float, default=5)
    parser.add_argument("--keep", type=Path, help="write the documents here and keep them")
    add_runs_option(parser, 1, "imports of each document, each into a fresh database")
    add_database_options(parser)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="taskbot-limits-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        text, hostile, workbook = work / "工作要点.txt", work / "无任务.txt", work / "任务清单.xlsx"
        write_text(text, args.text_mb)
        write_hostile(hostile, args.hostile_mb)
        rows = write_xlsx(workbook, args.xlsx_mb)
        for label, path in ((f"text document, {text.stat().st_size / 1e6:.1f} MB", text),
                            (f"text without tasks, {hostile.stat().st_size / 1e6:.1f} MB", hostile),
                            (f"XLSX, {workbook.stat().st_size / 1e6:.1f} MB, {rows} rows", workbook)):
            seconds, peaks, outcomes = [], [], set()
            for _ in range(args.runs):
                with scratch_database("limits", args.backend, args.postgres) as url:
                    elapsed, peak, code, first = measure(path, url, work / f"{path.stem}.out")
                seconds.append(elapsed)
                peaks.append(peak)
                outcomes.add((code, first[:160]))
            print(f"{label}: {best_median(seconds, digits=1)}; peak RSS (import and reader) "
                  f"{best_median(peaks, 'MiB', 2**-20, 0)}", flush=True)
            for code, first in sorted(outcomes):  # one line unless the runs disagree
                print(f"  exit {code}: {first}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run(main)
