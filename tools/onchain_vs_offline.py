#!/usr/bin/env python3
"""On chain against offline, 5 rounds each, with the crowd rule's memory: per seed and Byzantine mix, the status
of every participant-round on chain (the production client, in-process, on a local Anvil it starts and stops)
and in cl_client.sim.calibrate.play on the same world; prints one line per run and writes them as JSON.

    python tools/onchain_vs_offline.py "audit-aware:0.5;adaptive:0.5" 0,1,2 [out.json]
"""
import json
import sys
import tempfile
import time
from pathlib import Path

from cl_client.node import LocalNode
from cl_client.protocol import DEFAULT_PARAMS
from cl_client.sim.config import HONEST, SimConfig
from cl_client.sim.world import prepare
from cl_client.sim.run import run_rounds
from cl_client.sim.calibrate import play, config_for

mixes = sys.argv[1].split(";")
seeds = [int(s) for s in sys.argv[2].split(",")]
rows = []
with LocalNode(backend="anvil", accounts=11, block_time=0) as node:
    for seed in seeds:
        base = SimConfig(rounds=5, audit=10, backend="anvil")
        world = prepare(config_for(base, "none", seed))
        for mix in mixes:
            cfg = config_for(base, mix, seed)
            world.config = cfg
            t = time.time()
            chain = run_rounds(cfg, world, node, Path(tempfile.mkdtemp()))
            off = play(world, cfg, DEFAULT_PARAMS.agreement_bps, DEFAULT_PARAMS.audit_bound_bps)
            on_st = [[p["status"].lower() for p in r["participants"]] for r in chain["rounds"]]
            off_st = [[p["status"] for p in r["participants"]] for r in off]
            strat = [p["strategy"] for p in off[0]["participants"]]
            byz = [i for i, s in enumerate(strat) if s != HONEST]
            caught_on = sum(on_st[r][i] == "excluded" or chain["rounds"][r]["participants"][i]["slashed"] for r in range(5) for i in byz)
            hon_sl = sum(chain["rounds"][r]["participants"][i]["slashed"] for r in range(5) for i in range(len(strat)) if i not in byz)
            caught_off = sum(off_st[r][i] == "excluded" or off[r]["participants"][i]["slashed"] for r in range(5) for i in byz)
            same = on_st == off_st
            rows.append(dict(seed=seed, mix=mix, caught_on=caught_on, caught_off=caught_off, byz_rounds=5 * len(byz),
                             honest_slashed_on=hon_sl, same_statuses=same, seconds=round(time.time() - t)))
            print(rows[-1], flush=True)
            if not same:
                print(" on ", on_st, "\n off", off_st, flush=True)
Path(sys.argv[3] if len(sys.argv) > 3 else "onchain_vs_offline.json").write_text(json.dumps(rows, indent=1))
