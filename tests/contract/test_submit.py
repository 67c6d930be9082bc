"""submit(): claim round r - 1, reveal round r and commit to round r + 1 in one transaction (issue 14).

Three rounds run back to back: A is finalized, B is in its Reveal phase, C in its Commit phase. Each voter
holds two lots (it deposited twice: commit locks the whole free stake). The merged call must do exactly
what claim + reveal + commit do, fail as they fail, and undo everything if any step fails."""
import brownie
import pytest

from contract_helpers import (
    ETHER,
    Phase,
    Status,
    account,
    assert_books,
    commit,
    commitment_for,
    err,
    events,
    finalize,
    new_salt,
    open_round,
    pack_labels,
    reveal,
    round_info,
    submission,
    the_event,
    to_reveal_phase,
)

Q, K = 8, 4
LABELS = bytes([0, 1, 2, 3, 0, 1, 2, 3])


@pytest.fixture(scope="module")
def pipeline(cl, requester, voters):
    """Round A finalized (everyone agreed), B in Reveal (everyone committed), C in Commit (nobody yet).
    Returns (a, b, c, b's ballots); each voter's free stake is 0 and its A lot is claimable."""
    for v in voters:
        cl.deposit({"from": v, "value": ETHER})
    a = open_round(cl, requester, Q, K, reward=ETHER)
    a_ballots = [commit(cl, a, v, LABELS) for v in voters]
    to_reveal_phase(cl, a)
    b = open_round(cl, requester, Q, K, reward=ETHER)  # B's commit phase overlaps A's reveal phase
    reveal(cl, a, a_ballots)
    for v in voters:
        cl.deposit({"from": v, "value": ETHER})  # the second lot
    b_ballots = [commit(cl, b, v, LABELS) for v in voters]
    brownie.chain.mine(timestamp=max(round_info(cl, a)["revealDeadline"], round_info(cl, b)["commitDeadline"]) + 1)
    finalize(cl, a, a_ballots, requester)
    c = open_round(cl, requester, Q, K, reward=ETHER)
    return a, b, c, b_ballots


def test_submit_claims_reveals_and_commits_in_one_transaction(cl, pipeline, voters):
    a, b, c, b_ballots = pipeline
    alice, ballot = voters[0], b_ballots[0]
    expected_reward = cl.claimable(a, alice)[0]
    lot_a = submission(cl, a, alice)["stake"]
    salt = new_salt()
    h = commitment_for(cl, c, alice.address, LABELS, salt)
    tx = cl.submit(a, b, ballot.wire, ballot.salt, c, h, {"from": alice})
    assert tx.return_value == expected_reward > 0
    assert the_event(tx, "Claimed") == {"roundId": a, "participant": alice.address, "reward": expected_reward,
                                        "penalty": 0}
    assert the_event(tx, "Revealed")["roundId"] == b
    committed = the_event(tx, "Committed")
    assert (committed["roundId"], committed["stake"]) == (c, lot_a + expected_reward)  # A's lot, moved to C
    assert submission(cl, a, alice)["claimed"]
    assert submission(cl, b, alice)["status"] == Status.REVEALED
    assert submission(cl, c, alice)["status"] == Status.COMMITTED
    acct = account(cl, alice)
    assert acct["free"] == 0 and acct["locked"] == submission(cl, b, alice)["stake"] + lot_a + expected_reward
    # the events come in the order of the steps
    order = [name for name in ("Claimed", "Revealed", "Committed") for _ in events(tx, name)]
    assert [e.name for e in tx.events if e.name in order] == ["Claimed", "Revealed", "Committed"]
    assert_books(cl)


