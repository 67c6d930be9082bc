"""The merged path (issue 14): Participant.step_rounds sends the claim, reveal and commit ready at once in ONE
Gateway.submit, falls back to the single calls when it reverts, and resumes from a crash between any two of
the merged steps. Three pipelined rounds A, B, C (B opened when A enters its reveal phase, C when B does):

    pass 1  commit A                     (a lone action: the single call)
    pass 2  reveal A + commit B          (one submit)
    pass 3  claim A + reveal B + commit C (one submit; the first participant finalizes A first)
    pass 4  claim B + reveal C           (one submit; the first participant finalizes B first)
    pass 5  claim C                      (a lone action; the first participant finalizes C first)

Chain time is jumped with evm_increaseTime, never slept."""
from __future__ import annotations

import pytest

from cl_client.chain import ChainError, ContractError, Status
from cl_client.participant import JumpClock, Participant, State, drive_rounds
from cl_client.strategies import make_strategy
from support import make_participants

ETH = 10**18


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the client may catch it)."""


def record_transactions(gw) -> list:
    """Wrap the gateway's `transact` so that every transaction it sends (deposits aside) is logged as
    (function, args)."""
    log, real = [], gw.transact

    def transact(fn_name, *args, **kwargs):
        if fn_name != "deposit":
            log.append((fn_name, args))
        return real(fn_name, *args, **kwargs)

    gw.transact = transact
    return log


class Pipeline:
    """Runs the module docstring's schedule for `ps`, pass by pass (`run(upto)`), each participant stepping
    all its live rounds with `step_rounds(merge=...)`; logs every participant's transactions per pass."""

    def __init__(self, ps, open_round, advance_to, queries, merge: bool = True):
        self.ps, self.open_round, self.advance_to, self.queries, self.merge = ps, open_round, advance_to, queries, merge
        self.gw = ps[0].gateway
        self.logs = {p.address: record_transactions(p.gateway) for p in ps}
        self.per_pass: list[dict[str, list[str]]] = []
        self.rounds: dict[str, int] = {}
        self.states: list[dict[str, dict[int, State]]] = []

    def _pass(self, live: list[int], before=None) -> None:
        marks = {a: len(log) for a, log in self.logs.items()}
        states = {}
        for i, p in enumerate(self.ps):
            if before is not None:
                before(i, p)
            states[p.address] = self.ps[i].step_rounds(live, self.queries, merge=self.merge)
        self.states.append(states)
        self.per_pass.append({a: [fn for fn, _ in log[marks[a]:]] for a, log in self.logs.items()})

    def info(self, name):
        return self.gw.round(self.rounds[name])

    def run(self, before=None) -> "Pipeline":
        """The five passes; `before(pass number, participant index, participant)` runs before each step."""
        hook = (lambda n: None) if before is None else (lambda n: (lambda i, p: before(n, i, p)))
        r = self.rounds
        r["A"] = self.open_round(self.queries)
        self._pass([r["A"]], hook(1))
        self.advance_to(self.info("A").commit_deadline + 1)
        r["B"] = self.open_round(self.queries)
        for p in self.ps:
            p.gateway.deposit(ETH)  # the second lot: A's stays locked in A until A is claimed
        self._pass([r["A"], r["B"]], hook(2))
        self.advance_to(max(self.info("A").reveal_deadline, self.info("B").commit_deadline) + 1)
        r["C"] = self.open_round(self.queries)
        self._pass([r["A"], r["B"], r["C"]], hook(3))
        self.advance_to(max(self.info("B").reveal_deadline, self.info("C").commit_deadline) + 1)
        self._pass([r["B"], r["C"]], hook(4))
        self.advance_to(self.info("C").reveal_deadline + 1)
        self._pass([r["C"]], hook(5))
        return self

    def outcome(self, p) -> dict:
        """What the chain says of `p` at the end: status and claim of each round, free and locked stake."""
        acct = self.gw.account_info(p.address)
        return {"status": {n: self.gw.submission(rid, p.address).status for n, rid in self.rounds.items()},
                "claims": {n: self.gw.claim_of(rid, p.address) for n, rid in self.rounds.items()},
                "free": acct.free, "locked": acct.locked}


