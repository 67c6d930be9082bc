"""The live network path on three real nodes, with a fault matrix: separate `cl-client participate` processes
against a node mining on its own clock (nothing jumps the clock; every wait is block time).

Node kinds (one each, all at once: the module fixture runs the three scenarios, and the request-rate one
below, in parallel threads, each started once the one before has its processes up, so the module costs
about one scenario's wall time):
    ganache   Ganache 7.9.2 mining a block every second
    anvil     Anvil with interval mining, a block every 2 s (testnet-like blocks)
    hardhat   a Hardhat 2 node (npm, Node 20; tools/hardhat.config.js), interval mining, a block every second

Per node: account 0 deploys and requests (in this process); the participants are OS processes, each with its
own key and its own Dirichlet shard of sklearn's digits, and only CL_CONTRACT set (log scans start at the
deployment block found on chain). Round 1 is a bad round (its URI serves another file than its hash): every
participant, the --follow ones included, skips it with one line, before any deposit. Round 2 is the real one:
    v-round, v-rfn, v-follow   honest victims, each SIGKILLed three times: after its commit is mined, after
                               its reveal is mined, and before its claim (its own proxy holds its first
                               claim transaction until the test has killed it); restarted each time with
                               --round 2, --rounds-from-now 1 or --follow respectively
    outage                     honest, through a proxy that resets every connection for 16 s across the
                               start of the reveal phase (it must wait it out, say so, and still reveal)
    capped                     honest (--follow), through a proxy that refuses eth_getLogs over 4 blocks
    flip                       Byzantine (a label flipper): slashed
    reorg (Anvil only)         honest, started once everyone else committed; its deposit and commit are then
                               dropped by `anvil_reorg` and must be sent again (nonce order) before the deadline
Outcome, from balances and Claimed events: every honest participant AGREED, claimed its share of the pool
with penalty 0, its ETH balance moved by exactly -stake - gas and its free stake is stake + reward,
i.e. 0 wei lost; the flipper lost the deviator slash. (Contract v2: claim credits the stake and the reward
to the free stake and sends no ETH.)

Request rates (`test_request_rates_...`): one participant through a counting proxy on its own Anvil with
12 s blocks (the bounds are stated for 12 s blocks, so nothing is scaled): idle (30 s of waiting for a round
to be opened) <= 0.2 requests/s, in-phase (from the round's opening to its reveal deadline, the participant
taking part: checks, deposit, commit, reveal and the waits between) <= 0.5 requests/s. The round's phases are
short for 12 s blocks (8 and 6 blocks), so the per-round costs (three transactions, the round's checks) weigh
more than in the longer phases of a real round: the bound is met with room to spare there.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account
from eth_utils import keccak

from cl_client.chain import Gateway, Phase, Status, connect, deploy
from cl_client.data import dirichlet_partition, save_shard, write_queries
from cl_client.node import LocalNode
from cl_client.protocol import LIMITS
from support import FlakyRPC, wait_until

ETH = 10**18
NUM_QUERIES = 100
BLOCK_TIME = {"ganache": 1, "anvil": 2, "hardhat": 1}
COMMIT_SECONDS = {"ganache": 40, "anvil": 64, "hardhat": 40}  # Anvil: room for the late reorg participant
REVEAL_SECONDS = 40
MIN_PHASE = LIMITS.min_phase_duration  # the bad round's phases
OUTAGE_SECONDS = 16
LOG_CAP = 4  # blocks per eth_getLogs the capped provider allows
# test-key index -> (name, strategy). The victims' addresses are 4 mod 5, so they wake 4 s after the reveal
# deadline (participant.FINALIZE_STAGGER_SECONDS) and someone else has finalized: what they send then is the claim.
PARTICIPANTS = {4: ("v-round", "honest"), 12: ("v-rfn", "honest"), 16: ("v-follow", "honest"),
                2: ("outage", "honest"), 3: ("capped", "honest"), 5: ("flip", "flip"), 6: ("reorg", "honest")}
VICTIMS = {"v-round": ["--round", "2"], "v-rfn": ["--rounds-from-now", "1"], "v-follow": ["--follow"]}
FOLLOWERS = {"v-follow", "capped"}  # never exit on their own: stopped once they claimed
KILLS = ("after commit", "after reveal", "before claim")
RATE_BLOCK_TIME, RATE_COMMIT, RATE_REVEAL, RATE_IDLE = 12, 96, 72, 30  # phases of 8 and 6 blocks


def cl_client_exe() -> str:
    exe = Path(sys.executable).parent / "cl-client"
    return str(exe) if exe.exists() else "cl-client"


def fees_paid(w3, addresses, first_block: int) -> dict[str, int]:
    """Wei paid in gas by each of `addresses` for the transactions it sent since `first_block`."""
    total = dict.fromkeys(addresses, 0)
    for number in range(first_block, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"] in total:
                receipt = w3.eth.get_transaction_receipt(tx["hash"])
                total[tx["from"]] += receipt["gasUsed"] * receipt["effectiveGasPrice"]
    return total


def make_data(directory: Path) -> tuple[Path, Path, dict[str, Path]]:
    """queries.npz, another query file (the bad round's URI) and one shard per participant name."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(7).permutation(len(y))
    X, y = X[order], y[order]
    X_query, X_train, y_train = X[:NUM_QUERIES], X[NUM_QUERIES:], y[NUM_QUERIES:]
    names = [name for name, _ in PARTICIPANTS.values()]
    parts = dirichlet_partition(y_train, len(names), alpha=1.0, random_state=3, min_size=120)
    shards = {}
    for name, idx in zip(names, parts):
        shards[name] = directory / f"{name}.npz"
        save_shard(shards[name], X_train[idx], y_train[idx])
    queries, other = directory / "queries.npz", directory / "other.npz"
    write_queries(queries, X_query)
    write_queries(other, X_query[::-1])
    return queries, other, shards


class Scenario:
    """One node kind's run of the matrix (see the module docstring); `run()` in a thread, results after."""

    def __init__(self, backend: str, directory: Path, data, processes):
        self.backend, self.dir, self.processes = backend, directory, processes
        self.queries, self.other, self.shards = data
        self.names = {i: name for i, (name, _) in PARTICIPANTS.items() if backend == "anvil" or name != "reorg"}
        self.error: str | None = None
        self.ready = threading.Event()  # its participants are up (the next scenario may start: less CPU at once)
        self.claiming = {name: threading.Event() for name in VICTIMS}  # a victim is about to send its claim
        self.killed = {name: threading.Event() for name in VICTIMS}
        self.result: dict = {}
        self.procs: dict[str, object] = {}
        self.kills: dict[str, list[str]] = {name: [] for name in VICTIMS}

    def logs(self) -> str:
        return self.processes.logs()

    def run(self) -> None:
        t0 = time.monotonic()
        try:
            with LocalNode(backend=self.backend, accounts=17, block_time=BLOCK_TIME[self.backend],
                           log_path=self.dir / "node.log") as node:
                self._run(node)
        except BaseException:  # noqa: BLE001 - reported by the test that reads this scenario
            self.error = traceback.format_exc()
        finally:
            self.ready.set()
            for event in self.killed.values():
                event.set()
        self.wall = time.monotonic() - t0

    def _env(self, node, index: int, url: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
        env.update(CL_RPC_URL=url, CL_CONTRACT=self.address, CL_PRIVATE_KEY="0x" + node.keys[index].hex(),
                   PYTHONUNBUFFERED="1")
        return env

    def _start(self, node, index: int, mode: list[str], tag: str = "") -> None:
        name = self.names[index]
        strategy = PARTICIPANTS[index][1]
        url = {"outage": getattr(self, "outage_url", None), "capped": getattr(self, "capped_url", None),
               **getattr(self, "victim_urls", {})}.get(name)
        argv = [cl_client_exe(), "participate", *mode, "--shard", str(self.shards[name]), "--strategy", strategy,
                "--stake", "1", "--journal-dir", str(self.dir / f"journal-{name}"), "--seed", str(index)]
        self.procs[name] = self.processes.start(argv, self._env(node, index, url or node.url), name + tag,
                                                cwd=self.dir)

    def _run(self, node) -> None:
        w3 = connect(node.url)
        requester = Account.from_key(node.keys[0])
        self.address, _ = deploy(w3, requester)
        reader = Gateway(w3, self.address, requester)
        addr = {name: node.addresses[i] for i, name in self.names.items()}
        first_block = w3.eth.block_number
        before = {a: w3.eth.get_balance(a) for a in addr.values()}

        def capped(method, params):
            if method == "eth_getLogs":
                lo, hi = (int(params[0][k], 16) if str(params[0].get(k, "")).startswith("0x") else None
                          for k in ("fromBlock", "toBlock"))
                if lo is None or hi is None or hi - lo + 1 > LOG_CAP:
                    return {"error": {"code": -32005, "message": f"query exceeds max block range {LOG_CAP}"}}
            return None

        claim_call = keccak(text="claim(uint256)")[:4] + (2).to_bytes(32, "big")  # claim(2), in a raw transaction

        def hold_claim(name):  # a victim's proxy holds its first claim(2) until the test has killed it
            def hook(method, params):
                if method == "eth_sendRawTransaction" and claim_call in bytes.fromhex(params[0][2:]) \
                        and not self.killed[name].is_set():
                    self.claiming[name].set()
                    self.killed[name].wait(120)
                    return {"error": {"code": -32000, "message": "the sender was killed"}}
                return None
            return hook

        with contextlib.ExitStack() as stack:
            outage = stack.enter_context(FlakyRPC("reset", upstream=node.url))
            cap = stack.enter_context(FlakyRPC(upstream=node.url, hook=capped))
            self.victim_urls = {name: stack.enter_context(FlakyRPC(upstream=node.url, hook=hold_claim(name))).url
                                for name in VICTIMS}
            self.outage_url, self.capped_url = outage.url, cap.url
            for index, name in self.names.items():
                if name == "reorg":
                    continue
                self._start(node, index, ["--follow"] if name in FOLLOWERS else ["--rounds-from-now", "2"])
            started = [n for n in self.names.values() if n != "reorg"]
            wait_until(lambda: all("waiting for round 1 to be opened" in self.processes.stderr(n) for n in started),
                       240, f"{self.backend}: all participants ready", self.logs)
            self.ready.set()

            # round 1: a bad round (its URI serves another file than its hash)
            from cl_client.data import file_hash

            reader.open_round(file_hash(self.queries), self.other.as_uri(), NUM_QUERIES, 10, MIN_PHASE, MIN_PHASE, ETH)
            wait_until(lambda: all("skipping round 1:" in self.processes.stderr(n) for n in started), 60,
                       f"{self.backend}: everyone to skip the bad round", self.logs)
            rid = reader.open_round(file_hash(self.queries), self.queries.as_uri(), NUM_QUERIES, 10,
                                    COMMIT_SECONDS[self.backend], REVEAL_SECONDS, ETH)
            assert rid == 2
            info = reader.round(rid)
            self._faults(node, reader, rid, info, addr, outage)
            for name in FOLLOWERS:  # they wait for round 3 now
                wait_until(lambda: "round 2: agreed" in self.processes.stdout(name + self._tag(name)), 60,
                           f"{self.backend}: {name} to report round 2", self.logs)
                self.processes.kill(self.procs[name])
        self._settle(w3, reader, rid, addr, before, first_block)

    def _tag(self, name: str) -> str:
        return f"-{len(self.kills[name])}" if name in self.kills and self.kills[name] else ""

    def _faults(self, node, reader, rid, info, addr, outage) -> None:
        stage = dict.fromkeys(VICTIMS, 0)
        outage_done = reorg_started = reorg_done = False
        deadline = time.monotonic() + COMMIT_SECONDS[self.backend] + REVEAL_SECONDS + 400  # slack for a loaded machine
        while True:
            now = reader.latest_timestamp()
            subs = {name: reader.submission(rid, addr[name]) for name in (*VICTIMS, "reorg") if name in addr}
            for name, mode in VICTIMS.items():
                kill = None
                if stage[name] == 0 and subs[name].status == Status.COMMITTED:
                    kill = "after commit"
                elif stage[name] == 1 and subs[name].status == Status.REVEALED:
                    kill = "after reveal"
                elif stage[name] == 2 and self.claiming[name].is_set():  # its claim is held by its proxy
                    assert not subs[name].claimed and now > info.reveal_deadline, (self.backend, name, subs[name])
                    kill = "before claim"
                if kill:
                    self.processes.kill(self.procs[name])
                    if kill == "before claim":
                        self.killed[name].set()
                    self.kills[name].append(kill)
                    stage[name] += 1
                    index = next(i for i, n in self.names.items() if n == name)
                    self._start(node, index, mode, self._tag(name))
            if not outage_done and now >= info.commit_deadline - 4:
                outage.down_until = time.monotonic() + OUTAGE_SECONDS  # connections reset across the phase change
                outage_done = True
            if self.backend == "anvil":
                others = [n for n in addr if n != "reorg"]
                if not reorg_started and all(reader.submission(rid, addr[n]).status != Status.NONE for n in others):
                    self._start(node, next(i for i, n in self.names.items() if n == "reorg"), ["--round", "2"])
                    reorg_started = True
                if reorg_started and not reorg_done and subs["reorg"].status == Status.COMMITTED:
                    blocks = self._blocks_with_txs_of(reader.w3, addr["reorg"])
                    depth = reader.w3.eth.block_number - min(blocks) + 1
                    node._rpc("anvil_reorg", [depth, []])
                    self.result["reorg"] = {"depth": depth, "dropped": len(blocks), "at": now,
                                            "commit_deadline": info.commit_deadline}
                    reorg_done = True
            running = [n for n, p in self.procs.items() if p.poll() is None and n not in FOLLOWERS]
            if all(s == 3 for s in stage.values()) and not running:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.backend}: still running {running}, stages {stage}\n{self.logs()}")
            time.sleep(0.3)
        for name, proc in self.procs.items():
            if name not in FOLLOWERS:
                assert proc.returncode == 0, f"{self.backend}: {name} exited {proc.returncode}\n{self.logs()}"

    @staticmethod
    def _blocks_with_txs_of(w3, address: str, look_back: int = 12) -> list[int]:
        head = w3.eth.block_number
        return [n for n in range(max(0, head - look_back), head + 1)
                if any(tx["from"] == address for tx in w3.eth.get_block(n, full_transactions=True)["transactions"])]

    def _settle(self, w3, reader, rid, addr, before, first_block) -> None:
        info = reader.round(rid)
        fees = fees_paid(w3, list(addr.values()), first_block)
        claimed = {e["args"]["participant"]: e["args"] for e in reader.events("Claimed", rid)}
        people = {}
        for name, a in addr.items():
            sub = reader.submission(rid, a)
            c = claimed.get(a)
            free = reader.account_info(a).free
            # wei lost: what the account holds now (ETH + stake in the contract) against what it held, gas
            # aside; an honest participant's reward makes it negative
            lost = before[a] - (w3.eth.get_balance(a) + free) - fees[a]
            people[name] = {"status": sub.status, "claimed": sub.claimed, "reward": c and int(c["reward"]),
                            "penalty": c and int(c["penalty"]), "free": free, "lost": lost,
                            "delta": w3.eth.get_balance(a) - before[a], "fees": fees[a], "stake": sub.stake}
        self.result.update(info=info, people=people, stderr={n: self.processes.stderr(n) for n in addr},
                           kills=self.kills)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, make_processes):
    """Every scenario, run at once in threads; {backend or "rates": scenario}."""
    root = tmp_path_factory.mktemp("live")
    data = make_data(root)
    scenarios = {}
    for name in (*BLOCK_TIME, "rates"):
        (root / name / "proc").mkdir(parents=True)
        procs = make_processes(root / name / "proc")
        scenarios[name] = (RateScenario(root / name, data, procs) if name == "rates"
                           else Scenario(name, root / name, data, procs))
    order = ["rates", *BLOCK_TIME]  # the longest first; each next one once the one before has its processes up
    threads = [threading.Thread(target=scenarios[name].run, name=name, daemon=True) for name in order]
    started = time.monotonic()
    for name, t in zip(order, threads):
        t.start()
        scenarios[name].ready.wait(300)
    for t in threads:
        t.join(timeout=900)
    print(f"\nlive scenarios: {time.monotonic() - started:.0f} s wall time in all")
    return scenarios


