"""Fixtures for the live-network path: a standalone node that mines on its own and real OS processes.

    processes       processes.start(argv, env, name) -> Popen of a child in its own session, its stdout and
                    stderr in files; every child still running at the end is SIGKILLed by process group
                    (even when the test fails), and `processes.logs()` gives their output for messages.
    make_processes  make_processes(directory) -> a Processes for a module's own use (closed at its end);
                    test_multiprocess.py runs several scenarios at once, each with its own.
(Each test starts and stops its own nodes, by PID: cl_client.node.LocalNode.)
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "live: runs separate OS processes against a node mining on its own clock")


class Processes:
    def __init__(self, directory: Path):
        self.directory = directory
        self.children: list[subprocess.Popen] = []
        self._files = []

    def start(self, argv: list[str], env: dict, name: str, cwd: Path | None = None) -> subprocess.Popen:
        out = open(self.directory / f"{name}.out", "ab")
        err = open(self.directory / f"{name}.err", "ab")
        self._files += [out, err]
        proc = subprocess.Popen(argv, env=env, cwd=cwd or self.directory, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.children.append(proc)
        return proc

    def stderr(self, name: str) -> str:
        path = self.directory / f"{name}.err"
        return path.read_text(errors="replace") if path.exists() else ""

    def stdout(self, name: str) -> str:
        path = self.directory / f"{name}.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        parts = []
        for name in sorted({p.name.rsplit(".", 1)[0] for p in self.directory.glob("*.err")}):
            parts.append(f"--- {name} stdout:\n{self.stdout(name)[-1500:]}\n--- {name} stderr:\n{self.stderr(name)[-3000:]}")
        return "\n".join(parts)

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)

    def close(self) -> None:
        for proc in self.children:
            self.kill(proc)
        for fh in self._files:
            fh.close()


@pytest.fixture
def processes(tmp_path):
    directory = tmp_path / "proc"
    directory.mkdir()
    procs = Processes(directory)
    try:
        yield procs
    finally:
        procs.close()


@pytest.fixture(scope="module")
def make_processes():
    made: list[Processes] = []

    def make(directory: Path) -> Processes:
        made.append(Processes(directory))
        return made[-1]

    try:
        yield make
    finally:
        for procs in made:
            procs.close()
