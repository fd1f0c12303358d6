"""Keeping a simulation on one CPU.

A run hands a baton between OS threads (golemsim.sim.baton), one running at a time. Spread over
several cores, each hand-off wakes a thread on another core, which costs several times more than
on the same core (measured ~85 us against ~20 us on the 2-core machine, bench/RESULTS.md), and
with every core busy the woken thread waits there for its turn. Pinning the process to one CPU
keeps every hand-off where the work is; the run is single-threaded in effect, so it loses nothing.
"""

from __future__ import annotations

import contextlib
import os


def usable_cpus() -> list[int]:
    """The CPUs this process may run on, in order (empty where the OS cannot say)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def current_cpu() -> int | None:
    """The CPU this process last ran on (field 39 of /proc/self/stat), None where unknown."""
    try:
        with open("/proc/self/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return int(fields[36])  # fields after "pid (comm)": state is field 3, processor field 39
    except (OSError, ValueError, IndexError):
        return None


def pin_to_cpu(cpu: int | None = None) -> int | None:
    """Pin this process (every thread it has now, and so every thread they start) to ``cpu``, by
    default the one it runs on (where the OS scheduler put it, so two runs started together are
    likely on different ones). Returns the CPU, or None where the OS cannot pin."""
    cpus = usable_cpus()
    if not cpus or not hasattr(os, "sched_setaffinity"):
        return None
    if cpu is None:
        here = current_cpu()
        cpu = here if here in cpus else cpus[0]
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread that just ended
            os.sched_setaffinity(int(task), {cpu})
    return cpu
