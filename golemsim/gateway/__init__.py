"""The API gateway: HTTP routes bound to worker functions by a YAML API definition.

``load_api_definition`` reads and checks a definition file; ``Gateway.handle(request)``
answers one request through a Backend (an Executor, or a simulated cluster) with no HTTP
server involved; ``serve`` and ``GatewayServer`` put it on real HTTP (``golemsim serve``).
"""

from ..yaml_reader import DefinitionError, Problem
from .check import check_against_templates
from .definition import ApiDefinition, Arg, ResponseSpec, Route, WorkerSpec, load_api_definition, parse_api_definition
from .gateway import Backend, ExecutorBackend, Gateway, Invocation, Request, Response
from .openapi import json_schema, openapi_document
from .server import GatewayServer, serve

__all__ = [
    "ApiDefinition",
    "Arg",
    "Backend",
    "DefinitionError",
    "ExecutorBackend",
    "Gateway",
    "GatewayServer",
    "Invocation",
    "Problem",
    "Request",
    "Response",
    "ResponseSpec",
    "Route",
    "WorkerSpec",
    "check_against_templates",
    "json_schema",
    "load_api_definition",
    "openapi_document",
    "parse_api_definition",
    "serve",
]
