"""Unpacking an LMS export (a zip file or a folder) without trusting anything in it.

:class:`Unpacker` writes the notebooks (``.ipynb``) and weights (``.pt``) of an export into a
fresh folder of its own (``downloaded/<aid>/extracted/``), unpacking zips inside it (nested
ones too), and keeps each file's modification time: the zip's stored time, or the folder
file's mtime. Whatever it does not unpack is listed with the reason. The export is data:

* symbolic links and special files (fifos, devices, sockets) are never followed or read,
  whether in a folder (checked with ``lstat`` and opened with ``O_NOFOLLOW``) or as zip
  members (the unix mode a zip stores for a link);
* a member whose path leaves the export (``../``, absolute) is not written;
* sizes are capped (:class:`Limits`): per file, per export, the free disk left, the number of
  files, the compression ratio (a 1 MB zip that expands to gigabytes), the nesting depth;
* a corrupt member (bad CRC, truncated, encrypted) is skipped and reported; the others are
  unpacked.

nbgrader's own ``zip_collect`` copies with ``shutil.copy`` (which follows links) and replaces a
student's folder by deleting it first, so ``course collect`` does the collecting itself
(:mod:`course_grader.collect`). :class:`TimestampExtractor` offers the same unpacking to
``nbgrader zip_collect --extractor=...``.
"""
from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nbgrader.plugins import ExtractorPlugin

from ..course import CourseError

MB = 1000 ** 2
GB = 1000 ** 3
CHUNK = 1 << 20
ARCHIVE_EXT = ".zip"
WANTED_EXT = (".ipynb", ".pt")
# Added by macOS and Jupyter next to the real files; a checkpoint must never win as "newest".
JUNK_FOLDERS = ("__MACOSX", ".ipynb_checkpoints")
# The zip format stores no valid time before 1980; an unreadable stored time counts as the oldest.
OLDEST_ZIP_TIME = dt.datetime(1980, 1, 1).timestamp()
# Corrupt or unsupported members raise these from zipfile (RuntimeError: encrypted).
MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW   # never through a link, never over a file
FILE_KINDS = ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character device"),
              (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))


@dataclass(frozen=True)
class Limits:
    """What one export may unpack to. A weights file is ~40 MB (VGG-11), a notebook a few MB."""

    file_bytes: int = 250 * MB
    student_bytes: int = 500 * MB
    export_bytes: int = 16 * GB
    files: int = 20_000
    ratio: float = 200.0                # unpacked / packed: notebooks rarely pass 20, zeros 1000
    ratio_from_bytes: int = 1 * MB      # a tiny member may compress well (an empty notebook)
    free_bytes: int = 1 * GB            # left free on the disk, whatever the caps allow
    nesting: int = 3                    # zips inside zips
    folder_depth: int = 32


LIMITS = Limits()


class Skip(Exception):
    """This entry of the export is not unpacked; the message says why (one line)."""


@dataclass(frozen=True)
class UnpackedFile:
    size: int
    mtime: float


@dataclass
class Unpacked:
    """What :class:`Unpacker` wrote (path relative to its folder → size, time) and what it skipped."""

    files: dict[str, UnpackedFile] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def file_kind(mode: int) -> str:
    """``'symbolic link'``, ``'fifo'``, … for a mode that is not a regular file or folder."""
    return next((name for test, name in FILE_KINDS if test(mode)), "special file")


def not_collected(mode: int) -> str:
    return f"{file_kind(mode)}: not collected"


def megabytes(n: float) -> str:
    return f"{n / MB:,.0f} MB" if n >= MB else f"{n:,.0f} bytes"


def check_wanted(path: str) -> None:
    """Notebooks, weights and zips are unpacked; anything else raises :class:`Skip`."""
    parts = PurePosixPath(path).parts
    if any(p in JUNK_FOLDERS for p in parts) or parts[-1].startswith("._"):
        raise Skip("macOS or Jupyter metadata: not collected")
    if not path.lower().endswith((*WANTED_EXT, ARCHIVE_EXT)):
        raise Skip("not a notebook or weights file")


def member_path(folder: str, name: str) -> str | None:
    """``folder/name`` for a zip member, or ``None`` when ``name`` would leave the folder."""
    name = name.replace("\\", "/")   # zips made on Windows
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts or "\0" in name or not parts:
        return None
    return "/".join([folder, *parts] if folder else parts)


