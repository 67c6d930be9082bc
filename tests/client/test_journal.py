"""cl_client.journal: durable, private, tamper-evident per-round state."""
import json
import os
import stat

import pytest

from cl_client import journal as journal_mod
from cl_client.journal import Journal, JournalCorrupt

CHAIN, CONTRACT, ROUND, ADDR = 1337, "0x" + "ab" * 20, 7, "0x" + "cd" * 20
LABELS, SALT, COMMITMENT = bytes([1, 2, 3]), bytes(range(32)), b"\x99" * 32


def open_j(tmp_path, **overrides):
    args = dict(chain_id=CHAIN, contract=CONTRACT, round_id=ROUND, address=ADDR) | overrides
    return Journal.open(tmp_path / "j", **args)


def prepared(tmp_path):
    j = open_j(tmp_path)
    j.record("prepared", labels=LABELS, salt=SALT, commitment=COMMITMENT)
    return j


def test_a_fresh_journal_is_new_and_writes_nothing(tmp_path):
    j = open_j(tmp_path)
    assert (j.state, j.labels, j.salt, j.exists) == ("new", None, None, False)
    assert not (tmp_path / "j").exists()


def test_recorded_labels_and_salt_survive_reopening(tmp_path):
    prepared(tmp_path)
    again = open_j(tmp_path)
    assert (again.state, again.labels, again.salt, again.commitment) == ("prepared", LABELS, SALT, COMMITMENT)


def test_states_advance_and_keep_extra_fields(tmp_path):
    j = prepared(tmp_path)
    j.record("committed", gas={"commit": 21000})
    j.record("revealed")
    again = open_j(tmp_path)
    assert again.state == "revealed" and again.get("gas") == {"commit": 21000} and again.salt == SALT


def test_journal_file_is_0600_in_a_0700_directory(tmp_path):
    j = prepared(tmp_path)
    assert stat.S_IMODE(os.stat(j.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(j.path.parent).st_mode) == 0o700


def test_one_file_per_chain_contract_round_and_address(tmp_path):
    prepared(tmp_path)
    for other in ({"chain_id": 1}, {"contract": "0x" + "11" * 20}, {"round_id": 8}, {"address": "0x" + "22" * 20}):
        assert open_j(tmp_path, **other).state == "new"


def test_record_syncs_the_file_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"))
        real_fsync(fd)

    def replace(src, dst):
        calls.append(("replace", os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    j = prepared(tmp_path)
    assert calls == [("fsync", "file"), ("replace", j.path.name), ("fsync", "dir")]


def test_a_crash_during_a_write_leaves_the_previous_version(tmp_path, monkeypatch):
    j = prepared(tmp_path)

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        j.record("committed")
    monkeypatch.undo()
    assert open_j(tmp_path).state == "prepared" and open_j(tmp_path).salt == SALT


def test_salt_and_labels_cannot_be_replaced_once_recorded(tmp_path):
    j = prepared(tmp_path)
    with pytest.raises(ValueError, match="already holds a different salt"):
        j.record("prepared", salt=b"\x01" * 32)
    with pytest.raises(ValueError, match="already holds a different labels"):
        j.record("committed", labels=b"\x00\x00\x00")
    assert open_j(tmp_path).salt == SALT


def test_prepared_state_requires_labels_and_salt(tmp_path):
    with pytest.raises(ValueError, match="needs labels and salt"):
        open_j(tmp_path).record("prepared", labels=LABELS)


def test_unknown_state_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown journal state 'lost'"):
        open_j(tmp_path).record("lost")


@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],                                   # truncated
    lambda raw: b"",                                                    # empty
    lambda raw: b"\xff\xfe garbage",                                    # not text
    lambda raw: raw.replace(SALT.hex().encode(), (b"00" * 32)),          # salt changed: checksum fails
])
def test_a_damaged_file_raises_journal_corrupt_naming_the_file(tmp_path, damage):
    j = prepared(tmp_path)
    bad = damage(j.path.read_bytes())
    j.path.write_bytes(bad)
    with pytest.raises(JournalCorrupt) as err:
        open_j(tmp_path)
    message = str(err.value)
    assert str(j.path) in message and "\n" not in message
    assert isinstance(err.value, ValueError)
    assert j.path.read_bytes() == bad  # never overwritten


