"""cl_client.keys: a key that is not a valid secp256k1 scalar (0, or >= n) is refused with one line."""
from __future__ import annotations

import pytest

from cl_client.keys import ENV_KEY, SECP256K1_N, KeyLoadError, load_account, load_keystore, write_keystore


@pytest.mark.parametrize("key, words", [
    ("0x" + "00" * 32, "all-zero key"),
    ("00" * 32, "all-zero key"),
    (hex(SECP256K1_N), "below the curve order n"),
    ("0x" + "ff" * 32, "below the curve order n"),
])
def test_an_invalid_scalar_is_refused_in_one_line(key, words):
    with pytest.raises(KeyLoadError) as exc_info:
        load_account(env={ENV_KEY: key})
    message = str(exc_info.value)
    assert "\n" not in message and words in message and ENV_KEY in message
    assert key.removeprefix("0x")[:16] not in message  # no key material


def test_the_largest_valid_key_is_accepted():
    assert load_account(env={ENV_KEY: hex(SECP256K1_N - 1)}).address.startswith("0x")


def test_a_keystore_holding_the_zero_key_is_refused(tmp_path):
    path = write_keystore(tmp_path / "zero.json", b"\x00" * 32, "pw", iterations=2)
    with pytest.raises(KeyLoadError) as exc_info:
        load_keystore(path, "pw")
    assert "all-zero key" in str(exc_info.value)
