"""Deploy ConsensusLearning with Brownie and record it in deployments/<chainId>.json for cl-client.

    brownie compile && python tools/export_abi.py        # cl_client's packaged ABI/code must match the build
    python tools/brownie_net.py run -- brownie run scripts/deploy.py main     # a throw-away local chain
    brownie run scripts/deploy.py main --network sepolia-env                  # a public testnet

On a development network the deployer is Brownie's accounts[0]. On a live network the key comes from
CL_PRIVATE_KEY, or CL_KEYSTORE with CL_KEYSTORE_PASSWORD (the same rules as cl-client; never argv), and
CL_CONFIRMATIONS blocks (default 1) are awaited. `sepolia-env` is registered by
`python tools/brownie_net.py configure` and reads its RPC URL from CL_SEPOLIA_RPC_URL.

The record is written by cl_client.deployments.record(), the same function `cl-client deploy` uses; it
refuses to record a contract whose ABI or runtime code differs from cl_client's packaged copy (run
`python tools/export_abi.py` after compiling).
"""
import os
import sys

from brownie import ConsensusLearning, accounts, history, network, web3
from brownie._config import CONFIG

from cl_client import deployments
from cl_client.keys import KeyLoadError, load_account


def _fail(message: str) -> None:
    print(f"deploy: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def _deployer():
    if CONFIG.network_type == "development":  # a node Brownie launched, with its unlocked test accounts
        return accounts[0]
    try:
        account = load_account()
    except KeyLoadError as exc:
        _fail(str(exc))
    if account is None:
        _fail("no key: set CL_PRIVATE_KEY, or CL_KEYSTORE and CL_KEYSTORE_PASSWORD")
    return accounts.add("0x" + bytes(account.key).hex())


def _tolerate_brownie_db_bug() -> None:
    """eth-brownie 1.22.2's compiled brownie/network/state.py raises TypeError ("dict object expected; got
    Sources") in a background thread when it stores a live deployment in ~/.brownie/deployments.db. That
    database is only Brownie's own address book (deployments/<chainId>.json is ours), so skip it quietly."""
    import brownie.network.contract as container

    original = container._add_deployment

    def add_deployment(contract, *args):
        try:
            original(contract, *args)
        except TypeError:
            pass

    container._add_deployment = add_deployment


def _creation_tx(contract) -> str:
    if contract.tx is not None:
        return contract.tx.txid
    return next(tx.txid for tx in reversed(history) if tx.contract_address == contract.address)


def main():
    _tolerate_brownie_db_bug()
    confirmations = int(os.environ.get("CL_CONFIRMATIONS") or 1)
    deployer = _deployer()
    packaged = deployments.packaged_abi_hash()
    if deployments.abi_hash(ConsensusLearning.abi) != packaged:
        _fail("build/ and cl_client/abi/ConsensusLearning.json differ; run `python tools/export_abi.py`")
    contract = ConsensusLearning.deploy({"from": deployer, "required_confs": confirmations})
    try:
        path = deployments.record(web3, contract.address, deployer.address, abi=ConsensusLearning.abi,
                                  tx_hash=_creation_tx(contract), tool="brownie scripts/deploy.py")
    except deployments.DeploymentError as exc:
        _fail(str(exc))
    print(f"ConsensusLearning at {contract.address} on chain {web3.eth.chain_id} "
          f"(network {network.show_active()}); recorded in {path}")
    return contract