def test_pipelined_rounds_take_one_submit_per_pass_and_end_as_single_calls_do(
        accounts, open_round, advance_to, fitted_learners, journal_dir, queries, tmp_path):
    learners = fitted_learners(3)
    merged = Pipeline(make_participants(accounts.take(3), ["honest"] * 3, learners, journal_dir),
                      open_round, advance_to, queries, merge=True).run()
    single = Pipeline(make_participants(accounts.take(3), ["honest"] * 3, learners, tmp_path / "single"),
                      open_round, advance_to, queries, merge=False).run()

    # Transactions per participant per pass: one where the steps coincide (the finalizer adds its finalize).
    finalizer, other = merged.ps[0].address, merged.ps[1].address
    assert [t[other] for t in merged.per_pass] == [["commit"], ["submit"], ["submit"], ["submit"], ["claim"]]
    assert [t[finalizer] for t in merged.per_pass] == [
        ["commit"], ["submit"], ["finalize", "submit"], ["finalize", "submit"], ["finalize", "claim"]]
    other_s = single.ps[1].address
    assert [t[other_s] for t in single.per_pass] == [
        ["commit"], ["reveal", "commit"], ["claim", "reveal", "commit"], ["claim", "reveal"], ["claim"]]
    a, b, c = (merged.rounds[n] for n in "ABC")
    big = [args for fn, args in merged.logs[other] if fn == "submit"][1]
    assert big[0] == a and big[1] == b and big[4] == c  # claim A, reveal B, commit C in one transaction

    # The same labels end with the same statuses, rewards, penalties and stakes either way.
    for pm, ps_ in zip(merged.ps, single.ps):
        assert merged.outcome(pm) == single.outcome(ps_)
        assert {pm.summary(rid)["labels"] == ps_.summary(rid2)["labels"]
                for rid, rid2 in zip(merged.rounds.values(), single.rounds.values())} == {True}
    assert {s for o in map(merged.outcome, merged.ps) for s in o["status"].values()} == {Status.AGREED}
    assert all(merged.outcome(p)["claims"]["A"][0] > 0 for p in merged.ps)  # a reward was earned and claimed

    # Each round's journal records the gas of the submits it took a step in (B: commit, reveal, claim).
    summary = merged.ps[1].summary(b)
    receipts = [merged.gw.receipt(h) for h in summary["tx"]["submit"]]
    assert len(receipts) == 3 and set(summary["gas"]) == {"submit"}
    assert summary["gas"]["submit"] == sum(int(r["gasUsed"]) for r in receipts)
    assert summary["state"] == State.CLAIMED and summary["claimed"]


def test_a_lone_action_keeps_its_single_call_and_drive_rounds_merges_across_rounds(
        accounts, open_round, advance_to, local_node, fitted_learners, journal_dir, queries):
    """drive_rounds over two pipelined rounds with one participant of three: per-round `done`, one submit."""
    gws = accounts.take(3)
    ps = make_participants(gws, ["honest"] * 3, fitted_learners(3), journal_dir)
    log = record_transactions(gws[2])
    a = open_round(queries)
    clock = JumpClock(local_node, gws[0])
    drive_rounds(ps, [a], clock, done={a: {State.COMMITTED}})
    assert [fn for fn, _ in log] == ["commit"]
    advance_to(gws[0].round(a).commit_deadline + 1)
    b = open_round(queries)
    for gw in gws:
        gw.deposit(ETH)
    history = drive_rounds(ps, [a, b], clock, done={a: {State.REVEALED}, b: {State.COMMITTED}})
    assert [fn for fn, _ in log] == ["commit", "submit"]
    assert history[a][gws[2].sender] == [State.REVEALED] and history[b][gws[2].sender] == [State.COMMITTED]
    drive_rounds(ps, [a, b], clock)  # to the end: claims, finalizes
    assert all(gws[0].submission(rid, gw.sender).claimed for rid in (a, b) for gw in gws)


