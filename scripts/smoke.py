from brownie import ConsensusLearning, accounts, chain, web3
from cl_client.commitment import commitment, new_salt
import random

def main():
    owner = accounts[0]
    c = ConsensusLearning.deploy({"from": owner})
    N, Q, K = 16, 1024, 10
    parts = accounts[1:N+1]
    for p in parts:
        c.deposit({"from": p, "value": "1 ether"})
    tx = c.openRound(b"\x11"*32, "file://q", Q, K, 100, 100, {"from": owner, "value": "1 ether"})
    rid = tx.return_value
    rng = random.Random(1)
    truth = [rng.randrange(K) for _ in range(Q)]
    data = {}
    gas = {"commit":0,"reveal":0,"finalize":0,"claim":0}
    for i,p in enumerate(parts):
        labels = bytes(t if rng.random() < 0.8 else rng.randrange(K) for t in truth)
        salt = new_salt()
        data[p.address] = (labels, salt)
        tx = c.commit(rid, commitment(chain.id, c.address, rid, p.address, labels, salt), {"from": p})
        gas["commit"] += tx.gas_used
    chain.sleep(101); chain.mine()
    for p in parts:
        labels, salt = data[p.address]
        tx = c.reveal(rid, labels, salt, {"from": p}); gas["reveal"] += tx.gas_used
    chain.sleep(101); chain.mine()
    order = sorted(data, key=lambda a: int(a, 16))
    tx = c.finalize(rid, order, [data[a][0] for a in order], {"from": owner}); gas["finalize"] += tx.gas_used
    cons = bytes(c.consensus(rid))
    print("consensus acc", sum(a==b for a,b in zip(cons, truth))/Q)
    for p in parts:
        tx = c.claim(rid, {"from": p}); gas["claim"] += tx.gas_used
    print(gas, "per label per participant", sum(gas.values())/(N*Q))
    print(c.accounting(), web3.eth.get_balance(c.address))
