"""One server process: started with its own log file, waited for, stopped by its PID."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports(count: int) -> List[int]:
    """``count`` different free ports (each held until all are chosen, so none repeats)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            probes.append(probe)
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    """Whether ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return 200 <= reply.status < 300
    except OSError:
        return False


class ServerProcess:
    """A named child process whose output goes to ``log``; ``ready`` says it is serving."""

    def __init__(
        self,
        name: str,
        command: List[str],
        log: Path,
        ready: Callable[[], bool],
        env: Optional[Dict[str, str]] = None,
        cwd: Optional[Path] = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        """Describe the process; nothing runs until :meth:`start`.

        ``stop_signal`` is the polite stop (PostgreSQL's "fast shutdown" is SIGINT: its
        SIGTERM waits for every client, and Rasa keeps pooled connections open).
        """
        self.stop_signal = stop_signal
        self.name = name
        self.command = command
        self.log = log
        self.ready = ready
        self.env = env
        self.cwd = cwd
        self.process: Optional[subprocess.Popen] = None

    @property
    def pid(self) -> Optional[int]:
        """The running process's PID, else None."""
        return self.process.pid if self.process is not None and self.running else None

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> "ServerProcess":
        """Start the process (not waiting for it to be ready)."""
        if self.running:
            return self
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            # start_new_session: Ctrl-C in the terminal reaches our supervisor only, which
            # then stops every server in order (nginx first, PostgreSQL last).
            self.process = subprocess.Popen(
                self.command,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float) -> None:
        """Block until ``ready()``; raise with the log's end if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} while starting:\n"
                    + self.tail()
                )
            if self.ready():
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"{self.name} did not become ready within {timeout:.0f} s:\n" + self.tail()
        )

    def stop(self, timeout: float = 20.0) -> None:
        """The stop signal, then SIGKILL after ``timeout``; a no-op when not running.

        Signals go to the process group (each server is started in its own session), so
        a wrapper such as ``runuser`` and the server under it stop together.
        """
        if not self.running:
            return
        assert self.process is not None
        self._signal(self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL at once: a crash, as the fault tests need it."""
        if self.running:
            assert self.process is not None
            self._signal(signal.SIGKILL)
            self.process.wait()

    def _signal(self, number: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def tail(self, lines: int = 30) -> str:
        """The last lines of the log."""
        if not self.log.exists():
            return "(no log)"
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])
