"""`make bench`: our assistant against the stock `rasa init` configuration, in the same run.

Both are trained here, from scratch, on the repository's training data (data/nlu, data/rules,
domain.yml) and served with our action server on 127.0.0.1:

  ours      config.yml, the website channel (credentials.yml)  POST /webhooks/website/webhook
  baseline  Rasa's default config (rasa/engine/recipes/config_files/default_config.yml, what
            `rasa init` trains with), Rasa's plain REST channel  POST /webhooks/rest/webhook

Measured for each: full training time, cold start (process start to first answer), latency
p50/p95/p99 at several concurrencies, throughput, peak memory; for ours the time from an answer
edit (data/content/answers.yml, in a temporary copy) to the new answer being live. Plus a
micro-benchmark of Rasa's per-call jsonschema validation of action-server replies
(clinic_bench/reply_validation.py), and our contraindication detector's time per message
(clinic_bench/detector_speed.py). Writes results/benchmarks.json and docs/benchmarks.md; prints a table.

    .venv/bin/python -m clinic_bench            # full (make bench)
    .venv/bin/python -m clinic_bench --smoke    # short (make bench-smoke, CI): a few requests,
                                                # concurrency 1 and 8, baseline with few epochs
    .venv/bin/python -m clinic_bench --render results/benchmarks.json   # only rewrite the doc

Everything started here listens on 127.0.0.1 only, lives under a /tmp directory and is stopped
by PID at the end, also on failure or Ctrl-C. Nothing in the repository is modified except the
two output files (the smoke mode writes under results/ only).
"""

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from clinic_bench import detector_speed
from clinic_bench import load as bench_load
from clinic_bench import report as bench_report
from clinic_bench import scaled as bench_scaled
from clinic_bench.cpu import ChildCpuWindow, CpuWindow
from clinic_bench.processes import MemorySampler, Server, free_port
from clinic_content.answers import parse_answers
from clinic_content.fields import load_file
from clinic_content.messages import read_texts
from clinic_content.paths import ANSWERS_FILE, MESSAGES_FILE

PROJECT_DIR = Path(__file__).resolve().parent.parent
PY = sys.executable
TRAINING_DATA = ["data/nlu", "data/rules", "data/stories"]  # as scripts/train.py
SYSTEMS = ("ours", "baseline")
START_TIMEOUT_SECONDS = 300
TRAIN_TIMEOUT_SECONDS = 3600

MODES = {
    # cold_starts: Rasa process starts timed per system (interleaved; the median is reported).
    "full": {"levels": [1, 8, 32], "requests": 200, "edit_trials": 5, "baseline_epochs": None,
             "schema_quick": False, "cold_starts": 3},
    # CI smoke: keeps the code from rotting; its figures are not for comparison.
    "smoke": {"levels": [1, 8], "requests": 24, "edit_trials": 2, "baseline_epochs": 3,
              "schema_quick": True, "cold_starts": 1},
}

_T0 = time.monotonic()


def say(text: str) -> None:
    """Progress line."""
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {text}", flush=True)


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
            result = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True,
                                    text=True, timeout=30)
        except OSError:
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    changed = "\n".join(filter(None, [git("diff", "--name-only", "HEAD"),
                                     git("ls-files", "--others", "--exclude-standard")]))
    try:
        inputs = training_inputs_hash()
    except Exception:  # informative only
        inputs = None
    return {"git_commit": git("rev-parse", "HEAD"),
            "uncommitted_changes": changed.splitlines() if changed else [],
            "training_inputs_sha256": inputs}


def training_inputs_hash() -> str:
    """The hash `make model` keeps beside the model (scripts/train.py, a script, not a module)."""
    spec = importlib.util.spec_from_file_location("train", PROJECT_DIR / "scripts" / "train.py")
    train_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_script)
    return train_script.inputs_hash()


def training_data() -> List[str]:
    return [d for d in TRAINING_DATA if (PROJECT_DIR / d).is_dir() and any((PROJECT_DIR / d).iterdir())]


