"""Data: non-IID partitioning of a labelled data set, private shards, and the public query batch file.

    parts = dirichlet_partition(y, n_parts=8, alpha=0.5, random_state=0)   # index arrays, disjoint
    save_shard("shard-0.npz", X[parts[0]], y[parts[0]])
    h = write_queries("queries.npz", X_queries)       # keccak256 of the file: what goes on chain
    X_q = fetch_queries("file:///srv/queries.npz", h)  # refuses a file whose hash differs

The query batch file is an ``.npz`` holding one array ``X`` (2-D float). It is written byte-for-byte
deterministically, so the same queries always give the same hash.
"""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
from eth_utils import keccak

from .files import write_private

MAX_QUERY_FILE_BYTES = 256 * 1024 * 1024  # refuse to download more than this
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class QueryHashMismatch(ValueError):
    """The query batch file does not hash to the value stored on chain."""


# ------------------------------------------------------------------ partitioning


def dirichlet_partition(y, n_parts: int, alpha: float, random_state=None, min_size: int = 10) -> list[np.ndarray]:
    """Split sample indices into `n_parts` disjoint shards with Dirichlet(alpha) label skew.

    For every class, its samples are shared among the parts in proportions drawn from Dirichlet(alpha):
    a small alpha (0.1) gives each part a few dominant classes, a large one (100) nearly IID parts.
    Every index appears in exactly one part and every part holds at least `min_size` samples (draws are
    repeated, then the smallest parts take samples from the largest if draws keep failing).

    Returns a list of sorted int index arrays into `y`.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    n_parts, min_size = int(n_parts), int(min_size)
    if n_parts < 1:
        raise ValueError(f"n_parts must be >= 1, got {n_parts}")
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    if n_parts * min_size > len(y):
        raise ValueError(f"cannot give {n_parts} parts at least {min_size} samples each from {len(y)} samples")
    rng = np.random.default_rng(random_state)
    classes = np.unique(y)
    by_class = [np.flatnonzero(y == c) for c in classes]

    parts: list[list[int]] = []
    for _attempt in range(100):
        parts = [[] for _ in range(n_parts)]
        for idx in by_class:
            idx = rng.permutation(idx)
            shares = rng.dirichlet(np.full(n_parts, float(alpha)))
            cuts = (np.cumsum(shares) * len(idx)).astype(int)[:-1]
            for part, chunk in zip(parts, np.split(idx, cuts)):
                part.extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_size:
            break
    else:  # rare with sensible settings: top up the small parts from the largest ones
        for part in parts:
            while len(part) < min_size:
                donor = max(parts, key=len)
                part.append(donor.pop(int(rng.integers(len(donor)))))
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def label_skew(y, parts) -> float:
    """Mean total-variation distance between each part's label distribution and the whole set's (0..1)."""
    y = np.asarray(y)
    classes = np.unique(y)
    overall = np.array([(y == c).mean() for c in classes])
    dists = []
    for idx in parts:
        if len(idx) == 0:
            continue
        yp = y[idx]
        local = np.array([(yp == c).mean() for c in classes])
        dists.append(0.5 * np.abs(local - overall).sum())
    return float(np.mean(dists)) if dists else 0.0


# ------------------------------------------------------------------ private shards


def save_shard(path, X, y) -> None:
    """Save a private training shard (features X, int labels y) as an .npz file, readable by owner only."""
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"a shard needs 2-D X and 1-D y of the same length, got {X.shape} and {y.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, _npz_bytes({"X": X.astype(np.float64), "y": y.astype(np.int64)}))


def load_shard(path) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) from a shard written by `save_shard`."""
    path = Path(path)
    arrays = _read_npz(_read_local(path), str(path), ("X", "y"))
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"{path}: not a shard (X {X.shape}, y {y.shape})")
    return X.astype(np.float64), y.astype(np.int64)


# ------------------------------------------------------------------ public query batch


