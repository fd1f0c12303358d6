"""The hello-world template: a durable counter.

The total lives in the guest's memory only; golemsim rebuilds it after a crash by
replaying the worker's oplog.
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
