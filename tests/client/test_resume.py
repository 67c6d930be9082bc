"""`cl-client participate` never loses stake to a restart, a stale journal or a bad round (issue 16).

In-process `main(argv)` against the module's instant-mining Ganache. Waits on block time jump the chain's
clock (Gateway.wait_for_timestamp is patched to `evm_increaseTime`); the wait for a new round to be opened
(`cl_client.cli.time.sleep`) is patched so that a test can open a round or press "Ctrl-C" there.
A crash right after the commit is mined is a BaseException raised from a wrapped Gateway.commit.
"""
from __future__ import annotations

import json
import os
import stat
import time
import types
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account

from cl_client import cli
from cl_client.chain import Gateway, Phase, Status, connect
from cl_client.cli import main
from cl_client.commitment import commitment, encode_labels, new_salt
from cl_client.data import write_queries
from cl_client.journal import Journal
from cl_client.models import Learner
from support import cli_deployment
from support import run_cli as run

ETH = 10**18
DEPLOYER, REQUESTER = 0, 1


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the client may catch it)."""


pytestmark = pytest.mark.usefixtures("clean_env")  # tests/client/conftest.py


@pytest.fixture(scope="module")
def chain(local_node, tmp_path_factory):
    env, address = cli_deployment(local_node, tmp_path_factory.mktemp("deployments"), DEPLOYER)
    return {"env": env, "address": address, "node": local_node, "next": iter(range(2, 80))}


@pytest.fixture
def account(chain, monkeypatch):
    """A fresh account of the node, used by this test only; CL_* set for it."""
    index = next(chain["next"])
    for k, v in chain["env"].items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CL_PRIVATE_KEY", "0x" + chain["node"].keys[index].hex())
    return gateway(chain, index)


def gateway(chain, index: int) -> Gateway:
    node = chain["node"]
    return Gateway(connect(node.url), chain["address"], Account.from_key(node.keys[index]), poll_interval=0.05)


@pytest.fixture(autouse=True)
def jumping_clock(chain, monkeypatch):
    """Waits on block time move the chain's clock instead of sleeping."""
    node = chain["node"]

    def wait_for_timestamp(self, target, on_tick=None, timeout=None):
        while (now := self.latest_timestamp()) < target:
            node.increase_time(max(1, target - now))
        if on_tick:
            on_tick(now)
        return now

    monkeypatch.setattr(Gateway, "wait_for_timestamp", wait_for_timestamp)


@pytest.fixture
def new_round_wait(monkeypatch):
    """new_round_wait(*actions): each time `participate` sleeps waiting for a round to be opened, the next
    action runs (e.g. open a round); when none is left, Ctrl-C (KeyboardInterrupt)."""

    def install(*actions):
        queue = list(actions)

        def sleep(_seconds):
            if not queue:
                raise KeyboardInterrupt
            queue.pop(0)()

        monkeypatch.setattr(cli, "time", types.SimpleNamespace(sleep=sleep, monotonic=time.monotonic,
                                                               time=time.time))
    install()
    return install


@pytest.fixture
def open_round(chain, digits, tmp_path):
    """open_round(X=None, commit=36, reveal=36, uri=None) -> (round id, query file) (36 s: MIN_PHASE_DURATION)."""

    def make(X=None, commit: int = 36, reveal: int = 36, uri: str | None = None) -> tuple[int, Path]:
        X = digits.X_query[:20] if X is None else X
        path = tmp_path / f"queries-{time.monotonic_ns()}.npz"
        digest = write_queries(path, X)
        rid = gateway(chain, REQUESTER).open_round(digest, uri or path.as_uri(), len(X), 10, commit, reveal, 0)
        return rid, path

    return make


def participate(shard, journal_dir, *which):
    return ["participate", *which, "--shard", str(shard), "--stake", "1", "--journal-dir", str(journal_dir),
            "--seed", "0"]


def crash_after_commit(monkeypatch):
    real = Gateway.commit

    def commit_then_die(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise Crash("killed after the commit was mined")

    monkeypatch.setattr(Gateway, "commit", commit_then_die)
    return lambda: monkeypatch.setattr(Gateway, "commit", real)


def into_reveal_phase(chain, gw, rid):
    info = gw.round(rid)
    chain["node"].increase_time(info.commit_deadline + 1 - gw.latest_timestamp())
    assert gw.phase(rid) == Phase.REVEAL


# ------------------------------------------------------------------ 1: a rerun finishes its rounds first


@pytest.mark.parametrize("which", [("--rounds-from-now", "1"), ("--follow",)], ids=["rounds-from-now", "follow"])
def test_a_rerun_reveals_the_round_it_committed_in_whatever_its_flags(
        chain, account, open_round, shard, new_round_wait, capsys, monkeypatch, tmp_path, which):
    rid, _ = open_round()
    restore = crash_after_commit(monkeypatch)
    with pytest.raises(Crash):
        main(participate(shard, tmp_path / "j", *which))
    restore()
    assert account.submission(rid).status == Status.COMMITTED
    into_reveal_phase(chain, account, rid)

    code, out, err = run(capsys, *participate(shard, tmp_path / "j", *which))
    assert code == (130 if which == ("--follow",) else 0), err  # --follow: Ctrl-C while it waits for more
    sub = account.submission(rid)
    assert sub.status == Status.REVEALED and sub.claimed, err  # the round failed (1 revealer): stake back
    assert f"round {rid}: {account.sender} revealed" in err
    assert f"round {rid}: " in out


# ------------------------------------------------------------------ 2: journals bound to the chain


def _legacy_journal(path: Path, body: dict) -> None:
    """A version-1 journal file, as the client wrote before journals were bound to the chain."""
    from cl_client.journal import _checksum

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps({"journal": body, "sha256": _checksum(body)}))


