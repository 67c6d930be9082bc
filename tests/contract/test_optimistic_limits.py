"""THE OPTIMISTIC CAPS: the worst-case transactions of optimistic settlement at the contract's limits stay at or
under EIP-7825's 16,777,216 gas and within geth's 128 KB (131,072 bytes) per transaction -- the whole encoded
transaction, so at most INPUT_CAP = 130,952 bytes of input after its ~120-byte envelope (the encoded size is
also read back from the node and checked).

The limits (the contract's, mirrored by cl_client.protocol): an optimistic-only round of Q queries and K classes
has optimisticSeats(Q, K) seats, min(MAX_OPTIMISTIC_PARTICIPANTS, (POST_GAS_BUDGET - POST_GAS_BASE - per-label
gas x Q) / POST_GAS_PER_COMMITTER), and Q <= MAX_OPTIMISTIC_QUERIES (65,535) at K <= 16, Q <=
MAX_OPTIMISTIC_LABEL_BYTES (64,000) at one byte a label. The worst cases are therefore at N = optimisticSeats(Q, K)
for each shape, with Q at the per-K maximum for the joint ones.

Measured with scripts/_measure.worst_case_optimistic on one deployment: the first N of a common list of
participants commit to and reveal in every round of a list of shapes (N, Q, K), labels built to cost the most
-- every wire byte non-zero, every revealer with Q - 1 matches so that propose writes each count and evaluates
the whole agreement rule -- then per round the first post (one count off by one), one challengeQuery batch as
large as the input cap (or the revealers) allows, and the challengeMatches that refutes the count.

    seats: N = optimisticSeats(Q, K) at (Q, K) = (64, 16) and (64, 256), N = 1,677 and 1,676: propose at the most
           committers any round has, and the largest query batches (depth 0: all 1,677 revealers, 107,716 bytes, the
           most records and the most gas a query proof can have, each record a cold slot; depth 1: the 1,359 that
           fit); (65,535, 15) and (65,535, 16), N = 1,168: the joint packed worst case (propose, reveal, a
           339-record batch at depth 10, challengeMatches at the most queries); (64,000, 255) and (64,000, 256),
           N = 468: the same at one byte a label. K = 15 and 255 also run the label range checks that 16 and 256
           skip.
    few:   N = 4 at the same six shapes: the base of the per-committer slope, which the report uses for the
           largest N each shape's propose would fit (for whoever sets the constants).

Every seat-filling cell runs (about 100 s in all); nothing is estimated. Under prague's rules (EIP-7623) a
transaction uses at least its calldata floor; the node runs the contracts' hardfork (shanghai), so every cap check
takes the larger of the gas used and that floor (opcode prices are the same in both; at 64,000 one-byte labels the
floor is what reveal and challengeMatches pay). Also: propose's measured gas stays under the contract's own seat
model (POST_GAS_BASE + POST_GAS_PER_COMMITTER x N + per-label gas x Q), propose is linear in the committers, one
query more than the per-K maximum cannot be opened (InvalidQueryCount at one byte a label; at K <= 16 the maximum
is RoundSpec.numQueries' uint16 itself, and a call that claims 65,536 fails ABI decoding), and the commit of
participant optimisticSeats + 1 reverts RoundFull (eth_call, at each seat-filling shape; at Q = 64,000, K = 256
that is the 469th).

The measured table, with the margin to each cap, is printed (pytest -s) and written to
reports/optimistic_limits.txt. Cells over a cap are listed in OVER_CAP with their measured figures and run as
strict xfails (the contract's constants are the owner's to change); it is empty. Runs on Anvil only (like
test_gas_cap.py; tools/run_tests.sh's Anvil list).
"""
from pathlib import Path

import pytest
from brownie import ConsensusLearning, accounts, web3

from cl_client.protocol import LIMITS, optimistic_max_queries, optimistic_seats
from contract_helpers import err
from scripts._measure import (
    K,
    REWARD,
    OptimisticRounds,
    call_error,
    largest_query_batch,
    make_labels,
    optimistic_spec,
    query_proof_calldata,
    revert_of,
    run_optimistic_pipelined,
    worst_case_optimistic,
)
from tools.benchdoc import CALLDATA_CAP, GAS_CAP, INPUT_CAP, TX_ENVELOPE

