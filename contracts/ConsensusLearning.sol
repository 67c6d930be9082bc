// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SSTORE2} from "solady/utils/SSTORE2.sol";

import {IConsensusLearning} from "../interfaces/IConsensusLearning.sol";

/// @title ConsensusLearning
/// @notice Batched commit-reveal rounds whose stake-weighted plurality is the consensus of independently
/// trained models (Magureanu & Usher, arXiv 2402.16157), made robust to coordinated cheats by hidden audit
/// queries: the requester may commit to G known-label queries at opening and reveal them after the reveal
/// phase; revealers below the round's audit bound are left out of the tally and the pool. Label vectors
/// travel in calldata; storage holds hashes, per-participant scores and the consensus (SSTORE2 code).
/// See docs/protocol.md (rules, threat analysis) and docs/architecture.md.
/// @dev Money leaves only through withdraw / withdrawTo / claimRefund / claimRefundTo (pull,
/// checks-effects-interactions, nonReentrant); rewards and fees are credited to free stake. Penalties round up
/// and shares round down; what nobody may receive is burned (kept, owned by nobody), so
/// totalStake + rewardsOwed + refundsOwed + burned + surplus == balance, surplus being forced-in ETH only.
contract ConsensusLearning is IConsensusLearning, Ownable2Step, Pausable, ReentrancyGuard {
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

    uint256 private constant _BPS = 10_000;
    /// @dev Tally weights are stored shifted left by one label's width (8 bits), so that in _plurality
    /// `key = or(t, xor(label, 0xff))` puts (255 - label) in the freed low byte: comparing keys then orders
    /// by weight first and, on equal weight, prefers the smaller label (the tie rule). _loadRevealers
    /// shifts, _scoreAndSettle shifts back; `0xff` in _plurality is the mask of those low bits.
    uint256 private constant _KEY_SHIFT = 8;

    /// @dev What settlement recorded; with the deadlines and the block time it gives the Phase.
    enum Outcome {
        Open, // not settled yet
        Finalized, // consensus stored
        Failed // quorum missed, nobody passed the audit, or abandoned
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
        // slot 1
        Params params; // frozen at opening
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
        Status status; // Committed -> Revealed -> Agreed | Deviated | Excluded
        bool claimed; // settled by claim()
        uint16 reputation; // the committer's reputation at commit: its tally weight is stake x reputation
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

    Params private _defaults;
    Bounds private _bounds;
    Bounds private _proposedBounds;
    uint256 private _proposedBoundsAt; // when the proposal may be applied; 0: none
    uint256 private _unbondingDelay;
    uint256 private _roundCount;

    uint256 private _totalStake; // free + locked + unbonding, net of penalties taken at finalize
    uint256 private _rewardsOwed; // rewards and fees of open rounds + unclaimed shares
    uint256 private _refundsOwed; // unclaimed refunds
    uint256 private _burned; // owned by nobody

    mapping(uint256 roundId => Round) private _rounds;
    mapping(uint256 roundId => mapping(address participant => Submission)) private _submissions;
    mapping(address participant => Account) private _accounts;
    /// @dev Reputation in basis points; 0 for an address never scored (read as REPUTATION_START).
    mapping(address participant => uint16) private _reputation;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Deploy with sensible defaults and bounds; the deployer becomes the owner.
    constructor() Ownable(msg.sender) {
        Bounds memory b = Bounds({
            minQuorumBps: uint16(MIN_QUORUM_BPS),
            maxAgreementBps: 5_000,
            maxSlashBps: 2_000,
            maxAuditBoundBps: 9_000,
            allowEqualWeights: true,
            minStakeFloor: 0.001 ether,
            minStakeCeiling: uint96(MAX_MIN_STAKE)
        });
        Params memory p = Params({
            quorumBps: 5_000, // half of the committed weight must reveal
            minRevealers: 3,
            agreementBps: DEFAULT_AGREEMENT_BPS, // chance-corrected; docs/agreement-threshold.md
            deviatorSlashBps: 1_000, // 10 %
            nonRevealSlashBps: 2_000, // 20 %
            auditBoundBps: DEFAULT_AUDIT_BOUND_BPS, // docs/agreement-threshold.md, "Audit bound"
            auditSlashBps: 0, // exclusion costs the reward and reputation; docs/agreement-threshold.md
            crowdBps: DEFAULT_CROWD_BPS, // docs/agreement-threshold.md, "The crowd rule"
            equalWeights: false,
            minStake: 0.01 ether
        });
        _checkBounds(b);
        _checkParams(p, b);
        _bounds = b;
        _defaults = p;
        _unbondingDelay = 1 days;
        emit BoundsChanged(b);
        emit DefaultsChanged(p);
        emit UnbondingDelayChanged(1 days);
    }

    /// @dev The defaults that need measurement (docs/agreement-threshold.md), named so tests can pin them.
    uint16 private constant DEFAULT_AGREEMENT_BPS = 500;
    uint16 private constant DEFAULT_AUDIT_BOUND_BPS = 3_000;
    uint16 private constant DEFAULT_CROWD_BPS = 4_000;

    /*//////////////////////////////////////////////////////////////
                                  STAKE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsensusLearning
    function deposit() external payable {
        if (msg.value == 0) revert ZeroDeposit();
        Account storage a = _accounts[msg.sender];
        uint256 free = a.free + msg.value;
        if (free > type(uint96).max) revert AmountTooLarge(free, type(uint96).max); // commit keeps 96 bits
        a.free = uint128(free);
        _totalStake += msg.value;
        emit Deposited(msg.sender, msg.value, free);
    }

    /// @inheritdoc IConsensusLearning
    function requestWithdrawal(uint256 amount) external {
        Account storage a = _accounts[msg.sender];
        if (amount == 0 || amount > a.free) revert InsufficientFreeStake(amount, a.free);
        uint256 n = a.pending;
        if (n == MAX_PENDING_WITHDRAWALS) revert TooManyPendingWithdrawals(MAX_PENDING_WITHDRAWALS);
        unchecked {
            a.free -= uint128(amount); // amount <= free
            a.pending = uint8(n + 1);
        }
        a.unbonding += uint128(amount);
        uint256 readyAt = block.timestamp + _unbondingDelay; // this request's own time
        a.requests[n] = Withdrawal({amount: uint128(amount), readyAt: uint64(readyAt)});
        emit WithdrawalRequested(msg.sender, amount, a.unbonding, readyAt);
    }

    /// @inheritdoc IConsensusLearning
    function withdraw() external nonReentrant {
        _withdraw(msg.sender);
    }

    /// @inheritdoc IConsensusLearning
    function withdrawTo(address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        _withdraw(to);
    }

    /*//////////////////////////////////////////////////////////////
                                 ROUNDS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsensusLearning
    function openRound(
        bytes32 queriesHash,
        string calldata queriesURI,
        uint256 numQueries,
        uint256 numClasses,
        uint256 commitDuration,
        uint256 revealDuration
    ) external payable whenNotPaused returns (uint256 roundId) {
        _checkShape(queriesHash, numQueries, numClasses, commitDuration, revealDuration);
        RoundSpec memory spec; // no audit, no fee
        spec.queriesHash = queriesHash;
        spec.numQueries = uint16(numQueries); // checked by _checkShape
        spec.numClasses = uint16(numClasses);
        spec.commitDuration = uint32(commitDuration); // <= MAX_PHASE_DURATION
        spec.revealDuration = uint32(revealDuration);
        spec.params = _defaults;
        return _open(spec, queriesURI);
    }

    /// @inheritdoc IConsensusLearning
    function openRoundWith(RoundSpec calldata spec, string calldata queriesURI)
        external
        payable
        whenNotPaused
        returns (uint256 roundId)
    {
        _checkShape(spec.queriesHash, spec.numQueries, spec.numClasses, spec.commitDuration, spec.revealDuration);
        if (spec.finalizerFee > msg.value) revert FeeExceedsValue(spec.finalizerFee, msg.value);
        uint256 g = spec.auditCount;
        bool hasAudit = g != 0;
        if (
            g > MAX_AUDIT_QUERIES || g > spec.numQueries || hasAudit != (spec.auditCommitment != bytes32(0))
                || hasAudit != (spec.auditDuration != 0)
        ) revert InvalidAudit(g, spec.auditDuration, spec.auditCommitment);
        if (hasAudit) _checkDuration(spec.auditDuration);
        _checkParams(spec.params, _bounds);
        return _open(spec, queriesURI);
    }

    /// @inheritdoc IConsensusLearning
    function commit(uint256 roundId, bytes32 commitment) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Commit);
        uint256 maxN = maxParticipants(r.numQueries);
        if (r.commitCount >= maxN) revert RoundFull(roundId, maxN);
        _commit(roundId, r, commitment);
    }

    /// @inheritdoc IConsensusLearning
    function commitReplacing(uint256 roundId, bytes32 commitment, address victim) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Commit);
        Submission storage v = _submissions[roundId][victim];
        uint256 victimStake = v.stake;
        // Weights compare as stake x reputation (the victim's at its commit, the caller's now): a fresh
        // address must bring ten times the stake of a fully trusted one to evict it.
        uint256 victimWeight = victimStake * v.reputation;
        uint256 weight = uint256(_accounts[msg.sender].free) * reputationOf(msg.sender);
        if (r.commitCount < maxParticipants(r.numQueries) || v.status != Status.Committed || victimWeight >= weight) {
            revert NotEvictable(roundId, victim, victimWeight, weight);
        }
        // Effects: the victim leaves as if it had never committed (it may take another seat the same way).
        Account storage a = _accounts[victim];
        a.locked -= uint128(victimStake);
        a.free += uint128(victimStake); // it was free before its commit: < 2^96
        delete _submissions[roundId][victim];
        unchecked {
            r.commitCount -= 1; // the victim was counted
        }
        r.committedStake -= uint128(victimStake);
        r.committedPenalty -= uint128(_penalty(victimStake, r.params.nonRevealSlashBps));
        emit Evicted(roundId, victim, msg.sender, victimStake);
        _commit(roundId, r, commitment);
    }

    /// @dev The commit both entry points share: lock the caller's whole free stake as its weight.
    function _commit(uint256 roundId, Round storage r, bytes32 commitment) private {
        if (commitment == bytes32(0)) revert ZeroCommitment();
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status != Status.None) revert AlreadyCommitted(roundId, msg.sender);
        Account storage a = _accounts[msg.sender];
        uint256 stake = a.free;
        uint256 minStake = r.params.minStake;
        if (stake < minStake) revert StakeBelowMinimum(stake, minStake);
        // deposit, claim and fees keep free stake below 2^96; an eviction's unlock could add one more stake
        if (stake > type(uint96).max) revert AmountTooLarge(stake, type(uint96).max);

        // Effects. The whole free stake is the weight and is locked until this round is claimed.
        a.free = 0;
        a.locked += uint128(stake);
        s.hash = commitment;
        s.stake = uint96(stake);
        s.status = Status.Committed;
        uint256 reputation = reputationOf(msg.sender);
        s.reputation = uint16(reputation); // <= BPS
        unchecked {
            r.commitCount += 1; // bounded by maxParticipants
        }
        r.committedStake += uint128(stake);
        r.committedPenalty += uint128(_penalty(stake, r.params.nonRevealSlashBps));
        emit Committed(roundId, msg.sender, commitment, stake, reputation);
    }

    /// @inheritdoc IConsensusLearning
    function reveal(uint256 roundId, bytes calldata labels, bytes32 salt) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Reveal);
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status == Status.None) revert NotCommitted(roundId, msg.sender);
        if (s.status != Status.Committed) revert AlreadyRevealed(roundId, msg.sender);
        if (labels.length != r.numQueries) revert WrongLabelCount(labels.length, r.numQueries);
        _checkLabels(labels, r.numClasses);
        bytes32 labelsHash = keccak256(labels);
        if (_commitment(roundId, msg.sender, labelsHash, salt) != s.hash) {
            revert CommitmentMismatch(roundId, msg.sender);
        }

        s.hash = labelsHash; // what finalize() checks the resubmitted labels against
        s.status = Status.Revealed;
        uint256 stake = s.stake;
        unchecked {
            r.revealCount += 1; // <= commitCount
        }
        r.revealedStake += uint128(stake);
        r.revealedPenalty += uint128(_penalty(stake, r.params.nonRevealSlashBps));
        emit Revealed(roundId, msg.sender, labels, salt);
    }

    /// @inheritdoc IConsensusLearning
    function revealAudit(uint256 roundId, bytes calldata indices, bytes calldata labels, bytes32 salt) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Audit);
        if (msg.sender != r.requester) revert NotRequester(roundId, msg.sender);
        uint256 g = r.auditCount;
        if (labels.length != g) revert WrongLabelCount(labels.length, g);
        if (indices.length != 2 * g) revert WrongLabelCount(indices.length, 2 * g);
        if (_auditCommitment(r.requester, r.queriesHash, keccak256(indices), keccak256(labels), salt)
                != r.auditCommitment) revert AuditCommitmentMismatch(roundId);
        uint256 q = r.numQueries;
        uint256 previous = 0;
        for (uint256 i; i < g; ++i) {
            uint256 index = (uint256(uint8(indices[2 * i])) << 8) | uint8(indices[2 * i + 1]);
            if (index >= q || (i != 0 && index <= previous)) revert InvalidAuditIndex(i, index, q);
            previous = index;
        }
        _checkLabels(labels, r.numClasses);
        r.auditRevealed = true;
        r.auditPointer = SSTORE2.write(abi.encodePacked(indices, labels));
        emit AuditRevealed(roundId, indices, labels, salt);
    }

    /// @inheritdoc IConsensusLearning
    function finalize(uint256 roundId, address[] calldata committers, bytes[] calldata labels) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Finalizable);
        (uint256[] memory rows, uint256[] memory revs, uint256 passers) = _loadRevealers(roundId, r, committers, labels);
        _payFinalizer(roundId, r);
        (bool met, uint256 revealedWeight, uint256 committedWeight) = _quorumMet(r);
        // Nobody passing the audit is treated like a missed quorum: no consensus, nobody slashed but the
        // non-revealers (a requester whose audit fails everyone cannot slash anyone through it).
        if (!met || passers == 0) return _fail(roundId, r, revealedWeight, committedWeight, committers);
        bytes memory consensusLabels = _plurality(rows, r.numQueries, r.numClasses);
        _scoreAndSettle(roundId, r, committers, revs, consensusLabels);
    }

    /// @inheritdoc IConsensusLearning
    function abandon(uint256 roundId) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Finalizable);
        uint256 staleAt = uint256(r.auditDeadline) + ABANDON_DELAY;
        if (block.timestamp <= staleAt) revert NotStaleYet(roundId, staleAt, block.timestamp);
        _payFinalizer(roundId, r);
        (, uint256 revealedWeight, uint256 committedWeight) = _quorumMet(r);
        _fail(roundId, r, revealedWeight, committedWeight, new address[](0));
    }

    /// @inheritdoc IConsensusLearning
    function claim(uint256 roundId) external returns (uint256 reward) {
        Round storage r = _rounds[roundId];
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status == Status.None) revert NothingToClaim(roundId, msg.sender);
        if (s.claimed) revert AlreadyClaimed(roundId, msg.sender);
        // Finalized or Failed: claim() accepts both, so not _checkPhase.
        if (r.outcome == uint8(Outcome.Open)) revert WrongPhase(roundId, Phase.Finalized, _phase(r));
        uint256 penalty;
        (reward, penalty) = _settlement(r, s);

        // Effects only: the reward joins the free stake, so nothing here can be blocked by the recipient.
        s.claimed = true;
        uint256 stake = s.stake;
        Account storage a = _accounts[msg.sender];
        a.locked -= uint128(stake);
        uint256 free = a.free + stake - penalty + reward;
        if (free > type(uint96).max) revert AmountTooLarge(free, type(uint96).max);
        a.free = uint128(free);
        _rewardsOwed -= reward;
        _totalStake += reward;
        emit Claimed(roundId, msg.sender, reward, penalty);
    }

    /// @inheritdoc IConsensusLearning
    function claimRefund(uint256 roundId) external nonReentrant {
        _refund(roundId, msg.sender);
    }

    /// @inheritdoc IConsensusLearning
    function claimRefundTo(uint256 roundId, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        _refund(roundId, to);
    }

    /*//////////////////////////////////////////////////////////////
                                  OWNER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsensusLearning
    function setDefaults(Params calldata params) external onlyOwner {
        _checkParams(params, _bounds);
        if (_proposedBoundsAt != 0) _checkParams(params, _proposedBounds);
        _defaults = params;
        emit DefaultsChanged(params);
    }

    /// @inheritdoc IConsensusLearning
    function proposeBounds(Bounds calldata b) external onlyOwner {
        _checkBounds(b);
        _checkParams(_defaults, b);
        _proposedBounds = b;
        uint256 effectiveAt = block.timestamp + BOUNDS_DELAY;
        _proposedBoundsAt = effectiveAt;
        emit BoundsProposed(b, effectiveAt);
    }

    /// @inheritdoc IConsensusLearning
    function applyBounds() external {
        uint256 at = _proposedBoundsAt;
        if (at == 0 || block.timestamp < at) revert BoundsNotReady(at, block.timestamp);
        Bounds memory b = _proposedBounds;
        _bounds = b;
        _proposedBoundsAt = 0;
        emit BoundsChanged(b);
    }

    /// @inheritdoc IConsensusLearning
    function setUnbondingDelay(uint256 delay) external onlyOwner {
        if (delay > MAX_UNBONDING_DELAY) {
            revert ParameterOutOfBounds("unbondingDelay", delay, 0, MAX_UNBONDING_DELAY);
        }
        _unbondingDelay = delay;
        emit UnbondingDelayChanged(delay);
    }

    /// @inheritdoc IConsensusLearning
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc IConsensusLearning
    function unpause() external onlyOwner {
        _unpause();
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsensusLearning
    function phase(uint256 roundId) external view returns (Phase) {
        return _phase(_rounds[roundId]);
    }

    /// @inheritdoc IConsensusLearning
    function getRound(uint256 roundId) external view returns (RoundInfo memory info) {
        Round storage r = _rounds[roundId];
        info = RoundInfo({
            requester: r.requester,
            reward: r.reward,
            finalizerFee: r.finalizerFee,
            queriesHash: r.queriesHash,
            numQueries: r.numQueries,
            numClasses: r.numClasses,
            commitDeadline: r.commitDeadline,
            revealDeadline: r.revealDeadline,
            auditDeadline: r.auditDeadline,
            auditCount: r.auditCount,
            auditRevealed: r.auditRevealed,
            phase: _phase(r),
            commitCount: r.commitCount,
            revealCount: r.revealCount,
            committedStake: r.committedStake,
            revealedStake: r.revealedStake,
            pool: r.pool,
            agreedWeight: r.agreedWeight,
            refundable: r.refundable,
            params: r.params
        });
    }

    /// @inheritdoc IConsensusLearning
    function getSubmission(uint256 roundId, address participant) external view returns (SubmissionInfo memory) {
        Submission storage s = _submissions[roundId][participant];
        return SubmissionInfo({
            hash: s.hash,
            stake: s.stake,
            matches: s.matches,
            auditHits: s.auditHits,
            status: s.status,
            claimed: s.claimed,
            reputation: s.reputation
        });
    }

    /// @inheritdoc IConsensusLearning
    function reputationOf(address participant) public view returns (uint256) {
        uint256 stored = _reputation[participant];
        return stored == 0 ? REPUTATION_START : stored;
    }

    /// @inheritdoc IConsensusLearning
    function getAccount(address participant) external view returns (AccountInfo memory info) {
        Account storage a = _accounts[participant];
        info.free = a.free;
        info.locked = a.locked;
        info.unbonding = a.unbonding;
        uint256 n = a.pending;
        for (uint256 i; i < n; ++i) {
            Withdrawal storage w = a.requests[i];
            if (w.readyAt > info.unbondingReadyAt) info.unbondingReadyAt = w.readyAt;
            if (w.readyAt <= block.timestamp) info.withdrawable += w.amount;
        }
    }

    /// @inheritdoc IConsensusLearning
    function consensus(uint256 roundId) external view returns (bytes memory) {
        return SSTORE2.read(_finalizedPointer(roundId));
    }

    /// @inheritdoc IConsensusLearning
    function consensusLabel(uint256 roundId, uint256 queryIndex) external view returns (uint8) {
        address pointer = _finalizedPointer(roundId);
        uint256 q = _rounds[roundId].numQueries;
        if (queryIndex >= q) revert QueryIndexOutOfRange(queryIndex, q);
        return uint8(SSTORE2.read(pointer, queryIndex, queryIndex + 1)[0]);
    }

    /// @inheritdoc IConsensusLearning
    function audit(uint256 roundId) external view returns (bytes memory indices, bytes memory labels) {
        Round storage r = _rounds[roundId];
        if (!r.auditRevealed) return (indices, labels);
        uint256 g = r.auditCount;
        address pointer = r.auditPointer;
        return (SSTORE2.read(pointer, 0, 2 * g), SSTORE2.read(pointer, 2 * g, 3 * g));
    }

    /// @inheritdoc IConsensusLearning
    function claimable(uint256 roundId, address participant) external view returns (uint256 reward, uint256 penalty) {
        Round storage r = _rounds[roundId];
        Submission storage s = _submissions[roundId][participant];
        if (r.outcome == uint8(Outcome.Open) || s.status == Status.None || s.claimed) return (0, 0);
        return _settlement(r, s);
    }

    /// @inheritdoc IConsensusLearning
    function commitmentOf(uint256 roundId, address participant, bytes calldata labels, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        return _commitment(roundId, participant, keccak256(labels), salt);
    }

    /// @inheritdoc IConsensusLearning
    function auditCommitmentOf(
        address requester,
        bytes32 queriesHash,
        bytes calldata indices,
        bytes calldata labels,
        bytes32 salt
    ) external view returns (bytes32) {
        return _auditCommitment(requester, queriesHash, keccak256(indices), keccak256(labels), salt);
    }

    /// @inheritdoc IConsensusLearning
    function maxParticipants(uint256 numQueries) public pure returns (uint256) {
        if (numQueries == 0) return MAX_PARTICIPANTS;
        uint256 byLabels = MAX_LABELS / numQueries;
        return byLabels < MAX_PARTICIPANTS ? byLabels : MAX_PARTICIPANTS;
    }

    /// @inheritdoc IConsensusLearning
    function defaults() external view returns (Params memory) {
        return _defaults;
    }

    /// @inheritdoc IConsensusLearning
    function bounds() external view returns (Bounds memory) {
        return _bounds;
    }

    /// @inheritdoc IConsensusLearning
    function pendingBounds() external view returns (Bounds memory proposal, uint256 effectiveAt) {
        return (_proposedBounds, _proposedBoundsAt);
    }

    /// @inheritdoc IConsensusLearning
    function unbondingDelay() external view returns (uint256) {
        return _unbondingDelay;
    }

    /// @inheritdoc IConsensusLearning
    function roundCount() external view returns (uint256) {
        return _roundCount;
    }

    /// @inheritdoc IConsensusLearning
    function accounting()
        external
        view
        returns (uint256 totalStake, uint256 rewardsOwed, uint256 refundsOwed, uint256 burned, uint256 surplus)
    {
        totalStake = _totalStake;
        rewardsOwed = _rewardsOwed;
        refundsOwed = _refundsOwed;
        burned = _burned;
        surplus = address(this).balance - (totalStake + rewardsOwed + refundsOwed + burned);
    }

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: PHASE AND CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev Phase as a pure function of the round's deadlines, outcome and the block time.
    function _phase(Round storage r) private view returns (Phase) {
        uint256 revealDeadline = r.revealDeadline;
        if (revealDeadline == 0) return Phase.None;
        uint8 outcome = r.outcome;
        if (outcome == uint8(Outcome.Finalized)) return Phase.Finalized;
        if (outcome == uint8(Outcome.Failed)) return Phase.Failed;
        if (block.timestamp <= r.commitDeadline) return Phase.Commit;
        if (block.timestamp <= revealDeadline) return Phase.Reveal;
        if (block.timestamp <= r.auditDeadline && !r.auditRevealed) return Phase.Audit;
        return Phase.Finalizable;
    }

    function _checkPhase(uint256 roundId, Round storage r, Phase expected) private view {
        Phase actual = _phase(r);
        if (actual == Phase.None) revert UnknownRound(roundId);
        if (actual != expected) revert WrongPhase(roundId, expected, actual);
    }

    function _checkDuration(uint256 duration) private pure {
        if (duration < MIN_PHASE_DURATION || duration > MAX_PHASE_DURATION) {
            revert InvalidDuration(duration, MIN_PHASE_DURATION, MAX_PHASE_DURATION);
        }
    }

    /// @dev The arguments both openRound variants share.
    function _checkShape(
        bytes32 queriesHash,
        uint256 numQueries,
        uint256 numClasses,
        uint256 commitDuration,
        uint256 revealDuration
    ) private view {
        if (queriesHash == bytes32(0)) revert EmptyQueriesHash();
        if (numQueries == 0 || numQueries > MAX_QUERIES) revert InvalidQueryCount(numQueries, MAX_QUERIES);
        if (numClasses < 2 || numClasses > 256) revert InvalidClassCount(numClasses);
        _checkDuration(commitDuration);
        _checkDuration(revealDuration);
        if (msg.value > type(uint96).max) revert RewardTooLarge(msg.value);
    }

    /// @dev `v` within [lo, hi], else ParameterOutOfBounds(name, v, lo, hi).
    function _within(bytes32 name, uint256 v, uint256 lo, uint256 hi) private pure {
        if (v < lo || v > hi) revert ParameterOutOfBounds(name, v, lo, hi);
    }

    /// @dev A round's parameters within `b`, and the slashes ordered so that not revealing is never cheaper
    /// than revealing (nonReveal >= deviator, nonReveal >= audit). Equal weights (one vote per address) may
    /// not slash deviators: min-stake Sybils could then outvote large stakes and take their stake.
    function _checkParams(Params memory p, Bounds memory b) private pure {
        _within("quorumBps", p.quorumBps, b.minQuorumBps, _BPS);
        _within("minRevealers", p.minRevealers, 1, MAX_PARTICIPANTS);
        _within("agreementBps", p.agreementBps, 0, b.maxAgreementBps);
        _within("auditBoundBps", p.auditBoundBps, 0, b.maxAuditBoundBps);
        _within("crowdBps", p.crowdBps, 0, _BPS);
        uint256 floor = p.deviatorSlashBps > p.auditSlashBps ? p.deviatorSlashBps : p.auditSlashBps;
        _within("nonRevealSlashBps", p.nonRevealSlashBps, floor, b.maxSlashBps);
        _within("minStake", p.minStake, b.minStakeFloor, b.minStakeCeiling);
        if (p.equalWeights) {
            _within("equalWeights", 1, 0, b.allowEqualWeights ? 1 : 0);
            _within("deviatorSlashBps", p.deviatorSlashBps, 0, 0);
        }
    }

    /// @dev Bounds inside the hard limits.
    function _checkBounds(Bounds memory b) private pure {
        if (b.minQuorumBps < MIN_QUORUM_BPS || b.minQuorumBps > _BPS) {
            revert InvalidBounds("minQuorumBps", b.minQuorumBps, MIN_QUORUM_BPS, _BPS);
        }
        if (b.maxAgreementBps > MAX_AGREEMENT_BPS) {
            revert InvalidBounds("maxAgreementBps", b.maxAgreementBps, 0, MAX_AGREEMENT_BPS);
        }
        if (b.maxSlashBps > MAX_SLASH_BPS) revert InvalidBounds("maxSlashBps", b.maxSlashBps, 0, MAX_SLASH_BPS);
        if (b.maxAuditBoundBps > _BPS) revert InvalidBounds("maxAuditBoundBps", b.maxAuditBoundBps, 0, _BPS);
        if (b.minStakeFloor == 0 || b.minStakeCeiling < b.minStakeFloor || b.minStakeCeiling > MAX_MIN_STAKE) {
            revert InvalidBounds("minStakeCeiling", b.minStakeCeiling, b.minStakeFloor, MAX_MIN_STAKE);
        }
    }

    /// @dev The exact bytes hashed: abi.encode(uint256 chainid, address contract, uint256 roundId,
    /// address participant, bytes32 keccak256(labels), bytes32 salt) -- six 32-byte words.
    function _commitment(uint256 roundId, address participant, bytes32 labelsHash, bytes32 salt)
        private
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), roundId, participant, labelsHash, salt));
    }

    /// @dev abi.encode(chainid, contract, requester, queriesHash, keccak256(indices), keccak256(labels), salt):
    /// bound to this chain, contract, requester and query batch (the round id is not known before opening).
    function _auditCommitment(
        address requester,
        bytes32 queriesHash,
        bytes32 indicesHash,
        bytes32 labelsHash,
        bytes32 salt
    ) private view returns (bytes32) {
        return keccak256(
            abi.encode(block.chainid, address(this), requester, queriesHash, indicesHash, labelsHash, salt)
        );
    }

    /// @dev The SSTORE2 pointer of a finalized round; reverts UnknownRound or WrongPhase otherwise.
    function _finalizedPointer(uint256 roundId) private view returns (address pointer) {
        Round storage r = _rounds[roundId];
        Phase actual = _phase(r);
        if (actual == Phase.None) revert UnknownRound(roundId);
        if (actual != Phase.Finalized) revert WrongPhase(roundId, Phase.Finalized, actual);
        return r.consensusPointer;
    }

    /*//////////////////////////////////////////////////////////////
                              PRIVATE: MONEY
    //////////////////////////////////////////////////////////////*/

    /// @dev ceil(stake * bps / BPS): penalties round up so the pool never promises more than was taken.
    function _penalty(uint256 stake, uint256 bps) private pure returns (uint256) {
        return (stake * bps + _BPS - 1) / _BPS;
    }

    /// @dev What claim() credits and takes for a settled round (outcome != Outcome.Open).
    function _settlement(Round storage r, Submission storage s) private view returns (uint256 reward, uint256 penalty) {
        Status status = s.status;
        uint256 stake = s.stake;
        if (status == Status.Committed) {
            penalty = _penalty(stake, r.params.nonRevealSlashBps); // never revealed
        } else if (status == Status.Deviated) {
            if (!r.auditRevealed) penalty = _penalty(stake, r.params.deviatorSlashBps); // _scoreRevealer's rule
        } else if (status == Status.Excluded) {
            penalty = _penalty(stake, r.params.auditSlashBps);
        } else if (status == Status.Agreed) {
            uint256 weight = r.params.equalWeights ? 1 : stake;
            reward = uint256(r.pool) * weight / r.agreedWeight; // rounds down; dust was burned
        }
        // Status.Revealed after settlement means a failed round: no penalty, no reward.
    }

    /// @dev Burn `amount`: it stays in the contract and belongs to nobody.
    function _burn(uint256 roundId, uint256 amount) private {
        if (amount == 0) return;
        uint256 total = _burned + amount;
        _burned = total;
        emit Burned(roundId, amount, total);
    }

    /// @dev The only ETH transfer out: to the caller of withdraw / claimRefund, or its chosen `to`, after
    /// their effects.
    function _send(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }

    /// @dev Pay every matured request of msg.sender to `to`; later requests keep their own times.
    function _withdraw(address to) private {
        Account storage a = _accounts[msg.sender];
        uint256 n = a.pending;
        uint256 amount = 0;
        uint256 kept = 0;
        for (uint256 i; i < n; ++i) {
            Withdrawal memory w = a.requests[i];
            if (w.readyAt <= block.timestamp) {
                amount += w.amount;
            } else {
                if (kept != i) a.requests[kept] = w; // keep request order
                ++kept;
            }
        }
        if (amount == 0) {
            if (n == 0) revert NothingToWithdraw();
            uint256 readyAt = type(uint256).max;
            for (uint256 i; i < n; ++i) {
                if (a.requests[i].readyAt < readyAt) readyAt = a.requests[i].readyAt;
            }
            revert UnbondingNotOver(readyAt, block.timestamp);
        }
        for (uint256 i = kept; i < n; ++i) {
            delete a.requests[i];
        }
        a.pending = uint8(kept);
        a.unbonding -= uint128(amount);
        _totalStake -= amount;
        emit Withdrawn(msg.sender, amount, to);
        _send(to, amount);
    }

    /// @dev Send a refundable reward to `to`; only the requester may ask.
    function _refund(uint256 roundId, address to) private {
        Round storage r = _rounds[roundId];
        if (!r.refundable || r.refunded || msg.sender != r.requester || r.reward == 0) {
            revert NoRefund(roundId, msg.sender);
        }
        uint256 amount = r.reward;
        r.refunded = true;
        _refundsOwed -= amount;
        emit RefundClaimed(roundId, msg.sender, amount);
        _send(to, amount);
    }

    /// @dev Credit the round's finalizer fee to msg.sender's free stake (whatever the outcome).
    function _payFinalizer(uint256 roundId, Round storage r) private {
        uint256 fee = r.finalizerFee;
        if (fee == 0) return;
        Account storage a = _accounts[msg.sender];
        uint256 free = a.free + fee;
        if (free > type(uint96).max) revert AmountTooLarge(free, type(uint96).max);
        a.free = uint128(free);
        _rewardsOwed -= fee;
        _totalStake += fee;
        emit FinalizerPaid(roundId, msg.sender, fee);
    }

    /// @dev An audit committed and never revealed costs the requester AUDIT_FORFEIT_BPS of its reward (burned);
    /// the round goes on without it. Returns the reward left.
    function _forfeitUnrevealedAudit(uint256 roundId, Round storage r) private returns (uint256 reward) {
        reward = r.reward;
        if (r.auditCount == 0 || r.auditRevealed) return reward;
        uint256 forfeit = reward * AUDIT_FORFEIT_BPS / _BPS;
        if (forfeit == 0) return reward;
        reward -= forfeit;
        r.reward = uint96(reward);
        _rewardsOwed -= forfeit;
        emit AuditForfeited(roundId, forfeit);
        _burn(roundId, forfeit);
    }

    /// @dev Freeze a new round. `spec` is checked by the caller.
    function _open(RoundSpec memory spec, string calldata queriesURI) private returns (uint256 roundId) {
        roundId = ++_roundCount;
        Round storage r = _rounds[roundId];
        r.numQueries = spec.numQueries;
        r.numClasses = spec.numClasses;
        {
            uint256 commitDeadline = block.timestamp + spec.commitDuration;
            uint256 revealDeadline = commitDeadline + spec.revealDuration;
            r.commitDeadline = uint40(commitDeadline);
            r.revealDeadline = uint40(revealDeadline);
            r.auditDeadline = uint40(revealDeadline + spec.auditDuration);
        }
        r.params = spec.params;
        r.auditCount = spec.auditCount;
        r.auditCommitment = spec.auditCommitment;
        r.queriesHash = spec.queriesHash;
        r.requester = msg.sender;
        r.reward = uint96(msg.value - spec.finalizerFee); // fee <= msg.value < 2^96
        r.finalizerFee = spec.finalizerFee;
        _rewardsOwed += msg.value;
        emit RoundOpened(
            roundId,
            msg.sender,
            spec.queriesHash,
            queriesURI,
            spec.numQueries,
            spec.numClasses,
            r.commitDeadline,
            r.revealDeadline,
            r.reward,
            spec.finalizerFee
        );
        emit RoundTerms(roundId, spec.params, spec.auditCount, r.auditDeadline, spec.auditCommitment);
    }

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: FINALIZE PIPELINE
    //////////////////////////////////////////////////////////////*/

    /// @dev Quorum: at least one and at least minRevealers revealers, and revealed weight >= quorumBps of
    /// committed weight (weights are stakes, or counts when equalWeights). Also returns the two weights it
    /// compared, which _fail reports in RoundFailed.
    function _quorumMet(Round storage r)
        private
        view
        returns (bool met, uint256 revealedWeight, uint256 committedWeight)
    {
        Params memory p = r.params;
        uint256 n = r.revealCount;
        committedWeight = p.equalWeights ? r.commitCount : r.committedStake;
        revealedWeight = p.equalWeights ? n : r.revealedStake;
        met = n != 0 && n >= p.minRevealers && revealedWeight * _BPS >= committedWeight * p.quorumBps;
    }

    /// @dev Mark a round Failed: revealers keep their stake, the reward (less any audit forfeit) becomes
    /// refundable, the non-revealers' penalties are burned (never pooled: a griefer that withholds its reveal
    /// to fail a round must not get its penalty back through anyone) and no consensus is stored.
    /// `committers` (possibly empty, from abandon) only serves the per-address Slashed events.
    function _fail(
        uint256 roundId,
        Round storage r,
        uint256 revealedWeight,
        uint256 committedWeight,
        address[] memory committers
    ) private {
        uint256 nonRevealPenalty = r.committedPenalty - r.revealedPenalty;
        uint256 reward = _forfeitUnrevealedAudit(roundId, r);
        r.outcome = uint8(Outcome.Failed);
        r.refundable = true;
        _totalStake -= nonRevealPenalty;
        _rewardsOwed -= reward;
        _refundsOwed += reward;
        _settleNonRevealers(roundId, r.params.nonRevealSlashBps, committers);
        emit RoundFailed(roundId, revealedWeight, committedWeight, nonRevealPenalty);
        _burn(roundId, nonRevealPenalty);
    }

    /// @dev For each committer that never revealed: a Slashed event (unless `bps` is 0) and a reputation
    /// update towards a score of 0.
    function _settleNonRevealers(uint256 roundId, uint256 bps, address[] memory committers) private {
        mapping(address => Submission) storage subs = _submissions[roundId];
        for (uint256 i; i < committers.length; ++i) {
            Submission storage s = subs[committers[i]];
            if (s.status == Status.Committed) {
                if (bps != 0) emit Slashed(roundId, committers[i], _penalty(s.stake, bps), Status.Committed);
                _updateReputation(roundId, committers[i], 0);
            }
        }
    }

    /// @dev The reputation rule (docs/protocol.md, "Reputation"): move `who`'s reputation REPUTATION_RATE of
    /// the way to `score` (bps), rounding towards less trust, never below REPUTATION_FLOOR. Bounded by
    /// construction: the result lies between the old value and the score, both <= BPS.
    function _updateReputation(uint256 roundId, address who, uint256 score) private {
        uint256 before = reputationOf(who);
        uint256 next = _nextReputation(before, score);
        _reputation[who] = uint16(next); // <= BPS
        emit ReputationUpdated(roundId, who, before, next);
    }

    /// @dev One reputation step from `before` towards `score` (both bps): REPUTATION_RATE of the gap, a gain
    /// rounded down and a loss up (`_penalty` is a ceiling), never below REPUTATION_FLOOR.
    function _nextReputation(uint256 before, uint256 score) private pure returns (uint256 next) {
        next = score >= before
            ? before + (score - before) * REPUTATION_RATE / _BPS
            : before - _penalty(before - score, REPUTATION_RATE);
        if (next < REPUTATION_FLOOR) next = REPUTATION_FLOOR;
    }

    /// @dev Check the finalize() input against storage: exactly the round's committers, strictly ascending
    /// (so no duplicates), each revealer with labels hashing to what it revealed; score each revealer on the
    /// audit, if revealed: it passes iff hits * BPS >= auditBoundBps * G and the crowd rule does not strike it
    /// out (always, without a revealed audit). Returns
    ///   rows     interleaved (calldata offset of the labels, tally weight << _KEY_SHIFT) of the revealers
    ///            that passed the audit (all revealers without one): the plurality's input; the tally weight
    ///            is (stake, or 1) x reputation at commit, the reputation moved by this round's audit if revealed;
    ///   revs     one word per revealer: committer index | audit hits << 16 | passed << 32 | G << 40 (0
    ///            without a revealed audit) | offset << 64;
    ///   passers  the number of rows.
    function _loadRevealers(
        uint256 roundId,
        Round storage r,
        address[] calldata committers,
        bytes[] calldata labels
    ) private view returns (uint256[] memory rows, uint256[] memory revs, uint256 passers) {
        if (committers.length != labels.length) revert LengthMismatch(committers.length, labels.length);
        if (committers.length != r.commitCount) revert RevealerCountMismatch(committers.length, r.commitCount);
        bytes memory auditData = r.auditRevealed ? SSTORE2.read(r.auditPointer) : new bytes(0);
        uint256 g = auditData.length / 3; // 0 without a revealed audit
        // wrong[j << 8 | label]: how many revealers answered audit query j with `label`, a wrong one
        bytes memory wrong = new bytes(g << 8);
        rows = new uint256[](2 * r.revealCount);
        revs = new uint256[](r.revealCount);
        uint256 m;
        for (uint256 i; i < committers.length; ++i) {
            // strictly ascending: no duplicates, and with the count above, exactly the committers
            if (i != 0 && committers[i] <= committers[i - 1]) revert RevealersNotSorted(i);
            (uint256 offset, uint256 weight, uint256 hits) =
                _revealerRow(roundId, r, committers[i], labels[i], auditData, wrong);
            if (weight == 0) continue; // a non-revealer: its labels entry is ignored
            revs[m] = i | (hits << 16) | (g << 40) | (offset << 64); // G <= 128: 16 bits
            rows[2 * m + 1] = weight; // parked: rows is compacted below, never ahead of this read
            ++m;
        }
        passers = _admit(r, rows, revs, m, auditData, wrong);
        assembly ("memory-safe") {
            mstore(rows, shl(1, passers)) // shrink to the rows filled (memory stays allocated)
        }
    }

    /// @dev The audit's verdict on the `m` revealers loaded by _loadRevealers (`rows[2j + 1]` holding revealer
    /// j's tally weight): it passes iff hits * BPS >= auditBoundBps * G and, if the crowd rule is on, its
    /// strikes * BPS < CROWD_STRIKE_BPS * G. Sets each passer's bit in `revs` and compacts the passers' rows to
    /// the front of `rows`; returns their number.
    function _admit(
        Round storage r,
        uint256[] memory rows,
        uint256[] memory revs,
        uint256 m,
        bytes memory auditData,
        bytes memory wrong
    ) private view returns (uint256 passers) {
        uint256 g = auditData.length / 3;
        uint256 bar = uint256(r.params.auditBoundBps) * g;
        // The crowd: at least crowdBps of the m revealers, and at least 2 (0: the rule is off).
        uint256 crowd = g == 0 || r.params.crowdBps == 0 ? 0 : (uint256(r.params.crowdBps) * m + _BPS - 1) / _BPS;
        if (crowd == 1) crowd = 2;
        for (uint256 j; j < m; ++j) {
            uint256 word = revs[j];
            if (((word >> 16) & 0xffff) * _BPS < bar) continue;
            if (crowd != 0 && _crowdStrikes(word >> 64, auditData, g, wrong, crowd) * _BPS >= CROWD_STRIKE_BPS * g) {
                continue;
            }
            rows[2 * passers] = word >> 64;
            rows[2 * passers + 1] = rows[2 * j + 1] << _KEY_SHIFT; // weight < 2^110; slot 2j + 1 was read first
            ++passers;
            revs[j] = word | (1 << 32);
        }
    }

    /// @dev For a revealer: the calldata offset of its labels `v`, checked to hash to what it revealed, its
    /// tally weight (>= 1) and, if the audit `auditData` is revealed (else empty), its audit hits, counting its
    /// wrong audit answers into `wrong`. For a non-revealer (0, 0, 0). Anyone else reverts NotACommitter.
    function _revealerRow(
        uint256 roundId,
        Round storage r,
        address participant,
        bytes calldata v,
        bytes memory auditData,
        bytes memory wrong
    ) private view returns (uint256 offset, uint256 weight, uint256 hits) {
        Submission storage s = _submissions[roundId][participant];
        Status status = s.status;
        if (status == Status.Committed) return (0, 0, 0);
        if (status != Status.Revealed) revert NotACommitter(roundId, participant);
        if (keccak256(v) != s.hash) revert RevealedLabelsMismatch(roundId, participant);
        assembly ("memory-safe") {
            offset := v.offset
        }
        // stake >= minStake >= 1 and reputation >= REPUTATION_FLOOR: weight >= 1, and < 2^96 * 2^14
        uint256 rep = s.reputation;
        if (auditData.length != 0) {
            uint256 g = auditData.length / 3;
            hits = _auditHits(offset, auditData, g, wrong);
            // The tally trusts this round's audit at once: it weighs the reputation this audit moves `rep` to
            // (the step finalize then takes for real, from the address's current reputation).
            rep = _nextReputation(rep, hits * _BPS / g);
        }
        weight = (r.params.equalWeights ? 1 : uint256(s.stake)) * rep;
    }

    /// @dev Audit queries answered right by the Q calldata labels at `offset`; each wrong answer is counted
    /// into `wrong` (G x 256 bytes, at j << 8 | label; at most 64 revealers, so a byte never overflows).
    /// `auditData` is the revealed audit: 2G bytes of indices (big-endian uint16, each < Q, checked at
    /// revealAudit), then G labels.
    function _auditHits(uint256 offset, bytes memory auditData, uint256 g, bytes memory wrong)
        private
        pure
        returns (uint256 hits)
    {
        assembly ("memory-safe") {
            let indices := add(auditData, 0x20)
            let known := add(indices, shl(1, g))
            let table := add(wrong, 0x20)
            for { let i := 0 } lt(i, g) { i := add(i, 1) } {
                // The top 2 bytes of the word at indices + 2i are index i; the top byte at known + i its label.
                // (The words may reach past the array; only their top bytes are used.)
                let index := shr(240, mload(add(indices, shl(1, i))))
                let want := byte(0, mload(add(known, i)))
                let got := byte(0, calldataload(add(offset, index))) // the revealer's label at that query
                switch eq(want, got)
                case 1 { hits := add(hits, 1) }
                default {
                    // wrong[i << 8 | got] += 1: read the byte as the top byte of the word there, store it back
                    let cell := add(table, or(shl(8, i), got))
                    mstore8(cell, add(byte(0, mload(cell)), 1))
                }
            }
        }
    }

    /// @dev The crowd rule's strikes of the revealer whose Q calldata labels are at `offset`: audit queries it
    /// answered wrong together with at least `crowd` revealers in all, itself included (`wrong` as counted by
    /// _auditHits; a right answer's cell is 0 < crowd).
    function _crowdStrikes(uint256 offset, bytes memory auditData, uint256 g, bytes memory wrong, uint256 crowd)
        private
        pure
        returns (uint256 strikes)
    {
        assembly ("memory-safe") {
            let indices := add(auditData, 0x20)
            let table := add(wrong, 0x20)
            for { let i := 0 } lt(i, g) { i := add(i, 1) } {
                let index := shr(240, mload(add(indices, shl(1, i)))) // audit query i's position, as above
                let got := byte(0, calldataload(add(offset, index)))
                // a strike iff wrong[i << 8 | got] >= crowd
                strikes := add(strikes, iszero(lt(byte(0, mload(add(table, or(shl(8, i), got)))), crowd)))
            }
        }
    }

    /// @dev How often the most frequent label occurs in `b` (labels < k): M in the agreement rule.
    function _modeCount(bytes memory b, uint256 k) private pure returns (uint256 best) {
        uint256[] memory counts = new uint256[](k);
        assembly ("memory-safe") {
            let data := add(b, 0x20)
            let c := add(counts, 0x20)
            let len := mload(b)
            for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                // counts[label] += 1, where label is byte i of b (< k: every consensus label is some
                // revealer's label, checked < K at reveal)
                let slot := add(c, shl(5, byte(0, mload(add(data, i)))))
                let v := add(mload(slot), 1)
                mstore(slot, v)
                if gt(v, best) { best := v }
            }
        }
    }

    /// @dev Weighted plurality per query over label vectors already checked to be Q bytes < K (at reveal,
    /// and by hash in _loadRevealers). Ties go to the smallest label. Linear in N x Q.
    /// Queries are taken 32 at a time, so each revealer's labels are read one calldata word per chunk.
    ///
    /// Memory, per chunk of 32 queries (j = query index within the chunk, 0..31):
    ///
    ///     tally (K x 32 words, label-major: row `label` starts at tallyData + label * 0x400)
    ///     +-------------------+-------------------+-----+--------------------+
    ///     | tally[0][0..31]   | tally[1][0..31]   | ... | tally[K-1][0..31]  |
    ///     +-------------------+-------------------+-----+--------------------+
    ///       word tallyData + label * 0x400 + j * 0x20 = weight of `label` on query j, << _KEY_SHIFT
    ///
    ///     leader (32 words)
    ///     +-----------+-----------+-----+------------+
    ///     | key[0]    | key[1]    | ... | key[31]    |     key[j] = max over labels of
    ///     +-----------+-----------+-----+------------+              tally[label][j] | (0xff ^ label)
    ///       high 248 bits: the leading weight; low byte: 0xff ^ its label (so the smaller label wins ties)
    ///
    /// Both are zeroed after each chunk; the chunk's consensus bytes are the leaders' low bytes ^ 0xff.
    function _plurality(uint256[] memory rows, uint256 q, uint256 k) private pure returns (bytes memory result) {
        result = new bytes(q);
        uint256[] memory tally = new uint256[](k << 5);
        uint256[] memory leader = new uint256[](32);
        assembly ("memory-safe") {
            let tallyData := add(tally, 0x20)
            let tallyBytes := shl(10, k)
            let leaderData := add(leader, 0x20)
            let rowsStart := add(rows, 0x20)
            let rowsEnd := add(rowsStart, shl(5, mload(rows)))
            let out := add(result, 0x20)
            for { let c := 0 } lt(c, q) { c := add(c, 0x20) } {
                // Labels past Q in the last chunk read as 0 (a valid label) and their results are dropped.
                let keep := not(0)
                if lt(sub(q, c), 0x20) { keep := not(shr(shl(3, sub(q, c)), not(0))) }
                for { let row := rowsStart } lt(row, rowsEnd) { row := add(row, 0x40) } {
                    let word := and(calldataload(add(mload(row), c)), keep)
                    let w := mload(add(row, 0x20)) // weight << _KEY_SHIFT: its low byte is free for the label
                    // Unrolled by 4 (the loop overhead is most of the cost of a 1-label body). For each label:
                    //   tally[label][j] += weight; key = (sum << _KEY_SHIFT) | (255 - label);
                    //   leader[j] = max(leader[j], key)  -- more weight wins, then the smaller label.
                    // The four bodies differ only in their byte index and offset. They stay copied out:
                    // a Yul function is not inlined by the legacy optimizer (a call per label), and a
                    // 1-label inner loop pays its overhead per label, so either would raise finalize's gas.
                    for { let j := 0 } lt(j, 32) { j := add(j, 4) } {
                        let off := shl(5, j)
                        {
                            let label := byte(add(j, 0), word)
                            let slot := add(add(tallyData, shl(10, label)), add(off, 0x0))
                            let t := add(mload(slot), w)
                            mstore(slot, t)
                            let key := or(t, xor(label, 0xff))
                            let lslot := add(leaderData, add(off, 0x0))
                            if gt(key, mload(lslot)) { mstore(lslot, key) }
                        }
                        {
                            let label := byte(add(j, 1), word)
                            let slot := add(add(tallyData, shl(10, label)), add(off, 0x20))
                            let t := add(mload(slot), w)
                            mstore(slot, t)
                            let key := or(t, xor(label, 0xff))
                            let lslot := add(leaderData, add(off, 0x20))
                            if gt(key, mload(lslot)) { mstore(lslot, key) }
                        }
                        {
                            let label := byte(add(j, 2), word)
                            let slot := add(add(tallyData, shl(10, label)), add(off, 0x40))
                            let t := add(mload(slot), w)
                            mstore(slot, t)
                            let key := or(t, xor(label, 0xff))
                            let lslot := add(leaderData, add(off, 0x40))
                            if gt(key, mload(lslot)) { mstore(lslot, key) }
                        }
                        {
                            let label := byte(add(j, 3), word)
                            let slot := add(add(tallyData, shl(10, label)), add(off, 0x60))
                            let t := add(mload(slot), w)
                            mstore(slot, t)
                            let key := or(t, xor(label, 0xff))
                            let lslot := add(leaderData, add(off, 0x60))
                            if gt(key, mload(lslot)) { mstore(lslot, key) }
                        }
                    }
                }
                let n := sub(q, c)
                if gt(n, 0x20) { n := 0x20 }
                for { let j := 0 } lt(j, n) { j := add(j, 1) } {
                    mstore8(add(out, add(c, j)), xor(and(mload(add(leaderData, shl(5, j))), 0xff), 0xff))
                }
                // Zero tally and leaders for the next chunk: copying from past the end of calldata yields
                // zeros for 3 gas a word (no memory expansion: the words are allocated).
                calldatacopy(tallyData, calldatasize(), tallyBytes)
                calldatacopy(leaderData, calldatasize(), 0x400)
            }
        }
    }

    /// @dev Score every revealer against the consensus, then store the consensus and the pool.
    /// A revealer that failed the audit is Excluded (slashed auditSlashBps, 0 by default, burned: audit
    /// penalties never reach the requester, who wrote the audit, nor anyone in the same round). Of the rest, a revealer agrees
    /// iff its chance-corrected agreement reaches agreementBps and beats chance significantly (_agrees): with M
    /// the count of the consensus's most frequent label, (matches - M) * BPS >= agreementBps * (Q - M),
    /// matches >= M and matches - M >= AGREEMENT_SIGMAS blind-labeller deviations (or a perfect match) -- a
    /// labeller that ignores the queries matches at most M in expectation, so lazy and random labellers are
    /// not paid, at any K. Deviators are slashed into the pool only in a round without a revealed audit (with one, the audit
    /// is the evidence: a revealer that passed it keeps its stake, unpaid); non-revealers always: into the pool, but
    /// burned under equal weights (where Sybils could otherwise collect them) and in a round with a revealed audit
    /// (where a requester's false audit could leave its own Sybil the only passer to collect them). Shares are floor(pool * weight / agreedWeight), exactly what
    /// claim() credits; the floors' dust is burned. If nobody agreed, the reward is refundable and the pooled
    /// penalties are burned.
    function _scoreAndSettle(
        uint256 roundId,
        Round storage r,
        address[] calldata committers,
        uint256[] memory revs,
        bytes memory consensusLabels
    ) private {
        Params memory p = r.params;
        uint256 mode = _modeCount(consensusLabels, r.numClasses);
        uint256 agreedWeight = 0;
        uint256 pooled = r.committedPenalty - r.revealedPenalty; // non-revealers
        uint256 burnt = 0;
        if (p.equalWeights || r.auditRevealed) (burnt, pooled) = (pooled, 0);
        for (uint256 j; j < revs.length; ++j) {
            (Status status, uint256 penalty, uint256 weight) =
                _scoreRevealer(roundId, p, committers[revs[j] & 0xffff], revs[j], consensusLabels, mode);
            revs[j] = weight; // reused: the revealer's weight in the pool, 0 unless it agreed
            agreedWeight += weight;
            if (status == Status.Excluded) burnt += penalty;
            else pooled += penalty; // a deviator's (0 under equal weights)
        }
        _settleNonRevealers(roundId, p.nonRevealSlashBps, committers);

        uint256 reward = _forfeitUnrevealedAudit(roundId, r);
        _totalStake -= pooled + burnt; // penalties leave the stake now; accounts are debited at claim
        emit RoundSlashes(roundId, pooled, burnt);
        uint256 pool = 0;
        uint256 dust = 0;
        if (agreedWeight == 0) {
            r.refundable = true;
            _rewardsOwed -= reward;
            _refundsOwed += reward;
            burnt += pooled;
            emit RewardRefundable(roundId, reward);
        } else {
            pool = reward + pooled;
            uint256 paid = 0;
            for (uint256 j; j < revs.length; ++j) {
                paid += pool * revs[j] / agreedWeight; // 0 unless agreed
            }
            dust = pool - paid;
            _rewardsOwed = _rewardsOwed + pooled - dust;
            burnt += dust;
        }

        address pointer = SSTORE2.write(consensusLabels);
        r.outcome = uint8(Outcome.Finalized);
        r.pool = uint128(pool);
        r.agreedWeight = uint128(agreedWeight);
        r.consensusPointer = pointer;
        emit RoundFinalized(roundId, pointer, pool, agreedWeight, dust);
        _burn(roundId, burnt);
    }

    /// @dev Score one revealer (`x`: its word from _loadRevealers), record it and, if the round's audit was
    /// revealed, move its reputation towards its audit accuracy (0 if Excluded). Returns its status, its penalty and its weight in the pool
    /// (0 unless it agreed).
    function _scoreRevealer(
        uint256 roundId,
        Params memory p,
        address who,
        uint256 x,
        bytes memory consensusLabels,
        uint256 mode
    ) private returns (Status status, uint256 penalty, uint256 weight) {
        Submission storage s = _submissions[roundId][who];
        uint256 matches = _countMatches(x >> 64, consensusLabels);
        uint256 q = consensusLabels.length;
        uint256 hits = (x >> 16) & 0xffff;
        uint256 g = (x >> 40) & 0xffff; // G if the audit was revealed, else 0
        if ((x >> 32) & 1 == 0) {
            status = Status.Excluded;
            penalty = _penalty(s.stake, p.auditSlashBps);
        } else if (_agrees(matches, mode, q, p.agreementBps)) {
            status = Status.Agreed;
            weight = p.equalWeights ? 1 : s.stake;
        } else {
            status = Status.Deviated;
            // The audit outranks agreement: a revealer that passed a revealed audit keeps its stake (it is
            // not paid). Only without an audit is disagreement the evidence, slashed deviatorSlashBps.
            if (g == 0) penalty = _penalty(s.stake, p.deviatorSlashBps); // 0 under equal weights
        }
        // Reputation moves only on the truth: towards the audit accuracy (0 if Excluded) when the audit was
        // revealed. Agreement with the consensus is not evidence (a cartel that holds the consensus would earn
        // trust from it), so without an audit a revealer's reputation stays where it is.
        if (g != 0) _updateReputation(roundId, who, status == Status.Excluded ? 0 : hits * _BPS / g);
        s.matches = uint32(matches);
        s.auditHits = uint16(hits);
        s.status = status;
        emit Scored(roundId, who, matches, hits, status);
        if (penalty != 0) emit Slashed(roundId, who, penalty, status);
    }

    /// @dev The agreement rule (docs/protocol.md, "Finalize", step 5): `m` of Q labels match a consensus whose most
    /// frequent label covers `mode` = M. A perfect match agrees; otherwise m must reach M (what a labeller
    /// blind to the queries matches at best in expectation), its chance-corrected agreement (m - M) / (Q - M)
    /// must reach `bps`, and m - M must be at least AGREEMENT_SIGMAS standard deviations of a blind labeller,
    /// (m - M)^2 * Q >= AGREEMENT_SIGMAS^2 * M * (Q - M), so that luck does not pay in small rounds.
    function _agrees(uint256 m, uint256 mode, uint256 q, uint256 bps) private pure returns (bool) {
        if (m == q) return true;
        if (m < mode) return false;
        uint256 d = m - mode;
        return d * _BPS >= bps * (q - mode) && d * d * q >= AGREEMENT_SIGMAS * AGREEMENT_SIGMAS * mode * (q - mode);
    }

    /// @dev Number of equal bytes between the Q calldata bytes at `offset` and `b` (Q bytes), 32 at a time.
    function _countMatches(uint256 offset, bytes memory b) private pure returns (uint256 count) {
        assembly ("memory-safe") {
            let len := mload(b)
            let lo7 := 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let bData := add(b, 0x20)
            for { let p := 0 } lt(p, len) { p := add(p, 0x20) } {
                let x := xor(calldataload(add(offset, p)), mload(add(bData, p)))
                let rest := sub(len, p)
                if lt(rest, 0x20) {
                    // Past the end: force those bytes to differ (0xff) so they never count.
                    x := or(x, shr(shl(3, rest), not(0)))
                }
                // High bit of each byte set iff that byte of x is zero (equal labels).
                let z := not(or(or(add(and(x, lo7), lo7), x), lo7))
                // Sum of the 0/1 bytes lands in the top byte (at most 32: no carries between bytes).
                count := add(count, shr(248, mul(shr(7, z), ones)))
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                           PRIVATE: BIT TRICKS
    //////////////////////////////////////////////////////////////*/

    /// @dev Revert with LabelOutOfRange unless every byte of `labels` is < k (2 <= k <= 256).
    /// Checks 32 labels per word: with lo = b & 0x7f and hi = b & 0x80,
    ///   k <= 128: b < k  iff  hi == 0 and lo + (128 - k) < 128
    ///   k >  128: b < k  iff  hi == 0 or  lo + (256 - k) < 128
    /// and no addition carries out of its byte (at most 127 + 127).
    function _checkLabels(bytes calldata labels, uint256 k) private pure {
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
                if (uint8(labels[i]) >= k) revert LabelOutOfRange(i, uint8(labels[i]), k);
            }
        }
    }
}
