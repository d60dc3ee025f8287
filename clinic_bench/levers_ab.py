"""Short A/B runs of runtime levers on the trained model (docs/benchmarks-levers.md).

Not `make bench`: no training, no baseline. One action server is started once; then each
variant's Rasa server is started in turn (A B B A A B ...: interleaved, so that other load on the
shared machine falls on both alike), with a fresh tracker store each time, and measured:

  cold start   Rasa process start to the first answer to "hello"
  RSS          VmRSS after the first answer, and the VmHWM peak at the end
  latency      p50 at each concurrency, plus throughput
  CPU / msg    user+sys CPU seconds of the Rasa process (and of the action server) per message
               during the load levels: less noisy than wall-clock latency on a busy machine
  long conv.   (--long N) one visitor sending N messages: latency by turn, to see how the
               tracker store's cost grows with the conversation

    .venv/bin/python -m clinic_bench.levers_ab --rounds 3 \
        --variant stock:module=rasa --variant ours:module=clinic_runtime
    make bench-ab                          # the same (its default AB_ARGS)
    make bench-ab AB_ARGS="--rounds 1 --variant a:module=rasa --variant b:module=clinic_runtime"

A variant is NAME:key=value,key=value with keys module (rasa | clinic_runtime), endpoints
(a file), model (a model archive, default --model), cwd (the project directory the Rasa server
runs in, default this one: e.g. an export of an earlier commit, `git archive HEAD | tar -x -C
DIR`, with build/ linked in for the spaCy pipeline), env (VAR=value;VAR=value; last: it takes
the rest of the spec, commas included, e.g.
env=CLINIC_RUNTIME_SKIP=sequential_graph,sklearn_layout). Prints a table of min / median over
the rounds and writes the raw figures as JSON (--json-out). Everything listens on 127.0.0.1 and is
stopped by PID.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import aiohttp

from clinic_bench import load as bench_load
from clinic_bench.cpu import process_jiffies
from clinic_bench.processes import Server, _status_kb, free_port

PROJECT_DIR = Path(__file__).resolve().parent.parent
PY = sys.executable
MODEL = PROJECT_DIR / "models" / "clinic-assistant.tar.gz"
TICK = os.sysconf("SC_CLK_TCK")
LONG_TEXTS = [
    bench_load.MESSAGES[k][1]
    for k in ("faq_what", "faq_hurt", "unknown_price", "faq_results", "faq_surgery", "faq_celebs")
]


def degraded_texts() -> List[str]:
    """Our channel's 'try again' texts: a 200 answer that is really a failure."""
    from clinic_content.messages import read_texts

    messages = read_texts(PROJECT_DIR / "data" / "content" / "messages.yml")
    return [
        text for text in (messages.get("rate_limited"), messages.get("error_try_again")) if text
    ]


def parse_variant(text: str) -> Dict[str, Any]:
    name, _, spec = text.partition(":")
    variant: Dict[str, Any] = {
        "name": name,
        "module": "clinic_runtime",
        "endpoints": "endpoints.yml",
        "env": {},
    }
    # env= comes last and takes the rest, commas included (CLINIC_RUNTIME_SKIP=a,b).
    if spec.startswith("env="):
        spec, env = "", spec[len("env=") :]
    else:
        spec, _, env = spec.partition(",env=")
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        if key not in ("module", "endpoints", "model", "cwd"):
            raise SystemExit(f"unknown variant key {key!r} in {text!r}")
        variant[key] = value
    for pair in filter(None, env.split(";")):
        var, _, val = pair.partition("=")
        variant["env"][var] = val
    return variant


def base_env(workdir: Path, actions_port: int) -> Dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("CLINIC_WEBHOOK_URL", "CLINIC_API_TOKEN")
    }
    env.update(
        {
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_TELEMETRY_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "CLINIC_OUTBOX_PATH": str(workdir / "outbox.db"),
            "CLINIC_UNANSWERED_PATH": str(workdir / "unanswered.db"),
            "CLINIC_RATE_LIMIT_IP_MESSAGES": "0",
            "CLINIC_RATE_LIMIT_MESSAGES": "100000",
        }
    )
    return env


async def long_conversation(url: str, sender: str, turns: int) -> List[float]:
    latencies = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for turn in range(turns):
            started = time.perf_counter()
            status, _ = await bench_load.post_message(
                session, url, sender, LONG_TEXTS[turn % len(LONG_TEXTS)]
            )
            if status != 200:
                raise RuntimeError(f"HTTP {status} at turn {turn}")
            latencies.append(time.perf_counter() - started)
    return latencies


