"""Template folders holding a prebuilt component (``component = "x.wasm"`` in golemsim.toml):
built, deployed, served by a gateway definition and run in the simulation like folders of sources."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from support import COUNTER, SNAPSHOT_KIT, TEMPLATES, ServeProcess, failed

from golemsim import BuildError, Executor, RetryPolicy, SnapshotPolicy, build_template
from golemsim.sim.experiment import parse_experiment
from golemsim.sim.runner import run_experiment, templates_for

POLICIES = """
[retry]
max_attempts = 3
initial_delay = 0.01

[snapshot]
every_invocations = 7
compaction = "keep"
"""


def prebuilt(folder: Path, wasm: Path, name: str, *, extra: str = "") -> Path:
    """A template folder with a copy of ``wasm`` as ``counter.wasm`` and a golemsim.toml naming it."""
    folder.mkdir(parents=True)
    shutil.copy(wasm, folder / "counter.wasm")
    manifest = f'[template]\nname = "{name}"\nversion = 3\ncomponent = "counter.wasm"\n{extra}'
    (folder / "golemsim.toml").write_text(manifest)
    return folder


@pytest.fixture
def counter_folder(tmp_path: Path, counter_wasm: Path) -> Path:
    return prebuilt(tmp_path / "prebuilt-counter", counter_wasm, "precount", extra=POLICIES)


def test_build_points_at_the_component_with_the_tomls_policies(counter_folder: Path) -> None:
    built = build_template(counter_folder)
    assert built.prebuilt and not built.cached
    assert built.wasm_path == counter_folder / "counter.wasm"
    assert (built.name, built.version) == ("precount", 3)
    assert built.retry == RetryPolicy(max_attempts=3, initial_delay=0.01)
    assert built.snapshot == SnapshotPolicy(every_invocations=7, compaction="keep")


def test_a_source_folder_still_builds_with_its_cache(counter_wasm: Path) -> None:
    built = build_template(COUNTER)
    assert built.cached and not built.prebuilt and built.wasm_path == counter_wasm


def test_missing_or_invalid_components_are_build_errors_naming_folder_and_path(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    manifest = folder / "golemsim.toml"
    manifest.write_text('[template]\nname = "broken"\ncomponent = "out/app.wasm"\n')
    with pytest.raises(BuildError, match=rf"{folder}.*{folder / 'out' / 'app.wasm'} does not exist"):
        build_template(folder)

    (folder / "out").mkdir()
    (folder / "out" / "app.wasm").write_bytes(b"\0asm\x01\0\0\0")
    with pytest.raises(BuildError, match=r"app\.wasm is a core WebAssembly module, not a component"):
        build_template(folder)
    (folder / "out" / "app.wasm").write_text("not wasm at all")
    with pytest.raises(BuildError, match=r"app\.wasm is not a WebAssembly component"):
        build_template(folder)
    (folder / "out" / "app.wasm").write_bytes(b"\0asm\x0d\0\x01\0 and then garbage")
    with pytest.raises(BuildError, match=r"app\.wasm does not deploy: not a valid WebAssembly component"):
        build_template(folder)

    manifest.write_text('[template]\nname = "broken"\ncomponent = "out/app.wasm"\nworld = "w"\nmodule = "m"\n')
    with pytest.raises(BuildError, match=r"both component .* and world/module"):
        build_template(folder)


def test_a_component_that_would_be_refused_at_deploy_is_refused_at_build(tmp_path: Path) -> None:
    """The check is the deploy's own: here, a component exporting no functions."""
    snapshot_kit = build_template(SNAPSHOT_KIT).wasm_path  # exports functions: accepted
    assert build_template(prebuilt(tmp_path / "kit", snapshot_kit, "kit")).prebuilt
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "counter.wasm").write_bytes(b"\0asm\x0d\0\x01\0")  # a valid component with nothing in it
    (empty / "golemsim.toml").write_text('[template]\nname = "empty"\ncomponent = "counter.wasm"\n')
    with pytest.raises(BuildError, match=r"does not deploy: component for template 'empty' exports no functions"):
        build_template(empty)


def test_executor_deploys_the_folder_and_invokes_it(tmp_path: Path, counter_folder: Path) -> None:
    with Executor.open(tmp_path / "golem.db") as ex:
        info = ex.deploy(counter_folder)
        assert info.name == "precount"
        assert ex.invoke("precount", "c1", "increment", [5]) == 5
        assert ex.invoke("precount", "c1", "get", []) == 5
        compiled = ex.templates.get("precount")
        assert compiled.retry == RetryPolicy(max_attempts=3, initial_delay=0.01)
        assert compiled.snapshot == SnapshotPolicy(every_invocations=7, compaction="keep")


def test_an_api_definition_naming_the_folder_serves_requests(tmp_path: Path, counter_folder: Path) -> None:
    api = tmp_path / "counters.api.yaml"
    api.write_text(
        textwrap.dedent(
            f"""
            templates:
              counter: {counter_folder.name}
            routes:
              - method: POST
                path: /counters/{{name}}/increment
                template: counter
                worker: "{{name}}"
                function: increment
                args: [{{body: by}}]
            """
        )
    )
    server = ServeProcess(api, tmp_path / "golem.db")
    try:
        reply = server.request("POST", "/counters/a/increment", {"by": 4})
        assert (reply.status, reply.body) == (200, 4), reply
    finally:
        assert server.stop() == 0
    assert f"deploying counter from {counter_folder}" in server.stderr()


def test_the_simulation_runs_and_updates_prebuilt_templates(
    tmp_path: Path, counter_wasm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry made from a templates folder whose counter is prebuilt, then a template update
    to another prebuilt folder (counter-v2's component)."""
    templates = tmp_path / "templates"
    prebuilt(templates / "counter", counter_wasm, "counter", extra=POLICIES)
    v2 = prebuilt(tmp_path / "counter-v2", build_template(TEMPLATES / "counter-v2").wasm_path, "counter")
    with monkeypatch.context() as patch:  # only the registry: the run reads the app's API from the real folder
        patch.setenv("GOLEMSIM_TEMPLATES", str(templates))
        registry = templates_for(("counter",))
    assert registry.get("counter").snapshot == SnapshotPolicy(every_invocations=7, compaction="keep")
    experiment = parse_experiment(
        textwrap.dedent(
            f"""
            name: prebuilt counters updated under load
            app: counter
            store: memory
            cluster: {{nodes: 2, shards: 4}}
            workload: {{mode: closed, clients: 4, operations: 120, keys: 6}}
            faults:
              - {{at: 1.0, kind: template-update, target: counter, source: {v2}, mode: auto}}
            """
        ),
        source="<test>",
    )
    result = run_experiment(experiment, registry=registry)
    assert result.valid, failed(result)
    outcomes = result.summary["template_updates"]
    assert outcomes and all(o["ok"] and o["version"] == 2 for o in outcomes)
