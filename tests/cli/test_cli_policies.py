"""`golemsim deploy` with policy flags, and `golemsim build`/`deploy` of a folder holding a prebuilt
component, run as real subprocesses on a real database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from golemsim import Executor, RetryPolicy, SnapshotPolicy


def golemsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=300)


def deployed_policies(db: Path, name: str) -> tuple[RetryPolicy | None, SnapshotPolicy | None]:
    """The policies stored with the newest version of ``name``, read back from the database."""
    with Executor.open(db, resume=False, exclusive=False) as ex:
        compiled = ex.templates.get(name)
        return compiled.retry, compiled.snapshot


def test_deploying_a_wasm_file_with_policy_flags_records_them(tmp_path: Path, counter_wasm: Path) -> None:
    db = tmp_path / "golem.db"
    wasm = tmp_path / "counter.wasm"
    shutil.copy(counter_wasm, wasm)
    done = golemsim("deploy", "--db", str(db), str(wasm), "--retry-max-attempts", "3", "--retry-initial-delay", "0.2")
    assert done.returncode == 0, done.stderr
    assert "retry: max_attempts=3, initial_delay=0.2" in done.stdout
    assert deployed_policies(db, "counter") == (RetryPolicy(max_attempts=3, initial_delay=0.2), None)

    snapshot_flags = ("--snapshot-every", "10", "--snapshot-compaction", "drop")
    done = golemsim("deploy", "--db", str(db), str(wasm), *snapshot_flags, "--version", "2")
    assert done.returncode == 0, done.stderr
    assert deployed_policies(db, "counter") == (None, SnapshotPolicy(every_invocations=10, compaction="drop"))
    assert golemsim("invoke", "--db", str(db), "counter/c1", "increment", "4").stdout == "4\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--retry-max-attempts", "0"), "--retry-max-attempts 0: a retry policy needs at least one attempt"),
        (("--retry-initial-delay", "-1"), "--retry-initial-delay -1.0: initial_delay must be a number of at least 0"),
        (("--retry-multiplier", "inf"), "--retry-multiplier inf: multiplier must be a number of at least 0"),
        (("--retry-max-attempts", "three"), "argument --retry-max-attempts: invalid int value: 'three'"),
        (("--snapshot-every", "0"), "--snapshot-every 0: every_invocations must be at least 1"),
        (("--snapshot-every", "5", "--snapshot-compaction", "zip"), "compaction must be one of"),
        (("--snapshot-compaction", "keep"), "--snapshot-compaction needs --snapshot-every N"),
    ],
)
def test_bad_policy_flags_exit_2_naming_the_flag(
    tmp_path: Path, counter_wasm: Path, flags: tuple[str, ...], message: str
) -> None:
    db = tmp_path / "golem.db"
    done = golemsim("deploy", "--db", str(db), str(counter_wasm), *flags)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not db.exists()  # refused before the database is opened


def test_build_and_deploy_a_prebuilt_folder(tmp_path: Path, counter_wasm: Path) -> None:
    folder = tmp_path / "counter"
    (folder / "out").mkdir(parents=True)
    shutil.copy(counter_wasm, folder / "out" / "counter.wasm")
    (folder / "golemsim.toml").write_text(
        '[template]\nname = "tally"\ncomponent = "out/counter.wasm"\n\n[retry]\nmax_attempts = 2\n'
    )
    built = golemsim("build", str(folder))
    assert (built.returncode, built.stdout) == (0, f"tally v1: prebuilt {folder / 'out' / 'counter.wasm'}\n")

    db = tmp_path / "golem.db"
    done = golemsim("deploy", "--db", str(db), str(folder))
    assert done.returncode == 0, done.stderr
    assert "deployed tally v1" in done.stdout
    assert deployed_policies(db, "tally") == (RetryPolicy(max_attempts=2), None)

    (folder / "out" / "counter.wasm").unlink()
    missing = golemsim("build", str(folder))
    assert missing.returncode == 2
    assert f"template folder {folder}: component {folder / 'out' / 'counter.wasm'} does not exist" in missing.stderr
