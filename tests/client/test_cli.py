"""`cl-client`: every user mistake is one line `cl-client: error: ...` and a non-zero exit, and the happy path
(deploy, stake, open-round, status) works on a local chain. Also `cl-client node` and scripts/deploy.py.

Most commands run in-process through `main(argv)` against the module's Ganache (conftest `local_node`,
instant mining); `cl-client node` and the Brownie script run as subprocesses.
"""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account
from eth_utils import keccak

from cl_client import deployments
from cl_client.chain import Gateway, Phase, Status, connect
from cl_client.data import write_queries
from cl_client.journal import Journal
from cl_client.keys import write_keystore
from cl_client.node import free_port
from support import assert_one_line_error, cli_deployment, wait_until
from support import run_cli as run
from support import use_chain as use

ROOT = Path(__file__).resolve().parents[2]
ETH = 10**18

# Accounts of the module's node (conftest: ACCOUNTS = 80). Index 0 deploys through the CLI; each test below that
# stakes or commits uses its own account so that tests do not depend on each other's order.
DEPLOYER, REQUESTER = 0, 1
ACC_HAPPY, ACC_KEYSTORE, ACC_WITHDRAW, ACC_NOSTAKE, ACC_LATE, ACC_JOURNAL, ACC_HASH, ACC_SHARD = range(30, 38)


pytestmark = pytest.mark.usefixtures("clean_env")  # tests/client/conftest.py


@pytest.fixture(scope="module")
def chain(local_node, tmp_path_factory):
    """The contract deployed with `cl-client deploy`; env settings for the other commands."""
    deploy_dir = tmp_path_factory.mktemp("deployments")
    env, address = cli_deployment(local_node, deploy_dir, DEPLOYER)
    return {"env": env, "dir": deploy_dir, "address": address, "node": local_node}


def gateway(chain, key_index: int) -> Gateway:
    node = chain["node"]
    return Gateway(connect(node.url), chain["address"], Account.from_key(node.keys[key_index]))


@pytest.fixture
def opened(chain, digits, tmp_path):
    """opened(commit=36, reveal=36) -> (round id, query file): a round opened by the requester (36 s is the
    contract's MIN_PHASE_DURATION)."""

    def make(commit: int = 36, reveal: int = 36) -> tuple[int, Path]:
        path = tmp_path / f"queries-{time.monotonic_ns()}.npz"
        digest = write_queries(path, digits.X_query[:20])
        rid = gateway(chain, REQUESTER).open_round(digest, path.as_uri(), 20, 10, commit, reveal, 0)
        return rid, path

    return make


# ------------------------------------------------------------------ happy path


def test_deploy_records_the_contract_for_the_chain(chain):
    record = json.loads((chain["dir"] / "1337.json").read_text())
    assert record["address"] == chain["address"]
    assert record["chain_id"] == 1337
    assert record["deployer"] == Account.from_key(chain["node"].keys[DEPLOYER]).address
    assert record["abi_hash"] == deployments.packaged_abi_hash()
    w3 = connect(chain["node"].url)
    assert "0x" + bytes(w3.eth.get_block(record["block"])["hash"]).hex() == record["block_hash"]
    Gateway(w3, record["address"])  # the code there is this ConsensusLearning


