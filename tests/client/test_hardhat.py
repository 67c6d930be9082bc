"""Issue 16, item 7 on a real Hardhat 2 node: every node error a user can cause (funds, nonce, gas, key) is put
into words, in one line, from what Hardhat itself answers (its messages differ from geth's, Anvil's and
Ganache's: "Sender doesn't have enough funds to send tx. The max upfront cost is: <wei> and the sender's
account only has: <wei>", "Nonce too high. Expected nonce to be 0 but got 9. Note that transactions can't be
queued when automining.", ...). The canned messages of all four node kinds are in test_chain_faults.py.

This module's chain: a Hardhat node with a block per transaction (automining; with interval mining Hardhat
queues a too-high nonce or a too-low fee cap instead of refusing them).
"""
from __future__ import annotations

import pytest

from cl_client.chain import ChainError
from cl_client.cli import main
from cl_client.node import LocalNode
from support import cli_deployment
from test_chain import assert_one_line

ETH = 10**18


@pytest.fixture(scope="module")
def local_node():
    """This module's chain (conftest's contract/gateway fixtures build on it): Hardhat, automining."""
    with LocalNode(backend="hardhat", accounts=8, block_time=0, balance_eth=10) as node:
        yield node


def _tx(gw, **fields) -> dict:
    latest = gw.w3.eth.get_block("latest")
    tx = {"from": gw.sender, "to": gw.sender, "value": 0, "gas": 21_000, "chainId": gw.chain_id,
          "maxPriorityFeePerGas": 10**9, "maxFeePerGas": 2 * int(latest["baseFeePerGas"]) + 10**9,
          "nonce": gw.w3.eth.get_transaction_count(gw.sender)}
    tx.update(fields)
    return tx


def test_a_deposit_beyond_the_balance_says_what_it_needs_and_holds_in_eth(accounts):
    (gw,) = accounts.take(1, deposit=0)
    with pytest.raises(ChainError) as exc_info:
        gw.deposit(20 * ETH)
    assert_one_line(exc_info, "deposit:", f"{gw.sender} cannot pay gas * price + value", "holds 10 ETH")
    assert "upfront cost" not in str(exc_info.value)  # Hardhat's wei figures, put into ETH


@pytest.mark.parametrize("what, fields, words", [
    ("gas over the block limit", {"gas": 10**9}, "gas limit 1,000,000,000 is above the block gas limit of 30,000,000"),
    ("gas under the intrinsic cost", {"gas": 100}, "below what it costs before running any code (21,000 gas)"),
    ("nonce ahead", {"nonce": 9}, "nonce 9 of"),
    ("fee cap under the base fee", {"maxFeePerGas": 1, "maxPriorityFeePerGas": 1}, "below the block's base fee"),
], ids=["gas-over-block-limit", "gas-under-intrinsic", "nonce-ahead", "fee-under-base-fee"])
def test_hardhat_refusals_are_put_into_words(accounts, what, fields, words):
    (gw,) = accounts.take(1, deposit=0)
    with pytest.raises(ChainError) as exc_info:
        gw._send_signed(_tx(gw, **fields), "commit")
    assert_one_line(exc_info, "commit", words)
    assert "Expected nonce" not in str(exc_info.value) and "Note that" not in str(exc_info.value)


def test_a_nonce_already_used_is_replaced_by_the_nodes_next_one(accounts):
    """Hardhat: "Nonce too low. Expected nonce to be 1 but got 0." -- the client takes the node's next nonce."""
    (gw,) = accounts.take(1)  # the deposit used nonce 0
    tx_hash = gw._send_signed(_tx(gw, nonce=0), "commit")
    assert gw.w3.eth.get_transaction(tx_hash)["nonce"] == 1


def test_the_cli_says_it_in_one_line_on_hardhat(local_node, tmp_path, monkeypatch, capsys, clean_env):
    env, address = cli_deployment(local_node, tmp_path / "deployments", deployer=7)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CL_PRIVATE_KEY", "0x" + local_node.keys[6].hex())
    assert main(["stake", "--amount", "50"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("cl-client: error: deposit: ") and "cannot pay" in err, err
    monkeypatch.setenv("CL_PRIVATE_KEY", "0x" + "00" * 32)  # the all-zero key
    assert main(["stake", "--amount", "1"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("cl-client: error: ") and "key" in err, err
