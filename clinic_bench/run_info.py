"""What a benchmark run measured on and which code it measured: machine, packages, commit."""

import importlib.util
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Dict, Optional

PROJECT_DIR = Path(__file__).resolve().parent.parent


def package_version(name: str) -> Optional[str]:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info() -> Dict[str, Any]:
    """What the figures were measured on."""
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":")[0].strip() in ("model name", "Hardware", "cpu model"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
    except (OSError, ValueError):
        nproc = len(os.sched_getaffinity(0))
    return {
        "nproc": nproc,
        "cpu_model": cpu_model or platform.processor() or "unknown",
        "ram_gib": round(ram_kb / 1024 / 1024, 1) if ram_kb else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rasa": package_version("rasa"),
        "rasa_sdk": package_version("rasa-sdk"),
        "tensorflow": package_version("tensorflow"),
        "sanic": package_version("sanic"),
        "aiohttp": package_version("aiohttp"),
        "jsonschema": package_version("jsonschema"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "loadavg_at_start": os.getloadavg(),
    }


def source_info() -> Dict[str, Any]:
    """Which code was measured (read-only git commands; the tree may hold uncommitted edits)."""

    def git(*args: str) -> Optional[str]:
        try:
            result = subprocess.run(
                ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30
            )
        except OSError:
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    changed = "\n".join(
        filter(
            None,
            [git("diff", "--name-only", "HEAD"), git("ls-files", "--others", "--exclude-standard")],
        )
    )
    try:
        inputs = training_inputs_hash()
    except Exception:  # informative only
        inputs = None
    return {
        "git_commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": changed.splitlines() if changed else [],
        "training_inputs_sha256": inputs,
    }


def training_inputs_hash() -> str:
    """The hash `make model` keeps beside the model (scripts/train.py, a script, not a module)."""
    spec = importlib.util.spec_from_file_location("train", PROJECT_DIR / "scripts" / "train.py")
    if spec is None or spec.loader is None:
        raise ImportError("scripts/train.py cannot be loaded")
    train_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_script)
    return train_script.inputs_hash()
