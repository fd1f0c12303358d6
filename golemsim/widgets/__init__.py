"""Views of durable workers and of the virtual cluster for Jupyter: an oplog view with a replay
cursor, a cluster view, recovery progress bars and an experiment panel.

Each view watches a simulation while it runs (pass it to ``run_live``) and redraws at its own
pace, so a run is never slowed down by drawing and always ends with the view up to date.
Each has a readable text and HTML fallback (``to_text()``, and in its display bundle) for
places where widgets do not render.
"""

from . import extra  # noqa: F401  (first: names the extra to install when a library it needs is missing)
from .cluster_view import ClusterView
from .experiment_panel import ExperimentPanel
from .live import LiveRun, run_live, start_live
from .oplog_view import KIND_COLORS, OplogView
from .recovery_progress import RecoveryProgress

__all__ = [
    "KIND_COLORS",
    "ClusterView",
    "ExperimentPanel",
    "LiveRun",
    "OplogView",
    "RecoveryProgress",
    "run_live",
    "start_live",
]
