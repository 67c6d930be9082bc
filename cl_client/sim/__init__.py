"""The research lab: the consensus-learning simulation behind `make demo` (`cl-client simulate`).

Participants do not need this package (nor matplotlib, its extra: `pip install 'cl-client[sim]'`). One job
per module:
    config     SimConfig (validated against the contract's limits), roles
    datasets   the registry of data sets: the one place to add one
    world      data split, Dirichlet shards, trained models, the pooled model, query batches
    run        a local chain, real Participants, rounds driven by cl_client.participant.drive; sweeps
    metrics    a round's scores from the chain's results against the ground truth; checks
    gossip     the Snowball comparison: the paper's P2P communication phase beside the on-chain plurality
    threshold  agreement distributions behind the default agreement threshold (v1 history)
    calibrate  agreementBps x auditBoundBps over seeds and Byzantine mixes, off-chain, with the v2 rules
    rules      the v2 rules (chance-corrected agreement, audit bound) the lab measures with, from protocol.py
    theory     the Beta-learner majority-vote check from the paper
    report     report.json / report.md / plots / console tables
    __main__   the command line

    from cl_client.sim import SimConfig, simulate
    report = simulate(SimConfig(participants=8), out_dir=Path("reports/x"))
"""
from .config import Role, SimConfig, SimulationError, assign_roles
from .run import ChainRun, simulate
from .world import World, prepare

__all__ = ["ChainRun", "Role", "SimConfig", "SimulationError", "World", "assign_roles", "prepare", "simulate"]
