"""Solution to 01.2: random crashes, 90 a minute from t=0.5 s, each lasting 2.5 s on average
(longer than the 2 s heartbeat timeout, so that shards move), over 400 increments. The seed draws
when and which node: each seed is another run, and each must keep every verdict valid. (At 20 or
40 a minute, seed 1 draws its first crash after its 3 s run is over: rates are averages.)"""

from golemsim.teach import check

answer = """
name: counters under random crashes
app: counter
seed: 1
store: memory
cluster: {nodes: 3, shards: 6}
workload: {mode: closed, clients: 4, think: 0.02, operations: 400, keys: 8}
random_faults: {rates: {crash: 90}, start: 0.5, mean_duration: 2.5}
"""
grade = check("01.2", answer)