def test_submit_costs_less_than_the_three_calls_it_replaces(cl, pipeline, voters):
    """The same steps for two voters with the same stakes and labels: merged and one call each. A third
    voter goes first, so that neither pays for the rounds' first reveal and commit (fresh round slots)."""
    a, b, c, b_ballots = pipeline
    merged, single, first = voters[0], voters[1], voters[2]
    salt = new_salt()
    cl.submit(a, b, b_ballots[2].wire, b_ballots[2].salt, c, commitment_for(cl, c, first.address, LABELS, salt), {"from": first})
    tx = cl.submit(a, b, b_ballots[0].wire, b_ballots[0].salt, c, commitment_for(cl, c, merged.address, LABELS, salt),
                   {"from": merged})
    parts = [cl.claim(a, {"from": single}), cl.reveal(b, b_ballots[1].wire, b_ballots[1].salt, {"from": single}),
             cl.commit(c, commitment_for(cl, c, single.address, LABELS, salt), {"from": single})]
    separate = sum(t.gas_used for t in parts)
    # two 21,000-gas transaction bases at least, and the warm account and round slots
    assert tx.gas_used <= separate - 42_000, (tx.gas_used, separate)


@pytest.mark.parametrize("steps", ["claim", "reveal", "commit", "claim+reveal", "reveal+commit", "claim+commit"])
def test_submit_runs_any_subset_of_its_steps(cl, pipeline, voters, steps):
    a, b, c, b_ballots = pipeline
    alice, ballot = voters[0], b_ballots[0]
    use = set(steps.split("+"))
    salt = new_salt()
    args = (a if "claim" in use else 0, b if "reveal" in use else 0, ballot.wire if "reveal" in use else b"",
            ballot.salt if "reveal" in use else bytes(32), c if "commit" in use else 0,
            commitment_for(cl, c, alice.address, LABELS, salt) if "commit" in use else bytes(32))
    if "commit" in use and "claim" not in use:
        cl.deposit({"from": alice, "value": ETHER})  # without the claim nothing is free to commit
    tx = cl.submit(*args, {"from": alice})
    assert {name for name in ("Claimed", "Revealed", "Committed") if name in tx.events} == {
        {"claim": "Claimed", "reveal": "Revealed", "commit": "Committed"}[s] for s in use}
    assert submission(cl, a, alice)["claimed"] == ("claim" in use)
    assert (submission(cl, b, alice)["status"] == Status.REVEALED) == ("reveal" in use)
    assert (submission(cl, c, alice)["status"] == Status.COMMITTED) == ("commit" in use)
    assert_books(cl)


def test_submit_without_a_step_reverts(cl, pipeline, voters):
    with brownie.reverts(err("NothingToSubmit")):
        cl.submit(0, 0, b"", bytes(32), 0, bytes(32), {"from": voters[0]})


@pytest.mark.parametrize("broken", ["claim", "reveal", "commit"])
def test_a_failing_step_undoes_the_whole_submit(cl, pipeline, voters, broken):
    """Each step fails with its own single call's error, and the steps before it are undone."""
    a, b, c, b_ballots = pipeline
    alice, ballot = voters[0], b_ballots[0]
    before = (account(cl, alice), submission(cl, a, alice), submission(cl, b, alice), submission(cl, c, alice))
    salt = new_salt()
    claim_round, labels, commitment = a, ballot.wire, commitment_for(cl, c, alice.address, LABELS, salt)
    if broken == "claim":
        claim_round, error = b, err("WrongPhase", b, Phase.FINALIZED, Phase.REVEAL)  # B is not settled
    elif broken == "reveal":
        labels, error = pack_labels(bytes([3]) + ballot.labels[1:], K), err("CommitmentMismatch", b, alice.address)
    else:
        commitment, error = bytes(32), err("ZeroCommitment")
    with brownie.reverts(error):
        cl.submit(claim_round, b, labels, ballot.salt, c, commitment, {"from": alice})
    assert (account(cl, alice), submission(cl, a, alice), submission(cl, b, alice),
            submission(cl, c, alice)) == before


def test_submit_reveals_only_the_callers_own_commitment(cl, pipeline, voters):
    """Bob cannot reveal Alice's labels through submit: the commitment binds the sender."""
    a, b, c, b_ballots = pipeline
    with brownie.reverts(err("CommitmentMismatch", b, voters[1].address)):
        cl.submit(0, b, b_ballots[0].wire, b_ballots[0].salt, 0, bytes(32), {"from": voters[1]})
