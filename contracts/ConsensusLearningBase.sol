// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IConsensusLearning} from "../interfaces/IConsensusLearning.sol";

/// @title ConsensusLearningBase
/// @notice The constants, the storage layout and the rules shared by the two halves of the protocol:
/// ConsensusLearning (stake, rounds, claims, owner, views) and ConsensusLearningSettlement (audit reveal,
/// finalize, abandon), which ConsensusLearning runs by delegatecall on its own storage. Both inherit this
/// contract and declare no state of their own, so they share one layout (tests/tools/test_layout.py checks it).
/// @dev Types, events and errors are IConsensusLearning's, named in full here because the settlement half does
/// not implement that interface.
abstract contract ConsensusLearningBase is Ownable2Step, Pausable, ReentrancyGuard {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Largest Q of a round.
    uint256 public constant MAX_QUERIES = 4096;
    /// @notice Largest number of participants of a round, whatever Q.
    uint256 public constant MAX_PARTICIPANTS = 64;
    /// @notice Largest N x Q of a round. finalize() is linear in it; at this bound, with worst-case labels,
    /// every transaction stays under EIP-7825's 16,777,216-gas cap (tests/contract/test_limits.py measures it).
    uint256 public constant MAX_LABELS = 53_248;
    /// @notice Bounds on a phase's duration, in seconds: at least three 12-second slots.
    uint256 public constant MIN_PHASE_DURATION = 36;
    uint256 public constant MAX_PHASE_DURATION = 7 days;
    /// @notice Most hidden audit queries per round.
    uint256 public constant MAX_AUDIT_QUERIES = 128;
    /// @notice Submission slots per participant: round r uses slot r % SUBMISSION_SLOTS, reused once the round
    /// it holds is claimed. So a participant can be in up to this many unclaimed rounds whose ids differ mod 16.
    uint256 public constant SUBMISSION_SLOTS = 16;
    /// @notice Largest K whose labels travel packed, 4 bits each (two per byte, the first label in the high
    /// nibble; an odd Q's last low nibble is zero padding). Rounds with more classes send one byte per label.
    uint256 public constant PACKED_MAX_CLASSES = 16;
    /// @notice Largest Q, largest labels (wire bytes: ceil(Q / 2) packed, else Q) and most participants of an
    /// optimistic-only round (RoundSpec.optimistic). Its seats are optimisticSeats(Q, K), at most 2048: what one
    /// propose can take under EIP-7825's cap. The label bytes bound challengeMatches, which carries two label
    /// vectors, to 128 KB (geth's pool). tests/contract/test_optimistic_limits.py measures both.
    uint256 public constant MAX_OPTIMISTIC_QUERIES = 65_535;
    uint256 public constant MAX_OPTIMISTIC_LABEL_BYTES = 64_000;
    uint256 public constant MAX_OPTIMISTIC_PARTICIPANTS = 2048;
    /// @notice optimisticSeats' budget: propose's gas, measured on Anvil (prague) with worst-case inputs (every
    /// count written, every label byte non-zero), is below POST_GAS_BASE + POST_GAS_PER_COMMITTER x N + (per
    /// label) x Q, and the seats keep that under POST_GAS_BUDGET, 7.6 % under the 16,777,216-gas cap (measured
    /// 2026-12-04: 8,542 gas a committer; 4.45 M at Q = 65,535 packed, 10.84 M at one byte a label, for N = 4).
    uint256 public constant POST_GAS_BUDGET = 15_500_000;
    uint256 public constant POST_GAS_BASE = 400_000;
    uint256 public constant POST_GAS_PER_COMMITTER = 9_000;
    uint256 public constant POST_GAS_PER_PACKED_LABEL = 70;
    uint256 public constant POST_GAS_PER_BYTE_LABEL = 170;
    /// @notice Hard limits on the challenge window: at least three 12-second slots (a test chain; a real
    /// deployment sizes it from its chain's censorship bound, docs/protocol.md), at most 30 days.
    uint256 public constant MIN_CHALLENGE_WINDOW = 36;
    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;
    /// @notice Share of a refuted post's bond paid to the refuter (the rest is burned, so a proposer refuting
    /// its own post still loses half).
    uint256 public constant REFUTER_SHARE_BPS = 5_000;
    /// @notice Share of the reward burned when the requester does not reveal a committed audit.
    uint256 public constant AUDIT_FORFEIT_BPS = 2_000;
    /// @notice How long after its last deadline a round may be abandoned (finalize stays possible until then).
    uint256 public constant ABANDON_DELAY = 3 days;
    /// @notice Delay before proposed bounds apply: longer than the longest possible round (3 x 7 days).
    uint256 public constant BOUNDS_DELAY = 28 days;
    /// @notice Most withdrawal requests pending at once per account.
    uint256 public constant MAX_PENDING_WITHDRAWALS = 8;
    /// @notice Hard limits the owner's bounds can never leave.
    uint256 public constant MIN_QUORUM_BPS = 1_000;
    uint256 public constant MAX_AGREEMENT_BPS = 7_000;
    uint256 public constant MAX_SLASH_BPS = 5_000;
    uint256 public constant MAX_MIN_STAKE = 10_000 ether;
    uint256 public constant MAX_UNBONDING_DELAY = 30 days;
    /// @notice Reputation, in basis points of full trust, of an address never scored: new addresses start low,
    /// so a fresh Sybil weighs a tenth of a fully trusted participant with the same stake.
    uint256 public constant REPUTATION_START = 1_000;
    /// @notice Reputation never falls below this (a weight is never 0: the address can always earn it back).
    uint256 public constant REPUTATION_FLOOR = 100;
    /// @notice Share of the gap to a round's score that one update closes (an exponential moving average).
    uint256 public constant REPUTATION_RATE = 3_000;
    /// @notice A revealer agrees only if its matches beat a query-blind labeller's M by this many standard
    /// deviations, sqrt(M * (Q - M) / Q) (a coin-flipper's spread), or match every query: a lucky 55 % coin-flipper
    /// at K = 2, Q = 100 is not paid (it needs 60). Tiny rounds, where nothing is significant, pay perfect matches.
    uint256 public constant AGREEMENT_SIGMAS = 2;
    /// @notice The crowd rule's strike share: a revealer whose wrong audit answers are shared by a crowd (the
    /// round's crowdBps of the revealers) on at least this share of the G audit queries is Excluded. A cartel
    /// that moves the plurality must lie with one label, so on the audit queries it lies on, it lies together.
    uint256 public constant CROWD_STRIKE_BPS = 2_500;
    /// @notice The crowd rule's memory: an address the rule struck out in the last round that judged it
    /// (`struckOut`) is struck out again by this many strikes, whatever the share. A group that lies once in a
    /// crowd must then answer the next audit clean, or lose its reward again.
    uint256 public constant CROWD_REPEAT_STRIKES = 1;

    uint256 internal constant _BPS = 10_000;
    /// @dev Tally weights are stored shifted left by one label's width (8 bits), so that in _plurality
    /// `key = or(t, xor(label, 0xff))` puts (255 - label) in the freed low byte: comparing keys then orders
    /// by weight first and, on equal weight, prefers the smaller label (the tie rule). _loadRevealers
    /// shifts, _scoreAndSettle shifts back; `0xff` in _plurality is the mask of those low bits.
    uint256 internal constant _KEY_SHIFT = 8;
    /// @dev The crowd rule's memory bit, the top bit of an address's `_reputation` word (reputation <= BPS
    /// < 2^14 uses the low bits), so the finalize that moves the reputation writes it in the same slot.
    uint256 internal constant _STRUCK_OUT = 1 << 15;

    /// @dev What settlement recorded; with the deadlines and the block time it gives the Phase.
    enum Outcome {
        Open, // not settled yet
        Finalized, // consensus stored (or, from a post, its root)
        Failed, // quorum missed, nobody passed the audit, or abandoned
        Proposed // a post is live (_posts): challengeable, then confirmable
    }

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    struct Round {
        // slot 0: read by every commit/reveal, so the counters written there cost a warm SSTORE.
        uint16 numQueries; // Q
        uint16 numClasses; // K
        uint40 commitDeadline; // last second of the Commit phase
        uint40 revealDeadline; // last second of the Reveal phase
        uint40 auditDeadline; // last second of the Audit phase (== revealDeadline without an audit)
        // An Outcome, stored as its uint8: an enum-typed storage read is range-checked (Panic 0x21) at
        // every comparison by the legacy code generator, which would cost commit and reveal ~40 gas.
        uint8 outcome;
        bool refundable; // the reward is owed back to the requester
        bool refunded; // ... and was taken
        bool auditRevealed; // the requester revealed its audit
        uint32 commitCount; // participants that committed
        uint32 revealCount; // participants that revealed
        bool optimistic; // optimistic-only: more seats and queries, settled by propose (RoundSpec.optimistic)
        // slot 1
        IConsensusLearning.Params params; // frozen at opening
        uint16 auditCount; // G
        // slot 2
        bytes32 queriesHash; // keccak256 of the query batch file
        // slot 3
        address requester; // who paid the reward
        uint96 reward; // wei paid in by the requester, net of the fee (less an audit forfeit once settled)
        // slot 4: written at commit
        uint128 committedStake; // sum of stakes locked by commit
        uint128 committedPenalty; // sum over committers of ceil(stake * nonRevealSlashBps / BPS)
        // slot 5: written at reveal
        uint128 revealedStake; // sum of revealers' stakes
        uint128 revealedPenalty; // the same sum over revealers (non-revealers': committedPenalty - revealedPenalty)
        // slot 6: written at finalize
        uint128 pool; // reward + pooled penalties, shared by agreeing revealers pro-rata to weight
        uint128 agreedWeight; // total weight of agreeing revealers
        // slot 7
        address consensusPointer; // SSTORE2 contract holding the Q consensus bytes
        uint96 finalizerFee; // paid to whoever settles the round
        // slot 8
        bytes32 auditCommitment; // 0 without an audit
        // slot 9
        address auditPointer; // SSTORE2 contract holding indices (2G bytes) ++ labels (G bytes)
    }

    struct Submission {
        bytes32 hash; // commitment; replaced by keccak256(labels) at reveal
        uint96 stake; // locked at commit
        uint32 matches; // queries equal to the consensus, set at finalize
        uint16 auditHits; // audit queries answered right, set at finalize
        IConsensusLearning.Status status; // Committed -> Revealed -> Agreed | Deviated | Excluded
        bool claimed; // settled by claim()
        uint16 reputation; // the committer's reputation at commit: its tally weight is stake x reputation
        uint64 roundId; // the round this slot holds (slots are reused: _slot)
    }

    /// @dev A round's post (optimistic settlement). Written whole by propose; cleared (proposer 0) by a refutation.
    struct Post {
        // slot 0
        address proposer; // 0: no live post
        uint40 challengeEnds; // last second a challenge is accepted
        uint32 serial; // posts so far in this round (the live one's number); keys the challenges' running sums
        bool byPost; // the round was settled through propose (a confirmed post, or a quorum propose found missed)
        // slot 1
        bytes32 consensusRoot; // _labelsRoot of the consensus's wire bytes
        // slot 2
        uint128 tallyWeight; // W: sum of the revealers' tally weights, (stake or 1) x reputation at commit
        uint96 bond; // free stake of the proposer locked by the post
        uint16 mode; // M: count of the consensus's most frequent label
        // slot 3: what confirm settles (the pool and the agreed weight are in the Round)
        uint96 pooled; // penalties that join the pool (or, if nobody agreed, are burned)
        uint96 burnt; // penalties burned outright (non-revealers' under equal weights)
        uint64 dust; // the pool's rounding remainder, burned
    }

    /// @dev A query proof's running sums, per (round, post serial, challenger, query, alt): _tallyKey.
    struct Tally {
        uint128 altWeight; // A: proven weight of revealers labelling the query `alt`
        uint128 otherWeight; // B: proven weight of revealers not labelling it the posted label
        address last; // the last revealer proven (the next must be above it)
    }

    struct Withdrawal {
        uint128 amount;
        uint64 readyAt;
    }

    struct Account {
        uint128 free; // may commit or unbond
        uint128 locked; // committed to rounds not yet claimed
        uint128 unbonding; // sum of the pending requests
        uint8 pending; // number of pending requests, in requests[0 .. pending)
        Withdrawal[MAX_PENDING_WITHDRAWALS] requests;
    }

    IConsensusLearning.Params internal _defaults;
    IConsensusLearning.Bounds internal _bounds;
    IConsensusLearning.Bounds internal _proposedBounds;
    uint256 internal _proposedBoundsAt; // when the proposal may be applied; 0: none
    uint256 internal _unbondingDelay;
    uint256 internal _roundCount;

    uint256 internal _totalStake; // free + locked + unbonding, net of penalties taken at finalize
    uint256 internal _rewardsOwed; // rewards and fees of open rounds + unclaimed shares
    uint256 internal _refundsOwed; // unclaimed refunds
    uint256 internal _burned; // owned by nobody

    mapping(uint256 roundId => Round) internal _rounds;
    /// @dev Each participant's submissions, in a ring: round r in slot r % SUBMISSION_SLOTS (_slot). A steady
    /// participant's commit overwrites its own old slot (5,000 gas a word) instead of writing fresh ones
    /// (22,100).
    mapping(address participant => Submission[SUBMISSION_SLOTS]) internal _slots;
    mapping(address participant => Account) internal _accounts;
    /// @dev Reputation in basis points (0 for an address never scored, read as REPUTATION_START), with the
    /// crowd rule's memory in bit 15 (_STRUCK_OUT).
    mapping(address participant => uint16) internal _reputation;

    IConsensusLearning.ChallengeTerms internal _terms;
    IConsensusLearning.ChallengeTerms internal _proposedTerms;
    uint256 internal _proposedTermsAt; // when the proposal may be applied; 0: none
    mapping(uint256 roundId => Post) internal _posts;
    mapping(bytes32 key => Tally) internal _tallies;


    /// @dev `participant`'s submission slot for `roundId` and whether it holds that round (else it is empty or
    /// holds an older round, and `participant` has no submission in `roundId`).
    function _slot(uint256 roundId, address participant) internal view returns (Submission storage s, bool held) {
        s = _slots[participant][roundId % SUBMISSION_SLOTS];
        held = s.roundId == roundId && s.status != IConsensusLearning.Status.None;
    }

    /// @dev Whether slot `s` keeps a commit to `roundId` out: it holds another round, not yet claimed.
    function _slotBusy(Submission storage s, uint256 roundId) internal view returns (bool) {
        return s.status != IConsensusLearning.Status.None && s.roundId != roundId && !s.claimed;
    }

    /// @dev The owner is the deployer (for the settlement half: the ConsensusLearning that creates it).
    constructor() Ownable(msg.sender) {}

    /*//////////////////////////////////////////////////////////////
                           SHARED RULES
    //////////////////////////////////////////////////////////////*/

    /// @dev Reputation in basis points (REPUTATION_START for an address never scored).
    function _reputationOf(address participant) internal view returns (uint256) {
        uint256 stored = _reputation[participant] & (_STRUCK_OUT - 1);
        return stored == 0 ? REPUTATION_START : stored;
    }

    /// @dev Phase as a pure function of the round's deadlines, outcome and the block time.
    function _phase(Round storage r) internal view returns (IConsensusLearning.Phase) {
        uint256 revealDeadline = r.revealDeadline;
        if (revealDeadline == 0) return IConsensusLearning.Phase.None;
        uint8 outcome = r.outcome;
        if (outcome == uint8(Outcome.Finalized)) return IConsensusLearning.Phase.Finalized;
        if (outcome == uint8(Outcome.Failed)) return IConsensusLearning.Phase.Failed;
        if (outcome == uint8(Outcome.Proposed)) return IConsensusLearning.Phase.Proposed;
        if (block.timestamp <= r.commitDeadline) return IConsensusLearning.Phase.Commit;
        if (block.timestamp <= revealDeadline) return IConsensusLearning.Phase.Reveal;
        if (block.timestamp <= r.auditDeadline && !r.auditRevealed) return IConsensusLearning.Phase.Audit;
        return IConsensusLearning.Phase.Finalizable;
    }

    function _checkPhase(uint256 roundId, Round storage r, IConsensusLearning.Phase expected) internal view {
        IConsensusLearning.Phase actual = _phase(r);
        if (actual == IConsensusLearning.Phase.None) revert IConsensusLearning.UnknownRound(roundId);
        if (actual != expected) revert IConsensusLearning.WrongPhase(roundId, expected, actual);
    }

    /// @dev The reputation rule (docs/protocol.md, "Reputation"): move `who`'s reputation REPUTATION_RATE of
    /// the way to `score` (bps), rounding towards less trust, never below REPUTATION_FLOOR. Bounded by
    /// construction: the result lies between the old value and the score, both <= BPS. `crowd`: the crowd
    /// rule's verdict this round, bits of _loadRevealers' word shifted down by 33 (bit 2 judged, bit 0 struck
    /// out; 0: not judged, the memory bit stays), written in the same slot.
    function _updateReputation(uint256 roundId, address who, uint256 score, uint256 crowd) internal {
        uint256 stored = _reputation[who];
        uint256 before = _reputationOf(who);
        uint256 next = _nextReputation(before, score);
        uint256 memoryBit = stored & _STRUCK_OUT;
        if (crowd & 4 != 0) {
            uint256 now_ = crowd & 1 != 0 ? _STRUCK_OUT : 0;
            if (now_ != memoryBit) emit IConsensusLearning.StruckOut(roundId, who, now_ != 0);
            memoryBit = now_;
        }
        _reputation[who] = uint16(next | memoryBit); // next <= BPS < _STRUCK_OUT
        emit IConsensusLearning.ReputationUpdated(roundId, who, before, next);
    }

    /// @dev One reputation step from `before` towards `score` (both bps): REPUTATION_RATE of the gap, a gain
    /// rounded down and a loss up (`_penalty` is a ceiling), never below REPUTATION_FLOOR.
    function _nextReputation(uint256 before, uint256 score) internal pure returns (uint256 next) {
        next = score >= before
            ? before + (score - before) * REPUTATION_RATE / _BPS
            : before - _penalty(before - score, REPUTATION_RATE);
        if (next < REPUTATION_FLOOR) next = REPUTATION_FLOOR;
    }

    /// @dev The agreement rule (docs/protocol.md, "Finalize", step 5): `m` of Q labels match a consensus whose most
    /// frequent label covers `mode` = M. A perfect match agrees; otherwise m must reach M (what a labeller
    /// blind to the queries matches at best in expectation), its chance-corrected agreement (m - M) / (Q - M)
    /// must reach `bps`, and m - M must be at least AGREEMENT_SIGMAS standard deviations of a blind labeller,
    /// (m - M)^2 * Q >= AGREEMENT_SIGMAS^2 * M * (Q - M), so that luck does not pay in small rounds.
    function _agrees(uint256 m, uint256 mode, uint256 q, uint256 bps) internal pure returns (bool) {
        if (m == q) return true;
        if (m < mode) return false;
        uint256 d = m - mode;
        return d * _BPS >= bps * (q - mode) && d * d * q >= AGREEMENT_SIGMAS * AGREEMENT_SIGMAS * mode * (q - mode);
    }

    /// @dev ceil(stake * bps / BPS): penalties round up so the pool never promises more than was taken.
    function _penalty(uint256 stake, uint256 bps) internal pure returns (uint256) {
        return (stake * bps + _BPS - 1) / _BPS;
    }

    /// @dev abi.encode(chainid, contract, requester, queriesHash, keccak256(indices), keccak256(labels), salt):
    /// bound to this chain, contract, requester and query batch (the round id is not known before opening).
    function _auditCommitment(
        address requester,
        bytes32 queriesHash,
        bytes32 indicesHash,
        bytes32 labelsHash,
        bytes32 salt
    ) internal view returns (bytes32) {
        return keccak256(
            abi.encode(block.chainid, address(this), requester, queriesHash, indicesHash, labelsHash, salt)
        );
    }

    /// @dev The length of a reveal's labels for Q queries of K classes: ceil(Q / 2) bytes when K <=
    /// PACKED_MAX_CLASSES (4 bits a label), else Q bytes.
    function _labelBytes(uint256 q, uint256 k) internal pure returns (uint256) {
        return k <= PACKED_MAX_CLASSES ? (q + 1) >> 1 : q;
    }

    /// @dev The seats of an optimistic-only round of Q queries and K classes (IConsensusLearning.optimisticSeats).
    function _optimisticSeats(uint256 q, uint256 k) internal pure returns (uint256) {
        uint256 labels = (k <= PACKED_MAX_CLASSES ? POST_GAS_PER_PACKED_LABEL : POST_GAS_PER_BYTE_LABEL) * q;
        if (POST_GAS_BASE + labels >= POST_GAS_BUDGET) return 0;
        uint256 seats = (POST_GAS_BUDGET - POST_GAS_BASE - labels) / POST_GAS_PER_COMMITTER;
        return seats < MAX_OPTIMISTIC_PARTICIPANTS ? seats : MAX_OPTIMISTIC_PARTICIPANTS;
    }

    /// @dev Revert unless `labels` are a valid reveal of Q labels of K classes: _labelBytes(Q, K) bytes
    /// (WrongLabelCount), every label < K (LabelOutOfRange, with the label's query index) and, packed with an
    /// odd Q, a zero padding nibble (LabelPaddingNotZero).
    function _checkRevealedLabels(bytes calldata labels, uint256 q, uint256 k) internal pure {
        uint256 size = _labelBytes(q, k);
        if (labels.length != size) revert IConsensusLearning.WrongLabelCount(labels.length, size);
        if (k > PACKED_MAX_CLASSES) return _checkLabels(labels, k);
        if (q & 1 != 0 && uint8(labels[size - 1]) & 0x0f != 0) {
            revert IConsensusLearning.LabelPaddingNotZero(uint8(labels[size - 1]) & 0x0f);
        }
        if (k == PACKED_MAX_CLASSES) return; // every nibble is a label
        uint256 bad;
        assembly ("memory-safe") {
            let nib := 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
            let hi := 0x8080808080808080808080808080808080808080808080808080808080808080
            // 128 - k in every byte: a nibble n (moved into a byte of its own) is >= k iff n + 128 - k >= 128,
            // and n + 128 - k <= 15 + 126 never carries out of its byte.
            let c := mul(0x0101010101010101010101010101010101010101010101010101010101010101, sub(128, k))
            let end := add(labels.offset, labels.length)
            for { let p := labels.offset } lt(p, end) { p := add(p, 0x20) } {
                let w := calldataload(p)
                let rest := sub(end, p)
                if lt(rest, 0x20) { w := and(w, not(shr(shl(3, rest), not(0)))) } // zero = valid labels
                // the low nibbles (odd queries) and the high nibbles (even queries), each in its own byte
                bad := or(bad, and(or(add(and(w, nib), c), add(and(shr(4, w), nib), c)), hi))
            }
        }
        if (bad != 0) {
            for (uint256 i; i < q; ++i) {
                uint256 label = (uint8(labels[i >> 1]) >> (i & 1 == 0 ? 4 : 0)) & 0x0f;
                if (label >= k) revert IConsensusLearning.LabelOutOfRange(i, label, k);
            }
        }
    }

    /// @dev Revert with LabelOutOfRange unless every byte of `labels` is < k (2 <= k <= 256).
    /// Checks 32 labels per word: with lo = b & 0x7f and hi = b & 0x80,
    ///   k <= 128: b < k  iff  hi == 0 and lo + (128 - k) < 128
    ///   k >  128: b < k  iff  hi == 0 or  lo + (256 - k) < 128
    /// and no addition carries out of its byte (at most 127 + 127).
    function _checkLabels(bytes calldata labels, uint256 k) internal pure {
        if (k == 256) return; // every byte is a label
        uint256 bad;
        assembly ("memory-safe") {
            let hi := 0x8080808080808080808080808080808080808080808080808080808080808080
            let lo7 := not(hi)
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let small := iszero(gt(k, 128))
            let c := mul(ones, sub(shl(7, add(1, iszero(small))), k)) // (128 or 256) - k per byte
            let end := add(labels.offset, labels.length)
            for { let p := labels.offset } lt(p, end) { p := add(p, 0x20) } {
                let w := calldataload(p)
                let rest := sub(end, p)
                if lt(rest, 0x20) { w := and(w, not(shr(shl(3, rest), not(0)))) } // zero = valid label
                let over := and(add(and(w, lo7), c), hi) // high bit set where lo + c >= 128
                switch small
                case 1 { bad := or(bad, or(and(w, hi), over)) }
                default { bad := or(bad, and(and(w, hi), over)) }
            }
        }
        if (bad != 0) {
            for (uint256 i; i < labels.length; ++i) {
                if (uint8(labels[i]) >= k) revert IConsensusLearning.LabelOutOfRange(i, uint8(labels[i]), k);
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                      THE LABELS' MERKLE LAYOUT
    //////////////////////////////////////////////////////////////*/

    /// @dev The Merkle root of wire bytes (a reveal's labels, or a posted consensus): the ceil(L / 32) chunks of
    /// 32 bytes (the last zero-padded) are the leaves, unhashed; the tree has depth _treeDepth(L) and is padded
    /// with all-zero leaves; a node is keccak256(left ++ right). One chunk is its own root; no bytes, 0.
    /// The depth is fixed by (Q, K), so a leaf can never pass for a node.
    function _labelsRoot(bytes calldata wire) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let len := wire.length
            let n := shr(5, add(len, 31)) // nodes at the current level: the chunks
            // Scratch past the free memory pointer (never allocated: nothing else runs until the root is read).
            let m := mload(0x40)
            mstore(m, 0) // no bytes: root 0
            calldatacopy(m, wire.offset, len) // leaf i at m + 32i
            mstore(add(m, len), 0) // zero the last chunk's padding (and the word after it)
            let zero := 0 // the all-zero subtree's root at the current level (level 0: a zero leaf)
            for {} gt(n, 1) {} {
                let half := shr(1, n)
                // node i of the next level = keccak(node 2i ++ node 2i + 1), written in place over node i:
                // i <= 2i, so no node is overwritten before it is read
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    mstore(add(m, shl(5, i)), keccak256(add(m, shl(6, i)), 0x40))
                }
                if and(n, 1) {
                    // an odd last node pairs with the zero subtree (the zero leaves' padding, hashed up)
                    let last := add(m, shl(5, sub(n, 1)))
                    mstore(add(last, 0x20), zero)
                    mstore(add(m, shl(5, half)), keccak256(last, 0x40))
                    half := add(half, 1)
                }
                n := half
                mstore(0x00, zero) // scratch space: the next level's zero subtree = keccak(zero ++ zero)
                mstore(0x20, zero)
                zero := keccak256(0x00, 0x40)
            }
            root := mload(m)
        }
    }

    /// @dev The depth of the Merkle tree over `len` wire bytes: ceil(log2(chunks)), 0 for one chunk.
    function _treeDepth(uint256 len) internal pure returns (uint256 depth) {
        uint256 n = (len + 31) >> 5;
        while ((1 << depth) < n) ++depth;
    }

    /// @dev Whether `chunk` is leaf `index` of the tree with root `root`: `depth` siblings in calldata from
    /// `proof` on (leaf level first); at level l the node is the left input iff bit l of `index` is 0.
    function _verifyChunk(bytes32 root, bytes32 chunk, uint256 index, uint256 proof, uint256 depth)
        internal
        pure
        returns (bool ok)
    {
        assembly ("memory-safe") {
            let node := chunk
            for { let l := 0 } lt(l, depth) { l := add(l, 1) } {
                let sibling := calldataload(add(proof, shl(5, l)))
                // scratch space 0x00..0x3f: (node, sibling) or (sibling, node)
                let right := and(shr(l, index), 1)
                mstore(shl(5, right), node)
                mstore(shl(5, iszero(right)), sibling)
                node := keccak256(0x00, 0x40)
            }
            ok := eq(node, root)
        }
    }

    /// @dev Which chunk of wire bytes holds query `j`'s label (K classes): byte j / 2 if packed, else byte j.
    function _chunkOf(uint256 j, uint256 k) internal pure returns (uint256) {
        return (k <= PACKED_MAX_CLASSES ? j >> 1 : j) >> 5;
    }

    /// @dev Query `j`'s label in its chunk (_chunkOf): packed, the high nibble of its byte for an even j, the
    /// low one for an odd j; else the byte.
    function _labelInChunk(bytes32 chunk, uint256 j, uint256 k) internal pure returns (uint256) {
        if (k > PACKED_MAX_CLASSES) return uint8(chunk[j & 31]);
        uint256 b = uint8(chunk[(j >> 1) & 31]);
        return j & 1 == 0 ? b >> 4 : b & 0x0f;
    }
}