def write_queries(path, X) -> bytes:
    """Write the query batch file (an .npz with X only) and return keccak256 of its bytes."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"queries must be a non-empty 2-D array, got shape {X.shape}")
    data = _npz_bytes({"X": X})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return keccak(data)


def file_hash(path) -> bytes:
    """keccak256 of a file's bytes (32 bytes)."""
    return keccak(_read_local(Path(path)))


def fetch_queries(uri: str, expected_hash: bytes) -> np.ndarray:
    """The query matrix X from `uri` (a local path, file:// or http(s):// URL).

    The file's keccak256 must equal `expected_hash` (the round's on-chain queriesHash); otherwise
    QueryHashMismatch is raised and nothing is parsed.
    """
    expected = _as_hash(expected_hash)
    data = _read_uri(uri)
    got = keccak(data)
    if got != expected:
        raise QueryHashMismatch(f"query file {uri} has keccak256 0x{got.hex()}, but the round expects "
                                f"0x{expected.hex()}; refusing it")
    X = _read_npz(data, uri, ("X",))["X"]
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"query file {uri}: X must be a non-empty 2-D array, got shape {X.shape}")
    return X.astype(np.float64)


# ------------------------------------------------------------------ demo data


def make_demo_data(out, participants: int = 4, num_queries: int = 100, alpha: float = 1.0,
                   seed: int = 0) -> list[Path]:
    """The README's demo data from scikit-learn's digits (no download): `out`/queries.npz (the public
    batch, the first `num_queries` digits after a seeded shuffle) and `out`/shard-1..N.npz (the rest, split
    among the participants with Dirichlet(`alpha`) label skew). Returns the paths written."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    if not 1 <= num_queries < len(y):
        raise ValueError(f"num_queries must be 1..{len(y) - 1}, got {num_queries}")
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "queries.npz"]
    write_queries(written[0], X[:num_queries])
    X_rest, y_rest = X[num_queries:], y[num_queries:]
    for i, idx in enumerate(dirichlet_partition(y_rest, participants, alpha=alpha, random_state=seed), start=1):
        written.append(out / f"shard-{i}.npz")
        save_shard(written[-1], X_rest[idx], y_rest[idx])
    return written


# ------------------------------------------------------------------ helpers


def _as_hash(value) -> bytes:
    if isinstance(value, str):
        value = bytes.fromhex(value.removeprefix("0x"))
    value = bytes(value)
    if len(value) != 32:
        raise ValueError(f"expected a 32-byte hash, got {len(value)} bytes")
    return value


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz archive (readable by numpy.load) with fixed timestamps, so equal arrays give equal bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arr), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def _read_npz(data: bytes, where: str, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise ValueError(f"{where}: no array named {missing[0]!r} in the file (has {npz.files})")
            return {k: npz[k] for k in keys}
    except ValueError as exc:
        if str(exc).startswith(where):
            raise
        raise ValueError(f"{where}: not a numeric .npz file ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{where}: not a readable .npz file ({exc})") from None


def _read_local(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a directory, not a file") from None


def _read_uri(uri: str) -> bytes:
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https"):
        import requests

        try:
            with requests.get(uri, timeout=30, stream=True) as resp:
                resp.raise_for_status()
                chunks, size = [], 0
                for chunk in resp.iter_content(1 << 16):
                    size += len(chunk)
                    if size > MAX_QUERY_FILE_BYTES:
                        raise ValueError(f"query file {uri} is larger than {MAX_QUERY_FILE_BYTES} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.RequestException as exc:
            raise ConnectionError(f"could not download {uri}: {exc}") from None
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file:// URI with a remote host is not supported: {uri}")
        return _read_local(Path(unquote(parsed.path)))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return _read_local(Path(uri).expanduser())
    raise ValueError(f"unsupported query URI scheme {parsed.scheme!r} in {uri}: use a path, file:// or http(s)://")
