"""The benchmark: our assistant against stock Rasa, and A/B runs of our runtime levers.

Not needed to run the assistant; kept out of ``scripts/`` because it is a program of its own.
Run from the project folder:

    make bench / make bench-smoke  = python -m clinic_bench [--smoke]   (ours_vs_stock.py)
    make bench-ab AB_ARGS="..."    = python -m clinic_bench.levers_ab   (levers_ab.py)

Modules, one job each:

  ours_vs_stock     `make bench`: trains both systems, starts them, measures, writes the results
  systems           the two assistants compared: configured, trained, started, cold starts timed
  edit_to_live      how long a staff edit of an answer takes to be served (ours)
  run_info          what a run measured on: machine, packages, commit
  progress          the run's timed progress lines
  levers_ab         short interleaved A/B runs of runtime levers on the trained model
  load              the HTTP load: simulated visitors, latency and throughput per concurrency
  processes         servers started and stopped by PID, free ports, memory sampling
  cpu               CPU accounting, to show how busy the machine was during a measurement
  scaled            the scaled setup (clinic_scaled) with 1, 2 and 4 Rasa servers
  reply_validation  micro-benchmark of Rasa's jsonschema check of action-server replies
  detector_speed    micro-benchmark of our contraindication detector, ms per message
  figures           the compared figures (ours, baseline, ratio) computed from the results
  report            docs/benchmarks.md and the printed table, from the results JSON
"""
