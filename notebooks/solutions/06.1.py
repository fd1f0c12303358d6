"""Solution to 06.1: the notebook's counters through a *drained* rolling upgrade, with the update
to counter-v2 starting while the second node is being upgraded. A drained node hands its shards
off before it stops, so no request is sent into the void; the template update is queued like an
invocation and replays each counter's history on version 2 between two increments.
(The source path is relative to the repository, as for the notebook's inline experiments.)"""

from golemsim.teach import check

answer = """
name: counters through a drained rolling upgrade and a template update
app: counter
seed: 1
store: memory
cluster: {nodes: 3, shards: 12}
workload: {mode: open, rate: 40, operations: 400, keys: 20}
faults:
  - {at: 1.5, kind: upgrade, mode: drain, duration: 1}
  - {at: 4.5, kind: template-update, target: counter, source: templates/counter-v2, mode: auto}
"""
grade = check("06.1", answer)
