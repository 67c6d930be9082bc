"""The live network path: separate `cl-client participate` processes, a node mining on its own clock.

A standalone node mines a block every second; `cl-client deploy` and `cl-client open-round` run as their
own processes, and six participants run as six OS processes, each with its own key (CL_PRIVATE_KEY) and
its own Dirichlet shard of sklearn's digits. Three are Byzantine (random, flip, nonreveal). One honest
participant is SIGKILLed right after its commit is mined and started again: it must reveal from its
journal. Every wait is on block time through real phases (nothing jumps the clock).
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from cl_client.chain import Gateway, Phase, Status, connect
from cl_client.data import dirichlet_partition, save_shard, write_queries
from cl_client.journal import Journal
from oracle import plurality
from support import wait_until

ETH = 10**18
COMMIT_SECONDS, REVEAL_SECONDS = 40, 36  # MIN_PHASE_DURATION is 36 s
NUM_QUERIES = 120
# account 0 deploys and requests; participants use accounts 1..6
PARTICIPANTS = [("h0", "honest"), ("h1", "honest"), ("h2", "honest"),
                ("rnd", "random"), ("flip", "flip"), ("mute", "nonreveal")]
VICTIM = "h0"


def cl_client_exe() -> str:
    exe = Path(sys.executable).parent / "cl-client"
    return str(exe) if exe.exists() else "cl-client"


def fees_paid(w3, address: str, first_block: int) -> int:
    """Wei paid in gas by `address` for every transaction it sent since `first_block`."""
    total = 0
    for number in range(first_block, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] == address:
                receipt = w3.eth.get_transaction_receipt(tx["hash"])
                total += receipt["gasUsed"] * receipt["effectiveGasPrice"]
    return total


def test_participants_as_separate_processes_survive_a_crash_and_settle_on_chain(live_node, processes, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    base_env.update(CL_RPC_URL=live_node.url, CL_DEPLOYMENTS_DIR=str(work / "deployments"),
                    PYTHONUNBUFFERED="1")
    key_env = lambda i: dict(base_env, CL_PRIVATE_KEY="0x" + live_node.keys[i].hex())  # noqa: E731
    exe = cl_client_exe()
    w3 = connect(live_node.url)
    first_block = w3.eth.block_number
    balances_before = {a: w3.eth.get_balance(a) for a in live_node.addresses}

    # data: a query batch and one Dirichlet shard per participant
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(7).permutation(len(y))
    X, y = X[order], y[order]
    X_query, X_train, y_train = X[:NUM_QUERIES], X[NUM_QUERIES:], y[NUM_QUERIES:]
    parts = dirichlet_partition(y_train, len(PARTICIPANTS), alpha=1.0, random_state=3, min_size=100)
    shards = {}
    for (name, _), idx in zip(PARTICIPANTS, parts):
        shards[name] = work / f"{name}.npz"
        save_shard(shards[name], X_train[idx], y_train[idx])
    queries_path = work / "queries.npz"
    write_queries(queries_path, X_query)

    # deploy (its own process)
    deploy = processes.start([exe, "deploy", "--quiet"], key_env(0), "deploy", cwd=work)
    assert deploy.wait(timeout=120) == 0, processes.logs()
    address = json.loads((work / "deployments" / "1337.json").read_text())["address"]
    reader = Gateway(w3, address)

    # participants start first and wait for the round, so start-up and training take no phase time
    addr = {name: live_node.addresses[i + 1] for i, (name, _) in enumerate(PARTICIPANTS)}
    journals = {name: work / f"journal-{name}" for name, _ in PARTICIPANTS}

    seeds = {name: i for i, (name, _) in enumerate(PARTICIPANTS)}

    def participate_argv(name: str, strategy: str, *which: str) -> list[str]:
        return [exe, "participate", *which, "--shard", str(shards[name]), "--strategy", strategy,
                "--stake", "1", "--journal-dir", str(journals[name]), "--seed", str(seeds[name])]

    procs = {}
    for i, (name, strategy) in enumerate(PARTICIPANTS):
        procs[name] = processes.start(participate_argv(name, strategy, "--rounds-from-now", "1"),
                                      key_env(i + 1), name, cwd=work)
    wait_until(lambda: all("waiting for round 1 to be opened" in processes.stderr(n) for n, _ in PARTICIPANTS),
               120, "all participants to be ready", processes.logs)

    opener = processes.start([exe, "open-round", "--queries", str(queries_path), "--classes", "10",
                              "--commit-seconds", str(COMMIT_SECONDS), "--reveal-seconds", str(REVEAL_SECONDS),
                              "--reward", "1", "--json", "--quiet"], key_env(0), "open-round", cwd=work)
    assert opener.wait(timeout=120) == 0, processes.logs()
    rid = json.loads(processes.stdout("open-round"))["round_id"]
    assert rid == 1

    # SIGKILL the victim as soon as its commit is mined, then start it again on the same journal
    wait_until(lambda: reader.submission(rid, addr[VICTIM]).status == Status.COMMITTED, COMMIT_SECONDS,
               f"{VICTIM}'s commit", processes.logs)
    processes.kill(procs[VICTIM])
    assert procs[VICTIM].returncode == -9
    assert reader.phase(rid) == Phase.COMMIT
    journal = Journal.open(journals[VICTIM], 1337, address, rid, addr[VICTIM])
    assert journal.state in ("prepared", "committed")  # the salt survived the crash
    restarted = processes.start(participate_argv(VICTIM, "honest", "--round", str(rid)),
                                key_env(1), f"{VICTIM}-restarted", cwd=work)

    # everyone finishes on their own: commit, reveal, finalize (whoever is first), claim
    round_info = reader.round(rid)
    others = [procs[n] for n, _ in PARTICIPANTS if n != VICTIM]
    for proc in others + [restarted]:
        remaining = round_info.reveal_deadline - reader.latest_timestamp() + 60
        proc.wait(timeout=max(remaining, 10))
        assert proc.returncode == 0, processes.logs()

    # the consensus is on chain and is the stake-weighted plurality of what was revealed
    info = reader.round(rid)
    assert info.phase == Phase.FINALIZED, processes.logs()
    revealed = reader.revealed(rid)
    assert set(revealed) == {addr[n] for n, s in PARTICIPANTS if s != "nonreveal"}, processes.logs()
    order = sorted(revealed, key=lambda a: int(a, 16))
    weights = [reader.submission(rid, a).stake for a in order]
    assert reader.consensus(rid) == plurality([revealed[a] for a in order], weights, NUM_QUERIES, 10)
    assert f"round {rid}: {addr[VICTIM]} revealed" in processes.stderr(f"{VICTIM}-restarted")

    # Byzantine participants are slashed; honest ones (the restarted one too) share the pool
    deviator_penalty = math.ceil(ETH * info.params.deviator_slash_bps / 10_000)
    non_reveal_penalty = math.ceil(ETH * info.params.non_reveal_slash_bps / 10_000)
    claimed = {e["args"]["participant"]: e["args"] for e in reader.events("Claimed", rid)}
    assert set(claimed) == set(addr.values())
    expected_status = {"honest": Status.AGREED, "random": Status.DEVIATED, "flip": Status.DEVIATED,
                       "nonreveal": Status.COMMITTED}
    expected_penalty = {"honest": 0, "random": deviator_penalty, "flip": deviator_penalty,
                        "nonreveal": non_reveal_penalty}
    for name, strategy in PARTICIPANTS:
        a = addr[name]
        sub = reader.submission(rid, a)
        assert sub.status == expected_status[strategy], (name, sub)
        assert sub.claimed
        assert claimed[a]["penalty"] == expected_penalty[strategy], name
        # the stake and the reward are credited to the free stake (claim sends no ETH)
        assert reader.account_info(a).free == ETH - expected_penalty[strategy] + claimed[a]["reward"], name
        if strategy == "honest":
            assert claimed[a]["reward"] == info.pool * sub.stake // info.agreed_weight > 0, name
        else:
            assert claimed[a]["reward"] == 0, name
        # ETH balance: the 1 ETH deposit left, gas was paid, nothing else
        delta = w3.eth.get_balance(a) - balances_before[a]
        assert delta == -ETH - fees_paid(w3, a, first_block), name
    assert info.pool == ETH + 2 * deviator_penalty + non_reveal_penalty

    total_stake, rewards_owed, refunds_owed, burned, surplus = reader.accounting()
    assert total_stake + rewards_owed + refunds_owed + burned + surplus == w3.eth.get_balance(address)
    assert surplus == 0
