"""What every chapter page must satisfy, as functions the chapter tests call.

Static checks read the committed notebook (code width, claims in the prose, exercises,
galleries, font sizes); the others read an executed notebook (figure widths, output heights).
Each returns the offending items, so that a test asserts the list is empty and shows them.
"""
from __future__ import annotations

import base64
import re
import struct
from pathlib import Path

import nbformat

from course_utils.plots import MIN_TEXT_PT, PAGE_WIDTH_IN

def _setup_cell() -> str:
    """The first cell of every chapter, its install line naming the repository of _config.yml."""
    from course_tools import repo_url
    spec = repo_url.install_spec(*repo_url.read_config(Path(__file__).resolve().parent.parent))
    return ("# Setup: installs the course package where it is missing (Colab); locally a no-op.\n"
            "try:\n"
            "    import course_utils\n"
            "except ImportError:\n"
            f'    %pip install --quiet "{spec}"\n'
            "    import course_utils")


SETUP_CELL = _setup_cell()

MAX_CODE_COLUMNS = 88          # black's default: no code cell scrolls sideways at 1280 px
# A PNG output shown at full size: the page width at the inline backend's 100 dpi, plus what
# bbox_inches="tight" may add around the figure.
MAX_FIGURE_PX = round(PAGE_WIDTH_IN * 100 * 1.05)
MAX_OUTPUT_LINES = 35          # taller text outputs (~700 px) must be collapsed by a cell tag
COLLAPSING_TAGS = {"hide-output", "output_scroll", "remove-output"}

# The figures each chapter draws (in any profile), at least.
MIN_FIGURES = {
    # RGB channels, class grid, k-NN curve, neighbours, learning rates, loop loss, one-cycle,
    # ReLU fit, parameter bars, pooling, receptive fields, a torchvision batch, LeNet curves,
    # confusion matrix, predictions, filters
    "01_cnn_basics": 16,
    # stage diagram, shape per stage, parameters vs work, receptive fields, VGG-19's depth at
    # 32×32, the live training run beside the record
    "02_vgg": 6,
    # two image grids and the accuracy-vs-N plot
    "03_transfer_learning": 3,
    # naive and reduced Inception diagrams, bar plot of (3a)'s cost, parameters per module,
    # training curves beside the record, confusion matrix
    "04_googlenet": 6,
    # two residual-block diagrams, gradient norms, plain vs residual curves, the ResNet-20
    # record beside this run, ResNet-20 history, confusion matrix, misclassified gallery
    "05_resnet": 8,
    # the augmented epoch, whitening filters, schedules, running average, TTA views, ladder,
    # the final run beside its record
    "06_training_fast": 7,
}


def read(path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def markdown(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


def long_code_lines(nb, limit: int = MAX_CODE_COLUMNS) -> list[str]:
    return [f"{len(line)} columns: {line}" for c in code_cells(nb)
            for line in c.source.splitlines() if len(line) > limit]


# --- numbers in the prose ---------------------------------------------------------------------
# A chapter's text may state an accuracy or a time only where a record or the page's own
# output backs it. Such figures change with the machine, the profile and the seed, so the text
# must not carry them: a code cell prints them, or the sentence names the run record it quotes.
# Allowed without either: chance level (arithmetic, not a measurement) and a stated budget
# (a promise the tests check, not a measurement).
CLAIM = re.compile(
    r"\d[\d,.]*\s*(?:%|percent\b|(?:percentage\s+)?points\b)"             # 93 %, 12 points
    r"|\d[\d,.]*\s*-?\s*(?:s|secs?|seconds?|min|minutes?|h|hours?)\b"      # 784 s, 5-minute
    r"|\b(?:a few|few|several|some)\s+(?:seconds|minutes|hours)\b",         # a few minutes
    re.IGNORECASE)
BACKING = re.compile(r"\brecord|\bchance\b|\bbudget", re.IGNORECASE)
_NOT_PROSE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\]\([^)]*\)", re.DOTALL)


def sentences(text: str) -> list[str]:
    text = _NOT_PROSE.sub(" ", text)
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", text) if s.strip()]


def unbacked_claims(texts) -> list[str]:
    """Sentences that state a percentage, points or a duration without naming a record."""
    return [" ".join(s.split()) for text in texts for s in sentences(text)
            if CLAIM.search(s) and not BACKING.search(s)]


# --- the end of a chapter -------------------------------------------------------------------

def exercises(nb) -> list[str]:
    """The numbered items under the chapter's ``## Exercises`` heading."""
    for text in markdown(nb):
        if re.search(r"^## Exercises\s*$", text, re.MULTILINE):
            section = text.split("## Exercises", 1)[1]
            return re.findall(r"^\d+\.\s+(.+)$", section, re.MULTILINE)
    return []


# --- figures and outputs ------------------------------------------------------------------

def small_fonts_and_wide_figures(nb) -> list[str]:
    """Font sizes below MIN_TEXT_PT and figures wider than the page, as written in the code."""
    found = []
    for c in code_cells(nb):
        for m in re.finditer(r"fontsize\s*=\s*(\d+(?:\.\d+)?)", c.source):
            if float(m.group(1)) < MIN_TEXT_PT:
                found.append(m.group(0))
        for m in re.finditer(r"figsize\s*=\s*\(\s*(\d+(?:\.\d+)?)", c.source):
            if float(m.group(1)) > PAGE_WIDTH_IN:
                found.append(m.group(0))
    return found


def prefix_galleries(nb) -> list[str]:
    """Image grids of the first N items of a split: a class-sorted split gives one class."""
    pattern = re.compile(r"show_images\([^)]*\[:\s*\d+\s*\]")
    return [m.group(0) for c in code_cells(nb) for m in pattern.finditer(c.source)]


def png_widths(cell) -> list[int]:
    """Pixel widths of a cell's PNG outputs (read from the PNG header)."""
    widths = []
    for out in cell.get("outputs", []):
        png = out.get("data", {}).get("image/png")
        if png:
            widths.append(struct.unpack(">I", base64.b64decode(png)[16:20])[0])
    return widths


def wide_figures(nb, limit: int = MAX_FIGURE_PX, exempt=()) -> list[str]:
    """PNG outputs wider than ``limit`` pixels, except in cells that call an ``exempt`` name."""
    return [f"{w} px: {c.source.splitlines()[0][:60]}" for c in code_cells(nb)
            if not any(e in c.source for e in exempt)
            for w in png_widths(c) if w > limit]


def tall_outputs(nb, limit: int = MAX_OUTPUT_LINES) -> list[str]:
    """Code cells whose text output is taller than ``limit`` lines and not collapsed by a tag."""
    found = []
    for c in code_cells(nb):
        if COLLAPSING_TAGS & set(c.metadata.get("tags", [])):
            continue
        lines = 0
        for out in c.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            lines += len(text.splitlines()) if isinstance(text, str) else 0
        if lines > limit:
            found.append(f"{lines} lines: {c.source.splitlines()[0][:60]}")
    return found


def layout_problems(nb) -> list[str]:
    """What an executed chapter shows badly: figures wider than the page, tall output."""
    return wide_figures(nb) + tall_outputs(nb)
