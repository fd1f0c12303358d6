"""golemsim: learn, test and use durable computing with real WebAssembly workers.

The public API is re-exported here; see the README for a tour.
"""

from .core import *  # noqa: F403
from .core import __all__ as _core_all
from .core.progress import show_steps_with
from .gateway import ApiDefinition, Gateway, GatewayServer, Request, Response, load_api_definition, serve
from .kernel_progress import kernel_bar
from .shop import ShopFailures, ShopServices

show_steps_with(kernel_bar)  # long core steps show a bar in a Jupyter kernel (the core has no widget library)

__version__ = "0.1.0"

SIMULATION = (
    "Experiment",
    "RunResult",
    "SimEvent",
    "Verdict",
    "load_experiment",
    "parse_experiment",
    "run_experiment",
    "write_results",
)
"""From golemsim.sim, imported on first use (so the core and the CLI start without SimPy)."""
WIDGETS = ("ClusterView", "ExperimentPanel", "LiveRun", "OplogView", "RecoveryProgress", "run_live", "start_live")
"""From golemsim.widgets, imported on first use (they need the widgets extra: ipywidgets, anywidget,
networkx); not in ``__all__``, so ``from golemsim import *`` works without the extra."""


def __getattr__(name: str) -> object:
    if name in SIMULATION:
        from . import sim

        return getattr(sim, name)
    if name in WIDGETS:
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'golemsim' has no attribute {name!r}")


__all__ = [
    *_core_all,
    *SIMULATION,
    "ApiDefinition",
    "Gateway",
    "GatewayServer",
    "Request",
    "Response",
    "ShopFailures",
    "ShopServices",
    "__version__",
    "load_api_definition",
    "serve",
]
