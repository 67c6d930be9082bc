"""cl_client: the participant client for consensus learning on Ethereum.

One job per module:
    commitment   the exact commitment bytes the contract checks
    chain        web3.py gateway to the contract: fees, nonces, retries, receipts, custom errors
    node         a standalone local chain (Ganache or Anvil) for demos, tests and separate processes
    deployments  deployments/<chainId>.json, written by deploy, read by default
    keys         the private key from CL_PRIVATE_KEY or an encrypted keystore (never argv)
    data         private shards, the Dirichlet non-IID partitioner, query batch files and their hash
    models       any scikit-learn classifier by name or import path (Learner: fit / predict)
    strategies   honest and Byzantine labelling strategies
    journal      durable per-round journal (labels and salt fsync'd before the commit is sent)
    participant  the resumable participant lifecycle: commit -> reveal -> finalize -> claim
    simulation   the consensus-learning simulation that `make demo` runs
    theory       the Beta-learner majority-vote check from the paper
    report       report.json / report.md / plots
    cli          the `cl-client` command
"""
__version__ = "0.1.0"
