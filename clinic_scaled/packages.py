"""The Debian packages the scaled setup runs on, found or installed (``make run-scaled``)."""

import os
import shutil
import subprocess
from typing import Callable, Dict, List, Optional

from clinic_scaled import local_postgres


def _postgres() -> Optional[str]:
    return str(local_postgres.bin_dir() / "postgres") if local_postgres.available() else None


def find_program(name: str) -> Optional[str]:
    """A server program on PATH or in /usr/sbin (nginx lives there), or None."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


# Debian package -> how to find its server program once installed.
PACKAGES: Dict[str, Callable[[], Optional[str]]] = {
    "postgresql": _postgres,
    "redis-server": lambda: find_program("redis-server"),
    "nginx": lambda: find_program("nginx"),
}


class MissingPackages(RuntimeError):
    """Servers the scaled setup needs are not installed and could not be installed."""


def programs() -> Dict[str, Optional[str]]:
    """Each package's server program, or None when it is missing."""
    return {package: find() for package, find in PACKAGES.items()}


def ensure_installed(say: Callable[[str], None] = print) -> Dict[str, str]:
    """Install missing packages with apt-get when we are root; else say what to run.

    Raises:
        MissingPackages: Something is missing and cannot be installed from here.
    """
    missing = [package for package, path in programs().items() if path is None]
    if missing:
        command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise MissingPackages(
                "The scaled setup needs Debian's " + ", ".join(missing) + ". Install them "
                "with:\n  sudo " + " ".join(command)
            )
        say("installing " + ", ".join(missing) + " with apt-get (once)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(command, env=env).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, check=False)
            if subprocess.run(command, env=env).returncode != 0:
                raise MissingPackages("apt-get could not install " + ", ".join(missing))
    found = programs()
    still: List[str] = [package for package, path in found.items() if path is None]
    if still:
        raise MissingPackages("still missing after apt-get: " + ", ".join(still))
    return {package: str(path) for package, path in found.items()}
