"""golemsim: learn, test and use durable computing with real WebAssembly workers.

The public API is re-exported here; see the README for a tour.
"""

from .core import *  # noqa: F403
from .core import __all__ as _core_all
from .gateway import ApiDefinition, Gateway, GatewayServer, Request, Response, load_api_definition, serve
from .shop import ShopFailures, ShopServices

__version__ = "0.1.0"
__all__ = [
    *_core_all,
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
