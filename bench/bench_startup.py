"""How fast ``taskbot`` starts for commands that need neither Telegram nor a database.

    .venv/bin/python bench/bench_startup.py [--repeat 10]

Runs ``taskbot --help`` and ``taskbot deadline 10月底前 --year 2021`` --repeat times each as a
process of its own and prints the best and the median wall time, beside those of a bare
``python -c pass`` (the floor no command goes under). Then runs each once under
``python -X importtime`` and names the heavy modules it imported that it should not have:
python-telegram-bot, the sandbox, SQLAlchemy and SQLModel; it exits
non-zero if there was one.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TASKBOT = str(Path(sys.executable).with_name("taskbot"))
COMMANDS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    # arguments, and the top-level modules that must not be imported for them
    "--help": (["--help"], ("telegram", "bot.sandbox", "sqlalchemy", "sqlmodel")),
    "deadline": (["deadline", "10月底前", "--year", "2021"], ("telegram", "bot.sandbox", "sqlalchemy", "sqlmodel")),
}


def wall_times_of(command: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def imported_modules(arguments: list[str]) -> set[str]:
    """Every module the command imported, read from ``-X importtime``'s report."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot.cli", *arguments],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
}


def forbidden_among(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in forbidden if any(m == name or m.startswith(f"{name}.") for m in modules))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    floor = wall_times_of([sys.executable, "-c", "pass"], args.repeat)
    print(f"{'python -c pass (the floor)':<40} best {min(floor):.3f} s  median {statistics.median(floor):.3f} s")
    failed = False
    for arguments, forbidden in COMMANDS.values():
        times = wall_times_of([TASKBOT, *arguments], args.repeat)
        found = forbidden_among(imported_modules(arguments), forbidden)
        failed = failed or bool(found)
        print(f"{'taskbot ' + ' '.join(arguments):<40} best {min(times):.3f} s  median {statistics.median(times):.3f} s"
              f"  ({args.repeat} runs)  "
              + (f"IMPORTED {', '.join(found)}" if found else f"none of {', '.join(forbidden)} imported"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
