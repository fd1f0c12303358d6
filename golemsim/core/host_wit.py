"""golemsim's host interface as a WIT package for components built by any toolchain.

``golemsim:host@0.1.0`` (``wit/host.wit``) is what a worker imports to reach the outside world
durably. A component written with another toolchain (componentize-js, C with wasi-libc, Rust,
...) needs that package among its WIT dependencies. WIT resolvers (wasm-tools, wit-bindgen, jco,
componentize-py) read each folder under ``wit/deps/`` as one package, so the file goes to
``wit/deps/golemsim-host/host.wit``: the layout ``golemsim build`` uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import BadRequest

HOST_WIT = Path(__file__).parent / "wit" / "host.wit"
HOST_PACKAGE = "golemsim:host@0.1.0"
HOST_WIT_IN_COMPONENT = Path("wit") / "deps" / "golemsim-host" / "host.wit"
"""Where the host WIT goes, relative to a component's folder."""


@dataclass(frozen=True)
class WrittenWit:
    """What ``write_host_wit`` did: the file, and whether its content changed."""

    path: Path
    changed: bool


def host_wit_text() -> str:
    """The host WIT package's text (``package golemsim:host@0.1.0;``)."""
    return HOST_WIT.read_text()


def write_host_wit(component_dir: Path) -> WrittenWit:
    """Write the host WIT to ``component_dir/wit/deps/golemsim-host/host.wit``, making the folders.

    Idempotent: an up-to-date file is left as it is (``changed`` is False); any other content is
    overwritten. BadRequest when ``component_dir`` is not
    an existing folder.
    """
    if not component_dir.exists():
        raise BadRequest(f"{component_dir} does not exist: give the component's folder (the one with wit/)")
    if not component_dir.is_dir():
        raise BadRequest(f"{component_dir} is not a folder: give the component's folder (the one with wit/)")
    target = component_dir / HOST_WIT_IN_COMPONENT
    text = host_wit_text()
    if target.is_file() and target.read_text() == text:
        return WrittenWit(target, changed=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return WrittenWit(target, changed=True)