def baseline_config(path: Path, epochs: Optional[int]) -> Dict[str, Any]:
    """Rasa's default config (what `rasa init` trains with), written to ``path``."""
    from importlib.util import find_spec

    # located without importing Rasa (which takes seconds)
    rasa_dir = Path(find_spec("rasa").submodule_search_locations[0])
    source = rasa_dir / "engine" / "recipes" / "config_files" / "default_config.yml"
    config = yaml.safe_load(source.read_text())
    config["assistant_id"] = "bench-baseline"
    changed = []
    if epochs is not None:
        for item in config["pipeline"] + config["policies"]:
            if "epochs" in item:
                changed.append(f"{item['name']} {item['epochs']}->{epochs}")
                item["epochs"] = epochs
    header = (f"# Generated by clinic_bench (make bench) from {source.name} of Rasa "
              f"{package_version('rasa')} (the stock `rasa init` configuration).\n")
    if changed:
        header += f"# SMOKE MODE: epochs reduced ({', '.join(changed)}).\n"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return {"source": str(source), "epochs_changed": changed, "config": config}


class System:
    """One assistant under test: how to train it, serve it and talk to it."""

    def __init__(self, name: str, workdir: Path, config: Path, credentials: Path,
                 webhook_path: str, channel: str) -> None:
        self.name = name
        self.workdir = workdir
        self.config = config
        self.credentials = credentials
        self.webhook_path = webhook_path
        self.channel = channel
        self.model: Optional[Path] = None
        self.endpoints = PROJECT_DIR / "endpoints.yml"
        self.content_dir = workdir / "content"
        self.rasa: Optional[Server] = None
        self.actions: Optional[Server] = None
        self.rasa_port = 0
        self.actions_port = 0
        self.result: Dict[str, Any] = {"channel": channel, "config": str(config),
                                       "webhook": webhook_path}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}{self.webhook_path}"

    def rasa_server(self, port: int, env: Dict[str, str], label: str) -> Server:
        """A Rasa server process for this system on ``port`` (started at once)."""
        return Server(f"{self.name}-rasa{label}",
                      # ours runs through our entry point (clinic_runtime: schema compiled
                      # once), exactly as `make run` starts it; the baseline is stock Rasa.
                      [PY, "-m", "clinic_runtime" if self.name == "ours" else "rasa",
                       "run", "--interface", "127.0.0.1", "--port", str(port), "--model",
                       str(self.model), "--credentials", str(self.credentials), "--endpoints",
                       str(self.endpoints)],
                      PROJECT_DIR, env, self.workdir / f"rasa{label}.log")

    def env(self, actions_port: int) -> Dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               # never deliver bench "requests" anywhere, never open the HTTP API
               if key not in ("CLINIC_WEBHOOK_URL", "CLINIC_API_TOKEN")}
        env.update({
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "CLINIC_TRACKER_DB": str(self.workdir / "tracker.db"),
            "CLINIC_OUTBOX_PATH": str(self.workdir / "outbox.db"),
            "CLINIC_UNANSWERED_PATH": str(self.workdir / "unanswered.db"),
            "CLINIC_CONTENT_DIR": str(self.content_dir),
            # all load comes from 127.0.0.1, and one simulated visitor may be fast
            "CLINIC_RATE_LIMIT_IP_MESSAGES": "0",
            "CLINIC_RATE_LIMIT_MESSAGES": "100000",
        })
        return env


def stock_endpoints(path: Path) -> Path:
    """endpoints.yml with Rasa's own SQL tracker store (ours names a cached subclass of it,
    clinic_runtime/tracker_store.py): the baseline is stock Rasa, on the same database settings."""
    endpoints = yaml.safe_load((PROJECT_DIR / "endpoints.yml").read_text())
    endpoints["tracker_store"]["type"] = "SQL"
    path.write_text("# Generated by clinic_bench (make bench) from endpoints.yml: Rasa's SQL tracker"
                    " store.\n"
                    + yaml.safe_dump(endpoints, sort_keys=False))
    return path


