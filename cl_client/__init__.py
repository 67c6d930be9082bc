"""cl_client: participant client for consensus learning on Ethereum.

Modules, one job each:
    commitment  the exact commitment bytes the contract checks
    chain       web3.py gateway to the ConsensusLearning contract
    ...
"""
__version__ = "0.1.0"
