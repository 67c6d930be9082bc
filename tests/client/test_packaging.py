"""A participant's install: the client works without the lab's extra (matplotlib)."""
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCK_MATPLOTLIB = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, Block())
"""


def test_matplotlib_is_only_in_the_sim_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("matplotlib") for d in project["dependencies"])
    assert any(d.startswith("matplotlib") for d in project["optional-dependencies"]["sim"])


def test_the_client_imports_and_runs_without_matplotlib():
    code = BLOCK_MATPLOTLIB + """
import cl_client.cli, cl_client.participant, cl_client.chain, cl_client.aggregation, cl_client.sim.run
from cl_client.cli import build_parser
build_parser().parse_args(["status", "--round", "1"])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr


def test_simulate_without_matplotlib_says_what_to_install_in_one_line(tmp_path):
    code = BLOCK_MATPLOTLIB + f"""
from cl_client.cli import main
raise SystemExit(main(["simulate", "--participants", "4", "--out", {str(tmp_path)!r}, "--quiet"]))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: plots need matplotlib: pip install 'cl-client[sim]' (or pass --no-plots)"