def train(system: System) -> None:
    """`rasa train` from scratch (fresh output dir and fresh Rasa cache); wall time."""
    out = system.workdir / "model"
    out.mkdir(parents=True)
    name = f"bench-{system.name}"
    command = [PY, "-m", "rasa", "train", "--config", str(system.config), "--domain", "domain.yml",
               "--data", *training_data(), "--out", str(out), "--fixed-model-name", name]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false",
           # an empty cache: nothing can be reused from an earlier training
           "RASA_CACHE_DIRECTORY": str(system.workdir / "rasa-cache")}
    log = system.workdir / "train.log"
    say(f"training {system.name}: {' '.join(command[1:6])} ... (log {log})")
    started = time.monotonic()
    cpu = ChildCpuWindow().start()
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            next_note = 30.0
            while process.poll() is None:
                time.sleep(0.5)
                elapsed = time.monotonic() - started
                if elapsed > TRAIN_TIMEOUT_SECONDS:
                    raise TimeoutError(f"training {system.name} took over {TRAIN_TIMEOUT_SECONDS} s")
                if elapsed >= next_note:
                    say(f"  ... still training {system.name} ({elapsed:.0f} s)")
                    next_note += 30.0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = time.monotonic() - started
    if process.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"rasa train ({system.name}) exited with {process.returncode}:\n{tail}")
    system.model = out / f"{name}.tar.gz"
    if not system.model.exists():
        raise RuntimeError(f"rasa train ({system.name}) wrote no {system.model.name}")
    system.result["training_s"] = round(seconds, 1)
    system.result["training_cpu"] = cpu.stop()
    system.result["model_mb"] = round(system.model.stat().st_size / 1e6, 1)
    say(f"trained {system.name} in {seconds:.1f} s (machine busy"
        f" {system.result['training_cpu']['machine_busy_pct']}%, of which not the bench"
        f" {system.result['training_cpu']['other_processes_pct']}%)")


