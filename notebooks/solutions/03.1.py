"""Solution to 03.1: the notebook's carts without network faults, and one crash of the node that
holds the phone's cart while a merge into the user's cart waits on it.

How it was found: in the fault-free run (`calm` in the notebook) the first merge after t = 1 s is
`cart-48`, user-1 <- anon-d1, sent at t = 1.288 s and answered at t = 1.336 s. `owner_at(calm,
WorkerId("shopping-cart", "anon-d1"), 1.3)` is node-2 (the user's cart is on node-1), so node-2
crashes at t = 1.3, in the middle of that merge.
"""

from golemsim.teach import check

answer = """
name: carts, the phone's cart crashes in the middle of a merge
app: shopping-cart
seed: 1
store: memory
cluster: {nodes: 3, shards: 12}
network: {latency: 0.001, jitter: 0.001}
workload: {mode: closed, clients: 6, think: 0.05, operations: 200, keys: 12, distribution: zipf}
faults:
  - {at: 1.3, kind: crash, target: node-2, duration: 1}
"""
grade = check("03.1", answer)
