"""Journal: the participant's durable memory of one round, so a crash never loses a salt.

One small JSON file per (chain id, contract, round, address), mode 0600, in a 0700 directory. Every
`record` writes a temporary file, fsyncs it, atomically renames it over the old one and fsyncs the
directory, so after `record` returns the new state survives a crash or power loss, and a crash in the
middle leaves the previous version intact. The participant records the labels and salt *before* it sends
the commit transaction.

A file that cannot be read back exactly (bad JSON, checksum mismatch, another round's or address's file)
raises JournalCorrupt and is never overwritten.

    j = Journal.open("~/.cl-client/journal", chain_id, contract, round_id, address)
    j.state                      # "new" if there is no file yet
    j.record("prepared", labels=b"...", salt=salt, commitment=c)   # durable when this returns
"""
from __future__ import annotations

import enum
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from .files import write_private

VERSION = 1

class State(str, enum.Enum):
    """Where one participant stands in one round: the one vocabulary of the journal and `Participant.step`.

    The journal records the durable states (JOURNAL_STATES); `step` also returns DONE and WAITING_FINALIZE.
    Members are strings (``State.COMMITTED == "committed"``), so journals, reports and JSON stay as before.
    """

    NEW = "new"  # journal only: nothing done yet
    PREPARED = "prepared"  # journal only: labels + salt chosen and durable; the commit may be in flight
    COMMITTED = "committed"  # committed on chain; waiting for the reveal phase (or its reveal moment)
    REVEALED = "revealed"  # revealed on chain; waiting for the reveal deadline
    NOT_REVEALED = "not-revealed"  # committed but will not (strategy) or could not (refused) reveal
    WAITING_FINALIZE = "waiting-finalize"  # step only: finalizable, but finalizing is left to others
    FINALIZED = "finalized"  # the round is settled on chain (finalized or failed); claiming is next
    CLAIMED = "claimed"  # stake (and any reward) collected
    DONE = "done"  # step only: claimed earlier, nothing left to do
    MISSED = "missed"  # the commit phase ended before this address committed

    __str__ = str.__str__  # "committed", not "State.COMMITTED", in messages and tables
    __format__ = str.__format__


JOURNAL_STATES = frozenset(State) - {State.WAITING_FINALIZE, State.DONE}
TERMINAL_STATES = frozenset({State.CLAIMED, State.DONE, State.MISSED})
"""Nothing more to do for this participant in this round."""
COMMIT_DONE = frozenset({State.COMMITTED, State.MISSED})
"""States after which the commit phase is over for this participant."""
REVEAL_DONE = frozenset({State.REVEALED, State.NOT_REVEALED, State.MISSED})
"""States after which the reveal phase is over for this participant."""
STATES = tuple(s.value for s in State if s in JOURNAL_STATES)  # the journal's states, as strings

_BYTES_FIELDS = ("labels", "salt", "commitment")
_IMMUTABLE = ("labels", "salt", "commitment")


class JournalCorrupt(ValueError):
    """A journal file exists but cannot be trusted; it is left untouched."""


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _unhex(s: str) -> bytes:
    if not isinstance(s, str) or not s.startswith("0x"):
        raise ValueError(f"not a 0x-hex string: {s!r}")
    return bytes.fromhex(s[2:])


