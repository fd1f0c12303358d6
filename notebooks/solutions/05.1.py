"""Solution to 05.1: the notebook's carts under crashes, with a third crash, and a snapshot every
2 invocations. (Every 3 is not enough: a crash can fall between the invocation that makes a
snapshot due and the snapshot, so a rebuild may replay 3; the grader's counter-example shows one.)"""

from golemsim.teach import check

answer = """
name: carts under three crashes, a snapshot every 2 invocations
app: shopping-cart
seed: 1
store: memory
cluster: {nodes: 2, shards: 4, snapshots: {every_invocations: 2}}
workload: {mode: closed, clients: 4, think: 0.02, operations: 240, keys: 4}
faults:
  - {at: 2.0, kind: crash, target: node-1, duration: 0.5}
  - {at: 3.5, kind: crash, target: node-2, duration: 0.5}
  - {at: 5.0, kind: crash, target: node-1, duration: 0.5}
"""
grade = check("05.1", answer)
