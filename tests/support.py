"""Small helpers shared by the plain-pytest suites (tests/ is on sys.path: see tests/conftest.py).

    wait_until      poll a predicate until it holds (state-driven waits, never fixed sleeps)
    cli_deployment  deploy with `cl-client deploy`, CL_* of the caller's shell out of the way
    run_cli, assert_one_line_error   `cl-client ARGV` in-process, and the check of a user mistake's one line
    use_chain       point the CL_* environment (and optionally the key) at a cli_deployment chain
    make_participants   cl_client Participants for gateways x strategies, learners cycled
    FlakyRPC        a JSON-RPC endpoint on 127.0.0.1 that fails on purpose, or a counting (and faulting) proxy
                    in front of a real node (client fault tests, the live fault matrix)
"""
import json
import os
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests


def wait_until(predicate, timeout: float, what: str, logs=lambda: ""):
    """Poll `predicate` every 0.2 s until it returns something truthy (returned); AssertionError naming
    `what` (and `logs()`) after `timeout` wall seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}".rstrip())


def cli_deployment(local_node, deploy_dir, deployer: int) -> tuple[dict, str]:
    """Deploy with `cl-client deploy` (key `deployer`, deployment record in deploy_dir), with every CL_*
    variable of the caller's environment out of the way; returns (env for later commands, address)."""
    from cl_client import deployments
    from cl_client.cli import main

    env = {"CL_RPC_URL": local_node.url, "CL_DEPLOYMENTS_DIR": str(deploy_dir)}
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("CL_"):
                mp.delenv(name)
        for k, v in env.items():
            mp.setenv(k, v)
        mp.setenv("CL_PRIVATE_KEY", "0x" + local_node.keys[deployer].hex())
        assert main(["deploy", "--quiet"]) == 0
    return env, deployments.load(1337, deploy_dir).address


def use_chain(monkeypatch, chain: dict, key_index: int | None = None) -> None:
    """Set the CL_* variables of `chain` (a dict with "env" and "node", as the CLI tests' fixtures build it
    from cli_deployment) and, with `key_index`, CL_PRIVATE_KEY to that node key."""
    for k, v in chain["env"].items():
        monkeypatch.setenv(k, v)
    if key_index is not None:
        monkeypatch.setenv("CL_PRIVATE_KEY", "0x" + chain["node"].keys[key_index].hex())


def make_participants(gateways, strategies, learners, journal_dir, **kwargs) -> list:
    """One cl_client Participant per gateway, with the named strategy, learners cycled, rng = its index."""
    from cl_client.participant import Participant
    from cl_client.strategies import make_strategy

    return [Participant(gw, learners[i % len(learners)], make_strategy(strategy), journal_dir, rng=i, **kwargs)
            for i, (gw, strategy) in enumerate(zip(gateways, strategies))]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`cl-client ARGV` in-process: (exit code, stdout, stderr)."""
    from cl_client.cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *phrases: str) -> str:
    """A failed CLI run reported one `cl-client: error: ...` line, no traceback, holding every phrase."""
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cl-client: error: "), err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


ANSWERS = {"eth_chainId": hex(1337), "eth_blockNumber": hex(16)}  # FlakyRPC without an upstream


class FlakyRPC:
    """A JSON-RPC endpoint on 127.0.0.1 that fails the next `fail` requests (or all until `down_until`,
    time.monotonic()), then answers; also a counting proxy in front of a real node (`upstream`).

    mode "503": HTTP 503; mode "reset": the connection is reset (RST) without a response; mode "silent": the
    request is read and never answered (until the server stops).
    Answers: `hook(method, params)` first (a reply dict {"result": ...} / {"error": ...}, or None to go on);
    then the upstream node if given; else ANSWERS (eth_chainId -> 1337, eth_blockNumber -> 16) and any other
    method -> a JSON-RPC error.
    `count[method]` counts every request, `calls` lists (monotonic time, method, params).
    """

    def __init__(self, mode: str = "503", upstream: str | None = None, hook=None):
        self.mode, self.fail, self.count, self.calls = mode, 0, Counter(), []
        self.upstream, self.hook, self.down_until = upstream, hook, 0.0
        self.stopped = threading.Event()
        rpc = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                rpc.count[request["method"]] += 1
                rpc.calls.append((time.monotonic(), request["method"], request.get("params", [])))
                if rpc.fail > 0 or time.monotonic() < rpc.down_until:
                    rpc.fail = max(0, rpc.fail - 1)
                    if rpc.mode == "silent":
                        rpc.stopped.wait()
                        return
                    if rpc.mode == "reset":
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        self.connection.close()
                        self.close_connection = True
                        return
                    self.send_error(503)
                    return
                reply = rpc.hook(request["method"], request.get("params", [])) if rpc.hook else None
                if reply is None and rpc.upstream:
                    try:
                        answer = requests.post(rpc.upstream, data=body, headers={"Content-Type": "application/json"},
                                               timeout=30).content
                    except requests.RequestException:  # the node dropped us: drop the client the same way
                        self.close_connection = True
                        return
                else:
                    if reply is None and request["method"] in ANSWERS:
                        reply = {"result": ANSWERS[request["method"]]}
                    elif reply is None:
                        reply = {"error": {"code": -32601, "message": f"{request['method']} not served here"}}
                    answer = json.dumps({"jsonrpc": "2.0", "id": request["id"], **reply}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):  # the client is gone (a SIGKILLed participant)
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def rate(self, since: float, until: float | None = None) -> float:
        """Requests per second between monotonic times `since` and `until` (default now)."""
        until = time.monotonic() if until is None else until
        return sum(1 for t, _, _ in self.calls if since <= t <= until) / max(until - since, 1e-9)

    def __enter__(self) -> "FlakyRPC":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()
