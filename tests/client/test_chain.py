"""cl_client.chain: one retry layer, structs decoded by field name, deploy on the transaction path, owner actions.

No chain:   `_from_abi` on fake decoded structs; the dataclasses against the packaged ABI; the retry policy
            against FlakyRPC (tests/support.py), a tiny JSON-RPC server on 127.0.0.1 that fails on purpose and
            counts requests.
Chain:      the module's local node (tests/client/conftest.py): deploy, reads decoded by name, setDefaults
            encoded by name, pause/unpause and setUnbondingDelay.
"""
from __future__ import annotations

from collections import namedtuple

import pytest
from eth_account import Account as EthAccount
from eth_utils import keccak

from cl_client.chain import (Account, Bounds, ChainError, ContractError, Gateway, Params, Phase, RoundInfo, Status,
                             Submission, _abi_fields, _from_abi, artifact, connect, deploy, settlement_address)
from cl_client.protocol import DEFAULT_BOUNDS, DEFAULT_PARAMS
from support import FlakyRPC

ETH = 10**18
KEY = "0x" + "11" * 32
CHAIN_ID = 1337


def decoded(**fields):
    """A fake `decode_tuples=True` struct: a named tuple with the given fields, in the given order."""
    return namedtuple("ABIDecodedNamedTuple", list(fields))(**fields)


def assert_one_line(exc_info, *parts):
    message = str(exc_info.value)
    assert "\n" not in message
    for part in parts:
        assert part in message, message


# ------------------------------------------------------------------ structs by field name (no chain)


def test_a_struct_is_read_by_field_name_whatever_the_order():
    reordered = decoded(withdrawable=5, unbondingReadyAt=4, unbonding=3, locked=2, free=1)
    assert _from_abi(Account, reordered, "getAccount") == Account(free=1, locked=2, unbonding=3, unbonding_ready_at=4,
                                                                  withdrawable=5)


def test_a_renamed_struct_field_raises_instead_of_mislabelling():
    renamed = decoded(free=1, locked=2, unbonding=3, unbondingReady=4, withdrawable=0)
    with pytest.raises(ChainError) as exc_info:
        _from_abi(Account, renamed, "getAccount")
    assert_one_line(exc_info, "getAccount", "missing ['unbondingReadyAt']", "unexpected ['unbondingReady']")


def test_a_struct_with_an_extra_field_raises():
    extra = decoded(hash=b"\x01" * 32, stake=5, matches=2, auditHits=0, status=1, claimed=False, reputation=1000, weight=5)
    with pytest.raises(ChainError) as exc_info:
        _from_abi(Submission, extra, "getSubmission")
    assert_one_line(exc_info, "getSubmission", "missing []", "unexpected ['weight']")


def test_a_positional_tuple_is_refused():
    with pytest.raises(ChainError) as exc_info:
        _from_abi(Account, (1, 2, 3, 4, 5), "getAccount")
    assert_one_line(exc_info, "getAccount: expected a struct decoded by field name, got tuple")


def test_fields_are_cast_by_type_and_nested_structs_by_name():
    params = {abi: getattr(DEFAULT_PARAMS, py) for py, abi in Params.ABI_NAMES.items()}
    raw = decoded(requester="0x" + "ab" * 20, reward=10, finalizerFee=1, queriesHash=b"\x02" * 32, numQueries=5,
                 numClasses=3, commitDeadline=100, revealDeadline=200, auditDeadline=300, auditCount=2,
                 auditRevealed=False, phase=6, commitCount=4, revealCount=3, committedStake=40, revealedStake=30,
                 pool=7, agreedWeight=20, refundable=False, params=decoded(**dict(reversed(list(params.items())))),
                 optimistic=False)
    info = _from_abi(RoundInfo, raw, "getRound", round_id=9)
    assert info.round_id == 9 and info.phase is Phase.AUDIT and info.params == DEFAULT_PARAMS
    assert (info.finalizer_fee, info.audit_deadline, info.audit_count, info.refundable) == (1, 300, 2, False)
    assert (info.committed_stake, info.revealed_stake, info.queries_hash) == (40, 30, b"\x02" * 32)
    assert _from_abi(Params, params, "defaults") == DEFAULT_PARAMS  # a mapping too


