"""Solution to 02.1: the clients retry (with the same idempotency key), so a lambda that died with
its node is called again and carries its order forward from the progress row it saved. The crashes
stay; only `retries` changes. (It works only while the client is still there to retry.)"""

from golemsim.teach import check

answer = """
name: checkout with retrying clients
app: checkout
seed: 1
store: memory
check_limit: 60
cluster: {nodes: 3, shards: 12}
services: {latency: 0.05}
workload: {mode: open, rate: 40, operations: 200, keys: 200, timeout: 5, retries: 2}
faults:
  - {at: 1.0, kind: crash, target: node-1, duration: 2}
  - {at: 2.2, kind: crash, target: node-2, duration: 1.5}
  - {at: 3.6, kind: crash, target: node-3, duration: 1}
  - {at: 4.4, kind: crash, target: node-1, duration: 1}
"""
grade = check("02.1", answer)