def test_a_journal_left_by_another_chain_is_refused_and_kept(chain, account, open_round, shard, capsys, tmp_path):
    """The previous chain (same chain id, same contract address) left a prepared journal for this round id."""
    rid, _ = open_round()
    stale = encode_labels(np.zeros(20, dtype=np.int64), num_classes=10)
    salt = new_salt()
    c = commitment(1337, chain["address"], rid, account.sender, stale, salt, 10)
    path = Journal.path_for(tmp_path / "j", 1337, chain["address"], rid, account.sender)
    _legacy_journal(path, {"version": 1, "chain_id": 1337, "contract": chain["address"].lower(),
                           "round_id": rid, "address": account.sender.lower(), "state": "prepared",
                           "labels": "0x" + stale.hex(), "salt": "0x" + salt.hex(),
                           "commitment": "0x" + c.hex()})
    before = path.read_bytes()
    code, _, err = run(capsys, *participate(shard, tmp_path / "j", "--round", str(rid)))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "cannot be verified" in err and str(path) in err and "move it away" in err, err
    assert account.submission(rid).status == Status.NONE  # the stale labels were not committed
    assert account.account_info().free == 0  # and nothing was deposited
    assert path.read_bytes() == before


def test_a_bound_journal_of_another_genesis_is_refused_in_one_line(chain, account, open_round, shard, capsys,
                                                                    tmp_path):
    rid, _ = open_round()
    from cl_client.participant import Participant

    p = Participant(account, None, journal_dir=tmp_path / "j")
    j = p.journal(rid)
    j.binding = dict(j.binding, genesis="0x" + "11" * 32)  # as written on the previous chain
    j.record("prepared", labels=bytes(20), salt=bytes(range(32)), commitment=bytes(32))
    before = j.path.read_bytes()
    code, _, err = run(capsys, *participate(shard, tmp_path / "j", "--round", str(rid)))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "belongs to another chain/deployment (genesis 0x1111" in err and "move it away" in err, err
    assert j.path.read_bytes() == before
    assert account.submission(rid).status == Status.NONE


def test_a_legacy_journal_whose_commitment_is_on_chain_is_verified_and_upgraded(chain, account, open_round,
                                                                                tmp_path):
    from cl_client.participant import Participant

    rid, _ = open_round()
    account.deposit(ETH)
    labels = encode_labels(np.arange(20) % 10, num_classes=10)
    salt = new_salt()
    c = commitment(1337, chain["address"], rid, account.sender, labels, salt, 10)
    account.commit(rid, c)
    path = Journal.path_for(tmp_path / "j", 1337, chain["address"], rid, account.sender)
    _legacy_journal(path, {"version": 1, "chain_id": 1337, "contract": chain["address"].lower(),
                           "round_id": rid, "address": account.sender.lower(), "state": "committed",
                           "labels": "0x" + labels.hex(), "salt": "0x" + salt.hex(), "commitment": "0x" + c.hex()})
    p = Participant(account, None, journal_dir=tmp_path / "j")
    j = p.journal(rid)
    assert j.labels == labels and j.get("version") == 2 and j.get("binding") == j.binding
    into_reveal_phase(chain, account, rid)
    assert p.step(rid) == "revealed"


# ------------------------------------------------------------------ 3: --follow skips a bad round


BAD_ROUNDS = {
    "hash": "but the round expects",
    "missing-file": "no such file",
    "features": "features",
    "slash": "--max-slash-bps",
}


@pytest.mark.parametrize("bad", list(BAD_ROUNDS))
def test_follow_skips_a_round_it_cannot_take_part_in_with_one_warning_and_takes_the_next(
        chain, account, open_round, shard, digits, new_round_wait, capsys, tmp_path, bad):
    if bad == "features":
        bad_rid, _ = open_round(X=digits.X_query[:20, :10])
    elif bad == "missing-file":
        bad_rid, _ = open_round(uri=(tmp_path / "gone.npz").as_uri())
    else:
        bad_rid, path = open_round()
        if bad == "hash":
            write_queries(path, digits.X_query[20:40])
    good = []
    new_round_wait(lambda: good.append(open_round()[0]))
    extra = ["--max-slash-bps", "500"] if bad == "slash" else []
    code, out, err = run(capsys, *participate(shard, tmp_path / "j", "--follow"), *extra)
    assert code == 130, err  # still following when Ctrl-C came
    assert account.submission(bad_rid).status == Status.NONE
    warnings = [line for line in err.splitlines() if f"round {bad_rid}" in line]
    assert len(warnings) == 1 and "skipping" in warnings[0] and BAD_ROUNDS[bad] in warnings[0], err
    if bad == "slash":
        assert good and account.submission(good[0]).status == Status.NONE  # the policy skips every such round
        assert account.account_info().free == 0
    else:
        assert good and account.submission(good[0]).claimed, err
        assert account.account_info().free == ETH  # one deposit, for the round it took part in