def test_a_renamed_nested_field_names_its_path():
    params = {abi: 1 for abi in Params.ABI_NAMES.values()} | {"minStakeWei": 1}
    del params["minStake"]
    raw = dict(requester="0x" + "ab" * 20, reward=0, finalizerFee=0, queriesHash=b"", numQueries=0, numClasses=0,
               commitDeadline=0, revealDeadline=0, auditDeadline=0, auditCount=0, auditRevealed=False, phase=0,
               commitCount=0, revealCount=0, committedStake=0, revealedStake=0, pool=0, agreedWeight=0,
               refundable=False, params=decoded(**params), optimistic=False)
    with pytest.raises(ChainError) as exc_info:
        _from_abi(RoundInfo, raw, "getRound", round_id=1)
    assert_one_line(exc_info, "getRound.params:", "missing ['minStake']", "unexpected ['minStakeWei']")


def test_an_out_of_range_enum_raises_a_chain_error():
    with pytest.raises(ChainError) as exc_info:
        _from_abi(Submission, decoded(hash=b"", stake=0, matches=0, auditHits=0, status=9, claimed=False,
                                      reputation=0),
                  "getSubmission")
    assert_one_line(exc_info, "getSubmission.status: cannot read 9 as Status")


@pytest.mark.parametrize("cls, function", [(RoundInfo, "getRound"), (Submission, "getSubmission"),
                                           (Account, "getAccount"), (Params, "defaults"), (Bounds, "bounds")])
def test_the_dataclasses_match_the_packaged_abi(cls, function):
    (output,) = next(i for i in artifact()["abi"] if i.get("name") == function)["outputs"]
    abi_names = [c["name"] for c in output["components"]]
    assert [abi for py, abi, _ in _abi_fields(cls) if py != "round_id"] == abi_names


# ------------------------------------------------------------------ one retry layer (no chain)


def gateway_on(rpc: FlakyRPC, retries: int) -> Gateway:
    return Gateway(connect(rpc.url), "0x" + "22" * 20, EthAccount.from_key(KEY), retries=retries, backoff=0.001,
                   check_code=False)


def test_connect_turns_off_the_providers_own_retry():
    with FlakyRPC() as rpc:
        assert connect(rpc.url).provider.exception_retry_configuration is None


@pytest.mark.parametrize("mode", ["503", "reset"])
def test_a_failing_read_is_tried_exactly_retries_plus_one_times(mode):
    with FlakyRPC(mode) as rpc:
        gw = gateway_on(rpc, retries=3)
        rpc.count.clear()
        rpc.fail = 10**6
        with pytest.raises(ChainError) as exc_info:
            gw._rpc(lambda: gw.w3.eth.block_number)
        assert_one_line(exc_info, "node did not answer after 4 tries")
        assert rpc.count["eth_blockNumber"] == 4  # with web3's default provider retry on, 503: 4 x 5 = 20


@pytest.mark.parametrize("mode", ["503", "reset"])
def test_a_transient_failure_is_retried_until_the_node_answers(mode):
    with FlakyRPC(mode) as rpc:
        rpc.fail = 2
        gw = Gateway(_connect_after_probe(rpc), "0x" + "22" * 20, retries=3, backoff=0.001, check_code=False)
        assert gw.chain_id == CHAIN_ID
        assert rpc.count["eth_chainId"] == 1 + 3  # connect's probe, then 2 failures and the answer


def _connect_after_probe(rpc: FlakyRPC):
    """connect() while the node is healthy (its probe is one request), then let `rpc.fail` take effect."""
    fail, rpc.fail = rpc.fail, 0
    w3 = connect(rpc.url)
    w3.provider.cache_allowed_requests = False  # this test counts eth_chainId until the Gateway has it
    rpc.fail = fail
    return w3