def wait_http(url: str, server: Server, timeout: float) -> float:
    """Wait until a GET on ``url`` succeeds; seconds since the server was started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited during start-up\n{server.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return time.monotonic() - server.started_at
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s\n{server.tail()}")


def start(system: System, sampler: MemorySampler, servers: List[Server]) -> None:
    """Action server, then the Rasa server; cold start = Rasa process start to first answer."""
    actions_port = free_port()
    env = system.env(actions_port)
    say(f"starting {system.name}: action server on 127.0.0.1:{actions_port}")
    system.actions = Server(f"{system.name}-actions",
                            [PY, "-m", "clinic_requests.action_server", "--actions", "actions",
                             "--port", str(actions_port)],
                            PROJECT_DIR, {**env, "SANIC_HOST": "127.0.0.1"},
                            system.workdir / "actions.log")
    servers.append(system.actions)
    sampler.add(system.actions)
    system.result["actions_start_s"] = round(
        wait_http(f"http://127.0.0.1:{actions_port}/health", system.actions, 120), 2)

    system.actions_port = actions_port
    system.rasa_port = free_port()
    say(f"starting {system.name}: Rasa server on 127.0.0.1:{system.rasa_port}"
        f" ({system.channel}); timing the cold start")
    system.rasa = system.rasa_server(system.rasa_port, env, "")
    servers.append(system.rasa)
    sampler.add(system.rasa)
    try:
        cold = asyncio.run(bench_load.first_answer(system.url, system.rasa.alive,
                                                   system.rasa.started_at, START_TIMEOUT_SECONDS))
    except Exception as error:
        raise RuntimeError(f"{error}\n{system.rasa.tail()}") from error
    system.result["cold_start_s"] = cold["seconds"]
    system.result["cold_start_samples_s"] = [cold["seconds"]]
    system.result["cold_start_first_answer_nonempty"] = cold["answer_nonempty"]
    say(f"{system.name}: first answer {cold['seconds']:.1f} s after the process started")


def another_cold_start(system: System, sample: int) -> None:
    """Time one more Rasa process start of ``system`` (a second server on its own port, same
    model, endpoints and action server; stopped after its first answer). A single start is one
    sample on a shared machine; the reported cold start is the median of the samples."""
    port = free_port()
    server = system.rasa_server(port, system.env(system.actions_port), f"-cold{sample}")
    try:
        cold = asyncio.run(bench_load.first_answer(
            f"http://127.0.0.1:{port}{system.webhook_path}", server.alive, server.started_at,
            START_TIMEOUT_SECONDS))
    except Exception as error:
        raise RuntimeError(f"{error}\n{server.tail()}") from error
    finally:
        server.stop()
    samples = system.result["cold_start_samples_s"]
    samples.append(cold["seconds"])
    system.result["cold_start_s"] = round(statistics.median(samples), 2)
    say(f"{system.name}: cold start sample {len(samples)}: {cold['seconds']:.1f} s"
        f" (median so far {system.result['cold_start_s']:.2f} s)")


def content_edit_target(content_dir: Path, intent: str) -> Dict[str, Any]:
    """The answer for ``intent`` in answers.yml: its id, the line to edit, its first words."""
    path = content_dir / ANSWERS_FILE
    answers = load_file(path, lambda data, where, errors: parse_answers(data, where, None, errors),
                        ANSWERS_FILE)[0]
    answer = next(a for a in answers.values() if intent in a.intents)
    lines = path.read_text().splitlines(keepends=True)
    text_line = next(i for i in range(answer.line, len(lines))
                     if lines[i].strip().startswith("text:"))
    if lines[text_line].split("text:", 1)[1].strip() not in (">-", ">", "|", "|-"):
        raise RuntimeError(f"answers.yml: the text of '{answer.id}' is not a block scalar;"
                           " the bench does not know where to insert its marker")
    return {"id": answer.id, "line": text_line + 1,
            "first_words": " ".join(answer.text.split()[:6])}


def measure_edit_to_live(system: System, trials: int) -> None:
    """Edit an answer in the content copy; time until the new text is served (ours only)."""
    question = bench_load.MESSAGES["faq_what"][1]
    target = content_edit_target(system.content_dir, "ask_what_is")
    answers = system.content_dir / "answers.yml"
    original = answers.read_text()

    async def check() -> List[float]:
        before = " ".join(bench_load.reply_texts(
            (await _post_once(system.url, "edit-check", question))))
        if target["first_words"] not in " ".join(before.split()):
            raise RuntimeError(f"{question!r} is not answered by '{target['id']}' before the"
                               f" edit (got {before[:120]!r})")
        seconds = []
        for trial in range(trials):
            marker = f"BENCHEDIT{trial}X{int(time.time())}"
            lines = original.splitlines(keepends=True)
            indent = len(lines[target["line"]]) - len(lines[target["line"]].lstrip())
            lines[target["line"]] = (lines[target["line"]][:indent] + marker + " "
                                     + lines[target["line"]][indent:])
            started = time.monotonic()
            answers.write_text("".join(lines))
            seconds.append(await bench_load.wait_for_reply(
                system.url, question, lambda reply, m=marker: m in reply, 30,
                f"edit-{trial}", started=started))
            answers.write_text(original)
            await bench_load.wait_for_reply(system.url, question,
                                            lambda reply, m=marker: m not in reply, 30,
                                            f"unedit-{trial}")
        return seconds

    try:
        seconds = asyncio.run(check())
    finally:
        answers.write_text(original)
    system.result["edit_to_live"] = {
        "method": "measured: answers.yml edited in the content copy, the question asked every"
                  " 50 ms with a fresh sender until the new text is served",
        "trials": [round(s, 3) for s in seconds],
        "median_s": round(sorted(seconds)[len(seconds) // 2], 3),
        "max_s": round(max(seconds), 3),
    }
    say(f"ours: answer edit live after {system.result['edit_to_live']['median_s']:.2f} s"
        f" (median of {trials})")


async def _post_once(url: str, sender: str, text: str) -> Any:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        return (await bench_load.post_message(session, url, sender, text))[1]


def degraded_texts() -> List[str]:
    """Our channel's 'rate limited' / 'something went wrong' texts (200 answers that failed)."""
    messages = read_texts(PROJECT_DIR / "data" / "content" / MESSAGES_FILE)
    return [messages.get("rate_limited", ""), messages.get("error_try_again", "")]


