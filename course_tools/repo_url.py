"""One setting names the course's repository: ``repository.url`` and ``repository.branch`` in
``_config.yml``.

Everything that points at the repository follows it: the site's repository, Colab and Binder
buttons (Jupyter Book reads the setting; ``course_tools.site`` builds the assignment pages'
buttons from it) and the install line in the setup cell of every notebook a student opens —
the chapters (``book/``), the assignment sources (``solutions/``) and their release
(``assignments/``)::

    %pip install --quiet "cnn-course @ git+https://github.com/OWNER/REPO"

A notebook's line cannot read ``_config.yml`` (on Colab there is none), so it is written out;
the site build fails when one disagrees, and this command rewrites them all::

    python -m course_tools.repo_url check
    python -m course_tools.repo_url set https://github.com/OWNER/REPO [--branch BRANCH]

The line pins ``@BRANCH`` only when the branch is not ``main`` (pip installs the repository's
default branch, ``main`` here, when no branch is named).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

DEFAULT_BRANCH = "main"
PACKAGE = "cnn-course"
# The requirement inside the install line, as it appears in the notebook's JSON and in its cells.
SPEC = re.compile(rf"{PACKAGE} @ git\+(?P<url>[^\"\\@\s]+?)(?:@(?P<ref>[^\"\\\s]+))?(?=[\"\\\s])")
NOTEBOOK_FOLDERS = ("book", "solutions", "assignments")


def install_spec(url: str, branch: str | None = None) -> str:
    """The requirement a notebook's install line names for the repository at ``url``."""
    spec = f"{PACKAGE} @ git+{url.rstrip('/')}"
    return spec if (branch or DEFAULT_BRANCH) == DEFAULT_BRANCH else f"{spec}@{branch}"


def read_config(root: Path) -> tuple[str, str]:
    """``(url, branch)`` from ``root/_config.yml``."""
    import yaml
    repository = yaml.safe_load((root / "_config.yml").read_text(encoding="utf8")).get("repository", {})
    return repository.get("url", "").rstrip("/"), repository.get("branch") or DEFAULT_BRANCH


def notebooks(root: Path) -> list[Path]:
    """The notebooks students open: chapters, assignment sources and the release (no build outputs)."""
    return sorted(p for folder in NOTEBOOK_FOLDERS for p in (root / folder).rglob("*.ipynb")
                  if not {"_build", ".ipynb_checkpoints"} & set(p.relative_to(root).parts))


def install_specs(path: Path) -> list[str]:
    """The ``cnn-course @ git+...`` requirements named by ``%pip install`` lines in code cells."""
    specs = []
    for cell in json.loads(path.read_text(encoding="utf8")).get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else source).splitlines():
            if "pip install" in line:
                specs += [m.group(0) for m in SPEC.finditer(line)]
    return specs


def disagreements(root: Path, url: str | None = None, branch: str | None = None):
    """``(notebook, spec found, spec expected)`` for every install line that names another repository."""
    if url is None:
        url, branch = read_config(root)
    expected = install_spec(url, branch)
    return [(path, found, expected) for path in notebooks(root)
            for found in install_specs(path) if found != expected]


def _set_config(root: Path, url: str, branch: str | None) -> None:
    """Rewrite ``repository.url`` (and ``branch``) in ``_config.yml``, keeping its comments."""
    path = root / "_config.yml"
    lines = path.read_text(encoding="utf8").splitlines(keepends=True)
    inside = False
    for i, line in enumerate(lines):
        if not line.startswith((" ", "\t", "#")) and line.strip():
            inside = line.startswith("repository:")
        elif inside:
            key = re.match(r"(\s+)(url|branch):\s*\S*(.*)", line.rstrip("\n"))
            if key and (key.group(2) == "url" or branch):
                value = url if key.group(2) == "url" else branch
                lines[i] = f"{key.group(1)}{key.group(2)}: {value}{key.group(3)}\n"
    path.write_text("".join(lines), encoding="utf8")


def set_repository(root: Path, url: str, branch: str | None = None) -> list[Path]:
    """Point ``_config.yml`` and every notebook's install line at ``url``; return the notebooks changed."""
    url = url.rstrip("/")
    _set_config(root, url, branch)
    url, branch = read_config(root)
    expected = install_spec(url, branch)
    changed = []
    for path in notebooks(root):
        text = path.read_text(encoding="utf8")
        new = SPEC.sub(expected, text)   # the JSON text: quotes and newlines stay as they were
        if new != text:
            path.write_text(new, encoding="utf8")
            changed.append(path)
    return changed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course_tools.repo_url", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="list the notebooks whose install line disagrees with _config.yml")
    set_cmd = commands.add_parser("set", help="point _config.yml and every install line at URL")
    set_cmd.add_argument("url")
    set_cmd.add_argument("--branch", help=f"the branch to publish and install from (default: as set, else {DEFAULT_BRANCH})")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course (default: here)")
    args = parser.parse_args(argv)
    if args.command == "set":
        for path in set_repository(args.root, args.url, args.branch):
            print(f"rewrote {path.relative_to(args.root)}")
    wrong = disagreements(args.root)
    for path, found, expected in wrong:
        print(f"{path.relative_to(args.root)}: {found!r}, expected {expected!r}")
    if wrong:
        sys.exit(1)
    print(f"every install line names {install_spec(*read_config(args.root))!r}")


if __name__ == "__main__":
    main()
