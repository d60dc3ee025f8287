"""A value loaded from staff-editable files, loaded again when one of them changes on disk.

Staff edit the YAML in ``data/content/`` while the assistant runs; every reader of those files
needs the same few rules, kept here once:

* a file counts as changed when its stamp -- modification and status-change times in
  nanoseconds, size, inode -- differs from the one last loaded. A ``stat`` per look is far
  cheaper than a watcher thread and works the same in every server process. The status-change
  time and inode also catch a file put back with its old modification time (``cp -p``, an
  editor's rename) at the same size;
* each version of the files is loaded once, by one thread, and its outcome is handed to one
  caller (:meth:`ValueFromFiles.refresh`), so a broken edit is logged once, not per message;
* a version that fails to load keeps the last good value in use and is kept as
  :attr:`ValueFromFiles.last_error` until a later version loads;
* only the errors the caller names count as "the file is broken"; any other exception is a
  bug, goes to the caller, and the same version is tried again next time.

It lives in ``clinic_common`` (standard library only) so the action server (``actions``), the
NLU components (``clinic_nlu``) and the website channel (``clinic_channel``) can all use it
without importing one another.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, Optional, Sequence, Tuple, Type, TypeVar, Union

T = TypeVar("T")
# (st_mtime_ns, st_ctime_ns, st_size, st_ino), or None when the file cannot be stat'ed.
FileStamp = Optional[Tuple[int, int, int, int]]
PathLike = Union[str, os.PathLike]
_NEVER_LOOKED = object()  # the stamp before the first look: differs from any real stamp


def file_stamp(path: PathLike) -> FileStamp:
    """The file's stamp, or ``None`` when it is missing or cannot be stat'ed."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_ctime_ns, status.st_size, status.st_ino


@dataclass(frozen=True)
class Reload:
    """What loading one new version of the files gave."""

    error: Optional[BaseException] = None  # None: loaded; else why the last good value stays
    fixed: bool = False  # loaded, and the version before had failed

    @property
    def ok(self) -> bool:
        """Whether the new version loaded."""
        return self.error is None


class ValueFromFiles(Generic[T]):
    """``load()``'s result, called again when a stamp of ``paths`` changes; thread-safe."""

    def __init__(
        self,
        paths: Union[PathLike, Sequence[PathLike]],
        load: Callable[[], T],
        *,
        errors: Tuple[Type[BaseException], ...],
    ) -> None:
        """Watch ``paths`` (one or several); ``errors`` are the exceptions that mean "broken file".

        Nothing is loaded until the first :meth:`get` or :meth:`refresh`.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths: Tuple[Path, ...] = tuple(Path(p) for p in paths)
        self._load = load
        self._errors = errors
        self._lock = threading.Lock()
        self._seen: object = _NEVER_LOOKED
        self._loaded = False
        self._value: Optional[T] = None
        self._error: Optional[BaseException] = None

    def stamp(self) -> Tuple[FileStamp, ...]:
        """The current stamps of the watched files, in order."""
        return tuple(file_stamp(path) for path in self.paths)

    def refresh(self) -> Optional[Reload]:
        """Load again if the files changed since the last look.

        Returns:
            ``None`` when nothing changed (or another thread is loading / has just loaded this
            version); else the outcome, given to exactly this one caller.
        """
        if self.stamp() == self._seen:  # the usual case: no lock, a few `stat` calls
            return None
        with self._lock:
            stamp = self.stamp()  # taken before reading: an edit during the load is seen next time
            if stamp == self._seen:
                return None
            had_failed = self._error is not None
            try:
                value = self._load()
            except self._errors as error:
                self._error = error
                self._seen = stamp
                return Reload(error=error)
            self._value, self._loaded, self._error = value, True, None
            self._seen = stamp  # last, so a caller seeing this stamp also sees this value
            return Reload(fixed=had_failed)

    def get(self) -> T:
        """The value for the files as they are now, or the last good one while they are broken.

        Raises:
            the load error, while no version has loaded yet.
        """
        self.refresh()
        return self.value

    @property
    def value(self) -> T:
        """The last good value, without looking at the files.

        Raises:
            the load error (or LookupError before the first look) while none has loaded.
        """
        if not self._loaded:
            raise self._error or LookupError(f"{self.paths[0]}: not loaded yet")
        return self._value  # type: ignore[return-value]

    @property
    def loaded(self) -> bool:
        """Whether some version has loaded (so :attr:`value` has something to give)."""
        return self._loaded

    @property
    def last_error(self) -> Optional[BaseException]:
        """Why the current version of the files did not load; ``None`` once one loads."""
        return self._error

    def adopt(self, value: T) -> None:
        """Use ``value`` as if loaded from the files as they are now (e.g. one built by a test)."""
        with self._lock:
            self._value, self._loaded, self._error = value, True, None
            self._seen = self.stamp()
