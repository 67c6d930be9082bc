"""The v2 rules the simulation measures with: cl_client.protocol's, plus two measurement helpers.

`mode_count`, `agrees` and `audit_passes` are protocol.py's one statement of the rules (re-exported; the
audit test takes arrays here); `kappa` and the per-voter `audit_hits` over a label matrix are measurement
helpers (protocol.audit_hits scores one voter against an Audit object).
"""
from __future__ import annotations

import numpy as np

from .. import protocol
from ..protocol import agrees, mode_count

__all__ = ["BPS", "agrees", "audit_hits", "audit_passes", "kappa", "mode_count"]

BPS = protocol.BPS


def kappa(match_count, num_queries: int, mode: int):
    """The chance-corrected agreement (matches - M) / (Q - M) that `agrees` compares with bps / 10000."""
    m = np.asarray(match_count, dtype=float)
    return (m - mode) / max(1, int(num_queries) - int(mode))


def audit_hits(labels, indices, audit_labels) -> np.ndarray:
    """Per voter (rows of `labels`), how many audit queries it labelled with the audit's label."""
    labels = np.atleast_2d(np.asarray(labels, dtype=np.int64))
    idx = np.asarray(indices, dtype=np.int64)
    return (labels[:, idx] == np.asarray(audit_labels, dtype=np.int64)[None, :]).sum(axis=1)


def audit_passes(hits, g: int, bound_bps: int):
    """protocol.audit_passes for one count or an array of counts."""
    h = np.asarray(hits)
    out = np.array([bool(protocol.audit_passes(int(x), int(g), int(bound_bps))) for x in h.ravel()])
    return bool(out[0]) if h.ndim == 0 else out.reshape(h.shape)
