"""Tables and docs/benchmarks.md for `make bench` (from the results dictionary)."""

from pathlib import Path
from typing import Any, Dict, List

from clinic_bench.figures import figures, machine_noise, value_at

# Measured levers, written by hand and included in docs/benchmarks.md at every run.
LEVERS_FILE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-levers.md"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:.0f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _ratio_fmt(row: Dict[str, Any]) -> str:
    ratio = row["ratio"]
    if ratio is None:
        return "n/a"
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def text_table(results: Dict[str, Any]) -> str:
    rows = results["figures"] = figures(results)
    header = f"{'figure':<52} {'ours':>10} {'baseline':>10} {'ours/base':>10}"
    lines = [
        f"Benchmark ({results.get('mode')} mode): ours vs stock `rasa init` config",
        header,
        "-" * len(header),
    ]
    for row in rows:
        label = row["label"] + (f" ({row['unit']})" if row["unit"] else "")
        lines.append(
            f"{label:<52} {_fmt(row['ours']):>10} {_fmt(row['baseline']):>10} {_ratio_fmt(row):>10}"
        )
    schema = results.get("jsonschema_validation")
    if schema:
        faq = schema["replies"]["faq"]
        lines.append(
            f"Rasa's per-call jsonschema validation of an action reply: "
            f"{faq['per_call_us'] / 1000:.2f} ms;"
            f" compiled once: {faq['compiled_once_us'] / 1000:.2f} ms"
        )
    detector = results.get("condition_detector")
    if detector:
        lines.append(
            f"Our contraindication detector: {detector['per_message_ms']} ms per message"
            f" ({detector['messages']} red-team texts, best of {detector['passes']} passes)"
        )
    for failure in results.get("failures") or []:
        lines.append(f"FAILED {failure['phase']}: {failure['error'].splitlines()[0][:200]}")
    return "\n".join(lines)


MEANINGS = """\
- **latency p50 / p95 / p99**: time from sending a visitor message over HTTP to receiving the
  full JSON answer, measured by the client (asyncio + aiohttp, on the same machine, 127.0.0.1).
  p50 is the typical message, p99 the slowest 1 in 100 (with {requests} messages per level it is
  interpolated between the 2 or 3 slowest, so it is itself noisy). Concurrency N = N simulated
  visitors chatting at the same time, each waiting for the answer before sending the next
  message (closed loop); every visitor has its own sender id (its own conversation).
- **throughput**: messages answered per second at the concurrency that gave the most.
- **cold start**: from starting the `rasa run` process (the action server is already up) to
  the first answer to a real message ("hello"): Python + Rasa imports, model unpacking and
  loading, the first turn. This is what a restart or a deploy costs. Full mode times 3 starts
  per system (interleaved, the later ones as a second server on its own port, stopped after
  its first answer) and reports the median; every sample is in the JSON and the table's note.
- **full training**: wall time of `rasa train` into an empty directory with an empty Rasa cache
  (`RASA_CACHE_DIRECTORY` in /tmp), i.e. nothing reused, including Rasa's own start-up (~10-20 s).
- **answer edit to live**: ours: a staff edit of `answers.yml` (in a /tmp copy pointed to by
  `CLINIC_CONTENT_DIR`) until the new text is in the answer; the question is asked every 50 ms,
  so the figure includes up to 50 ms of polling plus one answer's latency. Baseline: the
  stock setup keeps answer texts in the model (domain `responses:`), so an edit means a retrain
  and a restart: the baseline's full training + cold start measured in this run (a retrain with a
  warm Rasa cache would be shorter, a deploy pipeline longer). In this benchmark the baseline
  happens to share our action server, so it would pick up a content edit too; the figure stands
  for the stock way of keeping answer texts in `domain.yml`.
- **peak RSS**: the largest resident memory of each server (process plus children): the
  kernel's `VmHWM` from `/proc/<pid>/status`, read just before stopping, and a 0.25 s sampling
  of `VmRSS`; the larger is reported. It includes model loading, not only serving.
- **action-server calls per message**: custom actions executed per visitor message, counted in
  each run's tracker store (a form's own validation/ask calls are not logged as events, so this is
  a lower bound). Every one is an HTTP call from Rasa to the action server plus the validation
  measured below.
- **ratio**: ours / baseline; below 1.00x means ours is smaller (better for time and memory;
  for throughput higher is better).
"""


