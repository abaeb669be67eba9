"""Putting files and folders in place so that nothing is lost, whatever stops a run.

- **Temporaries.** Everything is written under a hidden name beside its target
  (`.NAME.1f2e3d4c.part`) and renamed onto it only when complete: a failed or killed run never
  leaves a half-written file under the real name, and the previous output stays as it was.
- **Locks, no lock files.** A run holds an `flock` on each of its temporaries while it lives,
  and takes an `flock` on the target's folder itself for the moment of renaming. So concurrent
  runs to one target rename one after the other (a table is never paired with another run's
  meta.json), and the next run to a target removes what killed runs left behind, but never a
  temporary a live run still holds.
- **Several files together.** `atomic_files` renames all its files under one lock, and puts the
  old versions back if a rename fails; only a kill in the instant between two renames can split
  them, which the SHA-256 a meta.json records of its table shows.
- **Folders.** `folder_into_place` builds a new folder beside the old and swaps the two in one
  step (Linux `renameat2(RENAME_EXCHANGE)`). Where that is missing, two renames; a kill between
  them leaves the old folder as `.NAME.xxxxxxxx.old`, which the next run puts back.
- **Errors.** An `OSError` becomes a `WsfError` that names the target the user gave and the
  reason, with a fix.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from wsf.errors import WsfError

try:
    import fcntl
except ImportError:  # not POSIX: no locks; renames stay atomic
    fcntl = None

TEMP, OLD = ".part", ".old"
NAME_MAX = 255  # bytes in one file name: the limit of ext4, XFS, APFS and most others
_OWNED: dict[tuple[int, int], int] = {}  # (st_dev, st_ino) -> fd holding this process's flock
_SHOWN: dict[Path, Path] = {}  # a temporary (file or folder) -> the output it becomes, for messages

FIXES = {
    errno.EACCES: "choose a folder you can write to, or change its permissions",
    errno.EPERM: "choose a folder you can write to, or change its permissions",
    errno.EROFS: "the disk is read-only: write to another disk",
    errno.ENOSPC: "free some disk space, or write to another disk",
    errno.EDQUOT: "free some space within your disk quota, or write to another disk",
    errno.ENAMETOOLONG: f"use a shorter file name (at most {NAME_MAX} bytes)",
    errno.EISDIR: "a folder has that name: give a file name",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another output path",
    errno.EEXIST: "a part of the path is a file, not a folder: choose another output path",
}


# -- messages --------------------------------------------------------------------------------


def shown(path: Path) -> str:
    """A path as the user knows it: inside a temporary folder, the output it will become; a
    very long file name shortened, so the message stays one readable line."""
    path = Path(path)
    inside = [t for t in _SHOWN if path.is_relative_to(t)]
    while inside:  # a temporary file in a temporary folder: the file first, then the folder
        temp = max(inside, key=lambda t: len(t.parts))
        path = _SHOWN[temp] / path.relative_to(temp)
        inside = [t for t in _SHOWN if path.is_relative_to(t)]
    if len(path.name) > 60:
        path = path.with_name(f"{path.name[:30]}...{path.name[-20:]}")
    return str(path)


def cannot_write(target: Path, error: OSError) -> WsfError:
    """`cannot write out/x.csv: Permission denied`, and what to do about it."""
    code = error.errno or os_error_number(str(error))
    reason = os.strerror(code) if code else (error.strerror or str(error))
    return WsfError(f"cannot write {shown(target)}: {reason}", key="-o", fix=FIXES.get(code, "check the output path and try again"))


def os_error_number(text: str) -> int | None:
    """Polars reports an I/O error as text ending `(os error 28)`, without an errno."""
    match = re.search(r"os error (\d+)", text)
    return int(match[1]) if match else None


@contextmanager
def write_errors(target: Path, area: Path | None = None) -> Iterator[None]:
    """Turn an OSError while writing `target` into a WsfError. With `area` (a folder being
    written), only one about a path inside it, or about no path, and the message names that
    path: a template that cannot be read is not a write error."""
    try:
        yield
    except OSError as error:
        paths = [Path(os.fsdecode(p)) for p in (error.filename, error.filename2) if isinstance(p, (str, bytes, os.PathLike))]
        if area is None or not paths:
            raise cannot_write(target, error) from None
        inside = [p for p in paths if p.absolute().is_relative_to(area.absolute())]
        if not inside:
            raise
        raise cannot_write(inside[0], error) from None


# -- names, locks and stale temporaries --------------------------------------------------------


def temp_prefix(name: str) -> str:
    """The hidden prefix of a target's temporaries: `.NAME.`, or for a name too long to take 15
    more bytes, its hash (the target's own name may use all 255 bytes)."""
    if len(os.fsencode(name)) + 15 <= NAME_MAX:
        return f".{name}."
    return f".{hashlib.sha256(os.fsencode(name)).hexdigest()[:40]}."


def _stale_pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(temp_prefix(name)) + r"[0-9a-f]{8}(\.part|\.old)")


