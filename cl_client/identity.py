"""What a journal is bound to: the chain's identity and the round's, beyond chain id and contract address.

A restarted dev chain has the same chain id, and a redeploy from the same key the same contract address,
so a journal keyed by those alone could be reused on another chain (journal.py, version 2). The binding:

    genesis          the hash of block 0: another chain (a restarted Ganache or Anvil has another one)
    code_hash        keccak256 of the contract's runtime code: another build at that address
    requester, queries_hash, commit_deadline, reveal_deadline
                     the round itself: another round with the same id (another query batch, another time)

Reads go through the Gateway's web3 (`gw.w3`, with its retry policy); `chain_binding` is cached per Gateway object.
"""
from __future__ import annotations

import weakref

from eth_utils import keccak

_CHAIN: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _hex(value) -> str:
    return "0x" + bytes(value).hex()


def chain_binding(gw) -> dict:
    """{"genesis", "code_hash"} of the gateway's chain and contract (read once per Gateway)."""
    try:
        return dict(_CHAIN[gw])
    except (KeyError, TypeError):
        pass
    w3 = gw.w3
    call = getattr(gw, "_rpc", lambda read: read())  # the Gateway's one retry policy
    genesis = call(lambda: w3.eth.get_block(0))["hash"]
    code = call(lambda: w3.eth.get_code(w3.to_checksum_address(gw.address)))
    value = {"genesis": _hex(genesis), "code_hash": _hex(keccak(bytes(code)))}
    try:
        _CHAIN[gw] = value
    except TypeError:
        pass
    return dict(value)


def round_binding(info) -> dict:
    """The fields of a RoundInfo that identify the round beyond its id."""
    return {"requester": str(info.requester).lower(), "queries_hash": _hex(info.queries_hash),
            "commit_deadline": int(info.commit_deadline), "reveal_deadline": int(info.reveal_deadline)}


def binding(gw, info) -> dict:
    """A journal's binding for round `info` on the gateway's chain and contract."""
    return chain_binding(gw) | round_binding(info)