def custom_actions_per_message(system: System) -> Optional[Dict[str, Any]]:
    """From the tracker store: custom (action-server) actions executed per user message."""
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text())
    custom = set(domain.get("actions") or [])
    db = system.workdir / "tracker.db"
    if not db.exists():
        return None
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        user = connection.execute("SELECT COUNT(*) FROM events WHERE type_name='user'").fetchone()[0]
        rows = connection.execute("SELECT action_name, COUNT(*) FROM events WHERE type_name='action'"
                                  " GROUP BY action_name").fetchall()
    executed = {name: count for name, count in rows if name in custom}
    return {"user_messages": user, "custom_actions_executed": executed,
            "per_message": round(sum(executed.values()) / user, 2) if user else None}


def run_schema_benchmark(quick: bool) -> Dict[str, Any]:
    say("micro-benchmark: Rasa's jsonschema validation of action-server replies"
        " (clinic_bench/reply_validation.py)")
    command = [PY, "-m", "clinic_bench.reply_validation"] + (["--quick"] if quick else [])
    result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if result.returncode != 0:
        raise RuntimeError(f"clinic_bench.reply_validation failed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    say(f"  validate() as Rasa calls it: {data['replies']['faq']['per_call_us'] / 1000:.2f} ms per"
        f" reply; compiled once: {data['replies']['faq']['compiled_once_us'] / 1000:.2f} ms")
    return data


