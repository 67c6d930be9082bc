"""Small helpers shared by the plain-pytest suites (tests/ is on sys.path: see tests/conftest.py)."""
import os
import time

import pytest


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