def zip_time(info: zipfile.ZipInfo) -> float:
    try:
        return dt.datetime(*info.date_time).timestamp()
    except (ValueError, OverflowError):
        return OLDEST_ZIP_TIME


def unix_mode(info: zipfile.ZipInfo) -> int:
    """The file type and permissions a unix zip tool stored for ``info`` (0 when none)."""
    return info.external_attr >> 16


def remove(path: Path) -> None:
    """Delete ``path`` (a folder with its contents, or a file or link itself); links are never followed."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)   # deletes links inside as links (fd-based on Linux)
    else:
        os.unlink(path)


def set_mtime(out, mtime: float) -> None:
    """Give the open file ``out`` its time, after its last write (a later flush would change it)."""
    out.flush()
    os.utime(out.fileno(), (mtime, mtime))


def open_regular(name: str | Path, dir_fd: int | None = None) -> int:
    """A read-only descriptor of a regular file, refusing links and special files (Skip)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Skip(not_collected(stat.S_IFLNK)) from None
        raise Skip(f"unreadable: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise Skip(not_collected(mode))
    return fd


class Unpacker:
    """Unpacks exports into ``dest`` (a folder it creates and owns), within ``limits``."""

    def __init__(self, dest: Path, limits: Limits = LIMITS):
        self.dest, self.limits = Path(dest), limits
        self.result = Unpacked()
        self.total = 0
        self.dest.mkdir(parents=True)

    # --- the two kinds of export ------------------------------------------------------------
    def folder(self, top: Path) -> Unpacked:
        """Every file under ``top``; zips in it are unpacked where they lie."""
        fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._walk(fd, "", 0)
        finally:
            os.close(fd)
        return self.result

    def archive(self, path: Path) -> Unpacked:
        """The members of the zip file ``path`` (unpacked at the top of ``dest``)."""
        with open(path, "rb") as f:   # the instructor names the export: a link to it is fine
            try:
                zf = zipfile.ZipFile(f)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise CourseError(f"{path} is not a readable zip file ({exc}): "
                                  "a truncated download? Nothing was collected") from None
            with zf:
                self._members(zf, "", 1)
        return self.result

    # --- folders ------------------------------------------------------------------------------
    def _walk(self, dir_fd: int, rel: str, depth: int) -> None:
        with os.scandir(dir_fd) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                self._entry(dir_fd, entry, path, depth)
            except Skip as why:
                self.result.skipped[path] = str(why)

    def _entry(self, dir_fd: int, entry: os.DirEntry, path: str, depth: int) -> None:
        mode = entry.stat(follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            if depth >= self.limits.folder_depth:
                raise Skip(f"folders nested more than {self.limits.folder_depth} deep: not collected")
            try:
                sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            except OSError as exc:   # replaced by a link since it was listed
                raise Skip(f"unreadable folder: {exc.strerror}") from None
            try:
                self._walk(sub, path, depth + 1)
            finally:
                os.close(sub)
        elif not stat.S_ISREG(mode):
            raise Skip(not_collected(mode))
        else:
            check_wanted(path)
            with os.fdopen(open_regular(entry.name, dir_fd), "rb") as f:
                st = os.fstat(f.fileno())
                if path.lower().endswith(ARCHIVE_EXT):   # unpacked where it lies
                    self._nested_zip(f, path.rpartition("/")[0], 0)
                else:
                    self._admit(st.st_size)
                    self._write(path, f, st.st_mtime)

    # --- zips ---------------------------------------------------------------------------------
    def _members(self, zf: zipfile.ZipFile, folder: str, depth: int) -> None:
        for info in zf.infolist():
            path = member_path(folder, info.filename)
            label = path or (f"{folder}/{info.filename}" if folder else info.filename)
            try:
                self._member(zf, info, path, depth)
            except Skip as why:
                self.result.skipped[label] = str(why)

    def _member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | None, depth: int) -> None:
        mode = unix_mode(info)
        if info.is_dir() and not stat.S_ISLNK(mode):
            return   # folders are made as their files need them
        if path is None:
            raise Skip("its path leaves the export: not collected")
        if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            raise Skip(not_collected(mode))
        check_wanted(path)
        self._admit(info.file_size, info.compress_size)
        try:
            with zf.open(info) as src:
                if path.lower().endswith(ARCHIVE_EXT):
                    self._zip_in_zip(src, path, depth)
                else:
                    self._write(path, src, zip_time(info))
        except MEMBER_ERRORS as exc:
            raise Skip(f"corrupt or unsupported zip member ({type(exc).__name__}: {exc}): not collected") from None

    def _zip_in_zip(self, src, path: str, depth: int) -> None:
        """A zip inside a zip goes to a folder named after it (a student who zipped their folder)."""
        if depth >= self.limits.nesting:
            raise Skip(f"zip nested more than {self.limits.nesting} deep: not collected")
        # zipfile needs to seek: write the inner zip out (within the caps), read it, delete it.
        self._write(path, src, OLDEST_ZIP_TIME, record=False)
        target = self.dest / path
        try:
            with open(target, "rb") as f:
                self._nested_zip(f, path[: -len(ARCHIVE_EXT)], depth)
        finally:
            self.total -= target.stat().st_size
            target.unlink()

    def _nested_zip(self, f, folder: str, depth: int) -> None:
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, ValueError):
            raise Skip("not a readable zip file: not collected") from None
        with zf:
            self._members(zf, folder, depth + 1)

    # --- writing, within the caps -------------------------------------------------------------
    def _admit(self, size: int, packed: int | None = None) -> None:
        """Skip a file whose declared size breaks a cap, before any byte is written."""
        lim = self.limits
        if len(self.result.files) >= lim.files:
            raise Skip(f"more than {lim.files} files in the export: not collected")
        if size > lim.file_bytes:
            raise Skip(f"{megabytes(size)}, over the {megabytes(lim.file_bytes)} limit per file: not collected")
        if packed is not None and size > lim.ratio_from_bytes and size > lim.ratio * max(packed, 1):
            raise Skip(f"compressed {size / max(packed, 1):,.0f}:1 (a zip bomb?), over the "
                       f"{lim.ratio:,.0f}:1 limit: not collected")
        if self.total + size > lim.export_bytes:
            raise Skip(f"the export unpacks to more than {megabytes(lim.export_bytes)}: not collected")
        if shutil.disk_usage(self.dest).free - size < lim.free_bytes:
            raise Skip(f"it would leave less than {megabytes(lim.free_bytes)} free on the disk: not collected")

    def _write(self, path: str, src, mtime: float, record: bool = True) -> None:
        """Copy ``src`` to ``dest/path`` (a new file), counting every byte against the caps."""
        target = self.dest / path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, NEW_FILE, 0o644)
        except OSError as exc:
            if exc.errno in DISK_FULL:
                raise
            raise Skip(f"cannot be written ({exc.strerror}; another file of the export has this path?)") from None
        try:
            with os.fdopen(fd, "wb") as out:
                written = self._copy_capped(src, out)
                set_mtime(out, mtime)
        except BaseException:
            target.unlink()
            raise
        self.total += written
        if record:
            self.result.files[path] = UnpackedFile(written, mtime)

    def _copy_capped(self, src, out) -> int:
        # A zip member's declared size bounds what zipfile returns, but a folder file may grow.
        lim, written = self.limits, 0
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > lim.file_bytes or self.total + written > lim.export_bytes:
                raise Skip(f"grew past the {megabytes(lim.file_bytes)} limit per file or the "
                           f"{megabytes(lim.export_bytes)} limit per export: not collected")
            out.write(chunk)
        return written


def unpack_export(source: Path, dest: Path, limits: Limits = LIMITS) -> Unpacked:
    """Unpack ``source`` (a folder or a zip file) into the new folder ``dest``; see the module doc."""
    mode = os.stat(source).st_mode   # the export itself is the instructor's to name (a link is fine)
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise CourseError(f"{source} is a {file_kind(mode)}, not a zip file or a folder")
    unpacker = Unpacker(dest, limits)
    return unpacker.folder(source) if stat.S_ISDIR(mode) else unpacker.archive(source)


class TimestampExtractor(ExtractorPlugin):
    """The same unpacking for ``nbgrader zip_collect``: every file of its archive folder."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        dest = Path(extracted_path)
        if dest.exists() and not any(dest.iterdir()):
            dest.rmdir()   # nbgrader makes it; the Unpacker wants a folder of its own
        for path, why in Unpacker(dest).folder(Path(archive_path)).skipped.items():
            self.log.warning("Skipped %s: %s", path, why)
