"""The Debian packages the scaled setup runs on, found or installed (``make run-scaled``)."""

import glob
import os
import shutil
import subprocess
from typing import Dict, List, Optional

# Debian package -> how to find its server program once installed.
PACKAGES = {
    "postgresql": "/usr/lib/postgresql/*/bin/postgres",
    "redis-server": "redis-server",
    "nginx": "nginx",
}


class MissingPackages(RuntimeError):
    """Servers the scaled setup needs are not installed and could not be installed."""


def find_program(pattern: str) -> Optional[str]:
    """The newest installed program matching a glob path, or a name on PATH/sbin."""
    if "/" in pattern:
        matches = sorted(glob.glob(pattern), key=_version_key)
        return matches[-1] if matches else None
    return shutil.which(pattern) or shutil.which(pattern, path="/usr/sbin:/sbin")


def programs() -> Dict[str, Optional[str]]:
    """Each package's server program, or None when it is missing."""
    return {package: find_program(pattern) for package, pattern in PACKAGES.items()}


def ensure_installed(say=print) -> Dict[str, str]:
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
                "with:\n  sudo " + " ".join(command))
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


def _version_key(path: str) -> List[int]:
    # /usr/lib/postgresql/15/bin/postgres -> [15]: pick the newest major version.
    return [int(part) for part in path.split("/") if part.isdigit()]
