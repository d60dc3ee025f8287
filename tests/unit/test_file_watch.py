"""clinic_common.file_watch: a value loaded again when its files change, last good kept."""

import os
import threading
from pathlib import Path
from typing import List

import pytest

from clinic_common.file_watch import ValueFromFiles, file_stamp


class Broken(ValueError):
    pass


def save(path: Path, text: str) -> None:
    """Write and move the modification time on, as a later save would (coarse clocks)."""
    before = file_stamp(path)
    path.write_text(text, encoding="utf-8")
    if before is not None:
        status = os.stat(path)
        os.utime(path, ns=(status.st_atime_ns, max(status.st_mtime_ns, before[0]) + 1_000_000))


def reader(path: Path, calls: List[str]):
    def load() -> str:
        text = path.read_text(encoding="utf-8")  # FileNotFoundError is not one of `errors`
        calls.append(text)
        if text.startswith("broken"):
            raise Broken(f"{path.name}: {text}")
        return text

    return load


@pytest.fixture()
def path(tmp_path: Path) -> Path:
    file = tmp_path / "texts.yml"
    file.write_text("one", encoding="utf-8")
    return file


def test_loads_once_per_version_and_again_after_a_change(path: Path) -> None:
    calls: List[str] = []
    watched = ValueFromFiles(path, reader(path, calls), errors=(Broken,))
    assert watched.get() == "one" and watched.get() == "one"
    save(path, "two")
    assert watched.get() == "two" and watched.get() == "two"
    assert calls == ["one", "two"]


def test_a_broken_version_keeps_the_last_good_value_and_is_reported_once(path: Path) -> None:
    calls: List[str] = []
    watched = ValueFromFiles(path, reader(path, calls), errors=(Broken,))
    first = watched.refresh()
    assert first is not None and first.ok and watched.refresh() is None
    save(path, "broken edit")
    reload = watched.refresh()
    assert reload is not None and isinstance(reload.error, Broken)
    assert watched.refresh() is None, "one outcome per version: logged once"
    assert watched.get() == "one" and isinstance(watched.last_error, Broken)
    save(path, "three")
    reload = watched.refresh()
    assert reload is not None and reload.ok and reload.fixed
    assert watched.value == "three" and watched.last_error is None
    assert calls == ["one", "broken edit", "three"]


def test_before_any_version_loads_the_error_is_raised(path: Path) -> None:
    path.write_text("broken from the start", encoding="utf-8")
    watched = ValueFromFiles(path, reader(path, []), errors=(Broken,))
    with pytest.raises(Broken):
        watched.get()
    with pytest.raises(Broken):
        watched.get()  # same version: the same error, not loaded again
    assert not watched.loaded


def test_an_unexpected_error_goes_to_the_caller_and_is_tried_again(path: Path) -> None:
    calls: List[str] = []
    watched = ValueFromFiles(path, reader(path, calls), errors=(Broken,))
    assert watched.get() == "one"
    path.unlink()  # FileNotFoundError is a bug for this loader, not a "broken file"
    for _ in range(2):
        with pytest.raises(FileNotFoundError):
            watched.get()
    assert watched.value == "one" and watched.last_error is None


def test_a_deleted_file_is_a_change_the_loader_sees(path: Path) -> None:
    watched = ValueFromFiles(path, lambda: path.read_text(encoding="utf-8"), errors=(OSError,))
    assert watched.get() == "one"
    path.unlink()
    reload = watched.refresh()
    assert reload is not None and isinstance(reload.error, FileNotFoundError)
    assert watched.get() == "one"
    path.write_text("back", encoding="utf-8")
    assert watched.get() == "back"


def test_any_of_several_files_changing_loads_again(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    first.write_text("a", encoding="utf-8")
    second.write_text("b", encoding="utf-8")
    watched = ValueFromFiles(
        [first, second], lambda: first.read_text() + second.read_text(), errors=(OSError,)
    )
    assert watched.get() == "ab"
    save(second, "B")
    assert watched.get() == "aB"


def test_same_size_and_time_but_a_replaced_file_still_counts(path: Path) -> None:
    watched = ValueFromFiles(path, lambda: path.read_text(encoding="utf-8"), errors=(OSError,))
    assert watched.get() == "one"
    status = os.stat(path)
    replacement = path.with_suffix(".new")
    replacement.write_text("uno", encoding="utf-8")  # same size
    os.utime(replacement, ns=(status.st_atime_ns, status.st_mtime_ns))  # same modification time
    os.replace(replacement, path)  # what an editor's "safe save" does
    assert watched.get() == "uno"


def test_adopt_uses_a_ready_value_for_the_files_as_they_are(path: Path) -> None:
    calls: List[str] = []
    watched = ValueFromFiles(path, reader(path, calls), errors=(Broken,))
    watched.adopt("built by a test")
    assert watched.get() == "built by a test" and calls == []
    save(path, "two")
    assert watched.get() == "two"


def test_threads_load_each_version_once(path: Path) -> None:
    calls: List[str] = []
    started = threading.Event()

    def slow_load() -> str:
        started.wait(5)  # hold every thread at the lock until all have looked
        calls.append("load")
        return path.read_text(encoding="utf-8")

    watched = ValueFromFiles(path, slow_load, errors=(Broken,))
    outcomes: List[object] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(watched.refresh())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join(5)
    assert calls == ["load"]
    assert sum(outcome is not None for outcome in outcomes) == 1
    assert watched.value == "one"
