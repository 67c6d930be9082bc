"""The README's "Run a participant" block, run as written with bash in an empty folder.

It starts its own `cl-client node` (a block a second), deploys, makes the demo data, runs four participant
processes (one Byzantine flipper) through a real 60 s commit and 40 s reveal phase, waits on states (never
on fixed sleeps) and stops the node. Every participant must end claimed with the expected outcome.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cl_client.node import NodeRecord

ROOT = Path(__file__).resolve().parents[2]


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Run a participant"):]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


@pytest.mark.live
def test_the_readme_participant_block_runs_as_written(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("set -e\n" + readme_block())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CL_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    try:
        proc = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    finally:
        record = NodeRecord.read(tmp_path / ".cl-node.json")  # still there only if the block did not stop it
        if record:
            record.stop()
    (tmp_path / "run.out").write_text(proc.stdout)  # what docs/live.md records
    logs = {i: (tmp_path / f"participant-{i}.log").read_text() for i in range(1, 5)}
    everything = proc.stdout + "".join(f"\n--- participant {i}\n{log}" for i, log in logs.items())
    assert proc.returncode == 0, everything
    for i, log in logs.items():
        last = log.strip().splitlines()[-1]
        want = "deviated" if i == 4 else "agreed"
        assert last.startswith(f"round 1: {want} (") and last.endswith("; claimed"), everything
        assert "round finalized" in last, everything
        assert ("penalty 0.1 ETH" if i == 4 else "penalty 0 ETH") in last, everything
    assert "stopped the node" in proc.stdout, everything
    assert "you: AGREED, stake 1 ETH" in proc.stdout and "; claimed" in proc.stdout, everything
