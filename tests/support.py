"""Small helpers shared by the plain-pytest suites (tests/ is on sys.path: see tests/conftest.py)."""
import time


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
