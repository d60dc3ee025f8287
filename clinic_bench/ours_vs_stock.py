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
(clinic_bench/detector_speed.py). Writes results/benchmarks.json and docs/benchmarks.md; prints a
table.

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
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from clinic_bench import detector_speed
from clinic_bench import figures as bench_figures
from clinic_bench import load as bench_load
from clinic_bench import report as bench_report
from clinic_bench import scaled as bench_scaled
from clinic_bench.cpu import CpuWindow
from clinic_bench.edit_to_live import measure_edit_to_live
from clinic_bench.processes import MemorySampler, Server
from clinic_bench.progress import say
from clinic_bench.run_info import machine_info, source_info
from clinic_bench.systems import (
    System,
    another_cold_start,
    baseline_config,
    start,
    stock_endpoints,
    train,
)
from clinic_content.messages import read_texts
from clinic_content.paths import MESSAGES_FILE

PROJECT_DIR = Path(__file__).resolve().parent.parent
PY = sys.executable
SYSTEMS = ("ours", "baseline")

MODES: Dict[str, Dict[str, Any]] = {
    # cold_starts: Rasa process starts timed per system (interleaved; the median is reported).
    "full": {
        "levels": [1, 8, 32],
        "requests": 200,
        "edit_trials": 5,
        "baseline_epochs": None,
        "schema_quick": False,
        "cold_starts": 3,
    },
    # CI smoke: keeps the code from rotting; its figures are not for comparison.
    "smoke": {
        "levels": [1, 8],
        "requests": 24,
        "edit_trials": 2,
        "baseline_epochs": 3,
        "schema_quick": True,
        "cold_starts": 1,
    },
}


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
        user = connection.execute("SELECT COUNT(*) FROM events WHERE type_name='user'").fetchone()[
            0
        ]
        rows = connection.execute(
            "SELECT action_name, COUNT(*) FROM events WHERE type_name='action' GROUP BY action_name"
        ).fetchall()
    executed = {name: count for name, count in rows if name in custom}
    return {
        "user_messages": user,
        "custom_actions_executed": executed,
        "per_message": round(sum(executed.values()) / user, 2) if user else None,
    }


def run_schema_benchmark(quick: bool) -> Dict[str, Any]:
    say(
        "micro-benchmark: Rasa's jsonschema validation of action-server replies"
        " (clinic_bench/reply_validation.py)"
    )
    command = [PY, "-m", "clinic_bench.reply_validation"] + (["--quick"] if quick else [])
    result = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"clinic_bench.reply_validation failed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    say(
        f"  validate() as Rasa calls it: {data['replies']['faq']['per_call_us'] / 1000:.2f} ms per"
        f" reply; compiled once: {data['replies']['faq']['compiled_once_us'] / 1000:.2f} ms"
    )
    return data


def run_detector_benchmark(quick: bool) -> Dict[str, Any]:
    say(
        "micro-benchmark: our contraindication detector per message "
        "(clinic_bench/detector_speed.py)"
    )
    command = [PY, "-m", "clinic_bench.detector_speed"] + (["--quick"] if quick else [])
    result = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"clinic_bench.detector_speed failed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    say(f"  {data['per_message_ms']} ms per message over {data['messages']} red-team texts")
    return data


