"""`make bench`, scaled part: our assistant on the scaled setup with 1, 2 and 4 Rasa servers.

Each size is started from scratch (clinic_scaled.ScaledStack: PostgreSQL tracker store,
Redis lock store, 2 action servers, nginx in front, all on 127.0.0.1 under the bench's /tmp
folder), warmed up with every visitor script once, then loaded with the same message mix as
the single-process run at each concurrency; the best throughput, its latency and the Rasa
servers' peak memory are kept. Called by clinic_bench.ours_vs_stock; its section of
docs/benchmarks.md comes from :func:`markdown`.
"""

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from clinic_bench import load as bench_load
from clinic_bench.processes import tree_kb
from clinic_scaled.packages import programs
from clinic_scaled.stack import Ports, ScaledStack

PROJECT_DIR = Path(__file__).resolve().parent.parent

ACTION_SERVERS = 2
MODES: Dict[str, Dict[str, Any]] = {
    "full": {"rasa_servers": [1, 2, 4], "levels": [8, 32], "requests": 300},
    "smoke": {"rasa_servers": [1, 2], "levels": [8], "requests": 24},
}
# The bench's visitors all come from 127.0.0.1 and send fast: lift the channel's limits.
NO_LIMITS = {"CLINIC_RATE_LIMIT_IP_MESSAGES": "0", "CLINIC_RATE_LIMIT_MESSAGES": "100000"}


def run(
    model: Path, workdir: Path, mode: str, say: Callable[[str], None], degraded_texts: List[str]
) -> Dict[str, Any]:
    """Measure each size in turn; returns the "scaled" part of results/benchmarks.json."""
    missing = [name for name, path in programs().items() if path is None]
    if missing:
        raise RuntimeError(
            "the scaled setup needs Debian's "
            + ", ".join(missing)
            + " (make setup-dev or make run-scaled installs them)"
        )
    settings = MODES[mode]
    # PostgreSQL runs as the 'postgres' user, who must be able to enter the bench's folder.
    workdir.mkdir(parents=True, exist_ok=True)
    for folder in [workdir, *workdir.parents]:
        if folder == Path("/tmp") or folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o011)
    results: Dict[str, Any] = {"action_servers": ACTION_SERVERS, "settings": settings, "sizes": {}}
    for count in settings["rasa_servers"]:
        say(
            f"scaled: {count} Rasa server(s), {ACTION_SERVERS} action servers, nginx, "
            "PostgreSQL, Redis"
        )
        stack = ScaledStack(
            workdir / f"rasa-{count}",
            Ports.free(count, ACTION_SERVERS),
            model=model,
            extra_env=NO_LIMITS,
            say=lambda text: None,
        )
        size: Dict[str, Any] = {"rasa_servers": count, "levels": {}}
        started = time.monotonic()
        try:
            stack.start()
            size["start_s"] = round(time.monotonic() - started, 1)
            webhook = f"{stack.url}/webhooks/website/webhook"
            asyncio.run(bench_load.sample_replies(webhook, f"scaled{count}-warmup"))
            for level in settings["levels"]:
                stats = asyncio.run(
                    bench_load.run_level(
                        webhook,
                        level,
                        settings["requests"],
                        f"scaled{count}-c{level}",
                        degraded_texts,
                    )
                )
                size["levels"][str(level)] = stats
                say(
                    f"  {count} server(s), concurrency {level}: "
                    f"{stats['throughput_msgs_per_s']} msg/s, p50 {stats['p50_ms']} ms, "
                    f"p95 {stats['p95_ms']} ms, errors {stats['errors']}"
                )
                if stats["errors"]:
                    raise RuntimeError(
                        f"{stats['errors']} failed requests: {stats['error_samples']}"
                    )
            size["rasa_peak_rss_mb"] = round(
                sum(tree_kb(server.pid, "VmHWM") for server in stack.rasa if server.pid) / 1024, 1
            )
        finally:
            stack.stop()
        best = max(size["levels"].values(), key=lambda s: s["throughput_msgs_per_s"] or 0)
        size["best"] = {
            "concurrency": best["concurrency"],
            "throughput_msgs_per_s": best["throughput_msgs_per_s"],
            "p50_ms": best["p50_ms"],
            "p95_ms": best["p95_ms"],
        }
        results["sizes"][str(count)] = size
    one = results["sizes"].get("1", {}).get("best", {}).get("throughput_msgs_per_s")
    for size in results["sizes"].values():
        throughput = size["best"]["throughput_msgs_per_s"]
        size["best"]["vs_one_server"] = round(throughput / one, 2) if one and throughput else None
    results["nproc"] = os.cpu_count()
    return results


def markdown(scaled: Optional[Dict[str, Any]], single_best: Optional[float]) -> str:
    """The "Scaled setup" section of docs/benchmarks.md."""
    if not scaled or not scaled.get("sizes"):
        return ""
    sizes = ", ".join(sorted(scaled["sizes"], key=int))
    lines = [
        f"## Scaled setup: {sizes} Rasa servers",
        "",
        f"`make run-scaled`'s setup (docs/deploy.md), started fresh for each size: N Rasa servers "
        f"and {scaled['action_servers']} action servers behind nginx, conversations in "
        "PostgreSQL, locks and rate limits in Redis, all on this machine "
        f"({scaled.get('nproc')} CPUs). Same message mix as above; "
        f"{scaled['settings']['requests']} messages per concurrency level "
        f"({', '.join(str(level) for level in scaled['settings']['levels'])}); the best level "
        "is shown.",
        "",
        "| Rasa servers | throughput (msg/s) | vs 1 server | p50 (ms) | p95 (ms) | at concurrency "
        "| start (s) | Rasa servers' peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count, size in sorted(scaled["sizes"].items(), key=lambda item: int(item[0])):
        best = size["best"]
        lines.append(
            f"| {count} | {best['throughput_msgs_per_s']} | {best.get('vs_one_server')}x | "
            f"{best['p50_ms']} | {best['p95_ms']} | {best['concurrency']} | "
            f"{size.get('start_s')} | {size.get('rasa_peak_rss_mb')} |"
        )
    if single_best:
        lines += [
            "",
            f"For comparison, the single-process setup above (SQLite, no nginx): "
            f"{single_best} msg/s at its best concurrency.",
        ]
    lines += ["", 'What this suggests is in docs/deploy.md ("Load figures").', ""]
    return "\n".join(lines)
