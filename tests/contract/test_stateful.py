"""Stateful property test: random sequences of deposits, withdrawal requests (each with its own time),
withdraw / withdrawTo, rounds opened with openRoundWith (random parameters, a hidden audit or none, a
finalizer fee), commits, honest / deviating / missing reveals, revealAudit or a lapsed audit, finalizations,
abandon(), claims and claimRefund / claimRefundTo, run against an independent Python model (tests/oracle.py's
settle for the round maths, plain bookkeeping here).

After every step: contract balance == totalStake + rewardsOwed + refundsOwed + burned + surplus, surplus == 0,
each figure equal to the model's, and every wei that came in either went out or is still held. Every rule
checks the accounts it touched against the model; no honest revealer ever loses stake when the honest are the
heavier side or the audit was revealed; claiming twice, committing twice, revealing with a wrong salt,
withdrawing early or with nothing unbonding must revert.

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
    ABANDON_DELAY,
    BOUNDS_DELAY,
    BPS,
    CONSTANTS,
    DEFAULT_BOUNDS,
    DEFAULTS,
    Audit,
    Ballot,
    finalize_args,
    round_spec,
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

REPUTATION_START, REPUTATION_FLOOR = CONSTANTS["REPUTATION_START"], CONSTANTS["REPUTATION_FLOOR"]


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
FEE = 5  # finalizer fee of rounds opened with one
DELAY = 500  # unbonding delay, seconds
PHASE_S = 1000  # commit and reveal durations, seconds
STABLE = 3  # seconds: how close to a deadline the chain's clock may be before the model abstains
SEEN = Counter()  # what the sequences did; printed at the end (pytest -s) to judge the coverage


@pytest.fixture(scope="module")
def machine_setup(cl, owner):
    """A 1-wei stake floor (bounds proposed and applied 28 days later), then the machine's defaults."""
    at = cl.proposeBounds(DEFAULT_BOUNDS.replace(minStakeFloor=1).astuple(), {"from": owner}).timestamp
    chain.mine(timestamp=at + BOUNDS_DELAY)
    cl.applyBounds({"from": owner})
    cl.setDefaults(PARAMS.astuple(), {"from": owner})
    cl.setUnbondingDelay(DELAY, {"from": owner})


class Account:
    def __init__(self):
        self.free = self.locked = 0
        self.requests = []  # [amount, readyAt] of each pending withdrawal request

    @property
    def unbonding(self):
        return sum(a for a, _ in self.requests)

    def astuple(self):
        return (self.free, self.locked, self.unbonding, max((t for _, t in self.requests), default=0))


