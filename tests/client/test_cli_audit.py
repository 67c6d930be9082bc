"""`cl-client` on contract v2: open-round with a hidden audit, a finalizer fee and parameter overrides; the audit
journal (mode 0600); reveal-audit; finalize and status showing the audit and an Excluded liar; the participate
policy (--max-slash-bps over every slash rate, --max-agreement-bps, --min-reward); one-line errors. In-process
through `main(argv)` on the module's Ganache; participants are `Participant`s driven with a JumpClock."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from eth_account import Account

from cl_client.chain import Gateway, Phase, Status, connect
from cl_client.data import write_queries
from cl_client.journal import REVEAL_DONE
from cl_client.participant import JumpClock, Participant, drive
from cl_client.strategies import make_strategy
from support import assert_one_line_error, cli_deployment
from support import run_cli as run
from support import use_chain as use

ETH = 10**18
DEPLOYER, REQUESTER, OTHER = 0, 1, 2
PLAYERS = range(10, 14)  # 3 honest, 1 liar
ACC_POLICY = 20

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture(scope="module")
def chain(local_node, tmp_path_factory):
    deploy_dir = tmp_path_factory.mktemp("deployments")
    env, address = cli_deployment(local_node, deploy_dir, DEPLOYER)
    return {"env": env, "address": address, "node": local_node}


def gateway(chain, key_index: int) -> Gateway:
    node = chain["node"]
    return Gateway(connect(node.url), chain["address"], Account.from_key(node.keys[key_index]), poll_interval=0.05)


@pytest.fixture
def files(digits, tmp_path):
    """(queries.npz of 40 digits, known.csv with their labels, a journal folder)."""
    queries = tmp_path / "queries.npz"
    write_queries(queries, digits.X_query[:40])
    known = tmp_path / "known.csv"
    known.write_text("index,label\n" + "".join(f"{i},{int(y)}\n" for i, y in enumerate(digits.y_query[:40])))
    return queries, known, tmp_path / "journal"


def open_args(queries, *extra):
    return ("open-round", "--queries", str(queries), "--classes", "10", "--commit-seconds", "36",
            "--reveal-seconds", "36", *extra)


def test_an_audited_round_through_the_cli(chain, files, fitted_learners, capsys, monkeypatch):
    queries, known, journal = files
    use(monkeypatch, chain, REQUESTER)
    code, out, err = run(capsys, *open_args(queries, "--audit-file", str(known), "--audit", "10", "--audit-seconds",
                                            "40", "--finalizer-fee", "0.01", "--reward", "1", "--agreement-bps",
                                            "1000", "--journal-dir", str(journal), "--json"))
    assert code == 0, err
    opened = json.loads(out)
    rid = opened["round_id"]
    requester = gateway(chain, REQUESTER)
    info = requester.round(rid)
    assert (info.audit_count, info.finalizer_fee, info.reward, info.params.agreement_bps) == (10, ETH // 100, ETH, 1000)
    assert info.audit_deadline == info.reveal_deadline + 40
    secret = opened["audit_journal"]
    assert os.path.dirname(secret) == str(journal) and stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert json.load(open(secret))["round_id"] == rid

    gws = [gateway(chain, i) for i in PLAYERS]
    for gw in gws:
        gw.deposit(ETH)
    learners = fitted_learners(3)
    ps = [Participant(gw, learners[i % 3], make_strategy("flip" if i == 3 else "honest"), journal / "p", rng=i)
          for i, gw in enumerate(gws)]
    clock = JumpClock(chain["node"], requester)
    drive(ps, rid, clock, done=REVEAL_DONE, max_passes=50)

    code, _, err = run(capsys, "finalize", "--round", str(rid))  # the requester has not revealed its audit yet
    assert_one_line_error(code, err, "Reveal phase" if requester.phase(rid) == Phase.REVEAL else "Audit phase")
    clock.advance(info.reveal_deadline + 1, "revealed")
    use(monkeypatch, chain, OTHER)
    code, _, err = run(capsys, "reveal-audit", "--round", str(rid), "--journal-dir", str(journal))
    assert_one_line_error(code, err, "only it can reveal the audit")
    use(monkeypatch, chain, REQUESTER)
    code, out, err = run(capsys, "reveal-audit", "--round", str(rid), "--journal-dir", str(journal))
    assert code == 0, err
    assert f"revealed the audit of round {rid}: 10 queries" in out
    code, _, err = run(capsys, "reveal-audit", "--round", str(rid), "--journal-dir", str(journal))
    assert_one_line_error(code, err, "already revealed")

    use(monkeypatch, chain, OTHER)
    free = gateway(chain, OTHER).account_info().free
    code, out, err = run(capsys, "finalize", "--round", str(rid))
    assert code == 0 and f"round {rid} finalized" in out, err
    assert gateway(chain, OTHER).account_info().free == free + ETH // 100  # the finalizer fee

    use(monkeypatch, chain, PLAYERS[3])
    code, out, err = run(capsys, "status", "--round", str(rid))
    assert code == 0, err
    assert "  audit: 10 hidden known-label queries, revealed;" in out
    assert "you: EXCLUDED" in out and "audit 0/10 right" in out or "you: EXCLUDED" in out, out
    code, out, err = run(capsys, "status", "--round", str(rid), "--json")
    shown = json.loads(out)["round"]
    assert shown["you"]["status"] == "EXCLUDED" and shown["audit"]["revealed"]
    assert shown["audit"]["indices"] == list(requester.audit_of(rid).indices)
    assert shown["mode_count"] is not None and shown["min_matches"] > shown["mode_count"]
    drive(ps, rid, clock, max_passes=10)
    assert [gw.submission(rid).status for gw in gws] == [Status.AGREED] * 3 + [Status.EXCLUDED]


@pytest.mark.parametrize("extra, phrases", [
    (("--audit", "5"), ["--audit N needs --audit-file"]),
    (("--audit-file", "KNOWN", "--audit", "50"), ["--audit 50", "knows 40 labels"]),
    (("--audit-file", "MISSING"), ["does not exist"]),
    (("--agreement-bps", "6000"), ["agreement_bps must be 0..5000", "--agreement-bps"]),
    (("--nonreveal-slash-bps", "500"), ["non_reveal_slash_bps must be 1000..2000", "--nonreveal-slash-bps"]),
    (("--audit-file", "KNOWN", "--audit-seconds", "10"), ["audit duration 10 s is outside the allowed 36.."]),
    (("--audit-file", "BADLABEL"), ["query 3 label 12 is not a query index 0..39 with a label 0..9"]),
    (("--audit-file", "BADCSV"), ["must hold integer pairs (query index, label)"]),
])
def test_open_round_mistakes_are_one_line_and_open_nothing(chain, files, capsys, monkeypatch, extra, phrases):
    queries, known, journal = files
    bad = known.with_name("bad.csv")
    bad.write_text("3,12\n")
    csv = known.with_name("broken.csv")
    csv.write_text("1,2,x\n")
    names = {"KNOWN": str(known), "MISSING": str(known.with_name("none.csv")), "BADLABEL": str(bad), "BADCSV": str(csv)}
    use(monkeypatch, chain, REQUESTER)
    count = gateway(chain, REQUESTER).round_count()
    code, _, err = run(capsys, *open_args(queries, *(names.get(x, x) for x in extra), "--journal-dir", str(journal)))
    assert_one_line_error(code, err, *phrases)
    assert gateway(chain, REQUESTER).round_count() == count


def test_reveal_audit_of_a_round_without_one(chain, files, capsys, monkeypatch):
    queries, _, journal = files
    use(monkeypatch, chain, REQUESTER)
    code, out, err = run(capsys, *open_args(queries, "--json"))
    assert code == 0, err
    rid = json.loads(out)["round_id"]
    code, _, err = run(capsys, "reveal-audit", "--round", str(rid), "--journal-dir", str(journal))
    assert_one_line_error(code, err, f"round {rid} has no audit")


@pytest.mark.parametrize("policy, phrases", [
    (("--max-slash-bps", "1200"), ["slashes up to 1500 bps", "audit-excluded 1500", "--max-slash-bps 1200"]),
    (("--max-agreement-bps", "100"), ["asks for 500 bps of chance-corrected agreement", "--max-agreement-bps 100"]),
    (("--min-reward", "2"), ["pays a reward of 1 ETH, below --min-reward 2 ETH"]),
    (("--max-stake", "0.001"), ["--max-stake 0.001 ETH is below round", "minimum stake 0.01 ETH"]),
])
def test_participate_refuses_a_round_outside_its_policy_before_any_transaction(
        chain, files, shard, capsys, monkeypatch, policy, phrases):
    queries, _, journal = files
    use(monkeypatch, chain, REQUESTER)
    code, out, err = run(capsys, *open_args(queries, "--reward", "1", "--deviator-slash-bps", "500",
                                            "--nonreveal-slash-bps", "1500", "--audit-slash-bps", "1500", "--json"))
    assert code == 0, err
    rid = json.loads(out)["round_id"]
    use(monkeypatch, chain, ACC_POLICY)
    code, _, err = run(capsys, "participate", "--round", str(rid), "--shard", str(shard), "--stake", "1",
                       "--journal-dir", str(journal), *policy)
    assert_one_line_error(code, err, *phrases)
    gw = gateway(chain, ACC_POLICY)
    assert gw.submission(rid).status == Status.NONE and gw.account_info().free == 0  # nothing was sent


def test_max_stake_unbonds_the_free_stake_above_it_before_committing(chain, files, capsys, monkeypatch):
    """A claimed reward joins the free stake and a commit locks all of it: --max-stake keeps the weight capped."""
    from argparse import Namespace

    from cl_client.cli import _ensure_stake

    queries, _, _ = files
    use(monkeypatch, chain, REQUESTER)
    code, out, err = run(capsys, *open_args(queries, "--json"))
    rid = json.loads(out)["round_id"]
    gw = gateway(chain, ACC_POLICY + 1)
    gw.deposit(3 * ETH)
    notes = []
    waiter = Namespace(message=notes.append)
    _ensure_stake(Namespace(stake=None, max_stake=ETH), gw, rid, waiter)
    acct = gw.account_info()
    assert (acct.free, acct.unbonding) == (ETH, 2 * ETH)
    assert notes == ["requesting the withdrawal of 2 ETH above --max-stake 1 ETH"]
    np.testing.assert_equal(gw.round(rid).phase, Phase.COMMIT)
