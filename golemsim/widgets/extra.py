"""The widgets extra: checked before any view is imported, so that a missing library is named
together with the command that installs it instead of surfacing as a bare ModuleNotFoundError."""

from __future__ import annotations

INSTALL = "pip install 'golemsim[widgets]'"

try:
    import anywidget  # noqa: F401
    import ipywidgets  # noqa: F401
    import matplotlib  # noqa: F401
    import networkx  # noqa: F401
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(
        f"golemsim's Jupyter widgets need the widgets extra ({error.name} is not installed): {INSTALL}",
        name=error.name,
    ) from error