def test_sending_a_transaction_is_tried_exactly_retries_plus_one_times():
    with FlakyRPC() as rpc:
        gw = gateway_on(rpc, retries=2)
        rpc.fail = 10**6
        tx = {"to": "0x" + "22" * 20, "value": 0, "gas": 21_000, "maxFeePerGas": 2 * 10**9,
              "maxPriorityFeePerGas": 10**9, "nonce": 0, "chainId": CHAIN_ID}
        with pytest.raises(ChainError) as exc_info:
            gw._send_signed(tx, "deposit")
        assert_one_line(exc_info, "deposit: could not send the transaction after 3 tries")
        assert rpc.count["eth_sendRawTransaction"] == 3  # not 3 x 5: the provider does not retry sends


def test_connect_probes_retries_plus_one_times_then_says_unreachable():
    with FlakyRPC() as rpc:
        rpc.fail = 10**6
        with pytest.raises(ChainError) as exc_info:
            connect(rpc.url, retries=2, backoff=0.001)
        assert_one_line(exc_info, "cannot reach an Ethereum node at", rpc.url)
        assert rpc.count["eth_chainId"] == 3


def test_a_non_transient_rpc_error_is_not_retried():
    with FlakyRPC() as rpc:
        gw = gateway_on(rpc, retries=3)
        with pytest.raises(Exception):
            gw._rpc(lambda: gw.w3.eth.gas_price)  # answered with a JSON-RPC error
        assert rpc.count["eth_gasPrice"] == 1


# ------------------------------------------------------------------ on a local node


@pytest.fixture(scope="module")
def deployer(local_node):
    """The node's last account: not the requester (whose gateway caches its nonce) nor the AccountPool's first."""
    return EthAccount.from_key(local_node.keys[-1])


def test_deploy_returns_the_address_and_block_of_this_contract(local_node, deployer):
    w3 = connect(local_node.url)
    address, block = deploy(w3, deployer)
    code = bytes(w3.eth.get_code(address))
    assert "0x" + keccak(code).hex() == artifact()["deployedBytecodeHash"]
    assert bytes(w3.eth.get_code(address, block - 1)) == b""  # created in `block`
    assert Gateway(w3, address).round_count() == 0


def test_the_settlement_half_is_at_the_first_create_address_with_the_packaged_code(local_node, deployer):
    w3 = connect(local_node.url)
    address, _ = deploy(w3, deployer)
    # CREATE's address rule, stated here with rlp([sender, nonce]) written out for a 20-byte sender and nonce 1
    half = keccak(bytes([0xC0 + 22, 0x80 + 20]) + bytes.fromhex(address[2:]) + bytes([1]))[12:]
    assert settlement_address(address).lower() == "0x" + half.hex()
    assert "0x" + keccak(bytes(w3.eth.get_code(settlement_address(address)))).hex() == \
        artifact()["settlementBytecodeHash"]


def impostor_initcode(runtime: bytes) -> bytes:
    """Creation code that first CREATEs a one-byte contract (STOP) -- at the nonce-1 address, where the real
    constructor puts the settlement half -- and then returns `runtime` as its own code."""
    child = bytes.fromhex("6000600053" "60016000f3")  # mstore8(0, 0x00); return(0, 1)
    prefix_len = 33

    def push2(n):
        return bytes([0x61]) + n.to_bytes(2, "big")

    prefix = (push2(len(child)) + push2(prefix_len) + bytes.fromhex("600039")  # codecopy(0, prefix_len, |child|)
              + push2(len(child)) + bytes.fromhex("60006000f050")  # pop(create(0, 0, |child|))
              + push2(len(runtime)) + push2(prefix_len + len(child)) + bytes.fromhex("600039")  # codecopy(0, .., |rt|)
              + push2(len(runtime)) + bytes.fromhex("6000f3"))  # return(0, |runtime|)
    assert len(prefix) == prefix_len
    return prefix + child + runtime


def test_a_contract_with_the_right_code_but_another_settlement_half_is_refused(local_node, deployer):
    w3 = connect(local_node.url)
    real, _ = deploy(w3, deployer)
    runtime = bytes(w3.eth.get_code(real))
    tx = {"from": deployer.address, "data": "0x" + impostor_initcode(runtime).hex(), "gas": 8_000_000,
          "gasPrice": w3.eth.gas_price, "nonce": w3.eth.get_transaction_count(deployer.address),
          "chainId": w3.eth.chain_id}
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction))
    impostor = receipt["contractAddress"]
    assert bytes(w3.eth.get_code(impostor)) == runtime  # the main contract's code hash matches ...
    with pytest.raises(ChainError) as exc_info:
        Gateway(w3, impostor)
    assert_one_line(exc_info, "settlement half", settlement_address(impostor))  # ... and it is still refused


