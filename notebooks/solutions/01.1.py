"""Solution to 01.1: the notebook's counter experiment with a second crash that starts while
node-2 is still down, long enough for the shard manager to declare both dead."""

from golemsim.teach import check

answer = """
name: counters while two nodes are down
app: counter
seed: 1
store: memory
cluster: {nodes: 3, shards: 6}
workload: {mode: closed, clients: 4, think: 0.02, operations: 150, keys: 8}
faults:
  - {at: 1.0, kind: crash, target: node-2, duration: 1.5}
  - {at: 1.5, kind: crash, target: node-3, duration: 3}
"""
grade = check("01.1", answer)