def test_an_explicit_round_with_the_wrong_feature_count_is_an_error_before_any_deposit(
        chain, account, open_round, shard, digits, capsys, tmp_path):
    rid, _ = open_round(X=digits.X_query[:20, :10])
    code, _, err = run(capsys, *participate(shard, tmp_path / "j", "--round", str(rid)))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "10 features" in err and "64" in err, err
    assert account.account_info().free == 0 and account.submission(rid).status == Status.NONE


# ------------------------------------------------------------------ 4: reveal before training; cached models


def test_a_restart_reveals_from_the_journal_before_any_training(
        chain, account, open_round, shard, capsys, monkeypatch, tmp_path):
    rid, _ = open_round()
    restore = crash_after_commit(monkeypatch)
    with pytest.raises(Crash):
        main(participate(shard, tmp_path / "j", "--round", str(rid)))
    restore()
    into_reveal_phase(chain, account, rid)
    events = []
    real_fit, real_reveal = Learner.fit, Gateway.reveal
    monkeypatch.setattr(Learner, "fit", lambda self, X, y: events.append("fit") or real_fit(self, X, y))
    monkeypatch.setattr(Gateway, "reveal", lambda self, *a, **k: events.append("reveal") or real_reveal(self, *a, **k))
    code, _, err = run(capsys, *participate(shard, tmp_path / "j", "--round", str(rid)))
    assert code == 0, err
    assert events[:1] == ["reveal"], events
    assert account.submission(rid).status == Status.REVEALED


def test_the_model_is_cached_per_shard_model_and_seed(chain, account, open_round, shard, capsys, monkeypatch,
                                                       tmp_path):
    fits = []
    real_fit = Learner.fit
    monkeypatch.setattr(Learner, "fit", lambda self, X, y: fits.append(1) or real_fit(self, X, y))
    rid, _ = open_round()
    for _ in range(2):  # the same command twice: trained the first time, loaded the second
        code, _, err = run(capsys, *participate(shard, tmp_path / "j", "--round", str(rid)))
        assert code == 0, err
    assert len(fits) == 1
    cached = list((tmp_path / "j").glob("models/*"))
    assert len(cached) == 1 and stat.S_IMODE(os.stat(cached[0]).st_mode) == 0o600
    assert "loaded logistic_regression" in err


# ------------------------------------------------------------------ 4: --follow drives pipelined rounds together


@pytest.mark.parametrize("mode", ["merged", "single-calls"])
def test_follow_takes_a_round_opened_while_the_last_one_reveals(
        chain, account, open_round, shard, new_round_wait, capsys, monkeypatch, tmp_path, mode):
    """Round B is opened as round A enters its reveal phase, and B's commit phase ends before A's reveal
    deadline (pipelined rounds). The merged path (the default) drives both: it reveals A and commits B in one
    submit, and settles both. --single-calls plays one round at a time, so it finds B too late to join."""
    a, _ = open_round(commit=36, reveal=60)
    opened = {}
    jump = Gateway.wait_for_timestamp

    def wait_and_open(self, target, on_tick=None, timeout=None):
        now = jump(self, target, on_tick, timeout)
        if "B" not in opened and now > self.round(a).commit_deadline:  # the requester opens B as A reveals
            opened["B"] = open_round(commit=36, reveal=36)[0]
        return now

    monkeypatch.setattr(Gateway, "wait_for_timestamp", wait_and_open)
    sent, transact = [], Gateway.transact

    def log(self, fn_name, *args, **kwargs):
        if self.sender == account.sender:
            sent.append((fn_name, args))
        return transact(self, fn_name, *args, **kwargs)

    monkeypatch.setattr(Gateway, "transact", log)
    extra = ["--single-calls"] if mode == "single-calls" else []
    code, out, err = run(capsys, *participate(shard, tmp_path / "j", "--follow"), *extra)
    assert code == 130, err  # Ctrl-C while it waits for a third round
    b = opened["B"]
    assert all(len(line) < 400 for line in err.splitlines())
    if mode == "single-calls":
        assert account.submission(b).status == Status.NONE
        assert any(f"skipping round {b}: round {b} is past its commit phase" in line for line in err.splitlines()), err
        return
    assert account.submission(a).claimed and account.submission(b).claimed, err
    submits = [args for fn, args in sent if fn == "submit"]
    assert [(s[0], s[1], s[4]) for s in submits] == [(0, a, b)], sent  # reveal A + commit B in one transaction
    assert [fn for fn, _ in sent].count("commit") == 1 and "reveal" in [fn for fn, _ in sent]  # A's commit, B's reveal
    assert f"round {a}: {account.sender} revealed (in one submit transaction)" in err
    assert f"round {b}: " in out and f"round {a}: " in out