def run_variant(
    variant: Dict[str, Any],
    workdir: Path,
    actions: Server,
    actions_port: int,
    args: argparse.Namespace,
    tag: str,
) -> Dict[str, Any]:
    env = base_env(workdir, actions_port)
    env["CLINIC_TRACKER_DB"] = str(workdir / f"tracker-{tag}.db")
    env.update(variant["env"])
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/website/webhook"
    rasa = Server(
        f"rasa-{tag}",
        [
            PY,
            "-m",
            variant["module"],
            "run",
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
            "--model",
            str(variant.get("model") or args.model),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            variant["endpoints"],
        ],
        Path(variant.get("cwd") or PROJECT_DIR),
        env,
        workdir / f"rasa-{tag}.log",
    )
    result: Dict[str, Any] = {"variant": variant["name"]}
    try:
        cold = asyncio.run(bench_load.first_answer(url, rasa.alive, rasa.started_at, 300))
        result["cold_start_s"] = cold["seconds"]
        result["rss_after_start_mb"] = round((_status_kb(rasa.pid, "VmRSS") or 0) / 1024, 1)
        asyncio.run(bench_load.sample_replies(url, f"warm-{tag}"))  # warm-up
        for level in args.levels:
            cpu_rasa, cpu_actions = process_jiffies(rasa.pid), process_jiffies(actions.pid)
            stats = asyncio.run(
                bench_load.run_level(url, level, args.requests, f"{tag}-c{level}", degraded_texts())
            )
            if stats["errors"] or stats["degraded_replies"] or stats["empty_replies"]:
                raise RuntimeError(
                    f"{variant['name']}: failed or 'try again' replies: {stats}\n{rasa.tail()}"
                )
            ok = stats["ok"]
            result[f"c{level}_p50_ms"] = stats["p50_ms"]
            result[f"c{level}_msg_s"] = stats["throughput_msgs_per_s"]
            result[f"c{level}_rasa_cpu_ms"] = round(
                1000 * (process_jiffies(rasa.pid) - cpu_rasa) / TICK / ok, 2
            )
            result[f"c{level}_actions_cpu_ms"] = round(
                1000 * (process_jiffies(actions.pid) - cpu_actions) / TICK / ok, 2
            )
        if args.long:
            lat = asyncio.run(long_conversation(url, f"{tag}-long", args.long))
            step = max(1, args.long // 5)
            for start in range(0, args.long, step):
                chunk = sorted(lat[start : start + min(10, step)])
                result[f"long_turn{start + 1}_ms"] = round(1000 * chunk[len(chunk) // 2], 1)
        result["rss_peak_mb"] = round((_status_kb(rasa.pid, "VmHWM") or 0) / 1024, 1)
    finally:
        rasa.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clinic_bench.levers_ab", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--variant", action="append", required=True, type=parse_variant)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--long", type=int, default=0, help="turns of one long conversation")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="clinic-ab-", dir="/tmp"))
    actions_port = free_port()
    actions = Server(
        "actions",
        [
            PY,
            "-m",
            "clinic_requests.action_server",
            "--actions",
            "actions",
            "--port",
            str(actions_port),
        ],
        PROJECT_DIR,
        {**base_env(workdir, actions_port), "SANIC_HOST": "127.0.0.1"},
        workdir / "actions.log",
    )
    results: List[Dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                import urllib.request

                urllib.request.urlopen(f"http://127.0.0.1:{actions_port}/health", timeout=2)
                break
            except OSError as error:
                if time.monotonic() > deadline or not actions.alive():
                    raise RuntimeError(actions.tail()) from error
                time.sleep(0.2)
        for round_no in range(args.rounds):
            order = args.variant if round_no % 2 == 0 else list(reversed(args.variant))
            for variant in order:
                tag = f"{variant['name']}-{round_no}"
                result = run_variant(variant, workdir, actions, actions_port, args, tag)
                print(json.dumps(result), flush=True)
                results.append(result)
    finally:
        actions.stop()
    keys = [k for k in results[0] if k != "variant"]
    names = [v["name"] for v in args.variant]
    print(f"\n{'figure':28}" + "".join(f"{n + ' min/med':>22}" for n in names))
    for key in keys:
        row = f"{key:28}"
        for name in names:
            values = [r[key] for r in results if r["variant"] == name and key in r]
            row += f"{min(values):>11}/{statistics.median(values):<10}" if values else f"{'-':>22}"
        print(row)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"work directory: {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
