"""Blocking code inside simulated time: threads that run one at a time, handing a baton.

The executor core is plain blocking code; a guest calls the host synchronously. In the
simulation each thread of control the core asks for is an OS thread (a guest parked in a
host call needs its own stack), but only one thread runs at a time: the SimPy loop, or one
simulated thread. A simulated thread that must wait for simulated time calls ``wait(event)``:
it hands the baton back to the SimPy loop and sleeps until the event fires. So a run is a
pure function of its seed.

A crash is then simple: every parked thread of the crashed owner is woken with the crash
as an exception, and unwinds.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import simpy

from ..core.errors import Interrupted

log = logging.getLogger("golemsim.sim")


class Halted(Interrupted):
    """The simulated machine this thread ran on stopped (a crash, or the end of the run)."""


class Owner:
    """Something whose threads die together (a node, a shard's executor, the gateway)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.halted: Halted | None = None
        self.threads: list[SimThread] = []

    def check(self) -> None:
        if self.halted is not None:
            raise self.halted


def _signal() -> threading.Lock:
    """A one-shot hand-off between two threads: ``release()`` gives, ``acquire()`` waits to take.

    A plain lock held from the start, used as a binary semaphore (a lock may be released by a
    thread other than the one that took it). Every hand-off here strictly alternates, so it is
    never given twice before it is taken. ``threading.Semaphore`` would do the same in Python
    code around a Condition; the lock is one C call each way, and a run hands off tens of
    thousands of times."""
    lock = threading.Lock()
    lock.acquire()
    return lock


class _Carrier:
    """An OS thread that carries simulated threads, one after another (starting an OS thread
    per call costs more than the call)."""

    def __init__(self, baton: Baton) -> None:
        self.baton = baton
        self.go = _signal()
        self.job: SimThread | None = None
        self.os_thread = threading.Thread(target=self._loop, name="sim:idle", daemon=True)
        self.os_thread.start()

    def _loop(self) -> None:
        while True:
            self.go.acquire()
            job = self.job
            assert job is not None
            job.execute()
            self.job = None
            self.os_thread.name = "sim:idle"
            self.baton._idle.append(self)
            self.baton._back.release()


class SimThread:
    """A thread of control that runs only while it holds the baton (on a carrier OS thread)."""

    def __init__(self, baton: Baton, owner: Owner, name: str, run: Callable[[], object]) -> None:
        self.baton = baton
        self.owner = owner
        self.name = name
        self._run = run
        self.carrier: _Carrier | None = None
        self.finished = False
        self.parked_on: simpy.Event | None = None
        self.answer: tuple[Any, BaseException | None] = (None, None)
        self.process: simpy.Process | None = None

    def execute(self) -> None:
        """Run to the end on the carrier (thread side)."""
        try:
            self.owner.check()
            self._run()
        except Halted:
            pass
        except BaseException:  # a bug: say so loudly, never leave the baton stranded
            log.exception("simulated thread %s failed", self.name)
            self.baton.failures.append(self.name)
        finally:
            self.finished = True

    def resume(self) -> None:
        """Hand this thread the baton and wait until it parks or finishes (SimPy side)."""
        baton = self.baton
        carrier = self.carrier
        if carrier is None:
            carrier = self.carrier = baton._idle.pop() if baton._idle else _Carrier(baton)
            carrier.job = self
            carrier.os_thread.name = f"sim:{self.name}"
        baton.current = self
        carrier.go.release()
        baton._back.acquire()
        baton.current = None

    def park(self, event: simpy.Event) -> Any:
        """Give the baton back until ``event`` fires (thread side)."""
        carrier = self.carrier
        assert carrier is not None
        self.parked_on = event
        self.baton._back.release()
        carrier.go.acquire()
        self.parked_on = None
        value, error = self.answer
        self.answer = (None, None)
        if error is not None:
            raise error
        return value


class Baton:
    """Runs simulated threads one at a time under a SimPy environment."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.current: SimThread | None = None
        self._back = _signal()
        self.failures: list[str] = []
        """Names of simulated threads that died of an unexpected exception (a bug)."""
        self.switches = 0
        self._idle: list[_Carrier] = []

    def spawn(self, owner: Owner, name: str, run: Callable[[], object]) -> SimThread | None:
        """Start ``run()`` on a new simulated thread owned by ``owner`` (nothing if it is halted)."""
        if owner.halted is not None:
            return None
        thread = SimThread(self, owner, name, run)
        owner.threads.append(thread)
        thread.process = self.env.process(self._drive(thread))
        return thread

    def _drive(self, thread: SimThread) -> Generator[simpy.Event, Any, None]:
        while True:
            self.switches += 1
            thread.resume()
            if thread.finished:
                _forget(thread)
                return
            event = thread.parked_on
            assert event is not None
            try:
                thread.answer = ((yield event), None)
            except simpy.Interrupt as stop:
                thread.answer = (None, stop.cause if isinstance(stop.cause, BaseException) else Halted(str(stop.cause)))
            except BaseException as error:  # a failed event: the thread sees its exception
                thread.answer = (None, error)

    def wait(self, event: simpy.Event) -> Any:
        """On a simulated thread: park until ``event`` fires and return its value (or raise its failure)."""
        thread = self.running()
        thread.owner.check()
        value = thread.park(event)
        thread.owner.check()
        return value

    def sleep(self, seconds: float) -> None:
        """On a simulated thread: let ``seconds`` of simulated time pass."""
        self.wait(self.env.timeout(max(0.0, seconds)))

    def running(self) -> SimThread:
        thread = self.current
        if thread is None or thread.carrier is None or threading.current_thread() is not thread.carrier.os_thread:
            raise RuntimeError("this must run on a simulated thread (Baton.spawn), not on the SimPy loop")
        return thread

    def on_thread(self) -> bool:
        thread = self.current
        return (
            thread is not None and thread.carrier is not None and threading.current_thread() is thread.carrier.os_thread
        )

    def halt(self, owner: Owner, reason: str) -> None:
        """Stop every thread of ``owner``: parked ones wake with Halted and unwind (SimPy side)."""
        if owner.halted is not None:
            return
        owner.halted = Halted(reason)
        for thread in list(owner.threads):
            if thread.process is not None and thread.process.is_alive and thread.parked_on is not None:
                thread.process.interrupt(owner.halted)

    def call(self, owner: Owner, name: str, run: Callable[[], Any]) -> simpy.Event:
        """Run ``run()`` on a simulated thread; the returned event fires with its result or failure."""
        done = self.env.event()

        def body() -> None:
            try:
                result = run()
            except Halted as halted:
                done.fail(halted)
                done.defused = True
                raise
            except Exception as error:
                done.fail(error)
                done.defused = True
                return
            done.succeed(result)

        if self.spawn(owner, name, body) is None:
            done.fail(owner.halted or Halted(f"{owner.name} is halted"))
            done.defused = True
        return done


def _forget(thread: SimThread) -> None:
    try:
        thread.owner.threads.remove(thread)
    except ValueError:
        pass


class SimLock:
    """A lock for simulated threads: a thread that must wait for it parks instead of blocking."""

    def __init__(self, baton: Baton) -> None:
        self.baton = baton
        self.holder: SimThread | None = None
        self._waiters: deque[tuple[SimThread, simpy.Event]] = deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        thread = self.baton.running()
        if self.holder is None:
            self.holder = thread
            return True
        if self.holder is thread:
            raise RuntimeError(f"simulated thread {thread.name} acquires a lock it holds (a deadlock)")
        if not blocking:
            return False
        granted = self.baton.env.event()
        self._waiters.append((thread, granted))
        try:
            self.baton.wait(granted)
        except BaseException:
            if self.holder is thread:
                self.release()
            else:
                self._waiters = deque(w for w in self._waiters if w[1] is not granted)
            raise
        return True

    def release(self) -> None:
        if self._waiters:
            thread, granted = self._waiters.popleft()
            self.holder = thread
            granted.succeed()
        else:
            self.holder = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any, /) -> None:
        self.release()