def test_a_submit_that_reverts_falls_back_to_the_single_calls(
        accounts, open_round, advance_to, fitted_learners, journal_dir, queries):
    """A copier's reveal does not match its commitment: the whole submit (reveal A + commit B) reverts, and the
    single calls then record the refused reveal and land the commit."""
    gws = accounts.take(3)
    ps = make_participants(gws, ["honest", "honest", "copier"], fitted_learners(3), journal_dir)
    log = record_transactions(gws[2])
    events = []
    ps[2].progress = lambda e: events.append(str(e))
    a = open_round(queries)
    assert [p.step(a) for p in ps] == ["committed"] * 3
    info = gws[0].round(a)
    advance_to(info.commit_deadline + 1)
    b = open_round(queries, commit=60)
    for gw in gws:
        gw.deposit(ETH)
    assert [p.step_rounds([a, b]) for p in ps[:2]] == [{a: State.REVEALED, b: State.COMMITTED}] * 2
    advance_to(ps[2]._reveal_at(info))  # the copier reveals half-way through the window
    assert ps[2].step_rounds([a, b]) == {a: State.NOT_REVEALED, b: State.COMMITTED}
    assert [fn for fn, _ in log] == ["commit", "submit", "reveal", "commit"]  # the submit reverts, then single calls
    assert any("submit (reveal " in e and "sending them one by one" in e for e in events), events
    assert "CommitmentMismatch" in ps[2].journal(a).get("reveal_error")
    assert gws[0].submission(b, gws[2].sender).status == Status.COMMITTED


@pytest.mark.parametrize("landed", [False, True], ids=["nothing-landed", "landed"])
def test_a_submit_of_unknown_fate_is_sent_again_one_by_one_only_if_nothing_landed(
        accounts, open_round, advance_to, fitted_learners, journal_dir, queries, landed):
    gws = accounts.take(3)
    ps = make_participants(gws, ["honest"] * 3, fitted_learners(3), journal_dir)
    a = open_round(queries)
    assert [p.step(a) for p in ps] == ["committed"] * 3
    advance_to(gws[0].round(a).commit_deadline + 1)
    b = open_round(queries)
    for gw in gws:
        gw.deposit(ETH)
    gw, real = gws[1], gws[1].submit

    def submit(*args):
        if landed:
            real(*args)
        raise ChainError("submit: no receipt after 300 s (the node went away)")

    gw.submit = submit
    log = record_transactions(gw)
    assert ps[1].step_rounds([a, b]) == {a: State.REVEALED, b: State.COMMITTED}
    assert [fn for fn, _ in log] == (["submit"] if landed else ["reveal", "commit"])
    assert gw.submission(a).status == Status.REVEALED and gw.submission(b).status == Status.COMMITTED
    assert ps[1].journal(b).state == State.COMMITTED and ps[1].journal(a).state == State.REVEALED


def test_a_contract_error_from_submit_falls_back_even_when_raised_without_a_transaction(
        accounts, open_round, advance_to, fitted_learners, journal_dir, queries):
    gws = accounts.take(3)
    ps = make_participants(gws, ["honest"] * 3, fitted_learners(3), journal_dir)
    a = open_round(queries)
    assert [p.step(a) for p in ps] == ["committed"] * 3
    advance_to(gws[0].round(a).commit_deadline + 1)
    b = open_round(queries)
    gws[0].deposit(ETH)

    def refuse(*args):
        raise ContractError("RoundFull", (b, 3), "submit")

    gws[0].submit = refuse
    log = record_transactions(gws[0])
    assert ps[0].step_rounds([a, b]) == {a: State.REVEALED, b: State.COMMITTED}
    assert [fn for fn, _ in log] == ["reveal", "commit"]


