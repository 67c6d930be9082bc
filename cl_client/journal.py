"""Journal: the participant's durable memory of one round, so a crash never loses a salt.

One small JSON file per (chain id, contract, round, address), mode 0600, in a 0700 directory. Every
`record` writes a temporary file, fsyncs it, atomically renames it over the old one and fsyncs the
directory, so after `record` returns the new state survives a crash or power loss, and a crash in the
middle leaves the previous version intact. The participant records the labels and salt *before* it sends
the commit transaction.

A file that cannot be read back exactly (bad JSON, checksum mismatch, another round's or address's file)
raises JournalCorrupt and is never overwritten.

Version 2 binds a journal to the chain's identity, not only to its chain id and contract address (a
restarted dev chain has the same id, and a redeploy there the same address): `binding` holds the genesis
block hash, the contract's runtime-code hash and the round's requester, query hash and deadlines
(`cl_client.identity.binding`). A file whose binding differs from the chain's raises JournalMismatch (a
JournalCorrupt) and is left untouched. A version-1 file (no binding) opened with a binding is `legacy`:
it is used only after `verify_legacy` saw its commitment on chain (the commitment hashes chain id, contract,
round, address, labels and salt, so nobody else's labels can match it), which rewrites it as version 2.

    j = Journal.open("~/.cl-client/journal", chain_id, contract, round_id, address, binding=...)
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

VERSION = 2
LEGACY_VERSIONS = (1,)
BINDING_NAMES = {"genesis": "genesis", "code_hash": "contract code", "requester": "round requester",
                 "queries_hash": "round query hash", "commit_deadline": "round commit deadline",
                 "reveal_deadline": "round reveal deadline"}
"""The fields of a journal's binding, and how a mismatch names them."""

class State(str, enum.Enum):
    """Where one participant stands in one round: the one vocabulary of the journal and `Participant.step`.

    The journal records the durable states (JOURNAL_STATES); `step` also returns DONE, WAITING_FINALIZE and
    WATCHING.
    Members are strings (``State.COMMITTED == "committed"``), so journals, reports and JSON stay as before.
    """

    NEW = "new"  # journal only: nothing done yet
    PREPARED = "prepared"  # journal only: labels + salt chosen and durable; the commit may be in flight
    COMMITTED = "committed"  # committed on chain; waiting for the reveal phase (or its reveal moment)
    REVEALED = "revealed"  # revealed on chain; waiting for the reveal deadline
    NOT_REVEALED = "not-revealed"  # committed but will not (strategy) or could not (refused) reveal
    WAITING_FINALIZE = "waiting-finalize"  # step only: finalizable, but finalizing is left to others
    WATCHING = "watching"  # step only: a post of the round is live and checked honest; claim after its window
    FINALIZED = "finalized"  # the round is settled on chain (finalized or failed); claiming is next
    CLAIMED = "claimed"  # stake (and any reward) collected
    DONE = "done"  # step only: claimed earlier, nothing left to do
    MISSED = "missed"  # the commit phase ended before this address committed

    __str__ = str.__str__  # "committed", not "State.COMMITTED", in messages and tables
    __format__ = str.__format__


JOURNAL_STATES = frozenset(State) - {State.WAITING_FINALIZE, State.WATCHING, State.DONE}
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


class JournalMismatch(JournalCorrupt):
    """A sound journal file of another chain or deployment (or an unverifiable old one); left untouched."""


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _unhex(s: str) -> bytes:
    if not isinstance(s, str) or not s.startswith("0x"):
        raise ValueError(f"not a 0x-hex string: {s!r}")
    return bytes.fromhex(s[2:])


def _short(value: Any) -> str:
    """A binding value for a one-line message: hashes shortened to 0x + 16 hex digits."""
    text = str(value)
    return text[:18] + ".." if text.startswith("0x") and len(text) > 20 else text


