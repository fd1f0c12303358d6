"""testkit's two-calls, changed: the first call now goes to another operation."""

import golemsim_guest as golem
import wit_world


class WitWorld(wit_world.WitWorld):
    def two_calls(self, tag: str) -> list[str]:
        first = golem.call("ledger", "renamed-first", {"tag": tag})
        return [first["operation"]]
