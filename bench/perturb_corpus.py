"""How the importer holds up when the corpus's documents come as other conversions write them.

    .venv/bin/python bench/perturb_corpus.py [--corpus tests/corpus] [--only NAME ...] [--verbose]

The same real documents reach offices through different converters: a Word file saved as text with
Windows line ends, a web page copied with an empty line after every paragraph, a PDF whose lines
are cut at the column's width, a repost in traditional characters, a text whose punctuation is
half-width. None of these changes what the document says, so each should read as the original does.
Each variant here is made from every ``source.txt`` (and, for traditional characters, from its key
as well, since the importer gives names back as the document writes them) and scored exactly as
``score_corpus.py`` scores the corpus; the figures are printed beside the original's, and
``--verbose`` names the documents that read worse than their original.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

from score_corpus import CORPUS, DocumentScore, ratio, score_document, totals

from tasks.script import to_traditional
from tasks.text import cut_at_width

# How wide a PDF's text column is, in Chinese characters, for the hard-wrapped variant.
PDF_COLUMN = 34


def windows_line_ends(text: str) -> str:
    return text.replace("\n", "\r\n")


def empty_line_after_each(text: str) -> str:
    return "\n\n".join(text.split("\n"))


def indented(text: str) -> str:
    # Two ideographic spaces open a paragraph in most Chinese official documents.
    return "\n".join(f"\u3000\u3000{line}" if line.strip() else line for line in text.split("\n"))


# Lines a PDF would not give as running prose: table rows, and a web page's cells or labels laid out
# with spaces on one line ("整改责任单位:县市场监督管理局 整改时限:…").
_TABLE_LINE = re.compile(r"\||\t|┃|│|(?:\S\s+\S.*){3}")


def hard_wrapped(text: str) -> str:
    """Lines of prose cut where they reach the column's width, as a PDF's text layer gives them (a
    Chinese character is two columns wide, a digit or a half-width comma one; table rows are kept)."""
    return "\n".join(piece for line in text.split("\n")
                     for piece in ([line] if _TABLE_LINE.search(line) else cut_at_width(line, PDF_COLUMN * 2)))


def tab_separated(text: str) -> str:
    """A table's rows with tabs between their cells instead of "|", as a Word file saved as text
    gives them (a line of one cell, as a web page's table flattened one cell per line, is kept)."""
    def row(line: str) -> str:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        return "\t".join(cells) if sum(1 for cell in cells if cell) >= 2 else line
    return "\n".join(row(line) if "|" in line else line for line in text.split("\n"))


_NUMBERED = re.compile(r"^(\s*)(\d{1,2})[.．、]", re.MULTILINE)
_PERIOD_NUMBERS = "⒈⒉⒊⒋⒌⒍⒎⒏⒐⒑⒒⒓⒔⒕⒖⒗⒘⒙⒚⒛"


def other_numbering(text: str) -> str:
    """Items numbered "1、" where the document wrote "1." (and the other way round)."""
    return _NUMBERED.sub(lambda m: f"{m[1]}{m[2]}{'、' if text[m.end() - 1] in '.．' else '.'}", text)


def pdf_numbering(text: str) -> str:
    """Items numbered with the one-character "⒈" a PDF's text layer often gives for "1."."""
    def glyph(match: re.Match[str]) -> str:
        number = int(match[2])
        return match[1] + (_PERIOD_NUMBERS[number - 1] if 1 <= number <= 20 else match[0][len(match[1]):])
    return _NUMBERED.sub(glyph, text)


def pdf_text(text: str) -> str:
    """As ``pdftotext`` gives a PDF: each paragraph's first line indented, every line cut at the width."""
    return hard_wrapped(indented(text))


_HALF_WIDTH = str.maketrans({"，": ",", "；": ";", "：": ":", "（": "(", "）": ")", "！": "!", "？": "?"})


def half_width_punctuation(text: str) -> str:
    return text.translate(_HALF_WIDTH)


VARIANTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "crlf": ("Windows line ends", windows_line_ends),
    "spaced": ("an empty line after every line", empty_line_after_each),
    "indented": ("paragraphs opened with two ideographic spaces", indented),
    "wrapped": (f"prose cut at {PDF_COLUMN} characters' width", hard_wrapped),
    "pdf": ("prose indented, then cut at the width", pdf_text),
    "traditional": ("traditional characters (text and key)", to_traditional),
    "half-width": ("half-width punctuation", half_width_punctuation),
    "tabs": ("tabs between a table's cells instead of |", tab_separated),
    "numbering": ("items numbered 1、 for 1. and 1. for 1、", other_numbering),
    "pdf-numbering": ("items numbered ⒈ ⒉ ⒊ as a PDF gives them", pdf_numbering),
}


def applies(folder: Path, name: str) -> bool:
    """A PDF's text layer wraps prose; a table flattened to lines or a page's HTML comes from a web
    page or a Word file, which do not, so the wrapped variant is made of documents of prose only."""
    if name not in ("wrapped", "pdf"):
        return True
    shapes = tomllib.loads((folder / "key.toml").read_text(encoding="utf-8"))["document"].get("shapes", [])
    return "table-lines" not in shapes and "</p>" not in (folder / "source.txt").read_text(encoding="utf-8")


def score_variant(folder: Path, change: Callable[[str], str], scratch: Path) -> DocumentScore:
    copy = scratch / folder.name
    copy.mkdir(exist_ok=True)
    source = (folder / "source.txt").read_text(encoding="utf-8")
    (copy / "source.txt").write_text(change(source), encoding="utf-8", newline="")
    key = (folder / "key.toml").read_text(encoding="utf-8")
    (copy / "key.toml").write_text(to_traditional(key) if change is to_traditional else key, encoding="utf-8")
    return score_document(copy)


def figures(scores: list[DocumentScore]) -> str:
    t = totals(scores)
    return (f"{t.imported:4} imported  recall {ratio(t.found, t.tasks, 3)}  units {ratio(t.units_right, t.tasks, 3)}  "
            f"deadlines {ratio(t.deadlines_right, t.dated_tasks, 3)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), default=sorted(VARIANTS))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    folders = sorted(f for f in (args.corpus / "documents").iterdir() if f.is_dir())
    original = {folder.name: score_document(folder) for folder in folders}
    print(f"{len(folders)} documents, {sum(s.tasks for s in original.values())} key tasks\n")
    print(f"{'as published':44} {figures(list(original.values()))}")
    for name in args.only:
        title, change = VARIANTS[name]
        chosen = [folder for folder in folders if applies(folder, name)]
        with tempfile.TemporaryDirectory() as scratch:
            scores = [score_variant(folder, change, Path(scratch)) for folder in chosen]
        if len(chosen) < len(folders):
            as_published = figures([original[folder.name] for folder in chosen])
            print(f"{'  (the ' + str(len(chosen)) + ' prose documents as published)':44} {as_published}")
        print(f"{title:44} {figures(scores)}")
        if args.verbose:
            for score in scores:
                before = original[score.slug]
                worse = (score.found, score.units_right, score.deadlines_right) < (
                    before.found, before.units_right, before.deadlines_right)
                if worse or (score.refused and not before.refused):
                    print(f"    {score.slug:40} tasks {before.found}->{score.found}  units {before.units_right}->"
                          f"{score.units_right}  deadlines {before.deadlines_right}->{score.deadlines_right}"
                          f"{'  refused: ' + score.refused[:50] if score.refused else ''}")


if __name__ == "__main__":
    main()
