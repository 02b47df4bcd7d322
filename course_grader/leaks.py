"""Find assignment answers where students can see them: the site, the release, feedback.

The secrets come from the nbgrader source notebooks under ``solutions/``:

* **solution** blocks: the lines between ``BEGIN SOLUTION`` and ``END SOLUTION`` markers, and
  the whole source of a solution cell without markers (nbgrader replaces such a cell, e.g. a
  written answer, by its stub);
* **hidden** blocks: the lines between ``BEGIN HIDDEN TESTS`` and ``END HIDDEN TESTS``;
* the **markers** themselves (a comment ``#`` followed by one of those four phrases): they exist
  only in the source, so any copy of one is a copy of the source.

A *leak* is a run of ``min_run`` (3) or more consecutive non-trivial lines of one block found
in a scanned file, or a marker. A line that a chapter legitimately teaches may appear alone;
a block may not.

Lines are compared **whitespace-normalised**: every space, tab and newline is removed, so
re-indenting a block or writing ``a=b`` for ``a = b`` does not hide it. **Trivial** lines are
left out on both sides before runs are formed (so a comment or a blank line slipped between
copied lines does not hide them either). A line is trivial when it carries no answer:

* blank, or a comment (``# ...``; markers are checked separately);
* an import (``import x``, ``from x import y``): a chapter imports the same modules;
* at most one name or number besides Python keywords and punctuation: ``pass``, ``else:``,
  ``return x``, ``)``, a lone triple quote, ``raise NotImplementedError()``, ``@property``;
* public: the line appears outside every secret region of the source notebooks (given code,
  visible tests, instructions): students see it in the release anyway.

Scanned files: ``.html .htm .ipynb .json .js .txt .md .py .csv .log`` (others are skipped).
HTML is reduced to its text (tags dropped, entities decoded: highlighted code keeps its lines);
notebooks and JSON to their strings in order; in ``.js``/``.json`` an escaped ``\\n`` also
ends a line.

Feedback shows a student's own code, which may rightly equal the reference answer (the
reference submission, a mutant that differs in one cell). So, by default, a file inside a
directory named ``feedback`` is checked for hidden tests and hidden markers only; every
other file for everything. Pass ``kinds`` to choose explicitly.

Command line: ``python -m course_grader.leaks PATH... [--solutions DIR]`` exits 1 on a leak.
"""
from __future__ import annotations

import argparse
import html
import json
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .notebooks import grade_id, is_solution_cell


KINDS = ("solution", "hidden")
SCANNED_SUFFIXES = {".html", ".htm", ".ipynb", ".json", ".js", ".txt", ".md", ".py", ".csv", ".log"}

_DELIMITERS = {"BEGIN SOLUTION": ("solution", True), "END SOLUTION": ("solution", False),
               "BEGIN HIDDEN TESTS": ("hidden", True), "END HIDDEN TESTS": ("hidden", False)}
_MARKER = re.compile(r"#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN\s+TESTS)\b")
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|\S")
_IMPORT = re.compile(r"^(import\s+[\w.]+|from\s+[\w.]+\s+import\s)")
_TAG = re.compile(r"<[^>]*>", re.S)
_DROPPED_ELEMENTS = re.compile(r"<(style)\b.*?</\1\s*>", re.S | re.I)
_WHITESPACE = re.compile(r"\s+")
_WORDS_THAT_SAY_NOTHING = set(keyword.kwlist) | {"self", "cls"}


def normalise(line: str) -> str:
    """The comparison key of a line: all whitespace removed."""
    return _WHITESPACE.sub("", line)


def is_trivial(line: str) -> bool:
    """True for a line that carries no answer by itself (see the module docstring)."""
    text = line.strip()
    if not text or text.startswith("#") or _IMPORT.match(text):
        return True
    words = [t for t in _TOKEN.findall(text) if (t[0].isalnum() or t[0] == "_")
             and t not in _WORDS_THAT_SAY_NOTHING]
    return len(words) <= 1


