"""The figures `make bench` compares, from a run's results: ours against the stock baseline,
each with its ratio and which way is better, and how busy the machine was meanwhile."""

from typing import Any, Dict, List, Optional


def value_at(data: Dict[str, Any], *path: str) -> Any:
    """The value at ``path`` of nested dictionaries, or None where the path breaks."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(ours: Any, baseline: Any) -> Optional[float]:
    if isinstance(ours, (int, float)) and isinstance(baseline, (int, float)) and baseline:
        return float(f"{ours / baseline:.3g}")
    return None


def _best_throughput(system: Dict[str, Any]) -> Dict[str, Any]:
    levels = system.get("latency") or {}
    best = None
    for level, stats in levels.items():
        value = stats.get("throughput_msgs_per_s")
        if value is not None and (best is None or value > best[1]):
            best = (int(level), value)
    return (
        {"concurrency": best[0], "msgs_per_s": best[1]}
        if best
        else {"concurrency": None, "msgs_per_s": None}
    )


def figures(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every compared figure: key, label, unit, ours, baseline, ratio ours/baseline, better."""
    systems = results.get("systems") or {}
    ours, base = systems.get("ours") or {}, systems.get("baseline") or {}
    rows: List[Dict[str, Any]] = []

    def add(key: str, label: str, unit: str, o: Any, b: Any, better: str, note: str = "") -> None:
        rows.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "ours": o,
                "baseline": b,
                "ratio": _ratio(o, b),
                "better": better,
                "note": note,
            }
        )

    for level in results.get("settings", {}).get("levels", []):
        for pct in ("p50", "p95", "p99"):
            add(
                f"latency_c{level}_{pct}_ms",
                f"latency {pct}, concurrency {level}",
                "ms",
                value_at(ours, "latency", str(level), f"{pct}_ms"),
                value_at(base, "latency", str(level), f"{pct}_ms"),
                "lower",
            )
    for system in (ours, base):
        system["throughput"] = _best_throughput(system)
    add(
        "throughput_best_msgs_per_s",
        "throughput at the best concurrency",
        "msg/s",
        ours["throughput"]["msgs_per_s"],
        base["throughput"]["msgs_per_s"],
        "higher",
        f"ours at c={ours['throughput']['concurrency']},"
        f" baseline at c={base['throughput']['concurrency']}",
    )
    samples = {
        name: system.get("cold_start_samples_s") or []
        for name, system in (("ours", ours), ("baseline", base))
    }
    add(
        "cold_start_s",
        "cold start (Rasa process start to first answer)",
        "s",
        ours.get("cold_start_s"),
        base.get("cold_start_s"),
        "lower",
        f"median of {len(samples['ours'])} / {len(samples['baseline'])} starts: ours "
        + ", ".join(f"{v:g}" for v in samples["ours"])
        + " s; baseline "
        + ", ".join(f"{v:g}" for v in samples["baseline"])
        + " s"
        if samples["ours"] and samples["baseline"]
        else "",
    )
    add(
        "training_s",
        "full training (`rasa train`, empty cache)",
        "s",
        ours.get("training_s"),
        base.get("training_s"),
        "lower",
    )
    retrain = None
    if base.get("training_s") is not None and base.get("cold_start_s") is not None:
        retrain = round(base["training_s"] + base["cold_start_s"], 1)
        base["edit_to_live"] = {
            "method": "derived: the stock setup keeps answer texts in the model (domain"
            " responses), so an edit needs a retrain + restart: training_s +"
            " cold_start_s measured in this run",
            "median_s": retrain,
        }
    add(
        "edit_to_live_s",
        "answer edit to live",
        "s",
        value_at(ours, "edit_to_live", "median_s"),
        retrain,
        "lower",
        "baseline = retrain + restart",
    )
    add(
        "rasa_peak_rss_mb",
        "peak RSS, Rasa server",
        "MB",
        value_at(ours, "memory", "rasa_peak_rss_mb"),
        value_at(base, "memory", "rasa_peak_rss_mb"),
        "lower",
    )
    add(
        "actions_peak_rss_mb",
        "peak RSS, action server",
        "MB",
        value_at(ours, "memory", "actions_peak_rss_mb"),
        value_at(base, "memory", "actions_peak_rss_mb"),
        "lower",
        "same code for both",
    )
    add(
        "total_peak_rss_mb",
        "peak RSS, both servers",
        "MB",
        value_at(ours, "memory", "total_peak_rss_mb"),
        value_at(base, "memory", "total_peak_rss_mb"),
        "lower",
    )
    add(
        "custom_actions_per_message",
        "action-server calls per message",
        "",
        value_at(ours, "custom_actions", "per_message"),
        value_at(base, "custom_actions", "per_message"),
        "lower",
        "from the tracker store",
    )
    errors = []
    for system in (ours, base):
        levels = (system.get("latency") or {}).values()
        errors.append(sum(s.get("errors", 0) for s in levels) if levels else None)
    add("failed_requests", "failed requests (all levels)", "", errors[0], errors[1], "lower")
    return rows


def machine_noise(results: Dict[str, Any]) -> Dict[str, Any]:
    """How much of the machine processes other than the benchmark used during the levels."""
    other, busy = [], []
    for system in (results.get("systems") or {}).values():
        for stats in (system.get("latency") or {}).values():
            if stats.get("other_processes_pct") is not None:
                other.append(stats["other_processes_pct"])
                busy.append(stats["machine_busy_pct"])
    return {
        "other_max": max(other) if other else None,
        "other_mean": round(sum(other) / len(other), 1) if other else None,
        "busy_max": max(busy) if busy else None,
    }