def test_deploy_waits_for_confirmations_like_a_transaction(local_node, deployer):
    w3 = connect(local_node.url)
    with pytest.raises(ChainError) as exc_info:  # instant mining: no second block comes without a transaction
        deploy(w3, deployer, confirmations=2, tx_timeout=0.5)
    assert_one_line(exc_info, "not confirmed within 0 s")


def test_reads_decode_by_name(requester, accounts, open_round, digits):
    assert requester.defaults() == DEFAULT_PARAMS
    (gw,) = accounts.take(1, deposit=ETH)
    assert requester.bounds() == DEFAULT_BOUNDS and requester.pending_bounds() is None
    assert gw.account_info() == Account(free=ETH, locked=0, unbonding=0, unbonding_ready_at=0, withdrawable=0)
    round_id = open_round(digits.X_query[:12], num_classes=10, reward=ETH // 2)
    info = requester.round(round_id)
    assert (info.round_id, info.requester, info.reward, info.num_queries, info.num_classes) == (
        round_id, requester.sender, ETH // 2, 12, 10)
    assert info.phase is Phase.COMMIT and info.commit_count == 0 and info.params == DEFAULT_PARAMS
    assert info.reveal_deadline > info.commit_deadline > 0
    assert gw.submission(round_id) == Submission(hash=b"\x00" * 32, stake=0, matches=0, audit_hits=0,
                                                 status=Status.NONE, claimed=False, reputation=0)
    assert requester.audit_of(round_id) is None and requester.audit_commitment(round_id) == bytes(32)
    assert len(requester.accounting()) == 5 and sum(requester.accounting()) == requester.balance(requester.address)


def test_set_defaults_encodes_by_name_and_new_rounds_take_them(requester, open_round, digits):
    new = Params(quorum_bps=6_000, min_revealers=2, agreement_bps=3_000, deviator_slash_bps=0,
                 non_reveal_slash_bps=1_500, audit_bound_bps=2_000, audit_slash_bps=500, crowd_bps=2_500,
                 equal_weights=True,
                 min_stake=10**15).check()
    requester.set_defaults(new)
    try:
        assert requester.defaults() == new
        assert requester.round(open_round(digits.X_query[:5])).params == new
    finally:
        requester.set_defaults(DEFAULT_PARAMS)


def test_pause_stops_open_round_until_unpause(requester, open_round, digits):
    requester.pause()
    try:
        with pytest.raises(ContractError) as exc_info:
            open_round(digits.X_query[:5])
        assert exc_info.value.name == "EnforcedPause"
        assert_one_line(exc_info, "openRound: contract reverted with EnforcedPause()")
    finally:
        requester.unpause()
    assert requester.round(open_round(digits.X_query[:5])).phase is Phase.COMMIT


def test_owner_actions_revert_for_anyone_else(accounts):
    (gw,) = accounts.take(1, deposit=0)
    with pytest.raises(ContractError) as exc_info:
        gw.pause()
    assert exc_info.value.name == "OwnableUnauthorizedAccount"
    assert [a.lower() for a in exc_info.value.args_] == [gw.sender.lower()]  # eth_abi decodes addresses lowercase


def test_set_unbonding_delay_applies_to_new_withdrawal_requests(requester, accounts):
    (gw,) = accounts.take(1, deposit=ETH)
    before = requester.unbonding_delay()
    requester.set_unbonding_delay(120)
    try:
        assert requester.unbonding_delay() == 120
        receipt = gw.request_withdrawal(ETH // 4)
        mined_at = gw.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
        assert gw.account_info().unbonding_ready_at == mined_at + 120
    finally:
        requester.set_unbonding_delay(before)


def test_a_read_only_gateway_refuses_to_send(local_node, contract_address):
    gw = Gateway(connect(local_node.url), contract_address)
    with pytest.raises(ChainError) as exc_info:
        gw.pause()
    assert_one_line(exc_info, "give a key")