def _checksum(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Journal:
    """The durable record of one participant's progress in one round (see the module docstring)."""

    def __init__(self, path: Path, chain_id: int, contract: str, round_id: int, address: str,
                 data: dict | None = None):
        self.path = Path(path)
        self.chain_id, self.round_id = int(chain_id), int(round_id)
        self.contract, self.address = str(contract).lower(), str(address).lower()
        self.data: dict[str, Any] = data if data is not None else self._identity() | {"state": State.NEW.value}

    # ------------------------------------------------------------------ opening

    @staticmethod
    def path_for(directory, chain_id: int, contract: str, round_id: int, address: str) -> Path:
        name = f"{int(chain_id)}-{str(contract).lower()}-{int(round_id)}-{str(address).lower()}.json"
        return Path(directory).expanduser() / name

    @classmethod
    def open(cls, directory, chain_id: int, contract: str, round_id: int, address: str) -> "Journal":
        """The journal for this (chain, contract, round, address): read from disk, or a fresh "new" one."""
        path = cls.path_for(directory, chain_id, contract, round_id, address)
        journal = cls(path, chain_id, contract, round_id, address)
        if path.exists():
            journal.data = journal._load()
        return journal

    def _identity(self) -> dict:
        return {"version": VERSION, "chain_id": self.chain_id, "contract": self.contract,
                "round_id": self.round_id, "address": self.address}

    def _corrupt(self, reason: str) -> JournalCorrupt:
        return JournalCorrupt(
            f"journal {self.path} is corrupt ({reason}); it was left untouched: repair or move it away "
            f"only if you are sure this address has nothing at stake in round {self.round_id}")

    def _load(self) -> dict:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise self._corrupt(f"unreadable: {exc.strerror or exc}") from None
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._corrupt(f"not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("journal"), dict) or "sha256" not in doc:
            raise self._corrupt("not a cl-client journal")
        body = doc["journal"]
        if _checksum(body) != doc["sha256"]:
            raise self._corrupt("checksum mismatch")
        if body.get("version") != VERSION:
            raise self._corrupt(f"unknown version {body.get('version')!r}")
        for key, want in self._identity().items():
            if body.get(key) != want:
                raise self._corrupt(f"it belongs to {key}={body.get(key)!r}, expected {want!r}")
        if body.get("state") not in STATES:
            raise self._corrupt(f"unknown state {body.get('state')!r}")
        for key in _BYTES_FIELDS:
            if key in body:
                try:
                    _unhex(body[key])
                except ValueError as exc:
                    raise self._corrupt(f"bad {key}: {exc}") from None
        if "salt" in body and len(_unhex(body["salt"])) != 32:
            raise self._corrupt("salt is not 32 bytes")
        if body.get("state") in (State.PREPARED, State.COMMITTED) and not {"labels", "salt"} <= body.keys():
            raise self._corrupt(f"state {body.get('state')!r} without labels and salt")
        return body

    # ------------------------------------------------------------------ reading

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def state(self) -> State:
        return State(self.data["state"])

    def _bytes(self, key: str) -> bytes | None:
        value = self.data.get(key)
        return None if value is None else _unhex(value)

    @property
    def labels(self) -> bytes | None:
        """The committed label bytes (one per query), or None before they were chosen."""
        return self._bytes("labels")

    @property
    def salt(self) -> bytes | None:
        return self._bytes("salt")

    @property
    def commitment(self) -> bytes | None:
        return self._bytes("commitment")

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    # ------------------------------------------------------------------ writing

    def record(self, state: State | str, **fields: Any) -> None:
        """Set the state (and any extra JSON-able fields; bytes become 0x-hex) and write durably.

        labels, salt and commitment can be set once; changing them afterwards raises ValueError, so a
        salt that may already be on chain is never lost.
        """
        if state not in STATES:
            raise ValueError(f"unknown journal state {str(state)!r}; one of {', '.join(STATES)}")
        state = State(state)
        new = dict(self.data)
        for key, value in fields.items():
            if isinstance(value, (bytes, bytearray)):
                value = _hex(value)
            if key in _IMMUTABLE and key in new and new[key] != value:
                raise ValueError(f"journal {self.path} already holds a different {key} for round "
                                 f"{self.round_id}; refusing to replace it")
            new[key] = value
        if "salt" in fields and len(_unhex(new["salt"])) != 32:
            raise ValueError("salt must be 32 bytes")
        if state in (State.PREPARED, State.COMMITTED) and not {"labels", "salt"} <= new.keys():
            raise ValueError(f"journal state {str(state)!r} needs labels and salt")
        new["state"] = state.value
        new["updated_at"] = int(time.time())
        self._write(new)
        self.data = new

    def _write(self, body: dict) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        payload = json.dumps({"journal": body, "sha256": _checksum(body)}, indent=1, sort_keys=True).encode()
        write_private(self.path, payload, durable=True)

    def __repr__(self) -> str:
        return f"Journal({self.path}, state={self.state.value!r})"
