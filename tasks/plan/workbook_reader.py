"""Reading an Excel workbook in a child process with a memory ceiling and a time limit.

calamine is fast native code, and a damaged or hostile file (.xls above all) can make it panic,
abort the process on a failed allocation, or ask for all the memory the machine has: seen with
truncated and garbled copies of a real task list. The child limits its own address space before
it opens the file; whatever becomes of it, the import gets the sheets or a DocumentError.

    python -m tasks.plan.workbook_reader PATH PARENT_PID  ->  {"sheets": [[name, [[cell, …], …]], …]} or {"error": "…"}

The ceiling is 2 GiB of address space unless TASKBOT_WORKBOOK_MEMORY_BYTES says otherwise.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
from datetime import date, datetime, time
from pathlib import Path

from tasks.text import without_nul

# Bytes of address space for the child: a 100,000-row task list needs a fraction of the default.
MEMORY_CEILING = int(os.environ.get("TASKBOT_WORKBOOK_MEMORY_BYTES", 2 << 30))
TIME_LIMIT_SECONDS = 120
# Cells (from A1 to the last used cell, as the reader returns them) a workbook may hold: 100,000
# task rows of 6 columns and the rows above them. Everything the import builds grows with them:
# 190,000 rows (1.1 million cells) took 105 s and 1.3 GB (bench/bench_limits.py --xlsx-mb 8.5),
# and the 450,000 rows of a 20 MB task list would take more; both are refused.
MAX_CELLS = int(os.environ.get("TASKBOT_WORKBOOK_MAX_CELLS", 620_000))
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def read_workbook(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Every sheet's cells as text, read by a fenced child process."""
    from tasks.plan.workplan import DocumentError  # here: the child imports this module, and needs nothing else

    child = subprocess.Popen([sys.executable, "-m", __name__, str(path), str(os.getpid())],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, _stderr = child.communicate(timeout=TIME_LIMIT_SECONDS)
    except subprocess.TimeoutExpired as error:
        raise DocumentError(f"无法打开表格文件：读取超过 {TIME_LIMIT_SECONDS} 秒（文件可能已损坏）") from error
    finally:
        # Whatever ends the wait (the time limit, Ctrl-C, an error here), the reader ends with it:
        # it would otherwise go on using its memory ceiling for an import nobody waits for.
        _end(child)
    try:
        answer = json.loads(stdout)
    except ValueError:  # the child died: killed, aborted, out of memory
        raise DocumentError(
            f"无法打开表格文件：文件已损坏或过大，读取时出错退出（退出码 {child.returncode}）") from None
    if "refused" in answer:
        raise DocumentError(answer["refused"])
    if "error" in answer:
        raise DocumentError(f"无法打开表格文件：{answer['error']}")
    return [(name, rows) for name, rows in answer["sheets"]]


def _end(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the import that started it dies, even by SIGKILL, which
    gives the import no chance to end it. If the import died before the request, it is too late
    to be told: the child has been handed to another parent, and leaves by itself."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def cell_text(value: object) -> str:
    """A cell as the person who typed it sees it: 序号 1 not 1.0, a date cell as 2021-08-31."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return without_nul(str(value)).strip()  # a NUL kept would import on SQLite and not on PostgreSQL


# How each kind of workbook file begins: .xlsx, .xlsm and .ods are ZIP archives, .xls an OLE2 compound file.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _read(path: str) -> list[tuple[str, list[list[str]]]]:
    from python_calamine import CalamineWorkbook

    with open(path, "rb") as file:
        magic = file.read(8)
    zipped = Path(path).suffix.lower() in (".xlsx", ".xlsm", ".ods")
    if magic.startswith(ZIP_MAGIC) == zipped and magic.startswith(OLE_MAGIC) != zipped:
        workbook = CalamineWorkbook.from_path(path)
    elif magic.startswith((ZIP_MAGIC, OLE_MAGIC)):
        # Saved as .xlsx and renamed .xls (or the other way round), as offices do: calamine picks
        # its reader by the name, and would refuse a good file, so it is read by its content.
        with open(path, "rb") as file:
            workbook = CalamineWorkbook.from_filelike(file)
    else:
        raise ValueError(f"“{Path(path).name}”的内容不是 Excel 工作簿（.xlsx 或 .xls）；"
                         "请在 Excel 中另存为 .xlsx 后再导入")
    # Counted from each sheet's extent before any cell becomes a Python object: an empty cell
    # far down or to the right (XFD1048576) makes a grid of billions.
    cells = 0
    for name in workbook.sheet_names:
        end = workbook.get_sheet_by_name(name).end
        cells += (end[0] + 1) * (end[1] + 1) if end else 0
    if cells > MAX_CELLS:
        raise TooLargeError(f"表格共 {cells:,} 个单元格，超过一次导入的上限 {MAX_CELLS:,} 个，请拆分成几个文件分别导入")
    # From A1, empty leading rows included, so that row numbers match what Excel shows. Formulas
    # come as their last computed values, as the office saw them.
    return [(name, [[cell_text(v) for v in row]
                    for row in workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)])
            for name in workbook.sheet_names]


class TooLargeError(ValueError):
    """A workbook too large to import at once."""


def main() -> None:
    _die_with_parent(int(sys.argv[2]))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CEILING, MEMORY_CEILING))
    try:
        answer: dict[str, object] = {"sheets": _read(sys.argv[1])}
    except (KeyboardInterrupt, SystemExit):
        raise
    except TooLargeError as error:  # the file is sound: its sentence is said as it is
        answer = {"refused": str(error)}
    except BaseException as error:  # a Rust panic arrives as pyo3's PanicException, a BaseException
        answer = {"error": str(error)[:300] or type(error).__name__}
    # UTF-8 bytes, whatever the locale: a third the size of ASCII escapes for Chinese text.
    # (A lone surrogate, from a file name that is not UTF-8, becomes its JSON escape.)
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8", "backslashreplace"))


if __name__ == "__main__":
    main()
