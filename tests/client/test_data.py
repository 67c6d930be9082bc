"""cl_client.data: Dirichlet partitioning, private shards, the query batch file and its hash check."""
import http.server
import os
import stat
import threading
from functools import partial

import numpy as np
import pytest
from eth_utils import keccak

from cl_client.data import (QueryHashMismatch, dirichlet_partition, fetch_queries, file_hash, label_skew,
                            load_shard, save_shard, write_queries)

Y = np.repeat(np.arange(10), 100)  # 1000 samples, 10 balanced classes


# ------------------------------------------------------------------ partitioning


def test_partition_uses_every_sample_exactly_once():
    parts = dirichlet_partition(Y, 8, alpha=0.5, random_state=0)
    joined = np.concatenate(parts)
    assert len(parts) == 8
    assert sorted(joined.tolist()) == list(range(len(Y)))


@pytest.mark.parametrize("alpha", [0.05, 0.5, 100.0])
def test_every_part_has_at_least_min_size_samples(alpha):
    parts = dirichlet_partition(Y, 20, alpha=alpha, random_state=3, min_size=25)
    assert min(len(p) for p in parts) >= 25
    assert sum(len(p) for p in parts) == len(Y)


def test_label_skew_grows_as_alpha_falls():
    skews = [np.mean([label_skew(Y, dirichlet_partition(Y, 10, alpha, random_state=s)) for s in range(5)])
             for alpha in (100.0, 1.0, 0.1)]
    assert skews[0] < skews[1] < skews[2]


def test_partition_is_reproducible_with_random_state():
    a = dirichlet_partition(Y, 5, alpha=0.3, random_state=42)
    b = dirichlet_partition(Y, 5, alpha=0.3, random_state=42)
    c = dirichlet_partition(Y, 5, alpha=0.3, random_state=43)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_partition_refuses_more_parts_than_samples_allow():
    with pytest.raises(ValueError, match="cannot give 11 parts at least 100 samples"):
        dirichlet_partition(Y, 11, alpha=1.0, min_size=100)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_parts": 0, "alpha": 1.0}, "n_parts must be >= 1"),
    ({"n_parts": 2, "alpha": 0.0}, "alpha must be > 0"),
])
def test_partition_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dirichlet_partition(Y, **kwargs)


# ------------------------------------------------------------------ shards


def test_shard_round_trips_and_is_private(tmp_path):
    X = np.arange(12, dtype=float).reshape(4, 3)
    y = np.array([0, 1, 1, 2])
    path = tmp_path / "s" / "shard.npz"
    save_shard(path, X, y)
    X2, y2 = load_shard(path)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_save_shard_rejects_mismatched_lengths(tmp_path):
    with pytest.raises(ValueError, match="same length"):
        save_shard(tmp_path / "s.npz", np.zeros((3, 2)), np.zeros(2))


# ------------------------------------------------------------------ query file


def test_write_queries_returns_keccak_of_the_file_bytes(tmp_path):
    path = tmp_path / "q.npz"
    h = write_queries(path, np.ones((5, 4)))
    assert h == keccak(path.read_bytes()) == file_hash(path)
    assert len(h) == 32


def test_write_queries_is_deterministic(tmp_path):
    X = np.random.default_rng(0).normal(size=(7, 3))
    assert write_queries(tmp_path / "a.npz", X) == write_queries(tmp_path / "b.npz", X)
    assert write_queries(tmp_path / "c.npz", X + 1) != write_queries(tmp_path / "a.npz", X)


def test_query_file_is_a_plain_npz_with_only_x(tmp_path):
    X = np.arange(6, dtype=float).reshape(2, 3)
    write_queries(tmp_path / "q.npz", X)
    with np.load(tmp_path / "q.npz", allow_pickle=False) as npz:
        assert npz.files == ["X"]
        assert np.array_equal(npz["X"], X)


@pytest.mark.parametrize("form", ["path", "file_uri"])
def test_fetch_queries_reads_local_files(tmp_path, form):
    X = np.arange(8, dtype=float).reshape(4, 2)
    path = tmp_path / "q.npz"
    h = write_queries(path, X)
    uri = str(path) if form == "path" else path.as_uri()
    assert np.array_equal(fetch_queries(uri, h), X)


def test_fetch_queries_downloads_over_http(tmp_path):
    X = np.arange(8, dtype=float).reshape(2, 4)
    h = write_queries(tmp_path / "q.npz", X)
    handler = partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/q.npz"
        assert np.array_equal(fetch_queries(url, h), X)
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_queries_refuses_a_hash_mismatch_in_one_line(tmp_path):
    path = tmp_path / "q.npz"
    write_queries(path, np.ones((3, 2)))
    wrong = keccak(b"something else")
    with pytest.raises(QueryHashMismatch) as err:
        fetch_queries(str(path), wrong)
    assert isinstance(err.value, ValueError)
    assert "\n" not in str(err.value)
    assert wrong.hex() in str(err.value) and str(path) in str(err.value)


def test_fetch_queries_refuses_a_pickled_file_even_with_its_hash(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a numeric .npz"):
        fetch_queries(str(path), file_hash(path))


def test_fetch_queries_reports_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        fetch_queries(str(tmp_path / "nope.npz"), b"\x00" * 32)


def test_fetch_queries_rejects_unknown_schemes():
    with pytest.raises(ValueError, match="unsupported query URI scheme 'ftp'"):
        fetch_queries("ftp://example.org/q.npz", b"\x00" * 32)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