PACKED_Q = optimistic_max_queries(LIMITS.packed_max_classes)  # 65,535
BYTE_Q = optimistic_max_queries(256)  # 64,000
FEW = 4
SHAPES = [(64, 16), (64, 256), (PACKED_Q, 15), (PACKED_Q, 16), (BYTE_Q, 255), (BYTE_Q, 256)]
SEATED = [(optimistic_seats(q, k), q, k) for q, k in SHAPES]
FEW_SHAPES = [(FEW, q, k) for q, k in SHAPES]
LARGEST_Q = [s for s in SEATED + FEW_SHAPES if s[1] in (PACKED_Q, BYTE_Q)]
REPORT = Path(__file__).resolve().parents[2] / "reports" / "optimistic_limits.txt"

# (check, n, q, k) -> what was measured; strict xfails. Empty: every cell fits (the contract of 069aa53, with
# optimisticSeats and MAX_OPTIMISTIC_LABEL_BYTES; measured 2026-12-04, reports/optimistic_limits.txt).
OVER_CAP: dict = {}


@pytest.fixture(scope="module", autouse=True)
def anvil_only():
    if not web3.client_version.lower().startswith("anvil"):
        pytest.skip("the optimistic caps run on Anvil (1,677 participants); Ganache takes minutes per thousand")


@pytest.fixture(scope="module")
def measured():
    """(the contract, {(n, q, k): the round's largest transactions}) for SEATED and FEW_SHAPES."""
    return worst_case_optimistic(ConsensusLearning, SEATED + FEW_SHAPES)


@pytest.fixture(scope="module")
def got(measured):
    return measured[1]


