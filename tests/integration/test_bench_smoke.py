"""`make bench-smoke` (python -m clinic_bench --smoke) still works and its JSON has every field.

It trains both models (the baseline with a few epochs), starts four servers on 127.0.0.1 and
sends a few dozen messages: about 3 minutes. Deselect with `-m "not bench"`.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.bench]

SYSTEM_FIELDS = ["training_s", "cold_start_s", "actions_start_s", "model_mb"]
LEVEL_FIELDS = [
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "mean_ms",
    "max_ms",
    "throughput_msgs_per_s",
    "wall_s",
    "ok",
    "machine_busy_pct",
    "other_processes_pct",
]
MEMORY_FIELDS = ["rasa_peak_rss_mb", "actions_peak_rss_mb", "total_peak_rss_mb"]
MACHINE_FIELDS = [
    "nproc",
    "cpu_model",
    "ram_gib",
    "date",
    "python",
    "rasa",
    "rasa_sdk",
    "loadavg_at_start",
    "loadavg_at_end",
]
FIGURE_KEYS = [
    "latency_c1_p50_ms",
    "latency_c1_p95_ms",
    "latency_c1_p99_ms",
    "latency_c8_p50_ms",
    "latency_c8_p95_ms",
    "latency_c8_p99_ms",
    "throughput_best_msgs_per_s",
    "cold_start_s",
    "training_s",
    "edit_to_live_s",
    "rasa_peak_rss_mb",
    "actions_peak_rss_mb",
    "total_peak_rss_mb",
]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    json_out, md_out = out / "benchmarks.json", out / "benchmarks.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "clinic_bench",
            "--smoke",
            "--json-out",
            str(json_out),
            "--md-out",
            str(md_out),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=720,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result, json.loads(json_out.read_text()), md_out.read_text()


def test_smoke_json_has_every_field(smoke_run):
    _, data, _ = smoke_run
    assert data["mode"] == "smoke"
    assert data["failures"] == []
    assert data["settings"]["levels"] == [1, 8]
    assert data["settings"]["baseline_config"]["epochs_changed"], "smoke must reduce epochs"
    for field in MACHINE_FIELDS:
        assert data["machine"].get(field) not in (None, ""), field
    for name in ("ours", "baseline"):
        system = data["systems"][name]
        for field in SYSTEM_FIELDS:
            assert isinstance(system.get(field), (int, float)) and system[field] > 0, (name, field)
        for level in ("1", "8"):
            stats = system["latency"][level]
            for field in LEVEL_FIELDS:
                assert stats.get(field) is not None, (name, level, field)
            assert stats["errors"] == 0 and stats["ok"] == stats["requests"], (name, level)
            assert stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"] <= stats["max_ms"]
        for field in MEMORY_FIELDS:
            assert system["memory"][field] > 0, (name, field)
        assert system["throughput"]["msgs_per_s"] > 0
        assert system["edit_to_live"]["median_s"] > 0
        assert system["custom_actions"]["per_message"] > 0
        assert all(s["status"] == 200 and s["reply"] for s in system["sample_replies"]), name
    assert len(data["systems"]["ours"]["edit_to_live"]["trials"]) == 2
    schema = data["jsonschema_validation"]
    for reply in schema["replies"].values():
        assert reply["per_call_us"] > 0 and reply["compiled_once_us"] > 0
    assert schema["check_schema_us"] > 0
    detector = data["condition_detector"]  # timed here, no longer in the unit tests
    assert detector["messages"] > 100 and detector["per_message_ms"] > 0
    figures = {row["key"]: row for row in data["figures"]}
    for key in FIGURE_KEYS:
        row = figures[key]
        assert (
            row["ours"] is not None and row["baseline"] is not None and row["ratio"] is not None
        ), key


def test_smoke_measures_the_scaled_setup(smoke_run):
    _, data, markdown = smoke_run
    sizes = data["scaled"]["sizes"]
    assert sorted(sizes, key=int) == ["1", "2"]
    for size in sizes.values():
        assert size["best"]["throughput_msgs_per_s"] > 0 and size["rasa_peak_rss_mb"] > 0
        assert all(level["errors"] == 0 for level in size["levels"].values())
    assert "## Scaled setup: 1, 2 Rasa servers" in markdown


def test_smoke_markdown_and_output(smoke_run):
    result, _, markdown = smoke_run
    assert "SMOKE MODE" in markdown and "## Results" in markdown and "| figure |" in markdown
    assert "## Our contraindication detector, per message" in markdown
    assert "SMOKE MODE" in result.stdout and "epochs instead of 100" in result.stdout
    assert "ours/base" in result.stdout  # the printed table


def test_smoke_stops_its_servers_and_removes_its_work_directory(smoke_run):
    result, _, _ = smoke_run
    workdir = re.search(r"work directory (/tmp/clinic-bench-\S+)", result.stdout).group(1)
    assert not Path(workdir).exists()
    pids = re.search(r"stopped 4 servers \(PIDs ([\d ]+)\)", result.stdout).group(1).split()
    for pid in pids:  # gone, or the PID now belongs to a process that is not ours
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        assert workdir.encode() not in environ, f"server {pid} still running"