def test_another_rounds_file_in_its_place_is_corrupt(tmp_path):
    j = prepared(tmp_path)
    other = open_j(tmp_path, round_id=ROUND + 1)
    other.record("prepared", labels=LABELS, salt=SALT, commitment=COMMITMENT)
    os.replace(other.path, j.path)
    with pytest.raises(JournalCorrupt, match="belongs to round_id=8, expected 7"):
        open_j(tmp_path)


def test_a_consistent_but_impossible_file_is_corrupt(tmp_path):
    j = prepared(tmp_path)
    doc = json.loads(j.path.read_text())
    del doc["journal"]["salt"]
    doc["sha256"] = journal_mod._checksum(doc["journal"])
    j.path.write_text(json.dumps(doc))
    with pytest.raises(JournalCorrupt, match="'prepared' without labels and salt"):
        open_j(tmp_path)


BINDING = {"genesis": "0x" + "aa" * 32, "code_hash": "0x" + "bb" * 32, "requester": "0x" + "ee" * 20,
           "queries_hash": "0x" + "cc" * 32, "commit_deadline": 100, "reveal_deadline": 200}


@pytest.mark.parametrize("key, value, named", [("genesis", "0x" + "11" * 32, "genesis 0xaaaaaaaaaaaaaaaa.. in the journal != 0x1111111111111111.. on this chain"),
                                               ("code_hash", "0x" + "22" * 32, "contract code"),
                                               ("queries_hash", "0x" + "33" * 32, "round query hash"),
                                               ("commit_deadline", 101, "round commit deadline 100 in the journal != 101")])
def test_a_journal_bound_to_another_chain_or_round_is_refused_and_kept(tmp_path, key, value, named):
    j = open_j(tmp_path, binding=BINDING)
    j.record("prepared", labels=LABELS, salt=SALT, commitment=COMMITMENT)
    before = j.path.read_bytes()
    assert open_j(tmp_path, binding=BINDING).salt == SALT
    with pytest.raises(journal_mod.JournalMismatch) as info:
        open_j(tmp_path, binding=BINDING | {key: value})
    message = str(info.value)
    assert "belongs to another chain/deployment" in message and named in message and "move it away" in message
    assert "\n" not in message and j.path.read_bytes() == before


def test_a_version_1_journal_is_used_only_once_its_commitment_is_seen_on_chain(tmp_path):
    body = {"version": 1, "chain_id": CHAIN, "contract": CONTRACT, "round_id": ROUND, "address": ADDR,
            "state": "committed", "labels": "0x" + LABELS.hex(), "salt": "0x" + SALT.hex(),
            "commitment": "0x" + COMMITMENT.hex()}
    path = Journal.path_for(tmp_path / "j", CHAIN, CONTRACT, ROUND, ADDR)
    path.parent.mkdir()
    path.write_text(json.dumps({"journal": body, "sha256": journal_mod._checksum(body)}))
    assert open_j(tmp_path).state == "committed"  # without a binding: read as before
    j = open_j(tmp_path, binding=BINDING)
    assert j.legacy
    with pytest.raises(ValueError):
        j.record("revealed")  # not written before it is verified
    for onchain in (None, b"\x00" * 32, b"\x01" * 32):
        with pytest.raises(journal_mod.JournalMismatch, match="version-1 journal that cannot be verified"):
            open_j(tmp_path, binding=BINDING).verify_legacy(onchain)
    j.verify_legacy(COMMITMENT)
    again = open_j(tmp_path, binding=BINDING)
    assert not again.legacy and again.get("version") == 2 and again.get("binding") == BINDING
    assert (again.state, again.salt) == ("committed", SALT)
