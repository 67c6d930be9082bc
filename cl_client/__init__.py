"""cl_client: the participant client for consensus learning on Ethereum (and, in `cl_client.sim`, the lab).

One job per module (docs/architecture.md has the tour):
    protocol     the protocol's rules in Python: Phase, Status, Params, the contract's limits, plurality,
                 agreement, penalty, reward share, quorum (pinned against the contract by its tests)
    aggregation  the aggregation seam: the on-chain plurality and Snowball gossip behind one interface
    commitment   the exact commitment bytes the contract checks
    chain        web3.py gateway to the contract: fees, nonces, retries, receipts, custom errors
    node         a local chain (Ganache, Anvil or Hardhat 2), its supervision and state file; BACKENDS, HARDFORK
    deployments  deployments/<chainId>.json, written by deploy, read by default
    keys         the private key from CL_PRIVATE_KEY or an encrypted keystore (never argv)
    files        the one private (0600), atomic, fsync'd file writer (journals, shards, node state)
    data         private shards, the Dirichlet non-IID partitioner, query batch files and their hash
    models       any scikit-learn classifier by name or import path (Learner: fit / predict)
    strategies   honest and Byzantine labelling strategies (a participant's behaviour, not an
                 aggregation rule as in Flower)
    journal      durable per-round journal (labels and salt fsync'd before the commit is sent); State
    identity     what a journal is bound to: genesis hash, contract code, the round's requester and queries
    modelcache   fitted models cached per shard, model and seed, so a restart does not retrain
    participant  the resumable participant lifecycle (step; step_rounds: the merged path, one submit), and
                 drive_rounds(): the scheduler (drive() for one round)
    cli          the `cl-client` command
    sim/         the simulation behind `make demo` (extra `cl-client[sim]`: matplotlib)

    from cl_client import Gateway, Participant, Learner, make_strategy
"""
__version__ = "0.1.0"

__all__ = ["Gateway", "Learner", "Participant", "State", "Strategy", "drive", "make_rule", "make_strategy"]

_EXPORTS = {"Gateway": "chain", "Learner": "models", "Participant": "participant", "State": "journal",
            "Strategy": "strategies", "drive": "participant", "make_rule": "aggregation",
            "make_strategy": "strategies"}


def __getattr__(name: str):
    """Import on first use: `import cl_client` stays light (web3, scikit-learn load only when needed)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'cl_client' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
