"""Pack the offline CIFAR-10 copy into one file for a GPU machine, and unpack it there.

    python -m course_tools.pack_data [OUT] [--data DIR] [--per-class N]
    python -m course_tools.pack_data --unpack FILE DIR

A device machine receives only the working tree (at most 64 MiB), not the 60,000 files of
``../shared/data/cifar10``. Their JPEG bytes are 55 MB, two thirds of it headers that repeat
from file to file, so a gzipped tar of them is about 20 MB: one file under an ignored path
(default ``bench/_build/cifar10-jpeg.tar.gz``; ``_build/`` is in ``.gitignore``), named in the
device call's ``carry``. Members are sorted and stamped with fixed times and owners, so the same
data always packs to the same bytes. Unpacking restores the files byte for byte, so the data
variant (``records.data_variant``) and every decoded pixel are those of the original copy;
``tar xzf`` unpacks it too.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import sys
import tarfile
from pathlib import Path

DEFAULT_OUT = Path("bench/_build/cifar10-jpeg.tar.gz")
TOP = "cifar10"   # the folder the archive unpacks into


def members(data: Path, per_class: int | None = None) -> list[Path]:
    """The files to pack, sorted: README and ``train|test/<class>/*`` (the first N per class)."""
    files = [p for p in [data / "README.md"] if p.exists()]
    for split in ("train", "test"):
        for class_dir in sorted(p for p in (data / split).iterdir() if p.is_dir()):
            images = sorted(p for p in class_dir.iterdir() if p.is_file())
            files += images[:per_class] if per_class else images
    return files


def pack(data: Path, out: Path, per_class: int | None = None) -> str:
    """Write ``out`` (a reproducible .tar.gz of ``data``) and return its sha256."""
    data = Path(data)
    if not (data / "train").is_dir() or not (data / "test").is_dir():
        raise SystemExit(f"{data} holds no train/ and test/ image folders (the offline ImageFolder copy)")
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for path in members(data, per_class):
            info = tarfile.TarInfo(f"{TOP}/{path.relative_to(data).as_posix()}")
            info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
            tar.addfile(info, io.BytesIO(path.read_bytes()))
    out.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack ``archive`` into ``dest``; return the data directory (``dest/cifar10``)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, mode="r:gz") as tar:
        for member in tar.getmembers():   # our own archive, but check anyway: plain files inside TOP
            if not member.isfile() or not member.name.startswith(f"{TOP}/") or ".." in member.name.split("/"):
                raise SystemExit(f"{archive}: unexpected member {member.name!r}")
        # Python >= 3.12 (and 3.11.4+) also filter; older ones rely on the check above.
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return dest / TOP


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.pack_data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help=f"archive to write (default {DEFAULT_OUT})")
    parser.add_argument("--data", type=Path, help="the ImageFolder copy (default: $COURSE_DATA_DIR)")
    parser.add_argument("--per-class", type=int, help="pack only the first N images of each class and split")
    parser.add_argument("--unpack", nargs=2, type=Path, metavar=("FILE", "DIR"),
                        help="unpack FILE into DIR (the data directory is then DIR/cifar10)")
    args = parser.parse_args(argv)
    if args.unpack:
        print(unpack(*args.unpack))
        return 0
    from course_utils.data import data_root
    data = args.data or data_root()
    digest = pack(data, args.out, args.per_class)
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest}, from {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
