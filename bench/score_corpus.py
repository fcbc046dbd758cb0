"""How well the importer and the deadline reader do on real documents they were not written for.

    .venv/bin/python bench/score_corpus.py [--corpus tests/corpus] [--documents-only | --phrases-only] [--verbose]

Documents (``tests/corpus/documents/*/``): each ``source.txt`` is read as an office would import it
(the deadlines' year from its key, a unit directory that knows none of its units), and compared with
its hand-written ``key.toml``:
- task recall: key tasks found among the items read (an item matches a task when its text, white
  space removed, contains the key's text; each item matches one task at most, and of several items
  that hold a task's words the one that agrees best with the key is taken); a key copies a
  mirrored page's pinyin glosses ("責(zé)任") as stored, and they are left out of the comparison,
  since the importer drops them;
- unit exactness: key tasks found with exactly the key's units, in its order;
- deadline exactness: key tasks found with the key's deadline (a date; "ongoing" and "" mean none).
A document the importer refuses scores 0 on all three. Figures per document, then over all key tasks.
An undated document (key year 0) must make the importer ask for --year; it is then read with a stand-in
year, and its deadlines are left out of deadline exactness (the key cannot date them either).

Phrases (``tests/corpus/phrases/*.tsv``): each labelled phrase through ``read_deadline`` with what its
context gives: ``document:<year>`` the plan year alone, ``document:<issue date>`` that year and the issue
date as the reference day relative phrases count from (``document:0``: nothing, so nothing is read).
A phrase is right when what is read is the label: the deadline's date, or when there is none the start's
("5月底前动工", "从2022年3月起" are labelled with the date work begins), "ongoing" for a phrase read as
having no fixed date, "recurring:<cycle>", or "unknown" for a phrase not understood. The figure is split
by kind of label (date, ongoing, recurring, unknown), and --verbose lists every miss.

JioNLP as a peer, on the same phrases: ``jionlp.parse_time(phrase, time_base=...)``, given what we are
given: ``{"year": Y}`` for a year alone (JioNLP's own way of saying only the year is known; it then
refuses phrases that need a day, as we do), ``{"year", "month", "day"}`` of the issue date when there is
one, and no call at all for ``document:0``. Its answer is mapped to the same labels:
- ``time_point`` / ``time_span``: the date of its end time (``"2022-12-31 23:59:59"`` → 2022-12-31),
  whatever the start; an end of ``inf`` (open towards the future) counts as "ongoing";
- ``time_period`` (its recurring times): ``recurring:<cycle>`` from its ``delta``: 1 day daily, 7 days or
  1 week weekly, 1 month monthly, 2 months bimonthly, 3 months or 1 quarter quarterly, 6 months
  half-yearly, 1 year yearly (any other delta is a cycle no label has);
- ``time_delta`` (a duration without a date, "为期一年"), an exception, or no answer: "unknown".
JioNLP is a large install (a word segmenter's model and numpy), so it is not in the lock; without it
the bench says how to add it and prints our figure alone.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import re
import tempfile
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tasks.plan.deadlines import read_deadline
from tasks.plan.importer import DocumentError, parse_file
from tasks.plan.parsed import Item
from tasks.plan.units import UnitDirectory
from tasks.text import compact, without_pinyin_glosses

# The year an office gives with --year for an undated document.
STAND_IN_YEAR = 2000
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"


@dataclass
class DocumentScore:
    slug: str
    tasks: int
    found: int = 0
    units_right: int = 0
    deadlines_right: int = 0
    refused: str = ""
    extra_items: int = 0
    asked_year: bool = False  # an undated document, for which the importer asked for --year


def expected_deadline(label: str) -> str:
    return label if re.fullmatch(r"\d{4}-\d{2}-\d{2}", label) else ""


def key_form(written: str) -> str:
    """A key's words as the importer gives them back: white space aside, and without the pinyin
    glosses a mirrored page printed after some characters (the key copies them as stored)."""
    return compact(without_pinyin_glosses(written))


def score_document(folder: Path) -> DocumentScore:
    key = tomllib.loads((folder / "key.toml").read_text(encoding="utf-8"))
    tasks = key.get("task", [])
    score = DocumentScore(folder.name, len(tasks))
    year = key["document"].get("year") or None
    directory = UnitDirectory(district=key["document"].get("place", ""))
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "source.txt"
        source.write_bytes((folder / "source.txt").read_bytes())
        try:
            if year is None:
                # Undated: the importer must ask for the year; the office then gives one.
                try:
                    parse_file(source, directory)
                    score.refused = "导入了没有年份的文档，没有要求 --year"
                    return score
                except DocumentError as error:
                    if "--year" not in str(error):
                        raise
                    score.asked_year = True
            plan = parse_file(source, UnitDirectory(district=directory.district), year=year or STAND_IN_YEAR)
        except DocumentError as error:
            score.refused = str(error)
            return score
    items: list[Item] = [item for item in plan.items if item.kind in ("task", "project", "workpoint")]
    unused = list(items)
    for task in tasks:
        wanted = key_form(task["text"])
        units = [key_form(u) for u in task["units"]]
        deadline = expected_deadline(task.get("deadline", ""))

        # Of the items that hold the task's words (a document may say a task twice, as a work point
        # and as a row of its table), the one that agrees best with the key, the first of equals.
        candidates = [item for item in unused if wanted and wanted in compact(item.text)]
        if not candidates:
            continue
        match = max(candidates, key=lambda item: sum(_agreement(item, units, deadline)))
        unused.remove(match)
        score.found += 1
        units_right, deadline_right = _agreement(match, units, deadline)
        score.units_right += units_right
        score.deadlines_right += deadline_right
    score.extra_items = len([item for item in unused if item.units])
    return score


def _agreement(item: Item, units: list[str], deadline: str) -> tuple[bool, bool]:
    """Whether an item has the key's units, in order, and its deadline."""
    return ([compact(u) for u in item.units_as_written] == units,
            (item.deadline.isoformat() if item.deadline else "") == deadline)


