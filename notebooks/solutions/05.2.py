"""Solution to 05.2: the campaign's checkout with deduplication off, and one crash of node-1 at
t = 0.5 s, while a payment.charge is on its way. The worker sends the charge again on recovery,
with the same key, as it must; the payment service no longer recognises the key and charges again.

How it was found: one run per crash time (every 0.1 s from 0.5 s) and node, looking at
`orders-whole-or-undone`'s counter-examples for "charged 2 times"."""

from golemsim.teach import check

answer = """
name: checkout with dedupe off, one crash
app: checkout
seed: 1
store: memory
cluster: {nodes: 3, shards: 6}
services: {latency: 0.05, dedupe: false}
workload: {mode: open, rate: 20, operations: 40, keys: 20, timeout: 5, retries: 0}
faults:
  - {at: 0.5, kind: crash, target: node-1, duration: 1}
"""
grade = check("05.2", answer)