def _checksum(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Journal:
    """The durable record of one participant's progress in one round (see the module docstring)."""

    def __init__(self, path: Path, chain_id: int, contract: str, round_id: int, address: str,
                 data: dict | None = None, binding: dict | None = None):
        self.path = Path(path)
        self.chain_id, self.round_id = int(chain_id), int(round_id)
        self.contract, self.address = str(contract).lower(), str(address).lower()
        self.binding = None if binding is None else dict(binding)
        self.legacy = False  # a version-1 file not yet verified against the chain: not to be used or written
        self.data: dict[str, Any] = data if data is not None else self._identity() | {"state": State.NEW.value}

    # ------------------------------------------------------------------ opening

    @staticmethod
    def path_for(directory, chain_id: int, contract: str, round_id: int, address: str) -> Path:
        name = f"{int(chain_id)}-{str(contract).lower()}-{int(round_id)}-{str(address).lower()}.json"
        return Path(directory).expanduser() / name

    @classmethod
    def open(cls, directory, chain_id: int, contract: str, round_id: int, address: str,
             binding: dict | None = None) -> "Journal":
        """The journal for this (chain, contract, round, address): read from disk, or a fresh "new" one.

        With `binding` (see the module docstring), a file bound to another chain or deployment raises
        JournalMismatch; a version-1 file comes back with `legacy` set, to be `verify_legacy`-ed.
        """
        path = cls.path_for(directory, chain_id, contract, round_id, address)
        journal = cls(path, chain_id, contract, round_id, address, binding=binding)
        if path.exists():
            journal.data = journal._load()
        return journal

    @staticmethod
    def round_of(path: Path) -> int | None:
        """The round id in a journal file's name (None if it is not one)."""
        parts = Path(path).name.removesuffix(".json").split("-")
        return int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None

    def _identity(self) -> dict:
        ident = {"version": VERSION, "chain_id": self.chain_id, "contract": self.contract,
                 "round_id": self.round_id, "address": self.address}
        if self.binding is not None:
            ident["binding"] = dict(self.binding)
        return ident

    def _mismatch(self, reason: str) -> JournalMismatch:
        return JournalMismatch(
            f"journal {self.path} {reason}; it was left untouched and is not used: move it away (keep it "
            f"if this address may still have a commitment from it on that chain) and run again")

    def verify_legacy(self, onchain_commitment: bytes | None) -> None:
        """Accept a version-1 journal if its commitment is the one on chain (then rewrite it as version 2),
        else raise JournalMismatch. No-op for a journal that is not legacy."""
        if not self.legacy:
            return
        mine = self.commitment
        if mine is None or onchain_commitment is None or bytes(onchain_commitment) != mine:
            why = ("no commitment of this address is on chain" if onchain_commitment is None or
                   not any(onchain_commitment) else "the commitment on chain is another one")
            raise self._mismatch(f"is a version-1 journal that cannot be verified against this chain ({why}; it "
                                 "may belong to a previous chain with the same id and contract address)")
        self.legacy = False
        self.record(self.state)  # now version 2, bound to this chain
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
        version = body.get("version")
        if version != VERSION and version not in LEGACY_VERSIONS:
            raise self._corrupt(f"unknown version {version!r}")
        for key, want in self._identity().items():
            if key in ("version", "binding"):
                continue
            if body.get(key) != want:
                raise self._corrupt(f"it belongs to {key}={body.get(key)!r}, expected {want!r}")
        if version in LEGACY_VERSIONS:
            self.legacy = self.binding is not None
        elif self.binding is not None:
            theirs = body.get("binding")
            if not isinstance(theirs, dict):
                raise self._mismatch("holds no chain binding")
            for key, want in self.binding.items():
                if theirs.get(key) != want:
                    name = BINDING_NAMES.get(key, key)
                    raise self._mismatch(f"belongs to another chain/deployment ({name} {_short(theirs.get(key))} in "
                                         f"the journal != {_short(want)} on this chain)")
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
        if self.legacy:
            raise ValueError(f"journal {self.path} is a version-1 journal not verified against this chain")
        if state not in STATES:
            raise ValueError(f"unknown journal state {str(state)!r}; one of {', '.join(STATES)}")
        state = State(state)
        new = dict(self.data) | self._identity()  # a verified version-1 journal becomes version 2
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


class AuditJournal:
    """A requester's durable memory of one round's hidden audit (indices, labels, salt), so that it can be
    revealed in the Audit phase (`cl-client reveal-audit`). One JSON file, mode 0600 in a 0700 folder,
    named by chain id, contract, requester and the audit commitment: it is written (fsync'd) BEFORE the
    round is opened, then gains the round id. Losing it forfeits part of the reward (AUDIT_FORFEIT_BPS)."""

    KIND = "cl-client audit journal"

    def __init__(self, path: Path):
        self.path = Path(path)

    @staticmethod
    def path_for(directory, chain_id: int, contract: str, requester: str, commitment: bytes) -> Path:
        name = f"audit-{int(chain_id)}-{contract.lower()}-{requester.lower()}-{bytes(commitment).hex()}.json"
        return Path(directory).expanduser() / name

    def write(self, *, chain_id: int, contract: str, requester: str, commitment: bytes, queries_hash: bytes,
              audit: dict, round_id: int | None = None, **extra: Any) -> None:
        """Replace the file (durably) with this audit; `audit` is `protocol.Audit.to_json()`."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        body = {"kind": self.KIND, "chain_id": int(chain_id), "contract": contract, "requester": requester,
                "commitment": _hex(commitment), "queries_hash": _hex(queries_hash), "round_id": round_id,
                "audit": audit, "updated": time.time(), **extra}
        body["checksum"] = _checksum(body)
        write_private(self.path, json.dumps(body, indent=1, sort_keys=True).encode(), durable=True)

    def read(self) -> dict:
        """The file's content; JournalCorrupt if it is not an intact audit journal."""
        try:
            body = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise JournalCorrupt(f"audit journal {self.path} cannot be read: {exc}") from None
        if not isinstance(body, dict) or body.get("kind") != self.KIND:
            raise JournalCorrupt(f"{self.path} is not a cl-client audit journal")
        checksum = body.pop("checksum", None)
        if checksum != _checksum(body):
            raise JournalCorrupt(f"audit journal {self.path} fails its checksum (edited or truncated?)")
        body["commitment"], body["queries_hash"] = _unhex(body["commitment"]), _unhex(body["queries_hash"])
        return body

    def update(self, **changes: Any) -> None:
        body = self.read()
        body.update(changes)
        body.pop("kind", None)
        body.pop("updated", None)
        self.write(**body)