@dataclass(frozen=True)
class Block:
    """One secret region of a source notebook."""
    kind: str            # "solution" or "hidden"
    origin: str          # e.g. "solutions/a1_vgg/a1_vgg.ipynb, cell make_features"
    lines: tuple         # the region's lines as written


@dataclass(frozen=True)
class Leak:
    path: str
    line: int            # 1-based line in the file's extracted text
    kind: str            # "solution", "hidden" or "marker"
    origin: str          # which block it copies, or which marker
    excerpt: tuple = ()  # the matching lines as found

    def __str__(self) -> str:
        shown = "\n".join(f"      {x.strip()}" for x in self.excerpt[:6])
        return f"{self.path}:{self.line}: {self.kind} from {self.origin}" + (f"\n{shown}" if shown else "")


def _cell_blocks(cell: dict, origin: str) -> tuple[list[Block], list[str]]:
    """The secret blocks of one cell and its public lines."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    lines = source.splitlines()
    blocks, public, current, region = [], [], None, []
    for line in lines:
        delimiter = next((d for d in _DELIMITERS if d in line), None)
        if delimiter:
            kind, begins = _DELIMITERS[delimiter]
            if begins:
                current, region = kind, []
            elif current is not None:
                blocks.append(Block(current, origin, tuple(region)))
                current = None
            continue
        (region if current else public).append(line)
    if current is not None:   # unterminated region: nbgrader refuses it, we keep it secret
        blocks.append(Block(current, origin, tuple(region)))
    if is_solution_cell(cell) and not any(b.kind == "solution" for b in blocks):
        # nbgrader replaces an unmarked solution cell entirely (code or written answer)
        blocks.append(Block("solution", origin + " (whole cell)", tuple(lines)))
        public = []
    return blocks, public


@dataclass
class Secrets:
    """Every secret block of a set of source notebooks, indexed by runs of ``min_run`` lines."""
    blocks: list[Block]
    public: set[str]
    min_run: int = 3
    runs: dict[tuple[str, ...], Block] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for block in self.blocks:
            keys = self.significant(block.lines)
            for i in range(len(keys) - self.min_run + 1):
                self.runs.setdefault(tuple(k for _, k in keys[i:i + self.min_run]), block)

    @classmethod
    def from_notebooks(cls, paths, min_run: int = 3, root: Path | None = None) -> "Secrets":
        blocks, public = [], set()
        for path in paths:
            path = Path(path)
            nb = json.loads(path.read_text(encoding="utf8"))
            shown = _relative(path, root)
            for index, cell in enumerate(nb.get("cells", [])):
                cell_blocks, cell_public = _cell_blocks(cell, f"{shown}, cell {grade_id(cell) or index}")
                blocks += cell_blocks
                public.update(normalise(x) for x in cell_public)
        return cls(blocks, public, min_run)

    @classmethod
    def from_dir(cls, solutions_dir: Path, min_run: int = 3) -> "Secrets":
        solutions_dir = Path(solutions_dir)
        paths = sorted(p for p in solutions_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        return cls.from_notebooks(paths, min_run, root=solutions_dir.parent)

    def significant(self, lines) -> list[tuple[int, str]]:
        """(index, key) of the lines that count: non-trivial and not public."""
        keys = []
        for i, line in enumerate(lines):
            if is_trivial(line):
                continue
            key = normalise(line)
            if key not in self.public:
                keys.append((i, key))
        return keys

    @property
    def short_blocks(self) -> list[Block]:
        """Blocks with fewer than ``min_run`` significant lines: only their markers are caught."""
        return [b for b in self.blocks if len(self.significant(b.lines)) < self.min_run]

    def scan_text(self, text: str, path: str = "<text>", kinds=KINDS) -> list[Leak]:
        lines = text.splitlines()
        leaks = []
        for number, line in enumerate(lines, 1):
            match = _MARKER.search(line)
            if match:
                kind = "solution" if match.group(2) == "SOLUTION" else "hidden"
                if kind in kinds:
                    leaks.append(Leak(path, number, "marker", f"the {kind} marker {match.group(0)!r}", (line,)))
        keys = self.significant(lines)
        n, i = self.min_run, 0
        while i <= len(keys) - n:
            block = self.runs.get(tuple(k for _, k in keys[i:i + n]))
            if block is None or block.kind not in kinds:
                i += 1
                continue
            end = i + n   # extend over the following windows of the same block: one report
            while end < len(keys) and self.runs.get(tuple(k for _, k in keys[end - n + 1:end + 1])) is block:
                end += 1
            first, last = keys[i][0], keys[end - 1][0]
            leaks.append(Leak(path, first + 1, block.kind, block.origin, tuple(lines[first:last + 1])))
            i = end
        return leaks

    def scan_file(self, path: Path, kinds=None) -> list[Leak]:
        path = Path(path)
        if kinds is None:
            kinds = ("hidden",) if "feedback" in path.parts[:-1] else KINDS
        return self.scan_text(extract_text(path), str(path), kinds)


def _relative(path: Path, root: Path | None) -> str:
    try:
        return str(path.resolve().relative_to(Path(root).resolve())) if root else str(path)
    except ValueError:
        return str(path)


def _strings(node) -> list[str]:
    """The strings of a JSON document in order; a list of strings (notebook lines) joined."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        if node and all(isinstance(x, str) for x in node):
            return ["".join(node)]
        return [s for x in node for s in _strings(x)]
    if isinstance(node, dict):
        return [s for x in node.values() for s in _strings(x)]
    return []


