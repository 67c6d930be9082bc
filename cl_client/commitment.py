"""The label encoding and the commitment checked by ConsensusLearning.reveal().

    commitment = keccak256(abi.encode(uint256 chainId, address contract, uint256 roundId,
                                      address participant, bytes32 keccak256(wire), bytes32 salt))

Labels are handled as one byte per query (each < K) everywhere in the client; `wire = pack_labels(labels, K)`
is what reveal sends, the Revealed event carries and the commitment hashes: 4 bits a label when
K <= PACKED_MAX_CLASSES (16), query 2i in the high nibble of byte i, query 2i + 1 in the low one, an odd Q's
last low nibble zero; one byte a label otherwise. See docs/protocol.md for the exact bytes.
"""
from __future__ import annotations

import secrets
from typing import Iterable

import numpy as np
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from .protocol import LIMITS

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


def is_packed(num_classes: int) -> bool:
    """Whether labels of a round with `num_classes` classes travel 4 bits each (K <= PACKED_MAX_CLASSES)."""
    return int(num_classes) <= LIMITS.packed_max_classes


def label_bytes(num_queries: int, num_classes: int) -> int:
    """The length of a reveal's labels: ceil(Q / 2) bytes when packed, else Q."""
    return (int(num_queries) + 1) // 2 if is_packed(num_classes) else int(num_queries)


def pack_labels(labels: bytes, num_classes: int) -> bytes:
    """The wire form of `labels` (one byte per query, each < K): what reveal sends and the commitment hashes.

    >>> pack_labels(bytes([0, 3, 9]), 10).hex()
    '0390'
    >>> pack_labels(bytes([0, 3, 200]), 256).hex()
    '0003c8'
    """
    labels = encode_labels(labels, num_classes)
    if not is_packed(num_classes):
        return labels
    row = np.frombuffer(labels + bytes(len(labels) % 2), dtype=np.uint8)
    return ((row[0::2] << 4) | row[1::2]).astype(np.uint8).tobytes()


def unpack_labels(wire: bytes, num_classes: int, num_queries: int) -> bytes:
    """`labels` back from their wire form (inverse of pack_labels), one byte per query.

    Raises ValueError if `wire` is not a valid reveal of `num_queries` labels below `num_classes`: wrong length,
    a label >= K, or a non-zero padding nibble.
    """
    wire, q = bytes(wire), int(num_queries)
    if len(wire) != label_bytes(q, num_classes):
        raise ValueError(f"{len(wire)} bytes of labels, expected {label_bytes(q, num_classes)} for Q={q}, K={num_classes}")
    if not is_packed(num_classes):
        return encode_labels(wire, num_classes)
    row = np.frombuffer(wire, dtype=np.uint8)
    out = np.empty(2 * len(row), dtype=np.uint8)
    out[0::2], out[1::2] = row >> 4, row & 0x0F
    if len(out) > q and out[q] != 0:
        raise ValueError(f"the padding nibble after label {q - 1} is {out[q]}, not 0")
    return encode_labels(out[:q].tobytes(), num_classes)


def labels_hash(labels: bytes, num_classes: int) -> bytes:
    """keccak256 of the labels' wire form: what the contract stores once they are revealed."""
    return keccak(pack_labels(labels, num_classes))


def commitment(chain_id: int, contract: str, round_id: int, participant: str, labels: bytes, salt: bytes,
               num_classes: int) -> bytes:
    """The 32-byte commitment for `labels` (one byte per query, each < `num_classes`) and a 32-byte `salt`."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes, got {len(salt)}")
    payload = encode(
        ["uint256", "address", "uint256", "address", "bytes32", "bytes32"],
        [int(chain_id), to_checksum_address(contract), int(round_id), to_checksum_address(participant),
         labels_hash(labels, num_classes), bytes(salt)],
    )
    return keccak(payload)
