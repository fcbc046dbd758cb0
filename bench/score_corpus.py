"""How well the importer and the deadline reader do on real documents they were not written for.

    .venv/bin/python bench/score_corpus.py [--corpus tests/corpus] [--documents-only | --phrases-only] [--verbose]

Documents (``tests/corpus/documents/*/``): each ``source.txt`` is read as an office would import it
(the deadlines' year from its key, a unit directory that knows none of its units), and compared with
its hand-written ``key.toml``:
- task recall: key tasks found among the items read (an item matches a task when its text, white
  space removed, contains the key's text; each item matches one task at most);
- unit exactness: key tasks found with exactly the key's units, in its order;
- deadline exactness: key tasks found with the key's deadline (a date; "ongoing" and "" mean none).
A document the importer refuses scores 0 on all three. Figures per document, then over all key tasks.
An undated document (key year 0) must make the importer ask for --year; it is then read with a stand-in
year, and its deadlines are left out of deadline exactness (the key cannot date them either).

Phrases (``tests/corpus/phrases/*.tsv``): each labelled phrase through ``read_deadline`` with its
context's year; a phrase is right when the date (or "ongoing" / recurrence / "unknown" as nothing
read) is the label's. Phrases whose context is an issue date are read with that date's year.
"""

from __future__ import annotations

import argparse
import csv
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tasks.plan.deadlines import read_deadline
from tasks.plan.importer import DocumentError, parse_file
from tasks.plan.parsed import Item
from tasks.plan.units import UnitDirectory
from tasks.text import compact

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
        wanted = compact(task["text"])
        match = next((item for item in unused if wanted and wanted in compact(item.text)), None)
        if match is None:
            continue
        unused.remove(match)
        score.found += 1
        score.units_right += [compact(u) for u in match.units_as_written] == [compact(u) for u in task["units"]]
        got = match.deadline.isoformat() if match.deadline else ""
        score.deadlines_right += got == expected_deadline(task.get("deadline", ""))
    score.extra_items = len([item for item in unused if item.units])
    return score


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "  - "


def score_documents(corpus: Path, verbose: bool) -> None:
    scores = [score_document(folder) for folder in sorted((corpus / "documents").iterdir()) if folder.is_dir()]
    print(f"{'document':40} tasks  recall  units  deadlines  extra")
    for s in scores:
        note = f"  refused: {s.refused[:60]}" if s.refused else ""
        print(f"{s.slug:40} {s.tasks:5}  {ratio(s.found, s.tasks):>6}  {ratio(s.units_right, s.tasks):>5}  "
              f"{ratio(s.deadlines_right, s.tasks) if not s.asked_year else 'n/a':>9}  {s.extra_items:5}"
              f"{note if verbose or s.refused else ''}")
    total = sum(s.tasks for s in scores)
    dated = [s for s in scores if not s.asked_year and not s.refused.startswith("导入了没有年份")]
    imported = sum(1 for s in scores if not s.refused)
    print(f"\n{len(scores)} documents, {imported} imported, {total} key tasks: "
          f"task recall {ratio(sum(s.found for s in scores), total)}, "
          f"unit exactness {ratio(sum(s.units_right for s in scores), total)}, "
          f"deadline exactness {ratio(sum(s.deadlines_right for s in dated), sum(s.tasks for s in dated))} "
          f"(over the {len(dated)} documents that give their year; the {len(scores) - len(dated)} undated ones "
          f"{'all ask' if all(s.asked_year for s in scores if s not in dated) else 'do not all ask'} for --year)")


def reading_of(phrase: str, year: int) -> str:
    reading = read_deadline(phrase, year)
    if reading.deadline:
        return reading.deadline.isoformat()
    if reading.recurrence:
        return f"recurring:{reading.recurrence}"
    if reading.understood and reading.note:
        return "ongoing"
    return "unknown"


def score_phrases(corpus: Path, verbose: bool) -> None:
    rows = []
    for path in sorted((corpus / "phrases").glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as file:
            rows += [row for row in csv.DictReader(file, delimiter="\t") if row.get("phrase")]
    right = 0
    for row in rows:
        year = int(re.search(r"\d{4}", row["context"]).group()) if re.search(r"\d{4}", row["context"]) else 0
        got = reading_of(row["phrase"], year) if year else "unknown"
        right += got == row["expected"]
        if verbose and got != row["expected"]:
            print(f"  {row['phrase']!r:40} expected {row['expected']:22} read {got}")
    print(f"{len(rows)} labelled phrases: read right {ratio(right, len(rows))} ({right})")


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
