"""What a journal is bound to: the chain's identity and the round's, beyond chain id and contract address.

A restarted dev chain has the same chain id, and a redeploy from the same key the same contract address,
so a journal keyed by those alone could be reused on another chain (journal.py, version 2). The binding:

    genesis          the hash of block 0: another chain (a restarted Ganache or Anvil has another one)
    code_hash        keccak256 of the contract's runtime code: another build at that address
    requester, queries_hash, commit_deadline, reveal_deadline
                     the round itself: another round with the same id (another query batch, another time)

The chain part is `Gateway.chain_identity()` (read once per Gateway, through its retry policy).
"""
from __future__ import annotations


def _hex(value) -> str:
    return "0x" + bytes(value).hex()


def round_binding(info) -> dict:
    """The fields of a RoundInfo that identify the round beyond its id."""
    return {"requester": str(info.requester).lower(), "queries_hash": _hex(info.queries_hash),
            "commit_deadline": int(info.commit_deadline), "reveal_deadline": int(info.reveal_deadline)}


def binding(gw, info) -> dict:
    """A journal's binding for round `info` on the gateway's chain and contract."""
    return gw.chain_identity() | round_binding(info)
