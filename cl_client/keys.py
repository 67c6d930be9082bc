"""Loading the signing key: from the environment or an encrypted keystore, never from the command line.

    load_account()                                   # CL_PRIVATE_KEY, else None (read-only use)
    load_account(keystore="me.json", password_file="pw.txt")
    load_account(keystore="me.json")                 # password from CL_KEYSTORE_PASSWORD

Keystores are the standard Web3 Secret Storage JSON files (geth, `cast wallet`, MetaMask export,
`eth_account.Account.encrypt`). Every failure raises KeyLoadError with a one-line message that never
contains key material.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from eth_account import Account
from eth_account.signers.local import LocalAccount

ENV_KEY = "CL_PRIVATE_KEY"
ENV_KEYSTORE = "CL_KEYSTORE"
ENV_PASSWORD = "CL_KEYSTORE_PASSWORD"
# The order n of secp256k1's group: a private key is an integer 1 <= k < n.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class KeyLoadError(ValueError):
    """The key could not be loaded (message is one line and holds no secret)."""


def _from_hex(text: str, source: str) -> LocalAccount:
    text = text.strip()
    raw = text.removeprefix("0x").removeprefix("0X")
    if len(raw) != 64:
        raise KeyLoadError(f"{source} must be a 32-byte hex private key (64 hex digits, optional 0x), "
                           f"got {len(raw)} characters")
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        raise KeyLoadError(f"{source} is not hexadecimal") from None
    return _account(key, source)


def _account(key: bytes, source: str) -> LocalAccount:
    """The account of 32-byte `key`; KeyLoadError for 0 and any k >= n (eth-account accepts 0 and signs with it)."""
    k = int.from_bytes(bytes(key), "big")
    if k == 0:
        raise KeyLoadError(f"{source} is the all-zero key, which is not a valid secp256k1 private key")
    if k >= SECP256K1_N:
        raise KeyLoadError(f"{source} is not a valid secp256k1 private key (it must be below the curve order n)")
    try:
        return Account.from_key(key)
    except Exception:  # noqa: BLE001
        raise KeyLoadError(f"{source} is not a valid secp256k1 private key") from None


def _read_password(password_file: str | Path | None, env: Mapping[str, str]) -> str:
    if password_file is not None:
        path = Path(password_file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise KeyLoadError(f"cannot read password file {path}: {exc.strerror or exc}") from None
        return text.rstrip("\r\n")
    if ENV_PASSWORD in env:
        return env[ENV_PASSWORD]
    raise KeyLoadError(f"keystore needs a password: give --password-file FILE or set {ENV_PASSWORD}")


def load_keystore(path: str | Path, password: str) -> LocalAccount:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeyLoadError(f"keystore file {path} does not exist") from None
    except OSError as exc:
        raise KeyLoadError(f"cannot read keystore file {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise KeyLoadError(f"keystore file {path} is not JSON") from None
    if not isinstance(data, dict) or not ("crypto" in data or "Crypto" in data):
        raise KeyLoadError(f"{path} is not an encrypted keystore (no 'crypto' section)")
    try:
        key = Account.decrypt(data, password)
    except ValueError as exc:
        if "mac" in str(exc).lower():
            raise KeyLoadError(f"wrong password for keystore {path}") from None
        raise KeyLoadError(f"cannot decrypt keystore {path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - malformed crypto parameters
        raise KeyLoadError(f"cannot decrypt keystore {path} ({type(exc).__name__})") from None
    return _account(key, f"the key in keystore {path}")


def load_account(keystore: str | Path | None = None, password_file: str | Path | None = None,
                 env: Mapping[str, str] | None = None) -> LocalAccount | None:
    """The account to sign with, or None if no key is configured.

    A keystore (argument, else env CL_KEYSTORE) takes precedence over env CL_PRIVATE_KEY.
    """
    env = os.environ if env is None else env
    keystore = keystore or env.get(ENV_KEYSTORE) or None
    if keystore:
        return load_keystore(keystore, _read_password(password_file, env))
    if password_file is not None:
        raise KeyLoadError("--password-file needs --keystore FILE (or CL_KEYSTORE)")
    if env.get(ENV_KEY):
        return _from_hex(env[ENV_KEY], ENV_KEY)
    return None


def write_keystore(path: str | Path, private_key: bytes | str, password: str, *,
                   iterations: int | None = None) -> Path:
    """Encrypt `private_key` into a keystore file readable only by its owner (for set-up and tests).

    `iterations` is the scrypt work factor n (a power of two; default eth-account's 2**18, ~1 s to
    decrypt); only tests should lower it."""
    path = Path(path)
    data = Account.encrypt(private_key, password, iterations=iterations)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
    return path
