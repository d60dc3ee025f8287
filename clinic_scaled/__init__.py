"""The scaled setup on one machine: PostgreSQL, Redis, N Rasa + M action servers, nginx.

``make run-scaled`` (``python -m clinic_scaled run``) starts it for trying out; the fault
tests (tests/faults) and ``make bench`` (clinic_bench/scaled.py) drive it through
:class:`clinic_scaled.stack.ScaledStack`. Real servers use the same pieces, described
in docs/deploy.md (systemd units and a compose file in deploy/).
"""