def ratio(part: int, whole: int, places: int = 2) -> str:
    # Three places for the totals: two would round a figure just under a target up to it (0.976 to 0.98).
    return f"{part / whole:.{places}f}" if whole else "  - "


def score_documents(corpus: Path, verbose: bool) -> None:
    scores = [score_document(folder) for folder in sorted((corpus / "documents").iterdir()) if folder.is_dir()]
    print(f"{'document':40} tasks  recall  units  deadlines  extra")
    for s in scores:
        note = f"  refused: {s.refused[:60]}" if s.refused else ""
        print(f"{s.slug:40} {s.tasks:5}  {ratio(s.found, s.tasks):>6}  {ratio(s.units_right, s.tasks):>5}  "
              f"{ratio(s.deadlines_right, s.tasks) if not s.asked_year else 'n/a':>9}  {s.extra_items:5}"
              f"{note if verbose or s.refused else ''}")
    t = totals(scores)
    print(f"\n{len(scores)} documents, {t.imported} imported, {t.tasks} key tasks: "
          f"task recall {ratio(t.found, t.tasks, 3)} ({t.found}), "
          f"unit exactness {ratio(t.units_right, t.tasks, 3)} ({t.units_right}), "
          f"deadline exactness {ratio(t.deadlines_right, t.dated_tasks, 3)} ({t.deadlines_right}/{t.dated_tasks}) "
          f"(over the {len(t.dated)} documents that give their year; the {len(scores) - len(t.dated)} undated ones "
          f"{'all ask' if all(s.asked_year for s in scores if s not in t.dated) else 'do not all ask'} for --year)")


@dataclass
class Totals:
    imported: int
    tasks: int
    found: int
    units_right: int
    dated: list[DocumentScore]  # the documents that give their year: their deadlines are scored
    dated_tasks: int
    deadlines_right: int


def totals(scores: list[DocumentScore]) -> Totals:
    """The figures over every key task (deadlines over the documents that give their year)."""
    dated = [s for s in scores if not s.asked_year and not s.refused.startswith("导入了没有年份")]
    return Totals(imported=sum(1 for s in scores if not s.refused), tasks=sum(s.tasks for s in scores),
                  found=sum(s.found for s in scores), units_right=sum(s.units_right for s in scores),
                  dated=dated, dated_tasks=sum(s.tasks for s in dated),
                  deadlines_right=sum(s.deadlines_right for s in dated))


def reading_of(phrase: str, year: int, reference: date | None) -> str:
    reading = read_deadline(phrase, year, reference=reference)
    if reading.deadline or reading.start:
        return (reading.deadline or reading.start).isoformat()
    if reading.recurrence:
        return f"recurring:{reading.recurrence}"
    if reading.understood and reading.note:
        return "ongoing"
    return "unknown"


