"""Promises, operator controls and template updates through the golemsim command, each command
a real subprocess on one real database: the executor runs only while a command runs, so what one
command writes (a completion, an interrupt, an update) is what the next one finds in the oplog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import TESTKIT, ServeProcess

# Each command is a fresh golemsim process (an interpreter start and a component load): slow as a whole.
pytestmark = pytest.mark.slow


def golemsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=300)


class Cli:
    """The golemsim command on one database."""

    def __init__(self, db: Path) -> None:
        self.db = str(db)

    def __call__(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        words = command.split()  # "promise complete" -> two words, then --db
        return golemsim(*words, "--db", self.db, *args)

    def ok(self, command: str, *args: str) -> str:
        done = self(command, *args)
        assert done.returncode == 0, (command, args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout

    def workers(self) -> dict[str, dict[str, object]]:
        return {row["worker"]: row for row in json.loads(self.ok("workers", "--json"))}


@pytest.fixture
def cli(tmp_path: Path, testkit_wasm: Path) -> Cli:
    cli = Cli(tmp_path / "golem.db")
    assert "deployed testkit v1" in cli.ok("deploy", str(testkit_wasm), "--name", "testkit")
    return cli


def test_a_waiting_invocation_goes_on_with_the_value_the_cli_completes_its_promise_with(cli: Cli) -> None:
    promise = json.loads(cli.ok("invoke", "testkit/p1", "make-promise"))
    assert promise.startswith("testkit/p1/promise-")

    waiting = cli("invoke", "testkit/p1", "wait-promise", "--key", "W", "--timeout", "1")
    assert waiting.returncode == 3, waiting.stderr  # accepted, durably waiting, no result yet
    assert "no result within 1 s" in waiting.stderr and "--key W" in waiting.stderr
    assert cli.workers()["testkit/p1"]["status"] == "waiting"
    listed = cli.ok("promise list", "testkit/p1").splitlines()
    assert listed[1].split() == [promise, "pending"]

    assert cli.ok("promise complete", promise, '{"approved": true}') == f"completed {promise}\n"
    again = cli("promise complete", promise, '{"approved": false}')
    assert again.returncode == 1  # exactly once: the first value stands
    assert 'with {"approved": true}; the first value stands and {"approved": false} was not used' in again.stderr

    # The completing command ran the awaiting invocation on: its result is in the oplog.
    assert cli.workers()["testkit/p1"]["status"] != "waiting"
    assert json.loads(cli.ok("invoke", "testkit/p1", "wait-promise", "--key", "W")) == '{"approved": true}'
    rows = json.loads(cli.ok("promise list", "testkit/p1", "--json"))
    assert rows == [{"id": promise, "completed": True, "value": {"approved": True}}]
    oplog = cli.ok("oplog", "testkit/p1")
    assert f'promise-completed      promise_id="{promise}" value={{"approved": true}}' in oplog


def test_a_promise_completed_before_it_is_awaited(cli: Cli) -> None:
    promise = json.loads(cli.ok("invoke", "testkit/p2", "make-promise"))
    cli.ok("promise complete", promise, '"early"')
    assert json.loads(cli.ok("invoke", "testkit/p2", "wait-promise")) == '"early"'


def test_bad_promise_requests_are_refused_without_a_traceback(cli: Cli) -> None:
    promise = json.loads(cli.ok("invoke", "testkit/p3", "make-promise"))
    cases = [
        (("promise complete", promise, "yes"), "VALUE must be JSON, got 'yes'"),
        (("promise complete", "testkit/p3/promise-nope", "1"), "has no promise"),
        (("promise complete", "not-a-promise", "1"), "invalid promise id"),
        (("promise list", "testkit/ghost"), "worker testkit/ghost does not exist"),
    ]
    for (command, *args), message in cases:
        done = cli(command, *args)
        assert done.returncode == 2, (command, args)
        assert message in done.stderr and "Traceback" not in done.stderr
    assert cli.ok("promise list", "testkit/p3").splitlines()[1].split()[1] == "pending"


def test_interrupt_resume_restart_and_delete(cli: Cli) -> None:
    assert cli.ok("invoke", "testkit/w1", "add", "5") == "5\n"
    assert cli.ok("interrupt", "testkit/w1").startswith("interrupted testkit/w1")
    assert cli.ok("interrupt", "testkit/w1") == "testkit/w1 was interrupted already\n"
    assert cli.workers()["testkit/w1"]["status"] == "interrupted"

    queued = cli("invoke", "testkit/w1", "add", "1", "--key", "A")
    assert queued.returncode == 3  # accepted, and held until resume
    assert "worker testkit/w1 is interrupted" in queued.stderr and "golemsim resume testkit/w1" in queued.stderr
    assert cli.workers()["testkit/w1"]["status"] == "interrupted"

    assert cli.ok("resume", "testkit/w1") == "resumed testkit/w1\n"  # the queued add runs before it exits
    assert cli.ok("invoke", "testkit/w1", "add", "1", "--key", "A") == "6\n"  # its result, not run again
    assert cli.ok("resume", "testkit/w1") == "testkit/w1 was not interrupted; nothing to resume\n"

    restarted = cli.ok("restart", "testkit/w1")
    assert restarted.startswith("restarted testkit/w1 from its oplog: replayed 2 invocation(s)")
    assert cli.ok("invoke", "testkit/w1", "add", "0") == "6\n"  # rebuilt with its state

    refused = cli("delete", "testkit/w1")
    assert refused.returncode == 2 and "not deleting testkit/w1 without --yes" in refused.stderr
    assert "testkit/w1" in cli.workers()
    assert cli.ok("delete", "testkit/w1", "--yes").startswith("deleted testkit/w1 (")
    assert "testkit/w1" not in cli.workers()
    gone = cli("delete", "testkit/w1", "--yes")
    assert gone.returncode == 2 and "worker testkit/w1 does not exist" in gone.stderr
    for command in ("interrupt", "resume", "restart"):
        unknown = cli(command, "testkit/nobody")
        assert unknown.returncode == 2 and "does not exist" in unknown.stderr, command


def test_updates_are_oplog_entries_shown_by_oplog_and_workers(
    cli: Cli, testkit_wasm: Path, testkit_changed_wasm: Path
) -> None:
    cli.ok("invoke", "testkit/u1", "add", "5")
    cli.ok("deploy", str(testkit_wasm), "--name", "testkit", "--version", "2")  # the same code as v2
    assert cli.ok("update", "testkit/u1", "--to", "2") == "updated testkit/u1 to v2 (auto)\n"
    row = cli.workers()["testkit/u1"]
    assert (row["template_version"], row["update"]) == (2, "updated to v2 (auto)")
    assert cli.ok("invoke", "testkit/u1", "add", "1") == "6\n"

    cli.ok("deploy", str(testkit_changed_wasm), "--name", "testkit")  # v3 lacks add: replaying it fails
    failed = cli("update", "testkit/u1", "--to", "3")
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: update of testkit/u1 to v3 (auto) failed: ")
    assert failed.stderr.rstrip().endswith("it goes on running v2") and len(failed.stderr.splitlines()) == 1
    assert cli.ok("invoke", "testkit/u1", "add", "1") == "7\n"  # still working, on v2

    table = cli.ok("workers").splitlines()
    assert table[1].split()[:4] == ["testkit/u1", "testkit", "2", "suspended"]
    assert table[2].startswith("  update to v3 (auto) failed: ")
    kinds = [line.split()[1] for line in cli.ok("oplog", "testkit/u1").splitlines()]
    updates = [kind for kind in kinds if kind.startswith("update-")]
    assert updates == ["update-pending", "update-succeeded", "update-pending", "update-failed"]
    failure = next(line for line in cli.ok("oplog", "testkit/u1").splitlines() if "update-failed" in line)
    assert 'target_version=3 mode="auto" reason: ' in failure and "..." not in failure

    for args, message in [
        (("--to", "9"), "version 9 is not deployed"),
        (("--to", "2"), "already runs version 2"),
    ]:
        done = cli("update", "testkit/u1", *args)
        assert done.returncode == 2 and message in done.stderr, args
    bad_mode = cli("update", "testkit/u1", "--to", "1", "--mode", "live")
    assert bad_mode.returncode == 2 and "invalid choice: 'live'" in bad_mode.stderr


def test_an_interrupted_worker_takes_its_update_when_resumed(cli: Cli, testkit_wasm: Path) -> None:
    cli.ok("invoke", "testkit/u2", "add", "2")
    cli.ok("deploy", str(testkit_wasm), "--name", "testkit", "--version", "2")
    cli.ok("interrupt", "testkit/u2")
    pending = cli("update", "testkit/u2", "--to", "2")
    assert pending.returncode == 3 and "is pending: testkit/u2 is interrupted" in pending.stderr
    row = cli.workers()["testkit/u2"]
    assert (row["template_version"], row["status"], row["update"]) == (1, "interrupted", "update to v2 (auto) pending")
    cli.ok("resume", "testkit/u2")  # the update runs in queue order, before the command exits
    row = cli.workers()["testkit/u2"]
    assert (row["template_version"], row["update"]) == (2, "updated to v2 (auto)")
    assert cli.ok("invoke", "testkit/u2", "add", "1") == "3\n"


def test_commands_that_change_the_database_refuse_while_serve_runs_and_readers_do_not(cli: Cli, tmp_path: Path) -> None:
    promise = json.loads(cli.ok("invoke", "testkit/s1", "make-promise"))
    api = tmp_path / "kits.api.yaml"
    api.write_text(
        f"templates:\n  testkit: {TESTKIT}\n"
        'routes:\n  - {method: GET, path: "/kits/{kit}", template: testkit, worker: "{kit}", function: whoami}\n'
    )
    server = ServeProcess(api, Path(cli.db))
    try:
        for command, *args in [
            ("promise complete", promise, "1"),
            ("interrupt", "testkit/s1"),
            ("update", "testkit/s1", "--to", "1"),
            ("invoke", "testkit/s1", "add", "1"),
        ]:
            refused = cli(command, *args)
            assert refused.returncode == 2, command
            assert "is in use by another executor process" in refused.stderr
            assert "stop `golemsim serve`" in refused.stderr and "POST /_golemsim/promises" in refused.stderr
            assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) == 1
        assert cli.ok("promise list", "testkit/s1").splitlines()[1].split() == [promise, "pending"]
        assert "testkit/s1" in cli.workers()
        assert "make-promise" in cli.ok("oplog", "testkit/s1")
    finally:
        assert server.stop() == 0, server.stderr()
    assert cli.ok("promise complete", promise, "1") == f"completed {promise}\n"  # once serve has stopped