@pytest.mark.live
@pytest.mark.parametrize("backend", list(BLOCK_TIME))
def test_an_honest_participant_loses_no_wei_across_the_fault_matrix(runs, backend):
    s = runs[backend]
    assert s.error is None, f"{s.error}\n{s.logs()}"
    r = s.result
    info, people = r["info"], r["people"]
    assert info.phase == Phase.FINALIZED, s.logs()
    assert s.kills == {name: list(KILLS) for name in VICTIMS}  # SIGKILL at each step x the three modes
    deviator_penalty = math.ceil(ETH * info.params.deviator_slash_bps / 10_000)
    honest = {n: p for n, p in people.items() if n != "flip"}
    for name, p in honest.items():
        assert p["status"] == Status.AGREED and p["claimed"], (backend, name, p, s.logs())
        assert p["penalty"] == 0 and p["reward"] == info.pool * p["stake"] // info.agreed_weight > 0, (name, p)
        # the stake is back and the reward credited, as free stake (claim sends no ETH); the bad round took no
        # deposit
        assert p["free"] == ETH + p["reward"], (name, p)
        assert p["delta"] == -ETH - p["fees"], (name, p)  # nothing else left the account
        assert p["lost"] == -p["reward"], (name, p)  # 0 wei lost: it holds what it had, plus the reward
    flip = people["flip"]
    assert flip["status"] == Status.DEVIATED and flip["penalty"] == deviator_penalty and flip["lost"] == deviator_penalty
    assert info.pool == ETH + deviator_penalty
    err = r["stderr"]
    assert "node not answering" in err["outage"], err["outage"]  # the outage was said, above the progress
    assert "revealed" in err["outage"]
    assert "caps eth_getLogs" in err["capped"], err["capped"]
    for name in people:  # the bad round: skipped in one line before any deposit (the reorg one starts later)
        if name != "reorg":
            assert err[name].count("skipping round 1:") == 1 and "but the round expects" in err[name], err[name]
    if backend == "anvil":
        reorg = r["reorg"]
        assert reorg["dropped"] >= 2 and reorg["at"] < reorg["commit_deadline"], reorg  # deposit and commit
        # said either way: found while waiting for the commit's receipt (the deposit's nonce is missing below
        # it) or found by the watch after the receipt (the commit itself is gone)
        assert any(w in err["reorg"] for w in ("no longer on chain", "dropped by a reorg")), err["reorg"]
    lost = sum(max(0, p["lost"] + (p["reward"] or 0)) for p in honest.values())
    print(f"\n{backend}: {len(honest)} honest participants, {sum(len(k) for k in s.kills.values())} SIGKILLs, "
          f"wei lost by honest participants: {lost}; scenario wall time {s.wall:.0f} s")
    assert lost == 0


