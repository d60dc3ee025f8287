"""CPU accounting for `make bench`, to show how noisy a run was.

From /proc/stat (the whole machine) and /proc/<pid>/stat (our servers and this client) it
works out, for one measured interval, how busy the machine was and how much of that was
NOT the benchmark (other processes, e.g. a test suite running at the same time).
"""

import os
import resource
from typing import Dict, Iterable, Optional, Tuple

from clinic_bench.processes import descendants


def machine_jiffies() -> Tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    total = sum(fields)
    idle = fields[3] + fields[4]  # idle + iowait
    return total - idle, total


def process_jiffies(pid: int) -> int:
    """utime + stime of one process (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0


def bench_jiffies(server_pids: Iterable[int]) -> int:
    """CPU ticks used so far by the benchmark: its servers (and their children) and itself."""
    total = process_jiffies(os.getpid())
    for pid in server_pids:
        total += sum(process_jiffies(p) for p in [pid, *descendants(pid)])
    return total


class CpuWindow:
    """Machine and benchmark CPU use between ``start()`` and ``stop()``."""

    def __init__(self, server_pids: Iterable[int]) -> None:
        self.pids = list(server_pids)
        self._start: Optional[Tuple[int, int, int]] = None

    def start(self) -> "CpuWindow":
        busy, total = machine_jiffies()
        self._start = (busy, total, bench_jiffies(self.pids))
        return self

    def stop(self) -> Dict[str, Optional[float]]:
        busy, total = machine_jiffies()
        ours = bench_jiffies(self.pids)
        assert self._start is not None
        d_busy, d_total, d_ours = (
            busy - self._start[0],
            total - self._start[1],
            ours - self._start[2],
        )
        if d_total <= 0:
            return {"machine_busy_pct": None, "other_processes_pct": None}
        return {
            # percent of the whole machine (all CPUs = 100)
            "machine_busy_pct": round(100.0 * d_busy / d_total, 1),
            "other_processes_pct": round(100.0 * max(0, d_busy - d_ours) / d_total, 1),
        }


class ChildCpuWindow:
    """Like CpuWindow for a child process we wait for (e.g. `rasa train`): its CPU time comes
    from ``getrusage(RUSAGE_CHILDREN)``, which counts it once it has exited and been waited for."""

    def start(self) -> "ChildCpuWindow":
        self._machine = machine_jiffies()
        self._own = self._own_seconds()
        return self

    @staticmethod
    def _own_seconds() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        return children.ru_utime + children.ru_stime + me.ru_utime + me.ru_stime

    def stop(self) -> Dict[str, Optional[float]]:
        busy, total = machine_jiffies()
        d_busy, d_total = busy - self._machine[0], total - self._machine[1]
        d_own = (self._own_seconds() - self._own) * os.sysconf("SC_CLK_TCK")
        if d_total <= 0:
            return {"machine_busy_pct": None, "other_processes_pct": None}
        return {
            "machine_busy_pct": round(100.0 * d_busy / d_total, 1),
            "other_processes_pct": round(100.0 * max(0.0, d_busy - d_own) / d_total, 1),
        }
