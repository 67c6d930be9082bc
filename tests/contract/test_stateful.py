"""Stateful property test: random sequences of deposits, withdrawal requests and withdrawals, rounds,
commits, honest / deviating / missing reveals, finalizations, claims and refunds, run against an
independent Python model (contract_helpers.settle for the round maths, plain bookkeeping here).

After every step: contract balance == totalStake + rewardsOwed + refundsOwed + treasury == the model's
figures, and every wei that came in either went out or is still held. Every rule checks the accounts it
touched against the model; every finalization checks slashed == redistributed + dust; claiming twice,
committing twice, revealing with a wrong salt, withdrawing early or with nothing unbonding must revert.

Time only moves forward inside rules (to the next phase of a round, or to a withdrawal's ready time);
a round or a withdrawal whose deadline is within STABLE seconds of the chain's time is left alone, so
the model never has to guess which side of a deadline the next block lands on.

Examples: CL_STATEFUL_EXAMPLES (default 20; `make stateful` uses 200). Sequences are short
(CL_STATEFUL_STEPS, default 12).
"""
import importlib.util
import os
import random
from collections import Counter
from pathlib import Path

import brownie
import pytest
from brownie import chain
from hypothesis import strategies as st

from cl_client.commitment import new_salt
from contract_helpers import (
    DEFAULTS,
    Ballot,
    Phase,
    Status,
    assert_books,
    by_address,
    commitment_for,
    err,
    gas_cost,
    plain,
    settle,
    the_event,
)


