"""Processes for `make bench`: start servers on 127.0.0.1, stop them by PID, read their memory.

Memory comes from /proc (psutil is not installed): ``VmHWM`` is the kernel's record of a
process's peak resident set size; ``VmRSS`` its current one. A server's figure is its process
plus every descendant (``rasa run`` and the action server normally run as one process each, but
a future Sanic worker setting would fork).
"""

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kb(pid: int, field: str) -> Optional[int]:
    """One ``kB`` field of /proc/<pid>/status, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        return None
    return None


def descendants(pid: int) -> List[int]:
    """PIDs of every live descendant of ``pid`` (children first), from /proc/*/stat."""
    parents: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # the command name (field 2) may hold spaces: the ppid follows the last ')'
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found: List[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_kb(pid: int, field: str) -> int:
    """Sum of one /proc status field over a process and its descendants (kB)."""
    return sum(_status_kb(p, field) or 0 for p in [pid, *descendants(pid)])


class Server:
    """One server process we started; stopped by its PID (and its descendants' PIDs)."""

    def __init__(
        self, name: str, command: List[str], cwd: Path, env: Dict[str, str], log: Path
    ) -> None:
        self.name = name
        self.log = log
        self.started_at = time.monotonic()
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.peak_sampled_kb = 0
        self.final_vmhwm_kb: Optional[int] = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def sample(self) -> None:
        """Record the current resident size of the process tree (for the sampled peak)."""
        if self.alive():
            self.peak_sampled_kb = max(self.peak_sampled_kb, tree_kb(self.pid, "VmRSS"))

    def vmhwm_kb(self) -> int:
        """Peak RSS so far: the kernel's VmHWM summed over the tree (0 once stopped)."""
        return tree_kb(self.pid, "VmHWM") if self.alive() else 0

    def peak_kb(self) -> int:
        """Best available peak: VmHWM (read before stopping) or the sampled peak."""
        hwm = self.final_vmhwm_kb if self.final_vmhwm_kb is not None else self.vmhwm_kb()
        return max(hwm, self.peak_sampled_kb)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process and its descendants by PID; SIGKILL whatever is left."""
        if self.alive():
            self.sample()
            self.final_vmhwm_kb = self.vmhwm_kb()
            children = descendants(self.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for child in children:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(child, signal.SIGKILL)
        self._log_file.close()

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log}\n" + "\n".join(text)


class MemorySampler:
    """Samples the resident size of every registered server a few times a second."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.servers: List[Server] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def add(self, server: Server) -> None:
        self.servers.append(server)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for server in list(self.servers):
                server.sample()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