def full_markdown(results: Dict[str, Any]) -> str:
    """docs/benchmarks.md: ours vs the baseline, then the scaled setup's and detector's sections."""
    ours = results.get("systems", {}).get("ours", {}).get("latency", {})
    best = max((level.get("throughput_msgs_per_s") or 0 for level in ours.values()), default=None)
    sections = [
        bench_scaled.markdown(results.get("scaled"), best),
        detector_speed.markdown(results.get("condition_detector")),
    ]
    return bench_report.markdown(results) + "".join("\n" + s for s in sections if s)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clinic_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--smoke", action="store_true", help="short run for CI (see module doc)")
    parser.add_argument(
        "--cold-starts",
        type=int,
        default=None,
        help="Rasa process starts timed per system (default: full 3, smoke 1)",
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        help="default results/benchmarks.json (smoke: results/benchmarks-smoke.json)",
    )
    parser.add_argument(
        "--md-out",
        type=Path,
        help="default docs/benchmarks.md (smoke: results/benchmarks-smoke.md)",
    )
    parser.add_argument("--keep-tmp", action="store_true", help="keep the /tmp work directory")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: rewrite --md-out (default docs/benchmarks.md)"
        " and print the table from an earlier run's JSON",
    )
    parser.add_argument(
        "--note",
        help="a remark on the conditions of the run, printed in the"
        " doc (e.g. what else was running)",
    )
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
    json_out = args.json_out or PROJECT_DIR / (
        "results/benchmarks-smoke.json" if args.smoke else "results/benchmarks.json"
    )
    md_out = args.md_out or PROJECT_DIR / (
        "results/benchmarks-smoke.md" if args.smoke else "docs/benchmarks.md"
    )

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)

    tmp = Path(tempfile.mkdtemp(prefix="clinic-bench-", dir="/tmp"))
    say(f"{mode} run; work directory {tmp}")
    if args.smoke:
        say(
            f"SMOKE MODE: {settings['requests']} requests per level, concurrency"
            f" {settings['levels']}; the baseline is trained with {settings['baseline_epochs']}"
            " epochs instead of 100 (full training would take several minutes), so its training"
            " time and answers are NOT comparable. Use `make bench` for real figures."
        )
    results: Dict[str, Any] = {
        "mode": mode,
        "settings": {
            **settings,
            "message_mix": bench_load.mix_summary(),
            "client": "asyncio + aiohttp, closed loop, one sender id per simulated visitor",
            "hosts": "127.0.0.1 only",
        },
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
            failures.append(
                {
                    "phase": name,
                    "error": str(error)[-4000:],
                    "traceback": traceback.format_exc()[-4000:],
                }
            )

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
        credentials.write_text(
            "# Generated by clinic_bench (make bench): Rasa's plain REST channel only.\nrest:\n"
        )
        base_config = baseline_config(tmp / "baseline" / "config.yml", settings["baseline_epochs"])
        results["settings"]["baseline_config"] = {
            k: base_config[k] for k in ("source", "epochs_changed")
        }
        systems["ours"] = System(
            "ours",
            tmp / "ours",
            PROJECT_DIR / "config.yml",
            PROJECT_DIR / "credentials.yml",
            "/webhooks/website/webhook",
            "website channel (clinic_channel.website.WebsiteInput)",
        )
        systems["baseline"] = System(
            "baseline",
            tmp / "baseline",
            tmp / "baseline" / "config.yml",
            credentials,
            "/webhooks/rest/webhook",
            "REST channel (rest:)",
        )
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
                    bench_load.sample_replies(system.url, f"warmup-{system.name}")
                )

        # Levels interleaved (ours, baseline, baseline, ours, ...) so that other load on the
        # machine (it is shared) falls on both alike.
        pids = [s.pid for s in servers]
        for index, level in enumerate(settings["levels"]):
            order = running if index % 2 == 0 else list(reversed(running))
            for system in order:
                with phase(f"load {system.name} c={level}"):
                    say(f"{system.name}: {settings['requests']} messages at concurrency {level}")
                    window = CpuWindow(pids).start()
                    stats = asyncio.run(
                        bench_load.run_level(
                            system.url,
                            level,
                            settings["requests"],
                            f"load-{system.name}-c{level}",
                            degraded_texts(),
                        )
                    )
                    stats.update(window.stop())
                    system.result.setdefault("latency", {})[str(level)] = stats
                    say(
                        f"  p50 {stats['p50_ms']} ms  p95 {stats['p95_ms']} ms  p99 "
                        f"{stats['p99_ms']}"
                        f" ms  {stats['throughput_msgs_per_s']} msg/s  errors {stats['errors']}"
                        f"  (machine busy {stats['machine_busy_pct']}%, of which not the bench"
                        f" {stats['other_processes_pct']}%)"
                    )
                    if stats["errors"]:
                        raise RuntimeError(
                            f"{stats['errors']} failed requests: {stats['error_samples']}"
                        )

        if systems["ours"] in running:
            with phase("edit-to-live ours"):
                measure_edit_to_live(systems["ours"], settings["edit_trials"])

        for system in running:
            with phase(f"action calls {system.name}"):
                system.result["custom_actions"] = custom_actions_per_message(system)

        if systems["ours"].model is not None:
            with phase("scaled setup"):  # issue 10: 1, 2, 4 Rasa servers (scaled.py)
                results["scaled"] = bench_scaled.run(
                    systems["ours"].model, tmp / "scaled", mode, say, degraded_texts()
                )
    except KeyboardInterrupt:
        say("interrupted: stopping the servers")
        failures.append({"phase": "interrupted", "error": "interrupted (Ctrl-C / SIGTERM)"})
        raise
    finally:
        sampler.stop()
        for server in reversed(servers):
            server.stop()
        for system in systems.values():
            if system.rasa is not None and system.actions is not None:
                system.result["memory"] = {
                    "rasa_peak_rss_mb": round(system.rasa.peak_kb() / 1024, 1),
                    "actions_peak_rss_mb": round(system.actions.peak_kb() / 1024, 1),
                    "total_peak_rss_mb": round(
                        (system.rasa.peak_kb() + system.actions.peak_kb()) / 1024, 1
                    ),
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
    results["figures"] = bench_figures.figures(results)
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
