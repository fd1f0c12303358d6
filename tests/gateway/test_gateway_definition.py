"""API definitions: a valid file loads; a broken one reports every mistake with its line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support import COUNTER

from golemsim import Executor
from golemsim.gateway import DefinitionError, check_against_templates, load_api_definition
from golemsim.gateway.gateway import ExecutorBackend


def write(tmp_path: Path, text: str, name: str = "app.api.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def mistakes(path: Path) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_api_definition(path)
    return [line.removeprefix(f"{path}:") for line in str(caught.value).splitlines()]


def test_a_valid_definition_loads(tmp_path: Path) -> None:
    (tmp_path / "counter").symlink_to(COUNTER)
    path = write(
        tmp_path,
        """
        name: counters
        version: 2
        templates:
          counter: counter
        routes:
          - method: post
            path: /counters/{id}/increment/
            template: counter
            worker: "c-{id}"
            function: increment
            args:
              - body: by
                default: 1
            response:
              status: 201
              headers: {Location: "/counters/{id}", Worker: "{worker}"}
          - method: GET
            path: /counters/{id}
            template: counter
            worker: "c-{id}"
            function: get
            summary: Read a counter
          - method: POST
            path: /fresh
            template: counter
            worker: {fresh: "new-"}
            function: increment
            args: [body]
          - method: PUT
            path: /literal/{n}
            template: counter
            worker: fixed
            function: increment
            args:
              - value: 7
        """,
    )
    api = load_api_definition(path)
    assert (api.name, api.version) == ("counters", "2")
    assert api.templates == {"counter": (tmp_path / "counter").resolve()}
    increment, get, fresh, literal = api.routes
    assert (increment.method, increment.path.variables, increment.function) == ("POST", ("id",), "increment")
    assert increment.worker.pattern is not None and increment.worker.pattern.fill({"id": "7"}) == "c-7"
    (by,) = increment.args
    assert (by.source, by.name, by.has_default, by.default, by.line) == ("body", "by", True, 1, 12)
    assert increment.response.status == 201 and increment.response.error_status == 409
    assert sorted(increment.response.headers) == ["Location", "Worker"]
    assert get.summary == "Read a counter" and get.args == ()
    assert fresh.worker.fresh_prefix == "new-" and fresh.args[0].source == "body" and fresh.args[0].name is None
    assert literal.args[0].value == 7
    assert (increment.line(), increment.line("function")) == (6, 10)


def test_every_mistake_is_reported_with_its_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: shop
        templates:
          counter: ../nowhere
        routes:
          - method: FETCH
            path: /counters/{id}
            template: counter
            worker: "c-{user}"
            function: increment
          - method: POST
            path: /counters/{id}/increment
            template: counter
            worker: "c-{id}"
            args:
              - path: ident
              - query: by
                body: by
            colour: red
          - method: GET
            path: /counters/{id}
            template: counter
            worker: "c-{id}"
            function: get
            response:
              status: 404
          - method: get
            path: /counters/{name}
            template: counter
            worker: {fresh: "c-"}
            function: get
          - method: POST
            path: /counters/item-{id}
            template: count/er
            worker: c
            function: get
            args: [head, {value: 1, default: 2}]
          - path: /openapi.json
            method: GET
            template: counter
            worker: x
            function: get
        """,
    )
    problems = mistakes(path)
    folder = (tmp_path.parent / "nowhere").resolve()
    assert problems == [
        f"3: templates.counter: no template folder at {folder} (a folder with a golemsim.toml)",
        "5: routes[0].method: 'FETCH' is not one of GET, POST, PUT, PATCH, DELETE",
        "8: routes[0].worker: {user} is not a variable of the path /counters/{id} (it has: {id})",
        "10: routes[1].function: missing",
        "15: routes[1].args[0].path: {ident} is not a variable of the path /counters/{id}/increment (it has: {id})",
        "16: routes[1].args[1]: needs exactly one of: path, query, header, body, value (got query, body)",
        "18: routes[1].colour: unknown key (expected one of: method, path, template, worker, function, args, "
        "response, summary, description)",
        "25: routes[2].response.status: a success status is 200-299, got 404",
        "26: routes[3]: duplicate route: GET /counters/{name} is already routes[2] (as /counters/{id})",
        "32: routes[4].path: '/counters/item-{id}': a variable must be a whole segment, like /items/{sku}, "
        "not 'item-{id}'",
        "33: routes[4].template: a template name has no '/' and no surrounding spaces",
        "36: routes[4].args[0]: expected `body` or a mapping with one of: path, query, header, body, value",
        "36: routes[4].args[1].default: a value argument has no default",
        "37: routes[5].path: GET /openapi.json is reserved for the generated OpenAPI document",
    ]