class RateScenario:
    """One honest participant through a counting proxy on an Anvil with 12 s blocks (module docstring)."""

    def __init__(self, directory: Path, data, processes):
        self.dir, self.processes = directory, processes
        self.queries, _, self.shards = data
        self.error, self.result = None, {}
        self.ready = threading.Event()

    def logs(self) -> str:
        return self.processes.logs()

    def run(self) -> None:
        t0 = time.monotonic()
        try:
            with LocalNode(backend="anvil", accounts=3, block_time=RATE_BLOCK_TIME,
                           log_path=self.dir / "node.log") as node:
                self._run(node)
        except BaseException:  # noqa: BLE001
            self.error = traceback.format_exc()
        finally:
            self.ready.set()
        self.wall = time.monotonic() - t0

    def _run(self, node) -> None:
        from cl_client.data import file_hash

        w3 = connect(node.url)
        requester = Account.from_key(node.keys[0])
        address, _ = deploy(w3, requester)
        reader = Gateway(w3, address, requester)
        with FlakyRPC(upstream=node.url) as proxy:
            env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
            env.update(CL_RPC_URL=proxy.url, CL_CONTRACT=address, CL_PRIVATE_KEY="0x" + node.keys[1].hex(),
                       PYTHONUNBUFFERED="1")
            proc = self.processes.start(
                [cl_client_exe(), "participate", "--rounds-from-now", "1", "--shard", str(self.shards["v-round"]),
                 "--stake", "1", "--journal-dir", str(self.dir / "journal")], env, "counted", cwd=self.dir)
            wait_until(lambda: "waiting for round 1 to be opened" in self.processes.stderr("counted"), 180,
                       "the counted participant to wait for a round", self.logs)
            self.ready.set()
            idle_from = time.monotonic()
            time.sleep(RATE_IDLE)  # the measured idle window itself (the process waits for a round meanwhile)
            idle_to = time.monotonic()
            rid = reader.open_round(file_hash(self.queries), self.queries.as_uri(), NUM_QUERIES, 10, RATE_COMMIT,
                                    RATE_REVEAL, ETH)
            phase_from = time.monotonic()
            info = reader.round(rid)
            wait_until(lambda: reader.latest_timestamp() > info.reveal_deadline, RATE_COMMIT + RATE_REVEAL + 60,
                       "the reveal deadline", self.logs)
            phase_to = time.monotonic()
            self.result = {"idle": proxy.rate(idle_from, idle_to), "in_phase": proxy.rate(phase_from, phase_to),
                           "idle_s": idle_to - idle_from, "in_phase_s": phase_to - phase_from,
                           "running": proc.poll() is None, "status": reader.submission(rid, node.addresses[1]).status}
            self.processes.kill(proc)  # what follows (finalize, claim) is the matrix's business


@pytest.mark.live
def test_request_rates_at_12_s_blocks_idle_and_in_phase(runs):
    s = runs["rates"]
    assert s.error is None, f"{s.error}\n{s.logs()}"
    r = s.result
    print(f"\nrequest rates at 12 s blocks: idle {r['idle']:.3f}/s over {r['idle_s']:.0f} s, in-phase "
          f"{r['in_phase']:.3f}/s over {r['in_phase_s']:.0f} s; scenario wall time {s.wall:.0f} s")
    assert r["running"] and r["status"] == Status.REVEALED, s.logs()  # it took part, and had not failed
    assert r["idle"] <= 0.2, r
    assert r["in_phase"] <= 0.5, r
