"""The label wire format (cl_client.commitment) against the independent oracle's: packing for K <= 16, one
byte a label above, the inverse and its refusals, and the commitment over the packed bytes."""
import numpy as np
import pytest

import oracle
from cl_client.commitment import commitment, is_packed, label_bytes, pack_labels, unpack_labels

CONTRACT = "0x" + "ab" * 20
WHO = "0x" + "cd" * 20


@pytest.mark.parametrize("k", [2, 3, 10, 15, 16, 17, 200, 256])
@pytest.mark.parametrize("q", [1, 2, 31, 32, 33, 64, 65, 1023])
def test_pack_matches_the_oracle_and_unpack_inverts_it(q, k):
    rng = np.random.default_rng(q * 1000 + k)
    labels = rng.integers(0, k, size=q).astype(np.uint8).tobytes()
    wire = pack_labels(labels, k)
    assert wire == oracle.pack_labels(labels, k)
    assert len(wire) == label_bytes(q, k) == ((q + 1) // 2 if k <= 16 else q)
    assert unpack_labels(wire, k, q) == labels
    salt = bytes(range(32))
    assert commitment(5, CONTRACT, 7, WHO, labels, salt, k) == oracle.commitment(5, CONTRACT, 7, WHO, labels, salt, k)


def test_the_nibble_order_is_high_first():
    assert pack_labels(bytes([1, 2, 3]), 10) == bytes([0x12, 0x30])
    assert pack_labels(bytes([1, 2, 3]), 17) == bytes([1, 2, 3])
    assert is_packed(16) and not is_packed(17)


def test_the_commitment_depends_on_k_through_the_encoding():
    labels, salt = bytes([1, 2, 3, 4]), bytes(32)
    assert commitment(1, CONTRACT, 1, WHO, labels, salt, 16) != commitment(1, CONTRACT, 1, WHO, labels, salt, 17)
    assert commitment(1, CONTRACT, 1, WHO, labels, salt, 10) == commitment(1, CONTRACT, 1, WHO, labels, salt, 16)


@pytest.mark.parametrize("wire, k, q, message", [
    (bytes([0x12]), 10, 3, "1 bytes of labels, expected 2 for Q=3, K=10"),
    (bytes([0x12, 0x34]), 10, 3, "the padding nibble after label 2 is 4, not 0"),
    (bytes([0x1A]), 10, 2, "label 10 at index 1 is not below K=10"),
    (bytes([7, 200]), 100, 2, "label 200 at index 1 is not below K=100"),
])
def test_unpack_refuses_what_reveal_would_refuse(wire, k, q, message):
    with pytest.raises(ValueError, match=message):
        unpack_labels(wire, k, q)


def test_a_label_that_does_not_fit_k_is_refused_before_packing():
    with pytest.raises(ValueError, match="label 16 at index 0 is not below K=16"):
        pack_labels(bytes([16]), 16)