def test_stake_open_round_and_status(chain, digits, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, ACC_HAPPY)
    me = Account.from_key(chain["node"].keys[ACC_HAPPY]).address
    code, out, err = run(capsys, "stake", "--amount", "1.5")
    assert code == 0, err
    assert gateway(chain, ACC_HAPPY).account_info(me).free == 3 * ETH // 2

    csv = tmp_path / "queries.csv"
    np.savetxt(csv, digits.X_query[:25], delimiter=",")
    code, out, err = run(capsys, "open-round", "--queries", str(csv), "--classes", "10", "--commit-seconds", "60",
                         "--reveal-seconds", "40", "--reward", "0.25", "--json")
    assert code == 0, err
    opened = json.loads(out)
    npz = tmp_path / "queries.npz"
    gw = gateway(chain, ACC_HAPPY)
    info = gw.round(opened["round_id"])
    assert (info.num_queries, info.num_classes, info.reward) == (25, 10, ETH // 4)
    assert info.queries_hash == keccak(npz.read_bytes())
    assert gw.queries_uri(opened["round_id"]) == npz.resolve().as_uri()
    assert info.reveal_deadline - info.commit_deadline == 40

    code, out, err = run(capsys, "status", "--round", str(opened["round_id"]), "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["round"]["phase"] == "COMMIT"
    assert status["round"]["commit_deadline"] == info.commit_deadline
    assert status["account"] == {"address": me, "balance": gw.balance(me), "free": 3 * ETH // 2, "locked": 0,
                                 "unbonding": 0, "unbonding_ready_at": 0, "withdrawable": 0}
    assert status["round"]["you"]["status"] == "NONE"


def test_status_shows_the_rules_that_slash(chain, opened, capsys, monkeypatch):
    use(monkeypatch, chain)  # no key: a read-only command
    rid, _ = opened()
    params = gateway(chain, REQUESTER).round(rid).params
    assert (params.agreement_bps, params.deviator_slash_bps, params.non_reveal_slash_bps) == (500, 1000, 2000)
    code, out, err = run(capsys, "status", "--round", str(rid))
    assert code == 0, err
    assert ("  agreement (chance-corrected, 5 %): matches - M >= that share of Q - M and 2 coin-flipper standard "
            "deviations, M = queries of the consensus's most frequent label; weights: stake") in out.splitlines()
    assert ("  slashing: a deviator loses 10 % of its stake (nothing if the audit is revealed and it passed), a "
            "non-revealer 20 %, a revealer excluded by the audit 0 % (burned); minimum stake 0.01 ETH") in out.splitlines()
    assert "audit:" not in out
    code, out, err = run(capsys, "status", "--round", str(rid), "--json")
    assert code == 0, err
    shown = json.loads(out)["round"]
    assert shown["params"] == {"quorum_bps": params.quorum_bps, "min_revealers": params.min_revealers,
                               "agreement_bps": 500, "deviator_slash_bps": 1000, "non_reveal_slash_bps": 2000,
                               "audit_bound_bps": 3000, "audit_slash_bps": 0, "crowd_bps": 4000, "equal_weights": False,
                               "min_stake": params.min_stake}
    assert shown["min_matches"] is None and shown["audit"] is None  # M is known once the consensus is


def test_keystore_signs_instead_of_the_environment_key(chain, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain)
    key = chain["node"].keys[ACC_KEYSTORE]
    keystore = write_keystore(tmp_path / "key.json", key, "s3cret", iterations=2**10)
    (tmp_path / "pw").write_text("s3cret\n")
    code, out, err = run(capsys, "stake", "--amount", "0.1", "--keystore", str(keystore), "--password-file",
                         str(tmp_path / "pw"))
    assert code == 0, err
    assert gateway(chain, ACC_KEYSTORE).account_info().free == ETH // 10


def test_deployment_record_refuses_an_abi_other_than_the_packaged_one(chain, tmp_path):
    from cl_client.chain import artifact

    abi = [e for e in artifact()["abi"] if e.get("name") != "claim"]
    w3 = connect(chain["node"].url)
    with pytest.raises(deployments.DeploymentError, match="export_abi"):
        deployments.record(w3, chain["address"], Account.create().address, abi=abi, block=1, directory=tmp_path)
    assert not (tmp_path / "1337.json").exists()


def test_abi_hash_ignores_entry_order_and_the_constructor_name_brownie_adds():
    from cl_client.chain import artifact

    abi = artifact()["abi"]
    as_brownie = [dict(e, name="constructor") if e["type"] == "constructor" else e for e in reversed(abi)]
    assert deployments.abi_hash(as_brownie) == deployments.abi_hash(abi)
    assert deployments.abi_hash(abi[1:]) != deployments.abi_hash(abi)


# ------------------------------------------------------------------ one-line errors


def test_unreachable_rpc(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, "status", "--rpc-url", url, "--contract", "0x" + "11" * 20)
    assert_one_line_error(code, err, "cannot reach an Ethereum node", url)


def test_no_rpc_configured(capsys):
    code, _, err = run(capsys, "status")
    assert_one_line_error(code, err, "no node to talk to", "CL_RPC_URL")


def test_wrong_chain(chain, capsys, monkeypatch):
    use(monkeypatch, chain)
    code, _, err = run(capsys, "status", "--chain-id", "11155111")
    assert_one_line_error(code, err, "wrong chain", "1337", "11155111")


def test_no_contract_at_the_address(chain, capsys, monkeypatch):
    use(monkeypatch, chain)
    empty = Account.create().address
    code, _, err = run(capsys, "status", "--contract", empty)
    assert_one_line_error(code, err, "no contract code at", empty)


def test_no_deployment_record(chain, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain)
    code, _, err = run(capsys, "status", "--deployments-dir", str(tmp_path / "none"))
    assert_one_line_error(code, err, "no deployment recorded for chain 1337", "cl-client deploy")


def test_deployment_record_of_a_reset_chain(chain, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain)
    record = deployments.load(1337, chain["dir"])
    stale = deployments.Deployment(**{**record.__dict__, "block_hash": "0x" + "ab" * 32})
    deployments.write(stale, tmp_path)
    code, _, err = run(capsys, "status", "--deployments-dir", str(tmp_path))
    assert_one_line_error(code, err, "is not on this chain", "redeploy")


def test_missing_key(chain, capsys, monkeypatch):
    use(monkeypatch, chain)
    code, _, err = run(capsys, "stake", "--amount", "1")
    assert_one_line_error(code, err, "needs a key", "CL_PRIVATE_KEY", "--keystore")


def test_malformed_key(chain, capsys, monkeypatch):
    use(monkeypatch, chain)
    monkeypatch.setenv("CL_PRIVATE_KEY", "0xnot-a-key")
    code, _, err = run(capsys, "stake", "--amount", "1")
    line = assert_one_line_error(code, err, "CL_PRIVATE_KEY must be a 32-byte hex private key")
    assert "not-a-key" not in line


def test_keystore_with_wrong_password(chain, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain)
    keystore = write_keystore(tmp_path / "key.json", chain["node"].keys[ACC_KEYSTORE], "right", iterations=2**10)
    monkeypatch.setenv("CL_KEYSTORE_PASSWORD", "wrong")
    code, _, err = run(capsys, "stake", "--amount", "1", "--keystore", str(keystore))
    assert_one_line_error(code, err, "wrong password for keystore")


def test_a_key_is_never_taken_from_the_command_line(capsys):
    code, _, err = run(capsys, "stake", "--amount", "1", "--private-key", "0x" + "11" * 32)
    assert code == 2
    assert_one_line_error(code, err, "unrecognized arguments")


def test_bad_amount(capsys):
    code, _, err = run(capsys, "stake", "--amount", "lots")
    assert_one_line_error(code, err, "not an amount of ETH")


def test_withdraw_more_than_free_stake(chain, capsys, monkeypatch):
    use(monkeypatch, chain, ACC_WITHDRAW)
    gateway(chain, ACC_WITHDRAW).deposit(ETH)
    code, _, err = run(capsys, "withdraw", "--amount", "2")
    assert_one_line_error(code, err, "asked for 2 ETH but only 1 ETH of stake is free")
    assert gateway(chain, ACC_WITHDRAW).account_info().free == ETH


def test_withdraw_before_the_delay(chain, capsys, monkeypatch):
    use(monkeypatch, chain, ACC_WITHDRAW)
    gw = gateway(chain, ACC_WITHDRAW)
    gw.request_withdrawal(ETH // 2)
    code, _, err = run(capsys, "withdraw", "--complete")
    assert_one_line_error(code, err, "the unbonding delay is not over")
    assert gw.account_info().unbonding == ETH // 2


def test_withdraw_with_nothing_free_or_unbonding(chain, capsys, monkeypatch):
    use(monkeypatch, chain, ACC_NOSTAKE)
    code, _, err = run(capsys, "withdraw")
    assert_one_line_error(code, err, "no free stake to withdraw", "claim them first")
    code, _, err = run(capsys, "withdraw", "--complete")  # the contract's NothingToWithdraw, explained
    assert_one_line_error(code, err, "nothing is unbonding", "cl-client withdraw --amount ETH")


def test_participate_without_stake(chain, opened, shard, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, ACC_NOSTAKE)
    rid, _ = opened()
    code, _, err = run(capsys, "participate", "--round", str(rid), "--shard", str(shard),
                       "--journal-dir", str(tmp_path / "j"))
    assert_one_line_error(code, err, "free stake 0 ETH is below", "--stake")
    assert gateway(chain, ACC_NOSTAKE).submission(rid).status == Status.NONE


def test_participate_after_the_commit_phase(chain, opened, shard, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, ACC_LATE)
    rid, _ = opened()
    gw = gateway(chain, ACC_LATE)
    chain["node"].increase_time(gw.round(rid).commit_deadline + 1 - gw.latest_timestamp())
    assert gw.phase(rid) == Phase.REVEAL
    code, _, err = run(capsys, "participate", "--round", str(rid), "--shard", str(shard), "--stake", "1",
                       "--journal-dir", str(tmp_path / "j"))
    assert_one_line_error(code, err, f"round {rid} is past its commit phase", "too late")
    assert gw.account_info().free == 0  # nothing was deposited for a round it cannot join


def test_participate_with_a_corrupted_journal(chain, opened, shard, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, ACC_JOURNAL)
    rid, _ = opened()
    gw = gateway(chain, ACC_JOURNAL)
    path = Journal.path_for(tmp_path / "j", 1337, chain["address"], rid, gw.sender)
    path.parent.mkdir(parents=True)
    path.write_text('{"journal": {"state": "committed"}, "sha256": "0"}')
    code, _, err = run(capsys, "participate", "--round", str(rid), "--shard", str(shard), "--stake", "1",
                       "--journal-dir", str(tmp_path / "j"))
    assert_one_line_error(code, err, "is corrupt", str(path))
    assert path.read_text() == '{"journal": {"state": "committed"}, "sha256": "0"}'
    assert gw.submission(rid).status == Status.NONE


def test_participate_with_a_query_file_that_does_not_match_the_round(chain, opened, shard, digits, capsys,
                                                                       monkeypatch, tmp_path):
    use(monkeypatch, chain, ACC_HASH)
    rid, path = opened()
    write_queries(path, digits.X_query[20:40])  # same shape, other queries: another hash
    code, _, err = run(capsys, "participate", "--round", str(rid), "--shard", str(shard), "--stake", "1",
                       "--journal-dir", str(tmp_path / "j"))
    assert_one_line_error(code, err, "but the round expects", "refusing it")
    gw = gateway(chain, ACC_HASH)
    assert gw.submission(rid).status == Status.NONE
    assert gw.account_info().free == 0  # refused before --stake deposited anything


def test_participate_with_a_missing_shard(chain, opened, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, ACC_SHARD)
    rid, _ = opened()
    code, _, err = run(capsys, "participate", "--round", str(rid), "--shard", str(tmp_path / "nope.npz"))
    assert_one_line_error(code, err, "shard file", "does not exist")


def test_participate_with_a_shard_that_is_not_npz(chain, opened, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, ACC_SHARD)
    rid, _ = opened()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    code, _, err = run(capsys, "participate", "--round", str(rid), "--shard", str(bad))
    assert_one_line_error(code, err, "cannot load shard", "bad.npz")


def test_open_round_with_a_missing_query_file(chain, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, REQUESTER)
    code, _, err = run(capsys, "open-round", "--queries", str(tmp_path / "q.npz"), "--classes", "10")
    assert_one_line_error(code, err, "query file", "does not exist")


def test_open_round_with_an_unreadable_csv(chain, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, REQUESTER)
    csv = tmp_path / "q.csv"
    csv.write_text("1,2,3\n4,five,6\n")
    code, _, err = run(capsys, "open-round", "--queries", str(csv), "--classes", "10")
    assert_one_line_error(code, err, "cannot read query file")
    assert not (tmp_path / "q.npz").exists()


def test_open_round_with_a_phase_shorter_than_allowed(chain, digits, capsys, monkeypatch, tmp_path):
    use(monkeypatch, chain, REQUESTER)
    write_queries(tmp_path / "q.npz", digits.X_query[:5])
    code, _, err = run(capsys, "open-round", "--queries", str(tmp_path / "q.npz"), "--classes", "10",
                       "--commit-seconds", "1")
    assert_one_line_error(code, err, "phase duration 1 s is outside the allowed")


def test_status_of_an_unknown_round(chain, capsys, monkeypatch):
    use(monkeypatch, chain)
    code, _, err = run(capsys, "status", "--round", "999")
    assert_one_line_error(code, err, "round 999 does not exist")


def test_finalize_during_the_commit_phase(chain, opened, capsys, monkeypatch):
    use(monkeypatch, chain, REQUESTER)
    rid, _ = opened()
    code, _, err = run(capsys, "finalize", "--round", str(rid))
    assert_one_line_error(code, err, f"round {rid} is in its Commit phase", "--wait")


def test_claim_in_a_round_not_taken_part_in(chain, opened, capsys, monkeypatch):
    use(monkeypatch, chain, REQUESTER)
    rid, _ = opened()
    gw = gateway(chain, REQUESTER)
    chain["node"].increase_time(gw.round(rid).reveal_deadline + 1 - gw.latest_timestamp())
    gw.finalize(rid)  # no revealers: the round fails
    code, _, err = run(capsys, "claim", "--round", str(rid))
    assert_one_line_error(code, err, "did not take part in round")


# ------------------------------------------------------------------ cl-client node


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_node_runs_until_stopped_and_cleans_up(tmp_path, capsys):
    state_file = tmp_path / "node.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    proc = subprocess.Popen([sys.executable, "-m", "cl_client.cli", "node", "--accounts", "3", "--state-file",
                             str(state_file)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    node_pid = None
    try:
        wait_until(lambda: state_file.exists() or proc.poll() is not None, 60, "the state file")
        assert proc.poll() is None, proc.stderr.read()
        state = json.loads(state_file.read_text())
        node_pid = state["pid"]
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        assert state["supervisor_pid"] == proc.pid
        assert connect(state["url"]).eth.chain_id == 1337
        assert len(state["accounts"]) == 3

        code, out, err = run(capsys, "node", "--env", "2", "--state-file", str(state_file))
        assert code == 0, err
        assert out.splitlines() == [f"export CL_RPC_URL={state['url']}",
                                    f"export CL_PRIVATE_KEY={state['accounts'][2]['private_key']}"]

        code, out, err = run(capsys, "node", "--stop", "--state-file", str(state_file))
        assert code == 0, err
        assert proc.wait(timeout=30) == 0
        assert not _alive(node_pid)
        assert not state_file.exists()
    finally:
        for pid in (proc.pid, node_pid):
            if pid and _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_node_refuses_a_port_in_use(capsys, local_node):
    code, _, err = run(capsys, "node", "--port", str(local_node.port))
    assert_one_line_error(code, err, f"port {local_node.port}", "already in use")


def test_node_stop_without_a_node(capsys, tmp_path):
    code, _, err = run(capsys, "node", "--stop", "--state-file", str(tmp_path / "none.json"))
    assert_one_line_error(code, err, "no node recorded in")


# ------------------------------------------------------------------ brownie run scripts/deploy.py


@pytest.mark.skipif(not all(part.isidentifier() for part in ROOT.parts[1:]),
                    reason="`brownie run` imports scripts by their absolute path as a dotted module name, so it "
                           f"cannot run from {ROOT} (a folder name that is not a Python identifier)")
def test_brownie_deploy_script_writes_the_same_record(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    env["CL_DEPLOYMENTS_DIR"] = str(tmp_path)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{ROOT / 'node_modules' / '.bin'}:{env.get('PATH', '')}"
    result = subprocess.run([sys.executable, "tools/brownie_net.py", "run", "--", "brownie", "run",
                             "scripts/deploy.py", "main"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    record = deployments.load(1337, tmp_path)
    assert record.tool == "brownie scripts/deploy.py"
    assert record.abi_hash == deployments.packaged_abi_hash()
    assert record.tx_hash and record.tx_hash.startswith("0x")
    assert f"recorded in {tmp_path / '1337.json'}" in result.stdout


# ------------------------------------------------------------------ README helpers (issue 16)


def test_make_demo_data_writes_the_query_batch_and_shards(capsys, tmp_path):
    from cl_client.data import fetch_queries, file_hash, load_shard

    code, out, err = run(capsys, "make-demo-data", "--out", str(tmp_path / "d"))
    assert code == 0, err
    X = fetch_queries(str(tmp_path / "d" / "queries.npz"), file_hash(tmp_path / "d" / "queries.npz"))
    assert X.shape == (100, 64)
    sizes = [len(load_shard(tmp_path / "d" / f"shard-{i}.npz")[1]) for i in range(1, 5)]
    assert sum(sizes) == 1797 - 100 and "shard-4.npz" in out


def test_wait_for_a_phase_returns_once_the_round_reaches_it(chain, opened, capsys, monkeypatch):
    use(monkeypatch, chain)
    rid, _ = opened()
    code, out, _ = run(capsys, "wait", "--round", str(rid), "--phase", "commit")
    assert code == 0 and f"round {rid}: commit" in out
    code, _, err = run(capsys, "wait", "--round", str(rid), "--phase", "reveal", "--timeout", "0.2")
    assert_one_line_error(code, err, f"round {rid} is still in its Commit phase")
    gw = gateway(chain, REQUESTER)
    chain["node"].increase_time(gw.round(rid).commit_deadline + 1 - gw.latest_timestamp())
    code, out, _ = run(capsys, "wait", "--round", str(rid), "--phase", "reveal")
    assert code == 0 and f"round {rid}: reveal" in out


def test_wait_for_a_node_that_never_comes_is_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "wait", "--node", "--timeout", "0.2", "--state-file", str(tmp_path / "none.json"))
    assert_one_line_error(code, err, "no node answered")


def test_a_file_uri_on_a_non_local_chain_is_warned_about():
    from cl_client.cli import file_uri_warning

    assert file_uri_warning(1337, "file:///tmp/q.npz") is None
    assert file_uri_warning(31337, "file:///tmp/q.npz") is None
    assert file_uri_warning(11155111, "https://example.org/q.npz") is None
    warning = file_uri_warning(11155111, "file:///tmp/q.npz")
    assert "cannot fetch" in warning and "--uri https://" in warning
