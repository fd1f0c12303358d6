"""A simulation process pins itself to one CPU (golemsim.sim.one_cpu); checked in a child process,
so the test run itself keeps every core."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CHILD = """
import json, os, threading
from golemsim.sim.one_cpu import current_cpu, pin_to_cpu, usable_cpus
before = usable_cpus()
here = current_cpu()
pinned = pin_to_cpu()
seen = {}
thread = threading.Thread(target=lambda: seen.update(later=sorted(os.sched_getaffinity(0))))
thread.start(); thread.join()
print(json.dumps({"before": before, "here": here, "pinned": pinned, "now": sorted(os.sched_getaffinity(0)), **seen}))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="the OS cannot pin a process to a CPU")
def test_a_process_pins_itself_and_the_threads_it_starts_later_to_one_cpu() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    assert seen["here"] in seen["before"]
    assert seen["pinned"] in seen["before"]
    assert seen["now"] == [seen["pinned"]] and seen["later"] == [seen["pinned"]]