def _pure_python_state_machine():
    """Brownie's `state_machine`, loaded from the pure-Python stateful.py that Brownie ships.

    Brownie 1.22.2 runs a mypyc-compiled brownie.test.stateful whose native methods reject the machine
    class it builds with type(...): every run dies with "TypeError: brownie.test.stateful.
    _BrownieStateMachine object expected; got test_stateful.BrownieStateMachine". The .py source next to
    the compiled module is the same code, interpreted, and works.
    """
    import brownie.test.stateful as compiled

    source = Path(compiled.__file__).with_name("stateful.py")
    spec = importlib.util.spec_from_file_location("brownie_stateful_py", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.state_machine


state_machine = _pure_python_state_machine()

EXAMPLES = int(os.environ.get("CL_STATEFUL_EXAMPLES", "20"))
STEPS = int(os.environ.get("CL_STATEFUL_STEPS", "12"))
PARAMS = DEFAULTS.replace(minRevealers=2, minStake=1)
DELAY = 500  # unbonding delay, seconds
PHASE_S = 1000  # commit and reveal durations, seconds
STABLE = 3  # seconds: how close to a deadline the chain's clock may be before the model abstains
SEEN = Counter()  # what the sequences did; printed at the end (pytest -s) to judge the coverage


@pytest.fixture(scope="module")
def machine_setup(cl, owner):
    cl.setDefaults(PARAMS.astuple(), {"from": owner})
    cl.setUnbondingDelay(DELAY, {"from": owner})


class Account:
    def __init__(self):
        self.free = self.locked = self.unbonding = self.ready = 0

    def astuple(self):
        return (self.free, self.locked, self.unbonding, self.ready)


class Round:
    def __init__(self, rid, q, k, reward, bonus, commit_deadline, reveal_deadline):
        self.rid, self.q, self.k, self.reward, self.bonus = rid, q, k, reward, bonus
        self.commit_deadline, self.reveal_deadline = commit_deadline, reveal_deadline
        rng = random.Random(rid * 7919 + q * 31 + k)
        self.truth = bytes(rng.randrange(k) for _ in range(q))
        self.ballots = {}  # address -> Ballot
        self.stakes = {}  # address -> stake locked at commit
        self.revealed = {}  # address -> labels
        self.behaviour = {}  # address -> "honest" | "deviating" | "silent"
        self.reveals_done = False
        self.outcome = None  # contract_helpers.Outcome once finalized
        self.claimed = set()
        self.refunded = False

    def settled(self):
        return self.outcome is not None

    def phase(self, now):
        if self.settled():
            return Phase.FAILED if self.outcome.failed else Phase.FINALIZED
        if now <= self.commit_deadline:
            return Phase.COMMIT
        return Phase.REVEAL if now <= self.reveal_deadline else Phase.FINALIZABLE

    def stable(self, now):
        return self.settled() or min(abs(now - self.commit_deadline), abs(now - self.reveal_deadline)) > STABLE


class StateMachine:
    st_who = st.integers(min_value=0, max_value=3)
    st_pick = st.integers(min_value=0, max_value=7)
    st_amount = st.sampled_from([1, 2, 3, 7, 10**15 + 1, 10**17, 3 * 10**17 + 7])
    st_stakes = st.lists(st_amount, min_size=4, max_size=4)
    st_quarter = st.integers(min_value=0, max_value=4)
    st_q = st.integers(min_value=1, max_value=40)
    st_k = st.integers(min_value=2, max_value=4)
    st_reward = st.sampled_from([0, 1, 7, 10**16 + 3])
    st_mask = st.lists(st.booleans(), min_size=4, max_size=4)
    st_behaviour = st.lists(st.sampled_from(["honest", "deviating", "silent", "abstain"]), min_size=4, max_size=4)
    st_flag = st.booleans()

    def __init__(cls, cl, participants, requester):
        cls.cl, cls.participants, cls.requester = cl, participants, requester

    def setup(self):
        SEEN["sequences"] += 1
        self.accounts = {p.address: Account() for p in self.participants}
        self.rounds = {}
        self.total_stake = self.rewards_owed = self.refunds_owed = self.treasury = 0
        self.came_in = self.went_out = 0

    # ------------------------------------------------------------------ helpers

    def now(self):
        return chain[-1].timestamp

    def pick(self, items, index):
        return items[index % len(items)] if items else None

    def check_account(self, p):
        assert plain(self.cl.getAccount(p)) == self.accounts[p.address].astuple()

    def initialize_world(self, stakes="st_stakes", q="st_q", k="st_k", reward="st_reward"):
        """Every sequence starts with four funded participants and one round in its Commit phase."""
        for p, amount in zip(self.participants, stakes):
            self.deposit(p, amount)
        self.rule_open_round(q, k, reward)

    # ------------------------------------------------------------------ stake

    def rule_deposit(self, who="st_who", amount="st_amount"):
        self.deposit(self.participants[who], amount)

    def deposit(self, p, amount):
        self.cl.deposit({"from": p, "value": amount})
        self.accounts[p.address].free += amount
        self.total_stake += amount
        self.came_in += amount
        SEEN["deposit"] += 1

    def rule_request_withdrawal(self, who="st_who", quarter="st_quarter"):
        p = self.participants[who]
        a = self.accounts[p.address]
        amount = a.free * quarter // 4
        if amount == 0:
            with brownie.reverts(err("InsufficientFreeStake", 0, a.free)):
                self.cl.requestWithdrawal(0, {"from": p})
            SEEN["request of nothing refused"] += 1
            return
        tx = self.cl.requestWithdrawal(amount, {"from": p})
        a.free -= amount
        a.unbonding += amount
        a.ready = tx.timestamp + DELAY
        self.check_account(p)
        SEEN["request"] += 1

    def rule_withdraw(self, who="st_who", wait="st_flag"):
        """Withdraw, first waiting for the unbonding delay if `wait`."""
        p = self.participants[who]
        a = self.accounts[p.address]
        if a.unbonding == 0:
            with brownie.reverts(err("NothingToWithdraw")):
                self.cl.withdraw({"from": p})
            SEEN["withdraw of nothing refused"] += 1
            return
        now = self.now()
        if wait and now < a.ready + STABLE:
            chain.mine(timestamp=a.ready + 2 * STABLE)
        elif abs(now - a.ready) <= STABLE:
            return  # too close to call
        if self.now() < a.ready:
            with brownie.reverts(revert_pattern=f"UnbondingNotOver: {a.ready}, [0-9]+"):
                self.cl.withdraw({"from": p})
            SEEN["withdraw early refused"] += 1
            return
        before = p.balance()
        tx = self.cl.withdraw({"from": p})
        assert p.balance() - before == a.unbonding - gas_cost(tx)
        self.total_stake -= a.unbonding
        self.went_out += a.unbonding
        a.unbonding = a.ready = 0
        self.check_account(p)
        SEEN["withdraw"] += 1

    # ------------------------------------------------------------------ rounds

    def rule_open_round(self, q="st_q", k="st_k", reward="st_reward"):
        tx = self.cl.openRound(b"\x0b" * 32, "", q, k, PHASE_S, PHASE_S, {"from": self.requester, "value": reward})
        ev = the_event(tx, "RoundOpened")
        assert ev["bonus"] == self.treasury
        r = Round(ev["roundId"], q, k, reward, self.treasury, ev["commitDeadline"], ev["revealDeadline"])
        self.rounds[r.rid] = r
        self.rewards_owed += reward + self.treasury
        self.treasury = 0
        self.came_in += reward
        SEEN["open"] += 1

    def rule_progress(self, behaviour="st_behaviour"):
        """Take the oldest unsettled round to its next phase.

        Commit phase: each participant commits honest or deviating labels, or abstains (`behaviour`);
        a participant that commits "silent" will never reveal. A round with commitments moves on.
        Reveal phase (time moves there first if needed): every committed participant that is not silent
        reveals; deviating ones first try a wrong salt, which must be refused.
        Then time moves past the reveal deadline and the round is finalized.
        """
        now = self.now()
        r = next((r for r in self.rounds.values() if not r.settled() and r.stable(now)), None)
        if r is None:
            return
        phase = r.phase(now)
        if phase == Phase.COMMIT and not r.ballots:
            for p, what in zip(self.participants, behaviour):
                if what != "abstain":
                    self.commit(r, p, what)
            if r.ballots:
                return
        if phase in (Phase.COMMIT, Phase.REVEAL) and not r.reveals_done:
            if phase == Phase.COMMIT:
                chain.mine(timestamp=r.commit_deadline + 2 * STABLE)
            for b in r.ballots.values():
                if r.behaviour[b.address] != "silent":
                    self.reveal(r, b, wrong_salt_first=r.behaviour[b.address] == "deviating")
            r.reveals_done = True
            return
        if r.phase(self.now()) != Phase.FINALIZABLE:
            chain.mine(timestamp=r.reveal_deadline + 2 * STABLE)
        self.finalize(r)

    rule_progress_b = rule_progress  # listed three times: rounds need several steps to get anywhere
    rule_progress_c = rule_progress

    def commit(self, r, p, behaviour):
        a = self.accounts[p.address]
        if a.free < PARAMS.minStake:
            with brownie.reverts(err("StakeBelowMinimum", a.free, PARAMS.minStake)):
                self.cl.commit(r.rid, b"\x01" * 32, {"from": p})
            SEEN["commit without stake refused"] += 1
            return
        labels = bytes((x + 1) % r.k for x in r.truth) if behaviour == "deviating" else r.truth
        ballot = Ballot(p, labels, new_salt())
        self.cl.commit(r.rid, commitment_for(self.cl, r.rid, p.address, labels, ballot.salt), {"from": p})
        r.ballots[p.address], r.stakes[p.address], r.behaviour[p.address] = ballot, a.free, behaviour
        a.locked += a.free
        a.free = 0
        self.check_account(p)
        SEEN[f"commit {behaviour}"] += 1
        if behaviour == "deviating":  # and once more, which must be refused
            with brownie.reverts(err("AlreadyCommitted", r.rid, p)):
                self.cl.commit(r.rid, b"\x01" * 32, {"from": p})
            SEEN["commit twice refused"] += 1

    def reveal(self, r, b, wrong_salt_first):
        if wrong_salt_first:
            with brownie.reverts(err("CommitmentMismatch", r.rid, b.account)):
                self.cl.reveal(r.rid, b.labels, bytes(32), {"from": b.account})
            SEEN["wrong salt refused"] += 1
        self.cl.reveal(r.rid, b.labels, b.salt, {"from": b.account})
        r.revealed[b.address] = b.labels
        SEEN["reveal"] += 1

    def finalize(self, r):
        order = by_address([r.ballots[a] for a in r.revealed])
        tx = self.cl.finalize(r.rid, [b.address for b in order], [b.labels for b in order],
                              {"from": self.requester})
        out = settle(PARAMS, r.q, r.k, r.reward, r.bonus, r.stakes, r.revealed)
        r.outcome = out
        assert out.slashed == sum(out.penalty.values())
        self.total_stake -= out.slashed
        SEEN["non-revealers slashed"] += sum(1 for a in r.stakes if a not in r.revealed)
        if out.failed:
            assert the_event(tx, "RoundFailed")["slashed"] == out.slashed
            self.rewards_owed -= r.reward + r.bonus
            self.refunds_owed += r.reward
            self.treasury += r.bonus + out.slashed
            SEEN["finalize failed"] += 1
            return
        ev = the_event(tx, "RoundFinalized")
        assert (ev["pool"], ev["slashed"], ev["dust"], ev["agreedWeight"]) == (
            out.pool, out.slashed, out.dust, out.agreed_weight)
        redistributed = sum(out.reward.values()) - r.reward - r.bonus  # the slashed part of the shares
        assert ev["slashed"] == redistributed + ev["dust"]
        assert plain(self.cl.consensus(r.rid)) == out.consensus
        self.rewards_owed += out.slashed - out.dust
        self.treasury += out.dust
        SEEN["finalize ok"] += 1
        SEEN["deviators slashed"] += sum(1 for a in r.revealed if out.status[a] == Status.DEVIATED)

    def rule_claim(self, pick="st_pick", skip="st_mask"):
        """Everyone in one settled round claims, except those `skip` leaves for later; a participant that
        already claimed tries again and must be refused."""
        settled = [r for r in self.rounds.values() if r.settled()]
        unclaimed = [r for r in settled if set(r.stakes) - r.claimed]
        r = self.pick(unclaimed or settled, pick)
        if r is None:
            return
        for p, later in zip(self.participants, skip):
            if p.address in r.stakes and not (later and p.address not in r.claimed):
                self.claim(r, p)

    def claim(self, r, p):
        if p.address in r.claimed:
            with brownie.reverts(err("AlreadyClaimed", r.rid, p)):
                self.cl.claim(r.rid, {"from": p})
            SEEN["claim twice refused"] += 1
            return
        before = p.balance()
        tx = self.cl.claim(r.rid, {"from": p})
        reward, penalty = r.outcome.reward[p.address], r.outcome.penalty[p.address]
        ev = the_event(tx, "Claimed")
        assert (ev["reward"], ev["penalty"]) == (reward, penalty)
        assert p.balance() - before == reward - gas_cost(tx)
        stake = r.stakes[p.address]
        a = self.accounts[p.address]
        a.locked -= stake
        a.free += stake - penalty
        self.rewards_owed -= reward
        self.went_out += reward
        r.claimed.add(p.address)
        self.check_account(p)
        SEEN["claim"] += 1

    def rule_claim_refund(self, pick="st_pick"):
        r = self.pick([r for r in self.rounds.values() if r.settled() and r.outcome.failed], pick)
        if r is None:
            return
        if r.refunded or r.reward == 0:
            with brownie.reverts(err("NoRefund", r.rid, self.requester)):
                self.cl.claimRefund(r.rid, {"from": self.requester})
            SEEN["refund refused"] += 1
            return
        tx = self.cl.claimRefund(r.rid, {"from": self.requester})
        assert the_event(tx, "RefundClaimed")["amount"] == r.reward
        r.refunded = True
        self.refunds_owed -= r.reward
        self.went_out += r.reward
        SEEN["refund"] += 1

    # ------------------------------------------------------------------ invariants

    def invariant_books(self):
        books = assert_books(self.cl)  # balance == sum of liabilities
        assert books == (self.total_stake, self.rewards_owed, self.refunds_owed, self.treasury)
        assert self.came_in == self.went_out + sum(books)


def test_random_sequences_keep_the_books(cl, machine_setup, alice, bob, carol, dave, requester):
    state_machine(StateMachine, cl, [alice, bob, carol, dave], requester,
                  settings={"max_examples": EXAMPLES, "stateful_step_count": STEPS})
    print(f"\n{EXAMPLES} examples of <= {STEPS} steps did:", dict(sorted(SEEN.items())))
