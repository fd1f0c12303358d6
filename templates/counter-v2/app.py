"""Version 2 of the counter: the same increment and get, plus decrement.

A compatible update: replaying a version-1 history on this code makes the same host calls,
so `golemsim update --to 2` (mode auto) moves a counter without losing its total.
"""

import golemsim_guest as golem
import wit_world


class WitWorld(wit_world.WitWorld):
    total = 0

    def increment(self, by: int) -> int:
        WitWorld.total += by
        golem.log(f"total is now {WitWorld.total}")
        return WitWorld.total

    def get(self) -> int:
        return WitWorld.total

    def decrement(self, by: int) -> int:
        WitWorld.total -= by
        golem.log(f"total is now {WitWorld.total}")
        return WitWorld.total