# ------------------------------------------------------------------ crash-resume between the merged steps


CRASH_POINTS = {
    # (pass, where): the participant's process dies there, in its submit of that pass
    "pass2-after-prepared": (2, "before-send"),  # B's labels + salt journaled PREPARED, submit not sent
    "pass2-after-landing": (2, "after-send"),  # submit mined (reveal A, commit B), nothing journaled
    "pass2-between-steps": (2, "after-finish-1"),  # A's reveal journaled, B's commit not
    "pass3-after-prepared": (3, "before-send"),
    "pass3-after-landing": (3, "after-send"),  # claim A, reveal B, commit C mined, nothing journaled
    "pass3-after-claim": (3, "after-finish-1"),  # A's claim journaled, B's reveal and C's commit not
    "pass3-after-reveal": (3, "after-finish-2"),  # A's claim and B's reveal journaled, C's commit not
    "pass4-after-landing": (4, "after-send"),  # claim B, reveal C mined, nothing journaled
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_crash_between_any_two_merged_steps_resumes_with_the_same_outcome(
        accounts, open_round, advance_to, fitted_learners, journal_dir, queries, monkeypatch, point):
    """All three participants have the same model, so they must end alike: the one that crashed (and was
    restarted as a new Participant on the same journal) has the same statuses, claims and stake as the two
    that did not, committed once per round with its journaled commitment, and revealed in each window."""
    crash_pass, where = CRASH_POINTS[point]
    learner = fitted_learners(1)[0]
    gws = accounts.take(3)
    ps = make_participants(gws, ["honest"] * 3, [learner], journal_dir)
    victim = ps[1]
    crashed = []

    def arm(n, i, p):
        if i != 1 or n != crash_pass or crashed:
            return
        crashed.append(True)
        gw = p.gateway
        real_submit, real_finish = gw.submit, Participant._finish
        finished = []

        def submit(*args):
            if where == "before-send":
                raise Crash("killed before the submit was sent")
            receipt = real_submit(*args)
            if where == "after-send":
                raise Crash("killed after the submit was mined")
            return receipt

        def finish(self, action, receipt):
            state = real_finish(self, action, receipt)
            finished.append(action.kind)
            if where == f"after-finish-{len(finished)}":
                raise Crash(f"killed after journaling the {action.kind} of round {action.round_id}")
            return state

        gw.submit = submit
        monkeypatch.setattr(Participant, "_finish", finish)
        real_step = p.step_rounds

        def step_then_restart(rids, queries=None, **kw):
            with pytest.raises(Crash):
                real_step(rids, queries, **kw)
            del gw.submit  # the restarted process: the real submit again, a fresh Participant on the journal
            monkeypatch.setattr(Participant, "_finish", real_finish)
            fresh = Participant(gw, learner, make_strategy("honest"), journal_dir, rng=1)
            ps[1] = fresh
            return fresh.step_rounds(rids, queries, **kw)

        p.step_rounds = step_then_restart

    pipe = Pipeline(ps, open_round, advance_to, queries, merge=True)
    pipe.ps = ps  # the same list: the restart replaces ps[1] in it
    pipe.run(before=arm)
    assert crashed
    assert ps[1] is not victim
    outcomes = [pipe.outcome(p) for p in ps]
    assert outcomes[1] == outcomes[2], point
    assert set(outcomes[1]["status"].values()) == {Status.AGREED}
    assert all(c is not None and c[1] == 0 for c in outcomes[1]["claims"].values())  # claimed, nothing slashed
    for name, rid in pipe.rounds.items():
        committed = [e for e in pipe.gw.events("Committed", rid) if e["args"]["participant"] == gws[1].sender]
        assert len(committed) == 1, (point, name)
        j = ps[1].journal(rid)
        assert j.state == State.CLAIMED and bytes(committed[0]["args"]["commitment"]) == j.commitment
