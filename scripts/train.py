"""Trains the Rasa model only when what it is trained from has changed.

The model depends on the training data (data/nlu, data/rules, data/stories), config.yml,
domain.yml and our NLU component's code -- not on data/content/, which the action server reads
live. A hash of those inputs is stored beside the model; with the same hash nothing is trained.
(Rasa's own fingerprinting does the same but only after loading all of Rasa and the data, ~20 s.)
What `rasa train` prints (its progress bars and dependency warnings) goes to var/log/train.log
(CLINIC_LOG_DIR); the terminal gets one line before and one after, and the log's last lines if
training fails.
"""

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL_DIR = PROJECT_DIR / "models"
MODEL_NAME = "clinic-assistant"
LOG_DIR = Path(os.environ.get("CLINIC_LOG_DIR", PROJECT_DIR / "var" / "log"))
TRAINING_INPUTS = [
    "config.yml",
    "domain.yml",
    "data/nlu",
    "data/rules",
    "data/stories",
    "clinic_nlu",
]
TRAINING_DATA = ["data/nlu", "data/rules", "data/stories"]


def inputs_hash() -> str:
    """One hash over every file the model is trained from."""
    digest = hashlib.sha256()
    for entry in TRAINING_INPUTS:
        path = PROJECT_DIR / entry
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(PROJECT_DIR)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def model_path() -> Path:
    """Where the current model is kept."""
    return MODEL_DIR / f"{MODEL_NAME}.tar.gz"


def shown(path: Path) -> str:
    """A path as the person at the terminal would type it (relative to the project if inside)."""
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def main() -> int:
    """Train if needed; exit code of rasa train otherwise 0."""
    stamp = MODEL_DIR / f"{MODEL_NAME}.inputs"
    wanted = inputs_hash()
    if model_path().exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        print(f"[train] model up to date: {model_path().relative_to(PROJECT_DIR)}")
        return 0
    print(
        "[train] training data or config changed: training the model (about a minute)...",
        flush=True,
    )
    started = time.monotonic()
    data = [str(PROJECT_DIR / d) for d in TRAINING_DATA if (PROJECT_DIR / d).exists()]
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        *data,
        "--out",
        str(MODEL_DIR),
        "--fixed-model-name",
        MODEL_NAME,
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "train.log"
    with log.open("w", encoding="utf-8") as out:
        result = subprocess.run(
            command, cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        last = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        print(
            f"[train] training failed; the last lines of {shown(log)}:",
            *last,
            sep="\n    ",
            file=sys.stderr,
        )
        return result.returncode
    stamp.write_text(wanted)
    print(
        f"[train] trained in {time.monotonic() - started:.0f} s:"
        f" {model_path().relative_to(PROJECT_DIR)} (log: {shown(log)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
