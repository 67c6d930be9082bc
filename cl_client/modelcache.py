"""Fitted models cached per shard, so that a restarted participant does not retrain.

One pickle file per (sha256 of the shard file, model name, seed, scikit-learn version) in
``<journal dir>/models/``, mode 0600 in a 0700 folder, written atomically (files.write_private). The key
changes whenever the shard's bytes, the model, the seed or scikit-learn change, so a stale model is never
loaded. Pickle runs code when loaded: the folder is private to the participant, like its journals.
"""
from __future__ import annotations

import hashlib
import pickle
import re
from pathlib import Path
from typing import Any, Callable

from .files import write_private


def key(shard: Path, model: str, seed: int | None) -> str:
    import sklearn

    digest = hashlib.sha256(Path(shard).read_bytes()).hexdigest()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(model))[:60]
    return f"{digest[:32]}-{name}-seed{'none' if seed is None else int(seed)}-sklearn{sklearn.__version__}"


def fit_cached(directory: Path, shard: Path, model: str, seed: int | None,
               fit: Callable[[], Any]) -> tuple[Any, bool]:
    """(fitted model, loaded from the cache?): the cached model for this shard, model and seed, else
    `fit()` and cache its result. An unreadable cache file is refitted and replaced."""
    folder = Path(directory).expanduser() / "models"
    path = folder / f"{key(shard, model, seed)}.pkl"
    if path.is_file():
        try:
            return pickle.loads(path.read_bytes()), True
        except Exception:  # noqa: BLE001 - a damaged or foreign cache file: fit again
            pass
    fitted = fit()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, pickle.dumps(fitted, protocol=pickle.HIGHEST_PROTOCOL))
    return fitted, False