def extract_text(path: Path) -> str:
    """The text a reader could see in a file, one source line per line."""
    path = Path(path)
    raw = path.read_text(encoding="utf8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return html.unescape(_TAG.sub("", _DROPPED_ELEMENTS.sub("", raw)))
    if suffix in (".ipynb", ".json"):
        try:
            raw = "\n".join(_strings(json.loads(raw)))
        except ValueError:
            pass
    if suffix in (".js", ".json"):
        raw = raw.replace("\\n", "\n")
    return raw


def files_under(paths) -> list[Path]:
    """The scannable files among ``paths`` (files, or directories searched recursively)."""
    found = []
    for path in map(Path, [paths] if isinstance(paths, (str, Path)) else paths):
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        found += [p for p in candidates if p.suffix.lower() in SCANNED_SUFFIXES]
    return found


def scan(paths, solutions_dir: Path, kinds=None, min_run: int = 3) -> tuple[list[Leak], int]:
    """All leaks in ``paths`` (files or directories), and how many files were scanned."""
    secrets = Secrets.from_dir(solutions_dir, min_run)
    if not secrets.blocks:
        raise ValueError(f"no solution or hidden-test blocks under {solutions_dir}: nothing to look for")
    files = files_under(paths)
    return [leak for f in files for leak in secrets.scan_file(f, kinds)], len(files)


def assert_no_leaks(paths, solutions_dir: Path, kinds=None, min_run: int = 3) -> int:
    """Raise ``AssertionError`` listing every leak in ``paths``; return the number of files scanned.

    ``kinds=None``: files inside a ``feedback`` directory are checked for hidden tests only,
    all others for solutions and hidden tests (see the module docstring).
    """
    leaks, scanned = scan(paths, solutions_dir, kinds, min_run)
    if not scanned:
        raise AssertionError(f"no files to scan in {paths}")
    if leaks:
        raise AssertionError(f"{len(leaks)} answer leak(s) in {scanned} scanned files: students would "
                             f"see the source of solutions/ or hidden tests:\n" + "\n".join(map(str, leaks)))
    return scanned


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_grader.leaks",
                                     description="Scan files for copies of assignment solutions and hidden tests.")
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--solutions", type=Path, default=Path("solutions"),
                        help="nbgrader source directory (default: ./solutions)")
    parser.add_argument("--min-run", type=int, default=3)
    args = parser.parse_args(argv)
    leaks, scanned = scan(args.paths, args.solutions, min_run=args.min_run)
    for leak in leaks:
        print(leak)
    print(f"{len(leaks)} leak(s) in {scanned} files")
    sys.exit(1 if leaks else 0)


if __name__ == "__main__":
    main()
