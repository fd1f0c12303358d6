"""Solution to 02.2: section 4 of the notebook follows a checkout on node-1. The services'
ledger says its payment.charge was applied at t=0.933 s; its timeline says the next
begin-remote-write (the shipment's) was committed at t=0.938 s, after which the shipment request
was on its way. One crash of node-1 in between (same seed, so the same run up to the crash) leaves
the order charged and not shipped: its shard moves, the worker is rebuilt by replay and ships it,
once."""

from golemsim.teach import check

answer = """
name: one crash between a charge and its shipment
app: checkout
seed: 1
store: memory
check_limit: 60
cluster: {nodes: 3, shards: 12}
services: {latency: 0.05}
workload: {mode: open, rate: 40, operations: 200, keys: 200, timeout: 5, retries: 0}
faults:
  - {at: 0.935, kind: crash, target: node-1, duration: 2}
"""
grade = check("02.2", answer)
