"""The v2 rules the simulation measures with, from cl_client.protocol.

Contract v2 (issue 13) adds the chance-corrected agreement rule and the audit bound; their one Python
statement is cl_client.protocol (`mode_count`, `agrees(matches, q, bps, mode)`, `audit_hits`,
`audit_passes`), merged from issue13-client: `mode_count`, `agrees` and `audit_passes` delegate to it. The
fallbacks below (a transcription of contracts/ConsensusLearning.sol v2, written before that protocol.py
landed) are dead on this branch and can be deleted; `kappa` and the per-voter `audit_hits` are measurement
helpers (protocol.audit_hits scores one voter against an Audit object).
"""
from __future__ import annotations

import inspect

import numpy as np

from .. import protocol

BPS = protocol.BPS


def mode_count(consensus, num_classes: int) -> int:
    """M: how often the consensus's most frequent label occurs in it."""
    if hasattr(protocol, "mode_count"):
        return int(protocol.mode_count(consensus, num_classes))
    c = np.asarray(consensus, dtype=np.int64)
    return int(np.bincount(c, minlength=int(num_classes)).max()) if c.size else 0


def _protocol_is_v2() -> bool:
    return len(inspect.signature(protocol.agrees).parameters) >= 4


def agrees(match_count, num_queries: int, agreement_bps: int, mode: int):
    """Chance-corrected agreement: matches >= M and (matches - M) * 10000 >= bps * (Q - M)."""
    if _protocol_is_v2():
        return protocol.agrees(match_count, num_queries, agreement_bps, mode)
    m = np.asarray(match_count, dtype=np.int64)
    out = (m >= mode) & ((m - mode) * BPS >= int(agreement_bps) * (int(num_queries) - int(mode)))
    return bool(out) if out.ndim == 0 else out


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
    """hits * 10000 >= bound * G (everyone passes without an audit, G = 0)."""
    if hasattr(protocol, "audit_passes"):
        h = np.asarray(hits)
        out = np.array([bool(protocol.audit_passes(int(x), int(g), int(bound_bps))) for x in h.ravel()])
        return bool(out[0]) if h.ndim == 0 else out.reshape(h.shape)
    h = np.asarray(hits, dtype=np.int64)
    out = h * BPS >= int(bound_bps) * int(g)
    return bool(out) if out.ndim == 0 else out
