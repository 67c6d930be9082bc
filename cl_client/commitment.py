"""The commitment encoding checked by ConsensusLearning.reveal().

    commitment = keccak256(abi.encode(uint256 chainId, address contract, uint256 roundId,
                                      address participant, bytes32 keccak256(labels), bytes32 salt))

`labels` is one byte per query (each < K). See docs/protocol.md for the exact bytes.
"""
from __future__ import annotations

import secrets
from typing import Iterable

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

SALT_BYTES = 32


def new_salt() -> bytes:
    """A fresh 32-byte secret salt from the OS CSPRNG."""
    return secrets.token_bytes(SALT_BYTES)


def encode_labels(labels: Iterable[int], num_classes: int | None = None) -> bytes:
    """Labels as the contract wants them: one byte per query.

    >>> encode_labels([0, 3, 9], num_classes=10).hex()
    '000309'
    """
    out = bytes(int(x) for x in labels) if not isinstance(labels, (bytes, bytearray)) else bytes(labels)
    if num_classes is not None:
        bad = [(i, b) for i, b in enumerate(out) if b >= num_classes]
        if bad:
            i, b = bad[0]
            raise ValueError(f"label {b} at index {i} is not below K={num_classes}; labels must be 0..K-1")
    return out


def labels_hash(labels: bytes) -> bytes:
    return keccak(bytes(labels))


def commitment(chain_id: int, contract: str, round_id: int, participant: str, labels: bytes, salt: bytes) -> bytes:
    """The 32-byte commitment for `labels` (bytes, one per query) and a 32-byte `salt`."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes, got {len(salt)}")
    payload = encode(
        ["uint256", "address", "uint256", "address", "bytes32", "bytes32"],
        [int(chain_id), to_checksum_address(contract), int(round_id), to_checksum_address(participant),
         labels_hash(labels), bytes(salt)],
    )
    return keccak(payload)