def markdown(results: Dict[str, Any]) -> str:
    rows = results["figures"] = figures(results)
    machine = results.get("machine", {})
    settings = results.get("settings", {})
    systems = results.get("systems") or {}
    noise = machine_noise(results)
    out: List[str] = []
    w = out.append
    w("# Benchmarks: our assistant vs the stock `rasa init` configuration")
    w("")
    w(
        f"Generated by `make bench` (clinic_bench) on {machine.get('date')}; do not edit by hand,"
        " run `make bench` again. Raw figures: `results/benchmarks.json`."
    )
    if results.get("mode") != "full":
        w("")
        w(
            f"> **{str(results.get('mode')).upper()} MODE** (`make bench-smoke`): a "
            f"handful of requests and a"
            f" baseline trained with {settings.get('baseline_epochs')} epochs instead of 100. These"
            " figures only show the benchmark still works; they are NOT comparable."
        )
    w("")
    w("## What is compared")
    w("")
    w(
        "Both are trained in the same run, from scratch, on the same training data (`data/nlu`,"
        " `data/rules`, `domain.yml`), and both are served with our action server and a SQLite"
        " tracker store (a fresh database in /tmp) on 127.0.0.1: ours with `endpoints.yml` (Rasa's"
        " SQL store plus our validated cache, `clinic_runtime/tracker_store.py`) and started"
        " through `clinic_runtime`, the baseline with Rasa's stock `type: SQL` "
        "store and `rasa run`:"
    )
    w("")
    w("| | ours | baseline |")
    w("|---|---|---|")
    w(
        "| config | `config.yml`: spaCy (blank English + lemmas), "
        "ContraindicationExtractor, word and"
        " char n-gram counts, LogisticRegressionClassifier, FallbackClassifier; RulePolicy only |"
        " Rasa's default config (what `rasa init` trains with), generated into "
        "/tmp: WhitespaceTokenizer,"
        " RegexFeaturizer, LexicalSyntacticFeaturizer, 2x CountVectorsFeaturizer (words; char_wb"
        " 1-4), DIETClassifier 100 epochs, EntitySynonymMapper, ResponseSelector 100 epochs,"
        " FallbackClassifier 0.3; MemoizationPolicy, RulePolicy, UnexpecTEDIntentPolicy and"
        " TEDPolicy (max_history 5, 100 epochs) |"
    )
    w(
        "| channel | our website channel (`credentials.yml`: limits, CORS; rate "
        "limits lifted for the"
        " run with `CLINIC_RATE_LIMIT_IP_MESSAGES=0`, `CLINIC_RATE_LIMIT_MESSAGES=100000`),"
        " `POST /webhooks/website/webhook` | Rasa's REST channel (a credentials file with `rest:`"
        " only), `POST /webhooks/rest/webhook` |"
    )
    w("")
    w(
        "This compares cost (time, memory), not answer quality: the baseline has no"
        " contraindication detector, so it does not handle the safety disclosures the way ours"
        " does (`systems.*.sample_replies` in the JSON shows what each answered; answer quality is"
        " measured by the NLU gates and the red-team suite, see `docs/nlu.md`)."
    )
    w("")
    mix = settings.get("message_mix", {})
    w("Message mix (fixed, cycled; one sender id per simulated visitor):")
    w("")
    for script in mix.get("visitor_scripts", []):
        texts = " -> ".join(
            f'"{mix["messages"][k]["text"]}" ({mix["messages"][k]["kind"]})' for k in script
        )
        w(f"- {texts}")
    shares = ", ".join(f"{k} {v:.0%}" for k, v in (mix.get("share_by_kind") or {}).items())
    w("")
    w(
        f"Shares: {shares}. {settings.get('requests')} messages per concurrency level"
        f" ({', '.join(str(c) for c in settings.get('levels', []))}), after a warm-up of one"
        " pass over the scripts. The levels are interleaved between the two systems (ours,"
        " baseline, baseline, ours, ...) so that other load on the machine hits both alike."
    )
    w("")
    w("## Machine")
    w("")
    w(f"- CPUs (`nproc`): {machine.get('nproc')}; CPU: {machine.get('cpu_model')}")
    w(f"- RAM: {machine.get('ram_gib')} GiB; kernel {machine.get('kernel')}")
    w(
        f"- Python {machine.get('python')}, Rasa {machine.get('rasa')}, Rasa SDK"
        f" {machine.get('rasa_sdk')}, TensorFlow {machine.get('tensorflow')}, Sanic"
        f" {machine.get('sanic')}, aiohttp {machine.get('aiohttp')} (client)"
    )
    load_start = machine.get("loadavg_at_start") or []
    load_end = machine.get("loadavg_at_end") or []
    w(
        f"- Date (UTC): {machine.get('date')}; run took {results.get('duration_s')} s; load average"
        f" (1/5/15 min) at start {', '.join(f'{x:.2f}' for x in load_start)}, at end"
        f" {', '.join(f'{x:.2f}' for x in load_end)}"
    )
    source = results.get("source") or {}
    changed = source.get("uncommitted_changes") or []
    w(
        f"- Code: commit {str(source.get('git_commit'))[:12]}"
        + (
            f" plus uncommitted changes in {len(changed)} file(s) ({', '.join(changed[:8])}"
            f"{', ...' if len(changed) > 8 else ''})"
            if changed
            else ""
        )
        + f"; training inputs hash (scripts/train.py) "
        f"{str(source.get('training_inputs_sha256'))[:12]}"
    )
    w("")
    note = f" {results['note'].rstrip('.')}." if results.get("note") else ""
    if noise["other_mean"] is not None and noise["other_mean"] >= 5:
        w(
            "**Noisy numbers.** The machine was not idle during this run."
            + note
            + " During the load"
            f" levels, processes other than the benchmark used on average "
            f"{noise['other_mean']}% and"
            f" at most {noise['other_max']}% of the machine's CPU (all CPUs = 100%; per level:"
            " `other_processes_pct` in the JSON), and the load client shares the CPUs with the"
            " servers. Treat differences of less than about 20-30% as noise, tail latencies (p99)"
            " even more so; only the large ratios are clear results."
        )
    else:
        w(
            "The machine was otherwise nearly idle during the load levels (other processes: on"
            f" average {noise['other_mean']}% of the CPU)." + note + " The load client shares the"
            " CPUs with the servers, and this is one run, not repeated: read differences of about"
            ' 10-20% (most latency rows) as "about the same", not as wins or losses.'
        )
    training_noise = [
        f"{name} {value_at(system, 'training_cpu', 'other_processes_pct')}%"
        for name, system in systems.items()
        if value_at(system, "training_cpu", "other_processes_pct") is not None
    ]
    if training_noise:
        w(" While training, other processes used " + ", ".join(training_noise) + " of the CPU.")
    w("")
    w("## Results")
    w("")
    w("| figure | ours | baseline | ours / baseline |")
    w("|---|---:|---:|---:|")
    for row in rows:
        label = row["label"] + (f" ({row['unit']})" if row["unit"] else "")
        if row["note"]:
            label += f" -- {row['note']}"
        w(f"| {label} | {_fmt(row['ours'])} | {_fmt(row['baseline'])} | {_ratio_fmt(row)} |")
    w("")
    ours_lat = (systems.get("ours") or {}).get("latency") or {}
    base_lat = (systems.get("baseline") or {}).get("latency") or {}
    if "1" in ours_lat and "1" in base_lat:
        w("Typical latency (p50, ms) by message kind at concurrency 1:")
        w("")
        w("| kind | ours | baseline |")
        w("|---|---:|---:|")
        for kind in sorted(ours_lat["1"].get("p50_ms_by_kind", {})):
            w(
                f"| {kind} | {_fmt(ours_lat['1']['p50_ms_by_kind'].get(kind))} |"
                f" {_fmt(base_lat['1'].get('p50_ms_by_kind', {}).get(kind))} |"
            )
        w("")
    for name, system in systems.items():
        edit = system.get("edit_to_live") or {}
        if edit.get("trials"):
            w(
                f"Answer edit to live, {name}: trials "
                f"{', '.join(f'{t:.2f}' for t in edit['trials'])} s."
            )
            w("")
    ours_samples = (systems.get("ours") or {}).get("sample_replies") or []
    base_samples = (systems.get("baseline") or {}).get("sample_replies") or []
    if ours_samples and base_samples:
        w(
            "What each answered during the warm-up (start of the reply; the full texts are in the"
            " JSON). Not a quality measure, but it shows both really answered:"
        )
        w("")
        w("| message | ours | baseline |")
        w("|---|---|---|")
        for o, b in zip(ours_samples, base_samples, strict=False):  # as far as both answered
            text = mix.get("messages", {}).get(o["message"], {}).get("text", o["message"])
            w(f"| {text} | {_cell(o['reply'])} | {_cell(b['reply'])} |")
        w("")
    w("## What each figure means")
    w("")
    w(MEANINGS.format(requests=settings.get("requests")))
    schema = results.get("jsonschema_validation")
    w("## A known lever: Rasa re-checks the action-reply schema on every call")
    w("")
    if schema:
        ours_p50 = value_at(ours_lat, "1", "p50_ms")
        per_msg = value_at(systems, "ours", "custom_actions", "per_message")
        w(
            "After every call to the action server, Rasa 3.6 validates the reply:"
            " `RemoteAction._validate_action_result` in `rasa/core/actions/action.py` runs"
            " `jsonschema.validate(result, self.action_response_format_spec())`. "
            "`jsonschema.validate`"
            " (jsonschema " + str(schema.get("jsonschema_version")) + ") picks the validator class,"
            " checks the schema itself against the JSON-Schema meta-schema "
            "(`check_schema`), builds a"
            " new validator and only then validates the reply -- every time; the events schema has"
            " one branch per event type, so this is not cheap. `clinic_bench/reply_validation.py`"
            " times Rasa's real method (nothing patched) against the same schema compiled once"
            f" (`{schema.get('validator_class')}`), on the replies our `action_answer` really sends"
            f" ({schema.get('timing')}):"
        )
        w("")
        w(
            "| reply | events | bytes | as Rasa does it (ms) | compiled once (ms) | "
            "saved per call (ms) | speed-up |"
        )
        w("|---|---:|---:|---:|---:|---:|---:|")
        for name, item in schema["replies"].items():
            w(
                f"| {name} | {item['events']} | {item['reply_bytes']} | "
                f"{item['per_call_us'] / 1000:.2f} |"
                f" {item['compiled_once_us'] / 1000:.2f} | {item['saving_us'] / 1000:.2f} |"
                f" {item['speedup']}x |"
            )
        w("")
        w(
            f"`check_schema` alone: {schema['check_schema_us'] / 1000:.2f} ms; "
            f"building the validator"
            f" object: {schema['build_validator_us'] / 1000:.3f} ms. So nearly all of "
            f"the per-call cost"
            " is re-checking a schema that never changes."
        )
        if ours_p50 and per_msg:
            saving_ms = schema["mean_saving_us"] / 1000 * per_msg
            w("")
            w(
                f"With {per_msg} action-server calls per message (measured above; a booking start"
                " also runs the form's custom ask/validate actions, one reason it is the "
                "slowest kind), compiling the schema once"
                f" would save about {saving_ms:.1f} ms of CPU per message, about"
                f" {100 * saving_ms / ours_p50:.0f}% of our p50 latency at concurrency 1"
                f" ({_fmt(ours_p50)} ms). The validation runs synchronously on the Rasa server's"
                " event loop, so under load it also caps throughput; by how much is an estimate,"
                " not measured here. Ours applies it through our entry point (`clinic_runtime`,"
                " see Levers below); the baseline runs stock Rasa. Both call the action server"
                " about equally often."
            )
        w("")
    else:
        w("(the micro-benchmark failed in this run; see `failures` in the JSON)")
        w("")
    failures = results.get("failures") or []
    if failures:
        w("## Failures in this run")
        w("")
        for failure in failures:
            w(f"- {failure['phase']}: {failure['error'].splitlines()[0][:300]}")
        w("")
    levers = LEVERS_FILE.read_text(encoding="utf-8").strip() if LEVERS_FILE.exists() else ""
    if levers:
        # Hand-written, kept across runs: docs/benchmarks-levers.md (edit that file, not this one).
        w("## Levers (hand-written, from `docs/benchmarks-levers.md`; not regenerated by this run)")
        w("")
        body = levers.split("\n", 1)[1].strip() if levers.startswith("# ") else levers
        # its sections become subsections of this one
        w("\n".join("#" + line if line.startswith("## ") else line for line in body.splitlines()))
        w("")
    w("## Running it")
    w("")
    w(
        "`make bench` (about 20 minutes on 2 CPUs, 18 of them training the "
        "baseline: its DIETClassifier"
        " alone took 10-15 s per epoch there) writes this file and `results/benchmarks.json`;"
        " `python -m clinic_bench --render results/benchmarks.json` rewrites "
        "this file from the JSON"
        " without measuring. `make bench-smoke` (under 4 minutes) is the short"
        " mode CI runs through `tests/integration/test_bench_smoke.py`; it writes"
        " `results/benchmarks-smoke.*` only. Servers listen on 127.0.0.1 on free ports, work files"
        " are under `/tmp/clinic-bench-*` (removed unless a step failed), and every server is"
        " stopped by PID at the end, also on failure or Ctrl-C."
    )
    w("")
    return "\n".join(out)


def _cell(reply: str) -> str:
    """The start of a reply, for one table cell."""
    return reply[:75].replace("|", "/") + ("..." if len(reply) > 75 else "")