class Round:
    def __init__(self, rid, q, k, reward, fee, params, truth, audit, commit_deadline, reveal_deadline,
                 audit_deadline):
        self.rid, self.q, self.k, self.reward, self.fee, self.params = rid, q, k, reward, fee, params
        self.truth, self.audit = truth, audit  # audit: contract_helpers.Audit or None
        self.commit_deadline, self.reveal_deadline, self.audit_deadline = (commit_deadline, reveal_deadline,
                                                                          audit_deadline)
        self.audit_revealed = False
        self.ballots = {}  # address -> Ballot
        self.stakes = {}  # address -> stake locked at commit
        self.reps = {}  # address -> reputation at commit (the tally weighs stake x this)
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
        if now <= self.reveal_deadline:
            return Phase.REVEAL
        if now <= self.audit_deadline and not self.audit_revealed:
            return Phase.AUDIT
        return Phase.FINALIZABLE

    def stable(self, now):
        deadlines = (self.commit_deadline, self.reveal_deadline, self.audit_deadline,
                     self.audit_deadline + ABANDON_DELAY)
        return self.settled() or min(abs(now - d) for d in deadlines) > STABLE


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
    st_audit = st.sampled_from([0, 0, 1, 3])  # G hidden audit queries (0: none)
    st_terms = st.sampled_from(["defaults", "strict", "lenient"])

    def __init__(cls, cl, participants, requester):
        cls.cl, cls.participants, cls.requester = cl, participants, requester

    def setup(self):
        SEEN["sequences"] += 1
        self.accounts = {p.address: Account() for p in self.participants + [self.requester]}
        self.reputation = {}  # address -> the model's reputation (REPUTATION_START if absent)
        self.struck = set()  # addresses the crowd rule struck out the last time it judged them (its memory)
        self.rounds = {}
        self.total_stake = self.rewards_owed = self.refunds_owed = self.burned = 0
        self.came_in = self.went_out = 0
        self.requester_start = self.requester.balance()

    # ------------------------------------------------------------------ helpers

    def now(self):
        return chain[-1].timestamp

    def pick(self, items, index):
        return items[index % len(items)] if items else None

    def check_account(self, p):
        got = plain(self.cl.getAccount(p))
        assert got[:4] == self.accounts[p.address].astuple()

    def initialize_world(self, stakes="st_stakes", q="st_q", k="st_k", reward="st_reward", g="st_audit"):
        """Every sequence starts with four funded participants and one round in its Commit phase."""
        for p, amount in zip(self.participants, stakes):
            self.deposit(p, amount)
        self.rule_open_round(q, k, reward, g, "defaults")

    def apply_books(self, delta):
        d_stake, d_rewards, d_refunds, d_burned = delta
        self.total_stake += d_stake
        self.rewards_owed += d_rewards
        self.refunds_owed += d_refunds
        self.burned += d_burned

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
        if len(a.requests) == 8:
            with brownie.reverts(err("TooManyPendingWithdrawals", 8)):
                self.cl.requestWithdrawal(amount, {"from": p})
            SEEN["ninth request refused"] += 1
            return
        tx = self.cl.requestWithdrawal(amount, {"from": p})
        a.free -= amount
        a.requests.append([amount, tx.timestamp + DELAY])
        self.check_account(p)
        SEEN["request"] += 1

    def rule_withdraw(self, who="st_who", wait="st_flag", elsewhere="st_flag"):
        """Withdraw (to itself, or with withdrawTo to the requester if `elsewhere`), first waiting for the
        earliest request if `wait`. Every matured request is paid; later ones keep their own times.
        Prefers a participant with pending requests (`who` picks among them), else `who` itself."""
        pending = [p for p in self.participants if self.accounts[p.address].requests]
        p = self.pick(pending, who) if pending and who % 2 == 0 else self.participants[who]
        a = self.accounts[p.address]
        send = (lambda: self.cl.withdrawTo(self.requester, {"from": p})) if elsewhere else (
            lambda: self.cl.withdraw({"from": p}))
        if not a.requests:
            with brownie.reverts(err("NothingToWithdraw")):
                send()
            SEEN["withdraw of nothing refused"] += 1
            return
        if wait:
            earliest = min(t for _, t in a.requests)
            if self.now() < earliest + STABLE:
                chain.mine(timestamp=earliest + 2 * STABLE)
        now = self.now()
        if any(abs(now - t) <= STABLE for _, t in a.requests):
            SEEN["withdraw too close to call"] += 1
            return
        matured = [r for r in a.requests if r[1] <= now]
        if not matured:
            earliest = min(t for _, t in a.requests)
            with brownie.reverts(revert_pattern=f"UnbondingNotOver: {earliest}, [0-9]+"):
                send()
            SEEN["withdraw early refused"] += 1
            return
        amount = sum(x for x, _ in matured)
        receiver = self.requester if elsewhere else p
        before = receiver.balance()
        tx = send()
        assert receiver.balance() - before == amount - (0 if elsewhere else gas_cost(tx))
        assert the_event(tx, "Withdrawn") == {"participant": p.address, "amount": amount, "to": receiver.address}
        a.requests = [r for r in a.requests if r[1] > now]
        self.total_stake -= amount
        self.went_out += amount
        self.check_account(p)
        SEEN["withdrawTo" if elsewhere else "withdraw"] += 1
        SEEN["requests kept pending"] += len(a.requests)

    # ------------------------------------------------------------------ rounds

    def rule_open_round(self, q="st_q", k="st_k", reward="st_reward", g="st_audit", terms="st_terms"):
        params = {"defaults": PARAMS, "strict": PARAMS.replace(agreementBps=5_000, auditBoundBps=9_000),
                  "lenient": PARAMS.replace(quorumBps=1_000, agreementBps=0, auditBoundBps=0,
                                            equalWeights=True, deviatorSlashBps=0)}[terms]
        rid_next = self.cl.roundCount() + 1
        rng = random.Random(rid_next * 7919 + q * 31 + k)
        truth = bytes(rng.randrange(k) for _ in range(q))
        g = min(g, q)
        audit = None
        if g:
            indices = tuple(sorted(rng.sample(range(q), g)))
            audit = Audit(indices, tuple(truth[i] for i in indices))
        fee = FEE if g else 0
        spec = round_spec(self.cl, self.requester, q, k, params=params, audit=audit, audit_s=PHASE_S if g else 0,
                          fee=fee, commit_s=PHASE_S, reveal_s=PHASE_S, qhash=b"\x0b" * 32)
        tx = self.cl.openRoundWith(spec, "", {"from": self.requester, "value": reward + fee})
        ev = the_event(tx, "RoundOpened")
        terms_ev = the_event(tx, "RoundTerms")
        assert (ev["reward"], ev["finalizerFee"], terms_ev["auditCount"]) == (reward, fee, g)
        r = Round(ev["roundId"], q, k, reward, fee, params, truth, audit, ev["commitDeadline"],
                  ev["revealDeadline"], terms_ev["auditDeadline"])
        self.rounds[r.rid] = r
        self.rewards_owed += reward + fee
        self.came_in += reward + fee
        SEEN[f"open {terms}{' audited' if g else ''}"] += 1

    def rule_progress(self, behaviour="st_behaviour", reveal_audit="st_flag"):
        """Take the oldest unsettled round to its next phase.

        Commit phase: each participant commits honest or deviating labels, or abstains (`behaviour`);
        a participant that commits "silent" will never reveal. A round with commitments moves on.
        Reveal phase (time moves there first if needed): every committed participant that is not silent
        reveals; deviating ones first try a wrong salt, which must be refused.
        Then the requester reveals its audit (if `reveal_audit`; otherwise the audit lapses), time moves past
        the deadlines and the round is finalized.
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
        if r.phase(self.now()) in (Phase.COMMIT, Phase.REVEAL):
            chain.mine(timestamp=r.reveal_deadline + 2 * STABLE)
        if r.phase(self.now()) == Phase.AUDIT:
            if reveal_audit:
                tx = self.cl.revealAudit(r.rid, *r.audit.reveal_args(), {"from": self.requester})
                assert plain(self.cl.audit(r.rid)) == (r.audit.indices_bytes(), r.audit.labels_bytes())
                r.audit_revealed = True
                SEEN["audit revealed"] += 1
            else:
                chain.mine(timestamp=r.audit_deadline + 2 * STABLE)
                SEEN["audit lapsed"] += 1
        self.finalize(r)

    rule_progress_b = rule_progress  # listed three times: rounds need several steps to get anywhere
    rule_progress_c = rule_progress

    def commit(self, r, p, behaviour):
        a = self.accounts[p.address]
        if a.free < r.params.minStake:
            with brownie.reverts(err("StakeBelowMinimum", a.free, r.params.minStake)):
                self.cl.commit(r.rid, b"\x01" * 32, {"from": p})
            SEEN["commit without stake refused"] += 1
            return
        labels = bytes((x + 1) % r.k for x in r.truth) if behaviour == "deviating" else r.truth
        ballot = Ballot(p, labels, new_salt(), r.k)
        self.cl.commit(r.rid, commitment_for(self.cl, r.rid, p.address, labels, ballot.salt), {"from": p})
        r.ballots[p.address], r.stakes[p.address], r.behaviour[p.address] = ballot, a.free, behaviour
        r.reps[p.address] = self.reputation.get(p.address, REPUTATION_START)
        assert plain(self.cl.getSubmission(r.rid, p))[6] == r.reps[p.address]
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
                self.cl.reveal(r.rid, b.wire, bytes(32), {"from": b.account})
            SEEN["wrong salt refused"] += 1
        self.cl.reveal(r.rid, b.wire, b.salt, {"from": b.account})
        r.revealed[b.address] = b.labels
        SEEN["reveal"] += 1

    def current_reputations(self, r):
        return {a: self.reputation.get(a, REPUTATION_START) for a in r.stakes}

    def settled_round(self, r, tx, out):
        """Common to finalize and abandon: the model's books, the finalizer's fee, the honest invariant."""
        r.outcome = out
        assert out.slashed == sum(out.penalty.values())
        self.apply_books(out.books_delta)
        self.accounts[self.requester.address].free += r.fee
        if r.fee:
            assert the_event(tx, "FinalizerPaid")["fee"] == r.fee
        self.check_account(self.requester)
        self.reputation.update(out.reputation)
        for a, value in out.reputation.items():
            assert self.cl.reputationOf(a) == value
            assert REPUTATION_FLOOR <= value <= BPS
        SEEN["reputations updated"] += len(out.reputation)
        for a, struck in out.struck_out.items():
            (self.struck.add if struck else self.struck.discard)(a)
            assert self.cl.struckOut(a) == struck
        SEEN["crowd memory marks"] += sum(out.struck_out.values())
        # no honest revealer loses stake when the honest are the heavier side, or the audit was revealed
        honest = [a for a in r.revealed if r.behaviour[a] == "honest"]
        weight = (lambda a: r.reps[a]) if r.params.equalWeights else (lambda a: r.stakes[a] * r.reps[a])
        heavier = sum(weight(a) for a in honest) > sum(weight(a) for a in r.revealed if a not in honest)
        if honest and (heavier or r.audit_revealed or out.failed):
            assert all(out.penalty[a] == 0 for a in honest), "an honest revealer lost stake"
            SEEN["honest revealers kept whole"] += len(honest)
        SEEN["non-revealers slashed"] += sum(1 for a in r.stakes if a not in r.revealed)

    def finalize(self, r):
        addresses, labels = finalize_args(self.cl, r.rid, [r.ballots[a] for a in r.revealed])
        assert sorted(addresses) == sorted(r.stakes)
        tx = self.cl.finalize(r.rid, addresses, labels, {"from": self.requester})
        out = settle(r.params, r.q, r.k, r.reward, 0, r.stakes, r.revealed,
                     audit=r.audit.oracle() if r.audit_revealed else None, audit_committed=r.audit is not None,
                     fee=r.fee, reputations=r.reps, current=self.current_reputations(r), struck_out=self.struck)
        self.settled_round(r, tx, out)
        if out.failed:
            assert the_event(tx, "RoundFailed")["slashed"] == out.slashed
            SEEN["finalize failed"] += 1
            return
        ev = the_event(tx, "RoundFinalized")
        assert (ev["pool"], ev["dust"], ev["agreedWeight"]) == (out.pool, out.dust, out.agreed_weight)
        assert the_event(tx, "RoundSlashes") == {"roundId": r.rid, "pooled": out.pooled, "burned": out.slash_burned}
        assert plain(self.cl.consensus(r.rid)) == out.consensus
        for a in r.revealed:
            s = plain(self.cl.getSubmission(r.rid, a))
            assert (s[2], s[3], s[4]) == (out.matches[a], out.audit_hits[a], out.status[a])
        SEEN["finalize ok" if not out.refundable else "finalize, nobody agreed"] += 1
        SEEN["deviators slashed"] += sum(1 for a in r.revealed if out.status[a] == Status.DEVIATED)
        SEEN["excluded by the audit"] += sum(1 for a in r.revealed if out.status[a] == Status.EXCLUDED)

    def rule_abandon(self, pick="st_pick"):
        """A round whose reveals are done is left for ABANDON_DELAY past its last deadline and abandoned."""
        candidates = [r for r in self.rounds.values() if not r.settled() and r.reveals_done]
        r = self.pick(candidates, pick)
        if r is None:
            return
        stale_at = r.audit_deadline + ABANDON_DELAY
        if self.now() <= stale_at + STABLE:
            if self.now() > stale_at - STABLE:
                return
            if r.phase(self.now()) == Phase.FINALIZABLE:
                with brownie.reverts(revert_pattern=f"NotStaleYet: {r.rid}, {stale_at}, [0-9]+"):
                    self.cl.abandon(r.rid, {"from": self.requester})
                SEEN["abandon too early refused"] += 1
            chain.mine(timestamp=stale_at + 2 * STABLE)
        tx = self.cl.abandon(r.rid, {"from": self.requester})
        out = settle(r.params, r.q, r.k, r.reward, 0, r.stakes, r.revealed, audit_committed=r.audit is not None,
                     fee=r.fee, abandoned=True, reputations=r.reps)
        self.settled_round(r, tx, out)
        assert the_event(tx, "RoundFailed")["slashed"] == out.slashed
        SEEN["abandon"] += 1

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
        assert p.balance() - before == -gas_cost(tx)  # credited to free stake, never sent
        stake = r.stakes[p.address]
        a = self.accounts[p.address]
        a.locked -= stake
        a.free += stake - penalty + reward
        self.rewards_owed -= reward
        self.total_stake += reward
        r.claimed.add(p.address)
        self.check_account(p)
        SEEN["claim"] += 1

    def rule_claim_refund(self, pick="st_pick", elsewhere="st_flag"):
        r = self.pick([r for r in self.rounds.values() if r.settled() and r.outcome.refundable], pick)
        if r is None:
            return
        receiver = self.participants[0] if elsewhere else self.requester
        send = (lambda: self.cl.claimRefundTo(r.rid, receiver, {"from": self.requester})) if elsewhere else (
            lambda: self.cl.claimRefund(r.rid, {"from": self.requester}))
        if r.refunded or r.outcome.refund == 0:
            with brownie.reverts(err("NoRefund", r.rid, self.requester)):
                send()
            SEEN["refund refused"] += 1
            return
        before = receiver.balance()
        tx = send()
        assert the_event(tx, "RefundClaimed")["amount"] == r.outcome.refund
        assert receiver.balance() - before == r.outcome.refund - (gas_cost(tx) if not elsewhere else 0)
        r.refunded = True
        self.refunds_owed -= r.outcome.refund
        self.went_out += r.outcome.refund
        SEEN["claimRefundTo" if elsewhere else "claimRefund"] += 1

    # ------------------------------------------------------------------ invariants

    def invariant_books(self):
        books = assert_books(self.cl)  # balance == sum of liabilities
        assert books == (self.total_stake, self.rewards_owed, self.refunds_owed, self.burned, 0)
        assert self.came_in == self.went_out + sum(books)


def test_random_sequences_keep_the_books(cl, machine_setup, alice, bob, carol, dave, requester):
    state_machine(StateMachine, cl, [alice, bob, carol, dave], requester,
                  settings={"max_examples": EXAMPLES, "stateful_step_count": STEPS})
    print(f"\n{EXAMPLES} examples of <= {STEPS} steps did:", dict(sorted(SEEN.items())))
