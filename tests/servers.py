"""Starts the real action server and Rasa server on 127.0.0.1 for tests, as `make run` does."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL = PROJECT_DIR / "models" / "clinic-assistant.tar.gz"
START_TIMEOUT_SECONDS = 180


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, processes: List[subprocess.Popen], timeout: float) -> None:
    """Wait until ``url`` answers, failing fast if a server process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@dataclass
class Assistant:
    """A running pair of servers, and where their data lives."""

    rasa_port: int
    actions_port: int
    workdir: Path
    env: Dict[str, str]
    processes: List[subprocess.Popen] = field(default_factory=list)
    logs: List[Path] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """The Rasa server's address."""
        return f"http://127.0.0.1:{self.rasa_port}"

    def start_actions(self) -> None:
        """Start the action server and wait for its health route."""
        log = self.workdir / "actions.log"
        env = {**self.env, "SANIC_HOST": "127.0.0.1"}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clinic_requests.action_server",
                "--actions",
                "actions",
                "--port",
                str(self.actions_port),
            ],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        self.logs.append(log)
        wait_for(f"http://127.0.0.1:{self.actions_port}/health", [process], 60)

    def start_rasa(self) -> None:
        """Start the Rasa server with the trained model and wait until it answers."""
        log = self.workdir / "rasa.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clinic_runtime",
                "run",
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
                "--model",
                str(MODEL),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                "endpoints.yml",
            ],
            cwd=PROJECT_DIR,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        self.logs.append(log)
        wait_for(f"{self.base_url}/webhooks/website/", [process], START_TIMEOUT_SECONDS)

    def stop_process(self, process: subprocess.Popen) -> None:
        """Stop one server by its PID."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.processes:
            self.processes.remove(process)

    def stop(self) -> None:
        """Stop every server started here."""
        for process in list(reversed(self.processes)):
            self.stop_process(process)

    def tail_logs(self, lines: int = 40) -> str:
        """The end of each server log, for failure messages."""
        parts = []
        for log in self.logs:
            if log.exists():
                parts.append(
                    f"--- {log.name}\n"
                    + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
                )
        return "\n".join(parts)


def start_assistant(workdir: Path, extra_env: Optional[Dict[str, str]] = None) -> Assistant:
    """Both servers on free ports, with their databases under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    actions_port = free_port()
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RASA_TELEMETRY_ENABLED": "false",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "CLINIC_TRACKER_DB": str(workdir / "tracker.db"),
        "CLINIC_OUTBOX_PATH": str(workdir / "outbox.db"),
        "CLINIC_UNANSWERED_PATH": str(workdir / "unanswered.db"),
        # Every test visitor comes from 127.0.0.1: the per-address limit would count them as one.
        "CLINIC_RATE_LIMIT_IP_MESSAGES": "0",
        **(extra_env or {}),
    }
    assistant = Assistant(
        rasa_port=free_port(), actions_port=actions_port, workdir=workdir, env=env
    )
    try:
        assistant.start_actions()
        assistant.start_rasa()
    except Exception as error:
        logs = assistant.tail_logs()
        assistant.stop()
        raise RuntimeError(f"{error}\n{logs}") from error
    return assistant
