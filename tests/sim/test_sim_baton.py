"""The baton: blocking code on OS threads, one at a time, inside SimPy time."""

from __future__ import annotations

import threading

import pytest
import simpy

from golemsim.sim.baton import Baton, Halted, Owner, SimLock


def test_threads_take_turns_in_simulated_time() -> None:
    env = simpy.Environment()
    baton = Baton(env)
    owner = Owner("node")
    seen: list[tuple[str, float]] = []

    def worker(name: str, pause: float) -> None:
        for _ in range(3):
            assert threading.current_thread().name == f"sim:{name}"
            seen.append((name, env.now))
            baton.sleep(pause)

    baton.spawn(owner, "a", lambda: worker("a", 1.0))
    baton.spawn(owner, "b", lambda: worker("b", 1.5))
    env.run()
    assert seen == [("a", 0.0), ("b", 0.0), ("a", 1.0), ("b", 1.5), ("a", 2.0), ("b", 3.0)]
    assert baton.failures == []


def test_a_lock_parks_the_waiter_instead_of_blocking_the_world() -> None:
    env = simpy.Environment()
    baton = Baton(env)
    owner = Owner("node")
    lock = SimLock(baton)
    order: list[str] = []

    def holder() -> None:
        with lock:
            order.append(f"holder in {env.now}")
            baton.sleep(2.0)  # parks while holding the lock
            order.append(f"holder out {env.now}")

    def waiter() -> None:
        baton.sleep(0.5)
        with lock:
            order.append(f"waiter in {env.now}")

    baton.spawn(owner, "holder", holder)
    baton.spawn(owner, "waiter", waiter)
    env.run()
    assert order == ["holder in 0", "holder out 2.0", "waiter in 2.0"]


def test_halting_an_owner_unwinds_its_parked_threads_only() -> None:
    env = simpy.Environment()
    baton = Baton(env)
    crashed, other = Owner("node-1"), Owner("node-2")
    outcomes: list[str] = []

    def sleeper(name: str) -> None:
        try:
            baton.sleep(10.0)
            outcomes.append(f"{name} woke at {env.now}")
        except Halted as stop:
            outcomes.append(f"{name} halted at {env.now}: {stop}")
            raise

    baton.spawn(crashed, "a", lambda: sleeper("a"))
    baton.spawn(other, "b", lambda: sleeper("b"))

    def crash() -> simpy.events.Event:
        yield env.timeout(3.0)
        baton.halt(crashed, "node-1 crashed")

    env.process(crash())
    env.run()
    assert outcomes == ["a halted at 3.0: node-1 crashed", "b woke at 10.0"]
    assert crashed.threads == [] and baton.failures == []
    assert baton.spawn(crashed, "late", lambda: None) is None  # a halted owner starts nothing


def test_a_call_carries_its_result_or_exception_back_to_simpy() -> None:
    env = simpy.Environment()
    baton = Baton(env)
    owner = Owner("node")
    good = baton.call(owner, "good", lambda: 42)

    def bad() -> None:
        raise ValueError("boom")

    failed = baton.call(owner, "bad", bad)
    env.run()
    assert good.value == 42
    assert isinstance(failed.value, ValueError)


def test_waiting_off_a_simulated_thread_is_refused() -> None:
    env = simpy.Environment()
    baton = Baton(env)
    with pytest.raises(RuntimeError, match="simulated thread"):
        baton.sleep(1.0)