def run_detector_benchmark(quick: bool) -> Dict[str, Any]:
    say("micro-benchmark: our contraindication detector per message (clinic_bench/detector_speed.py)")
    command = [PY, "-m", "clinic_bench.detector_speed"] + (["--quick"] if quick else [])
    result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if result.returncode != 0:
        raise RuntimeError(f"clinic_bench.detector_speed failed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    say(f"  {data['per_message_ms']} ms per message over {data['messages']} red-team texts")
    return data


def full_markdown(results: Dict[str, Any]) -> str:
    """docs/benchmarks.md: ours vs the baseline, then the scaled setup's and detector's sections."""
    ours = results.get("systems", {}).get("ours", {}).get("latency", {})
    best = max((level.get("throughput_msgs_per_s") or 0 for level in ours.values()), default=None)
    sections = [bench_scaled.markdown(results.get("scaled"), best),
                detector_speed.markdown(results.get("condition_detector"))]
    return bench_report.markdown(results) + "".join("\n" + s for s in sections if s)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m clinic_bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="short run for CI (see module doc)")
    parser.add_argument("--cold-starts", type=int, default=None,
                        help="Rasa process starts timed per system (default: full 3, smoke 1)")
    parser.add_argument("--json-out", type=Path, help="default results/benchmarks.json"
                        " (smoke: results/benchmarks-smoke.json)")
    parser.add_argument("--md-out", type=Path, help="default docs/benchmarks.md"
                        " (smoke: results/benchmarks-smoke.md)")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the /tmp work directory")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="measure nothing: rewrite --md-out (default docs/benchmarks.md)"
                             " and print the table from an earlier run's JSON")
    parser.add_argument("--note", help="a remark on the conditions of the run, printed in the"
                                           " doc (e.g. what else was running)")
    args = parser.parse_args()
    if args.render:
        earlier = json.loads(args.render.read_text())
        if args.note:
            earlier["note"] = args.note
            args.render.write_text(json.dumps(earlier, indent=2) + "\n")
        md_out = args.md_out or PROJECT_DIR / "docs/benchmarks.md"
        md_out.write_text(full_markdown(earlier))
        print(bench_report.text_table(earlier))
        print(f"[bench] wrote {md_out} from {args.render}")
        return 0
    mode = "smoke" if args.smoke else "full"
    settings = dict(MODES[mode])
    if args.cold_starts is not None:
        settings["cold_starts"] = max(1, args.cold_starts)
    json_out = args.json_out or PROJECT_DIR / ("results/benchmarks-smoke.json" if args.smoke
                                               else "results/benchmarks.json")
    md_out = args.md_out or PROJECT_DIR / ("results/benchmarks-smoke.md" if args.smoke
                                           else "docs/benchmarks.md")

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)

    tmp = Path(tempfile.mkdtemp(prefix="clinic-bench-", dir="/tmp"))
    say(f"{mode} run; work directory {tmp}")
    if args.smoke:
        say(f"SMOKE MODE: {settings['requests']} requests per level, concurrency"
            f" {settings['levels']}; the baseline is trained with {settings['baseline_epochs']}"
            " epochs instead of 100 (full training would take several minutes), so its training"
            " time and answers are NOT comparable. Use `make bench` for real figures.")
    results: Dict[str, Any] = {
        "mode": mode,
        "settings": {**settings, "message_mix": bench_load.mix_summary(),
                     "client": "asyncio + aiohttp, closed loop, one sender id per simulated visitor",
                     "hosts": "127.0.0.1 only"},
        "machine": machine_info(),
        "source": source_info(),
        "note": args.note,
        "failures": [],
    }
    failures: List[Dict[str, str]] = results["failures"]

    @contextmanager
    def phase(name: str):
        try:
            yield
        except KeyboardInterrupt:
            raise
        except Exception as error:  # recorded, reported, and the run goes on where it can
            say(f"FAILED: {name}: {error}")
            failures.append({"phase": name, "error": str(error)[-4000:],
                             "traceback": traceback.format_exc()[-4000:]})

    for directory in ["build/spacy-en-clinic", "data/nlu", "data/rules"]:
        if not (PROJECT_DIR / directory).exists():
            print(f"[bench] {directory} is missing: run `make setup` first", file=sys.stderr)
            return 2

    systems: Dict[str, System] = {}
    servers: List[Server] = []
    sampler = MemorySampler()
    started = time.monotonic()
    try:
        for name in SYSTEMS:
            (tmp / name).mkdir()
            shutil.copytree(PROJECT_DIR / "data" / "content", tmp / name / "content")
        credentials = tmp / "baseline" / "credentials.yml"
        credentials.write_text("# Generated by clinic_bench (make bench): Rasa's plain REST"
                               " channel only.\nrest:\n")
        base_config = baseline_config(tmp / "baseline" / "config.yml", settings["baseline_epochs"])
        results["settings"]["baseline_config"] = {k: base_config[k] for k in ("source", "epochs_changed")}
        systems["ours"] = System("ours", tmp / "ours", PROJECT_DIR / "config.yml",
                                 PROJECT_DIR / "credentials.yml", "/webhooks/website/webhook",
                                 "website channel (clinic_channel.website.WebsiteInput)")
        systems["baseline"] = System("baseline", tmp / "baseline", tmp / "baseline" / "config.yml",
                                     credentials, "/webhooks/rest/webhook", "REST channel (rest:)")
        systems["baseline"].result["config_yaml"] = base_config["config"]
        systems["baseline"].endpoints = stock_endpoints(tmp / "baseline" / "endpoints.yml")

        with phase("jsonschema micro-benchmark"):
            results["jsonschema_validation"] = run_schema_benchmark(settings["schema_quick"])
        with phase("detector micro-benchmark"):
            results["condition_detector"] = run_detector_benchmark(settings["schema_quick"])

        for system in systems.values():
            with phase(f"training {system.name}"):
                train(system)

        sampler.start()
        for system in systems.values():
            if system.model is not None:
                with phase(f"starting {system.name}"):
                    start(system, sampler, servers)
        running = [s for s in systems.values() if s.rasa is not None and "cold_start_s" in s.result]
        for sample in range(1, settings["cold_starts"]):
            # interleaved (baseline, ours, ours, baseline, ...): machine load falls on both alike
            order = list(reversed(running)) if sample % 2 else running
            for system in order:
                with phase(f"cold start {system.name} #{sample + 1}"):
                    another_cold_start(system, sample + 1)

        for system in running:
            with phase(f"warm-up {system.name}"):
                say(f"{system.name}: warm-up, every visitor script once (sample replies)")
                system.result["sample_replies"] = asyncio.run(
                    bench_load.sample_replies(system.url, f"warmup-{system.name}"))

        # Levels interleaved (ours, baseline, baseline, ours, ...) so that other load on the
        # machine (it is shared) falls on both alike.
        pids = [s.pid for s in servers]
        for index, level in enumerate(settings["levels"]):
            order = running if index % 2 == 0 else list(reversed(running))
            for system in order:
                with phase(f"load {system.name} c={level}"):
                    say(f"{system.name}: {settings['requests']} messages at concurrency {level}")
                    window = CpuWindow(pids).start()
                    stats = asyncio.run(bench_load.run_level(
                        system.url, level, settings["requests"], f"load-{system.name}-c{level}",
                        degraded_texts()))
                    stats.update(window.stop())
                    system.result.setdefault("latency", {})[str(level)] = stats
                    say(f"  p50 {stats['p50_ms']} ms  p95 {stats['p95_ms']} ms  p99 {stats['p99_ms']}"
                        f" ms  {stats['throughput_msgs_per_s']} msg/s  errors {stats['errors']}"
                        f"  (machine busy {stats['machine_busy_pct']}%, of which not the bench"
                        f" {stats['other_processes_pct']}%)")
                    if stats["errors"]:
                        raise RuntimeError(f"{stats['errors']} failed requests: {stats['error_samples']}")

        if systems["ours"] in running:
            with phase("edit-to-live ours"):
                measure_edit_to_live(systems["ours"], settings["edit_trials"])

        for system in running:
            with phase(f"action calls {system.name}"):
                system.result["custom_actions"] = custom_actions_per_message(system)

        if systems["ours"].model is not None:
            with phase("scaled setup"):  # issue 10: 1, 2, 4 Rasa servers (scaled.py)
                results["scaled"] = bench_scaled.run(systems["ours"].model, tmp / "scaled",
                                                     mode, say, degraded_texts())
    except KeyboardInterrupt:
        say("interrupted: stopping the servers")
        failures.append({"phase": "interrupted", "error": "interrupted (Ctrl-C / SIGTERM)"})
        raise
    finally:
        sampler.stop()
        for server in reversed(servers):
            server.stop()
        for system in systems.values():
            if system.rasa is not None:
                system.result["memory"] = {
                    "rasa_peak_rss_mb": round(system.rasa.peak_kb() / 1024, 1),
                    "actions_peak_rss_mb": round(system.actions.peak_kb() / 1024, 1),
                    "total_peak_rss_mb": round((system.rasa.peak_kb() + system.actions.peak_kb()) / 1024, 1),
                    "method": "max of /proc VmHWM (process + children, read before stopping)"
                              " and the sum of VmRSS sampled every 0.25 s",
                }
        if servers:
            say(f"stopped {len(servers)} servers (PIDs {' '.join(str(s.pid) for s in servers)})")
        interrupted = any(f["phase"] == "interrupted" for f in failures)
        if args.keep_tmp or (failures and not interrupted):
            say(f"work directory kept for inspection: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    results["systems"] = {name: system.result for name, system in systems.items()}
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["figures"] = bench_report.figures(results)
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(results, indent=2) + "\n")
    md_out.parent.mkdir(parents=True, exist_ok=True)
    md_out.write_text(full_markdown(results))
    print()
    print(bench_report.text_table(results))
    print()
    say(f"wrote {json_out} and {md_out} ({results['duration_s']:.0f} s)")
    if failures:
        say(f"{len(failures)} failure(s): " + "; ".join(f["phase"] for f in failures))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