def propose_input(n: int, q: int, k: int) -> int:
    """propose's input in bytes: selector, 4 head words, then consensus (length word + ceil(L / 32) words),
    committers (length + n words) and matches (length + ceil(2n / 32) words)."""
    size = (q + 1) // 2 if k <= 16 else q
    return 4 + 4 * 32 + 32 + 32 * -(-size // 32) + 32 + 32 * n + 32 + 32 * -(-2 * n // 32)


def seat_model(n: int, q: int, k: int) -> int:
    """The contract's bound on propose's gas, which optimisticSeats keeps under POST_GAS_BUDGET."""
    per_label = LIMITS.post_gas_per_packed_label if k <= LIMITS.packed_max_classes else LIMITS.post_gas_per_byte_label
    return LIMITS.post_gas_base + LIMITS.post_gas_per_committer * n + per_label * q


def slope(got) -> float:
    """Gas a committer adds to propose: a seated round's post less the few's at the same shape, over the extra
    committers (the largest over the shapes measured both ways)."""
    return max((got[(n, q, k)]["propose"].gas - got[(FEW, q, k)]["propose"].gas) / (n - FEW)
               for n, q, k in SEATED if (FEW, q, k) in got)


def estimate(got, n: int, q: int, k: int) -> float:
    return got[(FEW, q, k)]["propose"].gas + slope(got) * (n - FEW)


def largest_n(got, q: int, k: int) -> int:
    """The most committers whose propose at (q, k) would fit both caps, by the few's post and the slope (not
    bounded by MAX_OPTIMISTIC_PARTICIPANTS)."""
    by_gas = FEW + int((GAS_CAP - got[(FEW, q, k)]["propose"].gas) // slope(got))
    by_input = max(n for n in range(1, 4 * LIMITS.max_optimistic_participants) if propose_input(n, q, k) <= INPUT_CAP)
    return min(by_gas, by_input)


def cell(check, n, q, k):
    reason = OVER_CAP.get((check, n, q, k))
    return pytest.param(n, q, k, id=f"N{n}xQ{q}-K{k}",
                        marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [])


def within_caps(tx) -> None:
    """tx's gas (under prague: at least its calldata floor) at most GAS_CAP, its input at most INPUT_CAP and the
    whole encoded transaction at most 128 KB."""
    assert tx.prague_gas <= GAS_CAP and tx.calldata <= INPUT_CAP and tx.size <= CALLDATA_CAP, (
        f"{tx.op}: {tx.gas:,} gas (floor {tx.floor:,}; {100 * tx.prague_gas / GAS_CAP:.1f}% of {GAS_CAP:,}), "
        f"{tx.calldata:,} bytes of input ({100 * tx.calldata / INPUT_CAP:.1f}% of {INPUT_CAP:,}), {tx.size:,} "
        f"bytes encoded")


# ------------------------------------------------------------------------------------------------ the limits


def test_the_rounds_fill_the_contracts_seats(got):
    for n, q, k in SEATED:
        assert n == optimistic_seats(q, k)
    for n, q, k in SEATED + FEW_SHAPES:
        assert got[(n, q, k)]["seats"] == optimistic_seats(q, k)  # optimisticSeats(Q, K), read from the contract
    assert max(n for n, _, _ in SEATED) == optimistic_seats(1, 2) < LIMITS.max_optimistic_participants


@pytest.mark.parametrize("k", [2, 15, 16, 17, 255, 256])
def test_one_query_more_than_the_per_k_maximum_cannot_be_opened(measured, k):
    """The per-K maximum opens (eth_call); one more reverts InvalidQueryCount(Q, 64,000) at one byte a label. At
    K <= 16 the maximum, 65,535, is RoundSpec.numQueries' type's (uint16): 65,536 cannot be encoded, and a call
    whose numQueries word says 65,536 anyway fails the ABI decoder's range check (a revert without data)."""
    c = measured[0]
    most = optimistic_max_queries(k)
    assert most == (c.MAX_OPTIMISTIC_QUERIES() if k <= 16 else c.MAX_OPTIMISTIC_LABEL_BYTES())
    owner, uri = accounts[0], "file://limits"
    assert revert_of(owner, c.openRoundWith, optimistic_spec(c, most, k), uri, value=REWARD) is None
    if k > LIMITS.packed_max_classes:
        over = revert_of(owner, c.openRoundWith, optimistic_spec(c, most + 1, k), uri, value=REWARD)
        assert over == err("InvalidQueryCount", most + 1, most)
        return
    assert most == 2**16 - 1
    with pytest.raises(OverflowError):
        c.openRoundWith.encode_input(optimistic_spec(c, most + 1, k), uri)
    data = bytearray.fromhex(c.openRoundWith.encode_input(optimistic_spec(c, most, k), uri)[2:])
    assert int.from_bytes(data[36:68], "big") == most  # RoundSpec is static: numQueries is its second word
    data[36:68] = (most + 1).to_bytes(32, "big")
    assert call_error(owner.address, c.address, bytes(data), REWARD, "latest") is not None


@pytest.mark.parametrize("n,q,k", [pytest.param(*s, id=f"N{s[0]}xQ{s[1]}-K{s[2]}") for s in SEATED])
def test_a_commit_past_the_seats_is_round_full(got, n, q, k):
    """Participant N + 1, with a deposit, commits once the N = optimisticSeats(Q, K) have (eth_call)."""
    assert got[(n, q, k)]["overflow"] == err("RoundFull", got[(n, q, k)]["rid"], n)
    if (FEW, q, k) in got:
        assert got[(FEW, q, k)]["overflow"] is None  # a round with seats left admits the fifth


@pytest.mark.parametrize("n,q,k", [cell("propose", *s) for s in SEATED])
def test_propose_at_the_seats(got, n, q, k):
    tx = got[(n, q, k)]["propose"]
    assert tx.calldata == propose_input(n, q, k)
    within_caps(tx)


def test_propose_is_linear_in_the_committers(got):
    for n, q, k in SEATED:
        measured = got[(n, q, k)]["propose"].gas
        assert abs(estimate(got, n, q, k) - measured) <= 0.01 * measured


@pytest.mark.parametrize("n,q,k", [pytest.param(*s, id=f"N{s[0]}xQ{s[1]}-K{s[2]}") for s in SEATED + FEW_SHAPES])
def test_the_seat_model_bounds_the_measured_propose(got, n, q, k):
    """POST_GAS_BASE + POST_GAS_PER_COMMITTER x N + per-label gas x Q is above propose's measured gas, so a round
    at its seats posts under POST_GAS_BUDGET."""
    assert got[(n, q, k)]["propose"].prague_gas <= seat_model(n, q, k)
    assert seat_model(optimistic_seats(q, k), q, k) <= LIMITS.post_gas_budget


@pytest.mark.parametrize("n,q,k", [cell("reveal", *s) for s in LARGEST_Q])
def test_reveal_at_the_most_queries(got, n, q, k):
    tx = got[(n, q, k)]["reveal"]
    assert tx.calldata == 4 + 3 * 32 + 32 + 32 * -(-((q + 1) // 2 if k <= 16 else q) // 32)  # the labels, whole
    within_caps(tx)


@pytest.mark.parametrize("n,q,k", [cell("challengeMatches", *s) for s in LARGEST_Q])
def test_challenge_matches_at_the_most_queries(got, n, q, k):
    """Two label vectors (the refuted committer's and the consensus): 128,164 bytes at 64,000 one-byte labels."""
    within_caps(got[(n, q, k)]["challengeMatches"])


@pytest.mark.parametrize("n,q,k", [cell("challengeQuery", *s) for s in SEATED])
def test_the_largest_challenge_query_batch(got, n, q, k):
    """As many revealers as fit the input cap, or all of them: at depth 0 (Q = 64) every one of the 1,677 (the most
    records and the most gas a query proof can have), deeper the cap's (339 at depth 10, 313 at depth 11)."""
    r = got[(n, q, k)]
    fit = largest_query_batch(r["depth"])
    assert r["records"] == min(n, fit)
    assert r["challengeQuery"].calldata == query_proof_calldata(r["records"], r["depth"])
    assert query_proof_calldata(fit + 1, r["depth"]) > INPUT_CAP
    within_caps(r["challengeQuery"])


def test_the_envelope_is_at_most_tx_envelope(got):
    """The node's encoded transaction less its input, for every large transaction measured (EIP-1559, chain id
    1337 on Anvil; mainnet's chain id is a byte shorter)."""
    sizes = [tx.size - tx.calldata for r in got.values() for tx in r.values() if hasattr(tx, "size")]
    assert sizes and all(0 < s <= TX_ENVELOPE for s in sizes), sorted(set(sizes))


def test_report_the_measured_table_with_the_margins(got):
    a_committer = slope(got)

    def fmt(tx) -> str:
        return (f"{tx.prague_gas:,} gas (margin {GAS_CAP - tx.prague_gas:,}), {tx.calldata:,} B "
                f"(margin {INPUT_CAP - tx.calldata:,})")

    lines = [f"optimistic caps: gas {GAS_CAP:,} (prague: at least the calldata floor), input {INPUT_CAP:,} bytes "
             f"(128 KB less a {TX_ENVELOPE}-byte envelope); propose: {a_committer:,.0f} gas a committer; envelope "
             f"measured {min(t.size - t.calldata for r in got.values() for t in r.values() if hasattr(t, 'size'))}.."
             f"{max(t.size - t.calldata for r in got.values() for t in r.values() if hasattr(t, 'size'))} bytes"]
    for (n, q, k), r in got.items():
        lines.append(f"N={n:>4} Q={q:>5} K={k:>3} (seats {r['seats']:,}):")
        lines.append(f"    propose          {fmt(r['propose'])}; seat model {seat_model(n, q, k):,}")
        lines.append(f"    challengeQuery   {fmt(r['challengeQuery'])}: {r['records']} records at depth {r['depth']}")
        lines.append(f"    challengeMatches {fmt(r['challengeMatches'])}")
        lines.append(f"    reveal           {fmt(r['reveal'])}")
    for q, k in SHAPES:
        lines.append(f"largest N whose propose would fit at Q={q:>5} K={k:>3} (by the slope): {largest_n(got, q, k):,} "
                     f"(seats {optimistic_seats(q, k):,})")
    print("\n" + "\n".join(lines))
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    assert a_committer > 0


# ------------------------------------------------------------------------------- the bench driver runs


def test_the_bench_driver_settles_and_refutes_a_small_optimistic_round():
    """scripts/_measure's optimistic driver end to end at N=4, Q=64 (what `make bench` runs at its shapes): the
    post settles the round, each of the three wrong posts falls, the merged path runs; every transaction within
    the caps (the driver asserts it)."""
    rounds = OptimisticRounds(ConsensusLearning, FEW, 64, K)
    assert rounds.seats == optimistic_seats(64, K)
    single = rounds.settle()
    truth, rows = make_labels(FEW, 64, K)
    assert single.consensus and len(single.consensus) == 64 and single.accuracy > 0.5
    assert [op for op, _ in single.ops] == ["commit", "reveal", "propose", "claim"]
    assert single.claim.per_participant[0] > max(single.claim.per_participant[1:])  # the first claim confirms
    frauds = rounds.frauds()
    assert [f.kind for f in frauds] == ["query, fewest revealers", "query, every differing revealer", "matches"]
    assert all(f.refuted and f.txs for f in frauds)
    assert frauds[0].records <= frauds[1].records
    merged = run_optimistic_pipelined(ConsensusLearning, FEW, 64, K, rounds=4)
    assert [op for op, _ in merged.ops] == ["submit", "propose"]
    assert merged.consensus == single.consensus and merged.gas_per_label < single.gas_per_label
    assert {t.op for t in merged.transactions} >= {"submit", "propose", "commit", "deposit"}
