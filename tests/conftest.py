"""Shared by every test suite (Brownie and plain pytest): tests/ on sys.path, so `import oracle` works."""
import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