def check_name(target: Path) -> None:
    """Refuse a file name the file system cannot hold, before anything is written."""
    if len(os.fsencode(target.name)) > NAME_MAX:
        raise cannot_write(target, OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG)))


def make_folder(folder: Path, target: Path) -> None:
    """Create the folders above a target; a file in the way is named as such."""
    for step in (folder, *folder.parents):
        if step.exists():
            if not step.is_dir():
                raise WsfError(
                    f"cannot write {shown(target)}: {shown(step)} is a file, not a folder",
                    key="-o",
                    fix="choose an output path whose folders are folders",
                )
            break
    with write_errors(target):
        folder.mkdir(parents=True, exist_ok=True)


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _flock(fd: int, blocking: bool = True) -> bool:
    """An exclusive flock; False when another open file holds one (non-blocking), or the file
    system has no locks (then a run goes unlocked, as before locks existed)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError as error:
        if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            raise
    return True


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an flock on the folder itself while renaming into it: runs to targets in one folder
    take turns, and nothing is left behind. A temporary folder this process holds needs none."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _identity(fd) not in _OWNED:
            _flock(fd)
        yield
    finally:
        os.close(fd)  # releases the flock (flocks belong to this open file, not to the process)


def _hold(path: Path, blocking: bool = True) -> int | None:
    """Open and lock an entry (file or folder) so cleanup by another run leaves it alone; None
    when someone else holds it or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    if not _flock(fd, blocking):
        os.close(fd)
        return None
    _OWNED[_identity(fd)] = fd
    return fd


def _release(fd: int | None) -> None:
    if fd is not None:
        _OWNED.pop(_identity(fd), None)
        os.close(fd)


def _new_entry(folder: Path, name: str, suffix: str, directory: bool) -> tuple[Path, int]:
    """A new hidden entry beside the target, with the user's usual mode (the umask applies),
    held by this process. Called under the folder's lock, so cleanup cannot take it first."""
    while True:
        path = folder / f"{temp_prefix(name)}{secrets.token_hex(4)}{suffix}"
        try:
            if directory:
                os.mkdir(path, 0o777)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        fd = os.open(path, os.O_RDONLY)
        _flock(fd)  # new, and the folder is locked: nobody else can hold it
        _OWNED[_identity(fd)] = fd
        return path, fd