_JIO_CYCLES = {(("day", 1),): "daily", (("day", 7),): "weekly", (("week", 1),): "weekly",
               (("month", 1),): "monthly", (("month", 2),): "bimonthly", (("month", 3),): "quarterly",
               (("quarter", 1),): "quarterly", (("month", 6),): "half-yearly", (("year", 1),): "yearly"}


def jionlp_reading_of(jio, phrase: str, year: int, reference: date | None) -> str:
    """JioNLP's answer mapped to our labels, as the module docstring says."""
    time_base = ({"year": reference.year, "month": reference.month, "day": reference.day} if reference
                 else {"year": year})
    try:
        answer = jio.parse_time(phrase, time_base=time_base)
    except Exception:  # JioNLP refuses what it cannot read by raising, of many kinds
        return "unknown"
    if not answer:
        return "unknown"
    kind, when = answer.get("type"), answer.get("time")
    if kind in ("time_point", "time_span") and isinstance(when, list) and len(when) == 2:
        end = str(when[1])
        if end == "inf":
            return "ongoing"
        return end[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", end) else "unknown"
    if kind == "time_period" and isinstance(when, dict):
        delta = tuple(sorted((k, v) for k, v in (when.get("delta") or {}).items() if v))
        cycle = _JIO_CYCLES.get(delta)
        return f"recurring:{cycle}" if cycle else f"recurring:{delta}"
    return "unknown"


def load_jionlp():
    """JioNLP, or None with the line that says how to install it."""
    try:
        # Optional and large, so loaded only here; it prints a banner on import, and logs a traceback
        # for every phrase it refuses, which would bury the figures.
        with contextlib.redirect_stdout(io.StringIO()):
            import jionlp
    except ImportError:
        print("JioNLP is not installed, so its figure is left out: "
              ".venv/bin/python -m pip install --no-build-isolation -e '.[bench]' (about 250 MB)")
        return None
    logging.getLogger().setLevel(logging.CRITICAL)
    return jionlp


def kind_of(label: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", label):
        return "date"
    return label.split(":")[0]


def context_of(context: str) -> tuple[int, date | None]:
    """The plan year and the reference day a phrase's context gives (0 and None when none)."""
    if m := re.search(r"(\d{4})-(\d{2})-(\d{2})", context):
        day = date(int(m[1]), int(m[2]), int(m[3]))
        return day.year, day
    m = re.search(r"\d{4}", context)
    return (int(m.group()), None) if m else (0, None)


def undated(read, phrase: str) -> str:
    readings = {read(phrase, stand_in, None) for stand_in in (2001, 2002)}
    return readings.pop() if len(readings) == 1 else "unknown"


def score_phrases(corpus: Path, verbose: bool) -> None:
    rows = []
    for path in sorted((corpus / "phrases").glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as file:
            rows += [row for row in csv.DictReader(file, delimiter="\t") if row.get("phrase")]
    jio = load_jionlp()
    readers = {"taskbot": lambda phrase, year, reference: reading_of(phrase, year, reference)}
    if jio is not None:
        readers["JioNLP"] = lambda phrase, year, reference: jionlp_reading_of(jio, phrase, year, reference)
    kinds = sorted({kind_of(row["expected"]) for row in rows})
    for name, read in readers.items():
        right: Counter[str] = Counter()
        total: Counter[str] = Counter(kind_of(row["expected"]) for row in rows)
        misses = []
        for row in rows:
            year, reference = context_of(row["context"])
            # An undated document's phrase is read as the importer reads it, with a stand-in year; what
            # depends on that year ("10月底前") counts as not read, what does not ("持续推进") is kept.
            got = read(row["phrase"], year, reference) if year else undated(read, row["phrase"])
            if got == row["expected"]:
                right[kind_of(row["expected"])] += 1
            else:
                misses.append(f"  {row['phrase']!r:40} expected {row['expected']:22} read {got}")
        by_kind = ", ".join(f"{kind} {ratio(right[kind], total[kind], 3)} ({right[kind]}/{total[kind]})"
                            for kind in kinds)
        print(f"{name}: {len(rows)} labelled phrases: read right {ratio(sum(right.values()), len(rows), 3)} "
              f"({sum(right.values())}); by kind: {by_kind}")
        if verbose:
            print("\n".join(misses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--documents-only", action="store_true")
    parser.add_argument("--phrases-only", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if not args.phrases_only:
        score_documents(args.corpus, args.verbose)
    if not args.documents_only:
        print()
        score_phrases(args.corpus, args.verbose)


if __name__ == "__main__":
    main()
