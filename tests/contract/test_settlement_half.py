"""The settlement half (ConsensusLearningSettlement): created by ConsensusLearning's constructor at the CREATE
address of nonce 1, useful only through ConsensusLearning (delegatecall: called directly it runs on its own empty
storage), with no immutables, so every deployment of either half has the same runtime code (the client recognises
the contract by both hashes)."""
import pytest
from brownie import ConsensusLearning, ConsensusLearningSettlement, web3
from eth_utils import keccak, to_checksum_address

from contract_helpers import ETHER, commit, open_round, reveal, to_finalizable, to_reveal_phase


def settlement_of(address: str) -> str:
    """keccak256(rlp([address, 1]))[12:], computed here independently of the contract."""
    return to_checksum_address(keccak(b"\xd6\x94" + bytes.fromhex(address[2:]) + b"\x01")[12:])


def reverts_with(address: str, data: str) -> str:
    with pytest.raises(Exception) as info:
        web3.eth.call({"to": address, "data": data})
    return str(info.value)


def test_the_settlement_half_lives_at_the_nonce_1_address(cl):
    code = bytes(web3.eth.get_code(settlement_of(cl.address)))
    assert code == bytes.fromhex(ConsensusLearningSettlement._build["deployedBytecode"].removeprefix("0x"))


def test_two_deployments_have_the_same_runtime_code_in_both_halves(cl, owner):
    other = ConsensusLearning.deploy({"from": owner})
    assert web3.eth.get_code(other.address) == web3.eth.get_code(cl.address)
    assert settlement_of(other.address) != settlement_of(cl.address)
    assert web3.eth.get_code(settlement_of(other.address)) == web3.eth.get_code(settlement_of(cl.address))


@pytest.mark.parametrize("call", ["finalize", "abandon", "revealAudit"])
def test_called_directly_the_settlement_half_finds_no_round(cl, requester, accounts, call):
    # a finalizable round exists in ConsensusLearning's storage, none in the settlement's own
    rid = open_round(cl, requester, q=8, k=4)
    cl.deposit({"from": accounts[3], "value": ETHER})
    ballot = commit(cl, rid, accounts[3], bytes(8))
    to_reveal_phase(cl, rid)
    reveal(cl, rid, [ballot])
    to_finalizable(cl, rid)
    settlement = ConsensusLearningSettlement.at(settlement_of(cl.address))
    args = {"finalize": (rid, [accounts[3].address], [bytes(8)]), "abandon": (rid,),
            "revealAudit": (rid, b"", b"", b"\x00" * 32)}[call]
    data = getattr(settlement, call).encode_input(*args)
    selector = keccak(b"UnknownRound(uint256)")[:4].hex()
    assert selector in reverts_with(settlement.address, data).lower()


def test_finalize_through_the_main_contract_reaches_the_settlement_half_and_its_errors(cl, requester, accounts):
    rid = open_round(cl, requester, q=8, k=4)
    ballots = []
    for i in range(3):
        cl.deposit({"from": accounts[3 + i], "value": ETHER})
        ballots.append(commit(cl, rid, accounts[3 + i], bytes([i % 4] * 8)))
    to_reveal_phase(cl, rid)
    reveal(cl, rid, ballots)
    to_finalizable(cl, rid)
    # a custom error raised in the settlement half comes back through the delegatecall unchanged
    selector = keccak(b"RevealersNotSorted(uint256)")[:4].hex()
    order = sorted(ballots, key=lambda b: int(b.account.address, 16), reverse=True)
    data = cl.finalize.encode_input(rid, [b.account.address for b in order], [b.wire for b in order])
    assert selector in reverts_with(cl.address, data).lower()