def clear_stale(folder: Path, name: str) -> None:
    """Remove what killed runs to `folder/name` left: temporaries no live run holds. A lone
    `.old` folder (the two-rename swap killed between its renames) is first put back as the output.
    Called under the folder's lock."""
    pattern = _stale_pattern(name)
    target = folder / name
    entries = [e for e in os.scandir(folder) if pattern.fullmatch(e.name) and not e.is_symlink()]
    entries.sort(key=lambda e: (not e.name.endswith(OLD), -e.stat().st_mtime_ns))  # the newest .old first
    for entry in entries:
        fd = _hold(Path(entry.path), blocking=False)
        if fd is None:
            continue  # a live run's
        try:
            if entry.name.endswith(OLD) and not os.path.lexists(target):
                os.rename(entry.path, target)
            else:
                _remove(Path(entry.path))
        finally:
            _release(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# -- files -------------------------------------------------------------------------------------


@contextmanager
def atomic_files(targets: Sequence[Path]) -> Iterator[list[Path]]:
    """Temporaries for files in one folder; when the block ends without an error they are
    renamed onto their targets together (in the order given, under the folder's lock), else
    removed. Each is synced to disk before its rename."""
    targets = [Path(t) for t in targets]
    folder = targets[0].parent
    assert all(t.parent == folder for t in targets), targets
    for target in targets:
        check_name(target)
        if target.is_dir():
            raise _is_a_folder(target)
    make_folder(folder, targets[-1])
    held: list[tuple[Path, int]] = []
    try:
        with write_errors(targets[-1]), folder_lock(folder):
            for target in targets:
                clear_stale(folder, target.name)
            held = [_new_entry(folder, t.name, TEMP, directory=False) for t in targets]
        _SHOWN.update({path: target for (path, _), target in zip(held, targets)})
        with write_errors(targets[-1], folder):
            yield [path for path, _ in held]
            for _, fd in held:
                os.fsync(fd)
        with write_errors(targets[-1]):
            _rename_together([(path, target) for (path, _), target in zip(held, targets)], folder)
    finally:
        for path, fd in held:
            path.unlink(missing_ok=True)  # a failed run's file, or after a swap the old version
            _SHOWN.pop(path, None)
            _release(fd)


def _is_a_folder(target: Path) -> WsfError:
    return WsfError(f"cannot write {shown(target)}: it is a folder", key="-o", fix="give a file name, e.g. out/allocations.csv")


def _rename_together(moves: list[tuple[Path, Path]], folder: Path) -> None:
    """Rename each temporary onto its target under the folder's lock. An existing target is
    swapped (the temporary then holds the old file); if a later rename fails, earlier ones are
    undone. Without an exchange, an existing target is simply replaced."""
    with folder_lock(folder):
        done: list[tuple[Path, Path, bool]] = []  # temp, target, and whether it can be undone
        try:
            for temp, target in moves:
                if stat.S_ISDIR(_mode(target)):  # made since atomic_files looked
                    raise _is_a_folder(target)
                existed = os.path.lexists(target)
                swapped = existed and _exchange(temp, target)
                if not swapped:
                    os.replace(temp, target)
                done.append((temp, target, swapped or not existed))
        except OSError:
            for temp, target, undoable in reversed(done):
                if undoable and os.path.lexists(temp):
                    _exchange(temp, target)  # the old file back
                elif undoable:
                    os.rename(target, temp)  # there was none
            raise
        fsync_folder(folder)


def _mode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return 0


def fsync_folder(folder: Path) -> None:
    """Make renames in a folder durable (a crash after it keeps them)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno != errno.EINVAL:  # some file systems cannot sync a folder
            raise
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path in the target's folder, moved onto the target only on success."""
    with atomic_files([Path(target)]) as (temp,):
        yield temp


# -- folders -----------------------------------------------------------------------------------

AT_FDCWD, RENAME_EXCHANGE = -100, 2


def _load_renameat2():
    """Linux's renameat2 from the C library (glibc 2.28 and later), or None."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except (OSError, TypeError):  # no C library to look in (Windows)
        return None
    function = getattr(libc, "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        function.restype = ctypes.c_int
    return function


_renameat2 = _load_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two entries in one step; False where the system or the file system cannot."""
    if _renameat2 is None:
        return False
    if _renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


@contextmanager
def folder_into_place(output: Path) -> Iterator[Path]:
    """A new hidden folder beside `output` to write into; when the block ends without an error
    it replaces `output` whole (`swap_folder_into_place`), else it is removed."""
    output = Path(output)
    refuse_dangerous_folder(output)
    if output.is_symlink():
        raise WsfError(
            f"cannot write {output}: it is a symbolic link, and the output folder is replaced whole",
            key="-o",
            fix=f"give the folder itself: -o {os.path.realpath(output)}",
        )
    make_folder(output.parent, output)
    with write_errors(output), folder_lock(output.parent):
        clear_stale(output.parent, output.name)
        temp, fd = _new_entry(output.parent, output.name, TEMP, directory=True)
    _SHOWN[temp] = output
    try:
        with write_errors(output, temp):
            yield temp
        swap_folder_into_place(temp, output)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    finally:
        _SHOWN.pop(temp, None)
        _release(fd)


def swap_folder_into_place(temp: Path, output: Path) -> None:
    """Replace `output` with the finished folder `temp`: a reader, and a run killed at any moment,
    see the old folder or the new one, never neither; the old one is then removed."""
    old_fd = None
    with write_errors(output), folder_lock(output.parent):
        if not os.path.lexists(output):
            os.rename(temp, output)
            fsync_folder(output.parent)
            return
        if not stat.S_ISDIR(_mode(output)):
            raise WsfError(f"cannot write {shown(output)}: it is a file, not a folder", key="-o", fix="give a folder name")
        if _exchange(temp, output):
            old = temp  # the swap left the old folder under the temporary's name
            old_fd = _hold(old)
        else:
            old, old_fd = _two_renames(temp, output)
        fsync_folder(output.parent)
    shutil.rmtree(old, ignore_errors=True)  # the new folder is in place; what is left, the next run removes
    _release(old_fd)


def _two_renames(temp: Path, output: Path) -> tuple[Path, int | None]:
    """The swap without an exchange: output -> .old, temp -> output (and back if that fails).
    The old folder stays held, so a concurrent cleanup cannot put it back meanwhile."""
    old, reserved = _new_entry(output.parent, output.name, OLD, directory=True)
    _release(reserved)
    old_fd = _hold(output)
    os.rename(output, old)  # onto the empty folder just made: a fresh name nobody else has
    try:
        os.rename(temp, output)
    except OSError:
        os.rename(old, output)
        _release(old_fd)
        raise
    return old, old_fd


def refuse_dangerous_folder(output: Path) -> None:
    """A folder output is replaced whole: never the current folder or one above it, the home
    folder or one above it, or the root."""
    real = Path(os.path.realpath(output))
    places = [(Path.cwd().resolve(), "the current folder")]
    try:
        places.append((Path.home().resolve(), "your home folder"))
    except RuntimeError:  # no home folder known
        pass
    for place, what in places:
        if real == place or real in place.parents:
            label = what if real == place else f"a folder above {what}"
            if real == Path(real.anchor):
                label = "the root of the file system"
            raise WsfError(
                f"refusing to write to {output}: it is {label}, and the output folder is replaced whole",
                key="-o",
                fix="give a new folder for the output, e.g. -o out/report",
            )
