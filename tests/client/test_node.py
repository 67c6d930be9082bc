"""cl_client.node: the one list of backends and hardfork, the state file (NodeRecord), PID checks and the
Supervisor behind `cl-client node` (the command itself, as a subprocess, is in test_cli.py)."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from cl_client import node as node_mod
from cl_client.node import (BACKENDS, HARDFORK, LocalNode, NodeError, NodeRecord, Supervisor, is_ours,
                            pid_alive, port_is_free)

ROOT = Path(__file__).resolve().parents[2]


def _brownie_net():
    spec = importlib.util.spec_from_file_location("brownie_net", ROOT / "tools" / "brownie_net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ one list of backends, one hardfork


def test_brownie_config_compiles_for_the_nodes_hardfork():
    config = yaml.safe_load((ROOT / "brownie-config.yaml").read_text())
    assert config["compiler"]["evm_version"] == HARDFORK


def test_brownie_net_knows_exactly_the_backends_and_uses_the_hardfork():
    net = _brownie_net()
    assert set(net.BROWNIE_CMD) == set(BACKENDS)
    for backend in BACKENDS:
        entry = net._entry(backend, 8545)
        assert entry["cmd"] == net.BROWNIE_CMD[backend]
        assert entry["cmd_settings"]["evm_version"] == HARDFORK


def test_brownie_net_runs_anvil_under_prague_for_todays_fee_rules_and_refuses_it_on_ganache():
    net = _brownie_net()
    assert set(net.HARDFORKS) == set(BACKENDS) and all(HARDFORK in forks for forks in net.HARDFORKS.values())
    assert net._entry("anvil", 8545, net.PRAGUE)["cmd_settings"]["evm_version"] == "prague"
    with pytest.raises(ValueError, match="ganache runs one of shanghai here, not 'prague'"):
        net._entry("ganache", 8545, net.PRAGUE)


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="ganache"):
        LocalNode(backend="geth")


# ------------------------------------------------------------------ the state file


def _record(**kw) -> NodeRecord:
    values = dict(backend="ganache", url="http://127.0.0.1:1234", pid=None, chain_id=1337,
                  accounts=[{"address": "0x" + "11" * 20, "private_key": "0x" + "22" * 32}], supervisor_pid=None,
                  block_time=1.0, started_at=1700000000)
    values.update(kw)
    return NodeRecord(**values)


def test_record_is_written_private_and_read_back(tmp_path):
    path = tmp_path / "sub" / "node.json"
    record = _record()
    record.write(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert list(data) == ["backend", "url", "pid", "chain_id", "accounts", "supervisor_pid", "block_time",
                          "started_at"]  # what `cl-client node` has always written
    assert NodeRecord.read(path) == record
    assert [p.name for p in path.parent.iterdir()] == ["node.json"]  # no temp file left behind


def test_record_read_tolerates_unknown_keys_and_refuses_a_corrupt_file(tmp_path):
    path = tmp_path / "node.json"
    assert NodeRecord.read(path) is None
    path.write_text(json.dumps({"url": "http://127.0.0.1:9", "future_field": 1}))
    assert NodeRecord.read(path).url == "http://127.0.0.1:9"
    for text in ("{not json", "[1, 2]"):
        path.write_text(text)
        with pytest.raises(NodeError, match="cannot read node state file"):
            NodeRecord.read(path)


def test_private_key_of_an_account_the_node_does_not_have():
    record = _record()
    assert record.private_key(0) == "0x" + "22" * 32
    with pytest.raises(NodeError, match=r"test accounts 0\.\.0, not 3"):
        record.private_key(3)


# ------------------------------------------------------------------ PIDs


def test_a_reaped_or_foreign_pid_is_not_ours_and_is_never_signalled():
    done = subprocess.Popen(["true"])
    done.wait()
    assert not pid_alive(done.pid)
    assert not pid_alive(None)
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)  # alive, but not a node or a supervisor
    try:
        deadline = time.monotonic() + 10  # until exec: right after fork /proc may show no (or python's) cmdline
        while "sleep" not in Path(f"/proc/{other.pid}/cmdline").read_bytes().decode(errors="replace"):
            assert time.monotonic() < deadline, "sleep 60 did not start"
            time.sleep(0.01)
        assert pid_alive(other.pid)
        assert not is_ours(other.pid, BACKENDS)
        assert is_ours(other.pid, ("sleep",))
        record = _record(pid=other.pid, supervisor_pid=other.pid)
        assert not record.running()
        assert record.stop() is False
        assert other.poll() is None  # still running: stop() did not signal it
    finally:
        os.killpg(other.pid, signal.SIGKILL)
        other.wait(timeout=10)


def test_port_is_free():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert not port_is_free(s.getsockname()[1])
    assert port_is_free(node_mod.free_port())


# ------------------------------------------------------------------ Supervisor


def _fast_backend() -> str:
    return "anvil" if node_mod._project_bin("anvil") else "ganache"


def test_supervisor_records_the_node_and_cleans_up_on_sigterm(tmp_path):
    path = tmp_path / "node.json"
    node = LocalNode(backend=_fast_backend(), accounts=2)
    seen, events = {}, []
    before = signal.getsignal(signal.SIGTERM)

    def ready(record: NodeRecord) -> None:
        seen["record"] = record
        seen["on_disk"] = NodeRecord.read(path)
        seen["node_pid"] = node.pid
        os.kill(os.getpid(), signal.SIGTERM)  # what `cl-client node --stop` sends the supervisor

    Supervisor(node, path, poll=0.05).run(on_ready=ready, on_stop=lambda: events.append("stop"))
    record = seen["record"]
    assert seen["on_disk"] == record
    assert (record.url, record.pid, record.supervisor_pid) == (node.url, seen["node_pid"], os.getpid())
    assert len(record.accounts) == 2
    assert events == ["stop"]
    assert not path.exists()
    assert node.process is None and not pid_alive(seen["node_pid"])
    assert signal.getsignal(signal.SIGTERM) is before


def test_supervisor_reports_a_node_that_exits_on_its_own(tmp_path):
    path = tmp_path / "node.json"
    node = LocalNode(backend=_fast_backend(), accounts=1)

    def ready(record: NodeRecord) -> None:
        os.killpg(record.pid, signal.SIGKILL)

    with pytest.raises(NodeError, match=f"the {node.backend} node exited unexpectedly"):
        Supervisor(node, path, poll=0.05).run(on_ready=ready)
    assert not path.exists()