def test_shape_mistakes_at_the_top(tmp_path: Path) -> None:
    assert mistakes(write(tmp_path, "name: x\nroute: []\n")) == [
        "1: routes: missing",
        "2: route: unknown key (expected one of: routes, name, version, services, templates)",
    ]
    assert mistakes(write(tmp_path, "routes: {a: 1}\nname: [1]\nname: y\n")) == [
        "1: routes: expected a list, got a mapping",
        "2: name: expected a string, got a list",
        "3: name: duplicate key",
    ]
    assert mistakes(write(tmp_path, "routes:\n  - method: GET\n    path: [unclosed\n")) == [
        "4: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]
    assert mistakes(write(tmp_path, "routes: []\nservices: shop\n")) == [
        "1: routes: the list is empty; define at least one route",
        "2: services: expected 'module:callable', like golemsim.shop:ShopServices, got 'shop'",
    ]
    assert mistakes(write(tmp_path, "")) == ["1: the file is empty; it needs at least `routes:`"]
    missing = tmp_path / "missing.yaml"
    with pytest.raises(DefinitionError, match=r"missing\.yaml: cannot read the definition: No such file"):
        load_api_definition(missing)


def test_routes_are_checked_against_the_deployed_templates(tmp_path: Path, executor: Executor) -> None:
    path = write(
        tmp_path,
        """
        routes:
          - method: GET
            path: /a
            template: testkit
            worker: w
            function: who-am-i
          - method: POST
            path: /b/{n}
            template: testkit
            worker: w
            function: add
            args: [{path: n}, {value: 2}]
          - method: POST
            path: /c
            template: testkit
            worker: w
            function: add
            args:
              - value: five
          - method: POST
            path: /d
            template: ghost
            worker: w
            function: get
          - method: POST
            path: /e
            template: testkit
            worker: w
            function: check-item
            args:
              - body: item
                default: {name: x}
          - method: POST
            path: /f
            template: testkit
            worker: w
            function: add
            args: [{path: n}]
        """,
    )
    with pytest.raises(DefinitionError) as caught:
        api = load_api_definition(path)
    assert [p.format("") for p in caught.value.problems] == [
        ":38: routes[5].args[0].path: {n} is not a variable of the path /f (it has: none)"
    ]
    path.write_text(path.read_text().replace("args: [{path: n}]\n", "args: [{query: n}]\n"))
    api = load_api_definition(path)
    with pytest.raises(DefinitionError) as caught:
        check_against_templates(api, ExecutorBackend(executor).functions)
    lines = [p.format("api") for p in caught.value.problems]
    unknown = "api:6: routes[0].function: template testkit has no function 'who-am-i'; did you mean 'whoami'? "
    assert lines[0].startswith(unknown + "it exports: stamp, two-calls, ")
    assert lines[1:] == [
        "api:12: routes[1].args: add takes 1 argument(s) (n: s64), the route passes 2",
        "api:19: routes[2].args[0].value: add(n): expected s64, got 'five'",
        "api:22: routes[3].template: template 'ghost' is not deployed (deploy it with `golemsim deploy`)",
        "api:32: routes[4].args[0].default: check-item(item): missing field 'qty'",
    ]
