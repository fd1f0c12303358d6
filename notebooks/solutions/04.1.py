"""Solution to 04.1: the notebook's 4-node auctions with zipf bids (600 of them), and a crash of
the node that holds the hottest lot, long enough (3 s) for the shard manager to move its shards.

How it was found: without the crash, `Counter(str(op.bound.worker) for op in result.history if
op.op.name == "bid")` says lot-0 is the hottest (bids sent from t = 1.7 s on), and the trace's
`assign` events (`owner_at` in notebook 03, or `placement` in 04) put its shard on node-4 at t = 2 s.
"""

from golemsim.teach import check

answer = """
name: hot auctions on 4 nodes, the hottest lot's node crashes
app: auction
seed: 1
store: memory
cluster: {nodes: 4, shards: 8, max_live_per_node: 8}
workload: {mode: closed, clients: 16, think: 0.01, operations: 600, keys: 32, distribution: zipf}
faults:
  - {at: 2.0, kind: crash, target: node-4, duration: 3}
"""
grade = check("04.1", answer)
