// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SSTORE2} from "solady/utils/SSTORE2.sol";

import {IConsensusLearning} from "../interfaces/IConsensusLearning.sol";
import {ConsensusLearningBase} from "./ConsensusLearningBase.sol";
import {ConsensusLearningSettlement} from "./ConsensusLearningSettlement.sol";

/// @title ConsensusLearning
/// @notice Batched commit-reveal rounds whose stake-weighted plurality is the consensus of independently
/// trained models (Magureanu & Usher, arXiv 2402.16157), made robust to coordinated cheats by hidden audit
/// queries: the requester may commit to G known-label queries at opening and reveal them after the reveal
/// phase; revealers below the round's audit bound are left out of the tally and the pool. Label vectors
/// travel in calldata; storage holds hashes, per-participant scores and the consensus (SSTORE2 code).
/// See docs/protocol.md (rules, threat analysis) and docs/architecture.md.
/// @dev Two contracts, one storage: revealAudit, finalize and abandon are ConsensusLearningSettlement's code,
/// created by this constructor and run by delegatecall on this contract's storage (EIP-170 caps one contract's
/// code at 24,576 bytes); the layout, constants and shared rules are ConsensusLearningBase's.
/// Money leaves only through withdraw / withdrawTo / claimRefund / claimRefundTo (pull,
/// checks-effects-interactions, nonReentrant); rewards and fees are credited to free stake. Penalties round up
/// and shares round down; what nobody may receive is burned (kept, owned by nobody), so
/// totalStake + rewardsOwed + refundsOwed + burned + surplus == balance, surplus being forced-in ETH only.
contract ConsensusLearning is ConsensusLearningBase, IConsensusLearning {
    /// @notice The settlement half was not created at the address this contract computes for it (a chain whose
    /// CREATE addresses do not follow nonce 1 first); deployment reverts rather than delegate to anything else.
    error SettlementMisplaced();

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Deploy with sensible defaults and bounds; the deployer becomes the owner. Also creates the
    /// settlement half (this contract's first creation, so at the CREATE address of nonce 1).
    constructor() {
        // A contract's nonce starts at 1 (EIP-161): the first contract it creates is at _settlementHalf().
        if (address(new ConsensusLearningSettlement()) != _settlementHalf()) revert SettlementMisplaced();
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
        // docs/protocol.md, "Challenge terms": a window of a day (an L1's censorship bound with margin; a test
        // chain proposes shorter terms), a bond of twice the worst-case challenge's gas at 50 gwei.
        ChallengeTerms memory t = ChallengeTerms({window: 1 days, bondBase: 0.03 ether, bondPerRevealer: 0.001 ether});
        _checkTerms(t);
        _terms = t;
        emit ChallengeTermsChanged(t);
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
        _checkShape(queriesHash, numQueries, numClasses, commitDuration, revealDuration, false);
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
        _checkShape(
            spec.queriesHash, spec.numQueries, spec.numClasses, spec.commitDuration, spec.revealDuration, spec.optimistic
        );
        if (spec.finalizerFee > msg.value) revert FeeExceedsValue(spec.finalizerFee, msg.value);
        uint256 g = spec.auditCount;
        bool hasAudit = g != 0;
        if (
            g > MAX_AUDIT_QUERIES || g > spec.numQueries || hasAudit != (spec.auditCommitment != bytes32(0))
                || hasAudit != (spec.auditDuration != 0) || (hasAudit && spec.optimistic)
        ) revert InvalidAudit(g, spec.auditDuration, spec.auditCommitment);
        if (hasAudit) _checkDuration(spec.auditDuration);
        _checkParams(spec.params, _bounds);
        return _open(spec, queriesURI);
    }

    /// @inheritdoc IConsensusLearning
    function commit(uint256 roundId, bytes32 commitment) external {
        _commitToSeat(roundId, commitment);
    }

    /// @dev commit(), also the last step of submit(): a free seat in a round in its Commit phase.
    function _commitToSeat(uint256 roundId, bytes32 commitment) private {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Commit);
        uint256 maxN = _seats(r);
        if (r.commitCount >= maxN) revert RoundFull(roundId, maxN);
        _commit(roundId, r, commitment);
    }

    /// @inheritdoc IConsensusLearning
    function submit(
        uint256 claimRound,
        uint256 revealRound,
        bytes calldata labels,
        bytes32 salt,
        uint256 commitRound,
        bytes32 commitment
    ) external returns (uint256 reward) {
        if (claimRound == 0 && revealRound == 0 && commitRound == 0) revert NothingToSubmit();
        // In this order: the claim frees the stake (and reward) of claimRound for the commit, the reveal
        // leaves revealRound's stake locked. Each step checks and reverts exactly as its single call does,
        // and any revert undoes the whole transaction.
        if (claimRound != 0) reward = _claim(claimRound);
        if (revealRound != 0) _reveal(revealRound, labels, salt);
        if (commitRound != 0) _commitToSeat(commitRound, commitment);
    }

    /// @inheritdoc IConsensusLearning
    function commitReplacing(uint256 roundId, bytes32 commitment, address victim) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Commit);
        (Submission storage v, bool held) = _slot(roundId, victim);
        uint256 victimStake = held ? v.stake : 0;
        // Weights compare as stake x reputation (the victim's at its commit, the caller's now): a fresh
        // address must bring ten times the stake of a fully trusted one to evict it.
        uint256 victimWeight = victimStake * v.reputation; // 0 unless held
        uint256 weight = uint256(_accounts[msg.sender].free) * _reputationOf(msg.sender);
        if (r.commitCount < _seats(r) || !held || v.status != Status.Committed || victimWeight >= weight) {
            revert NotEvictable(roundId, victim, victimWeight, weight);
        }
        // Effects: the victim leaves as if it had never committed (it may take another seat the same way).
        Account storage a = _accounts[victim];
        a.locked -= uint128(victimStake);
        a.free += uint128(victimStake); // it was free before its commit: < 2^96
        delete _slots[victim][roundId % SUBMISSION_SLOTS]; // the slot held roundId
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
        (Submission storage s, bool held) = _slot(roundId, msg.sender);
        if (held) revert AlreadyCommitted(roundId, msg.sender);
        // The slot may hold an older round: it is reused once that round is claimed (claim it first).
        if (_slotBusy(s, roundId)) revert SubmissionSlotBusy(roundId, s.roundId);
        Account storage a = _accounts[msg.sender];
        uint256 stake = a.free;
        uint256 minStake = r.params.minStake;
        if (stake < minStake) revert StakeBelowMinimum(stake, minStake);
        // deposit, claim and fees keep free stake below 2^96; an eviction's unlock could add one more stake
        if (stake > type(uint96).max) revert AmountTooLarge(stake, type(uint96).max);

        // Effects. The whole free stake is the weight and is locked until this round is claimed.
        a.free = 0;
        a.locked += uint128(stake);
        uint256 reputation = _reputationOf(msg.sender);
        // Both words written whole: an old round's matches, audit hits and claimed flag are cleared.
        _slots[msg.sender][roundId % SUBMISSION_SLOTS] = Submission({
            hash: commitment,
            stake: uint96(stake),
            matches: 0,
            auditHits: 0,
            status: Status.Committed,
            claimed: false,
            reputation: uint16(reputation), // <= BPS
            roundId: uint64(roundId) // <= _roundCount
        });
        unchecked {
            r.commitCount += 1; // bounded by maxParticipants
        }
        r.committedStake += uint128(stake);
        r.committedPenalty += uint128(_penalty(stake, r.params.nonRevealSlashBps));
        emit Committed(roundId, msg.sender, commitment, stake, reputation);
    }

    /// @inheritdoc IConsensusLearning
    function reveal(uint256 roundId, bytes calldata labels, bytes32 salt) external {
        _reveal(roundId, labels, salt);
    }

    /// @dev reveal(), also the middle step of submit().
    function _reveal(uint256 roundId, bytes calldata labels, bytes32 salt) private {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Reveal);
        (Submission storage s, bool held) = _slot(roundId, msg.sender);
        if (!held) revert NotCommitted(roundId, msg.sender);
        if (s.status != Status.Committed) revert AlreadyRevealed(roundId, msg.sender);
        _checkRevealedLabels(labels, r.numQueries, r.numClasses);
        bytes32 labelsHash = keccak256(labels);
        if (_commitment(roundId, msg.sender, labelsHash, salt) != s.hash) {
            revert CommitmentMismatch(roundId, msg.sender);
        }

        s.hash = _labelsRoot(labels); // what finalize() checks resubmitted labels against, and proofs prove chunks of
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
    /// @dev Runs ConsensusLearningSettlement.revealAudit on this contract's storage.
    function revealAudit(uint256 roundId, bytes calldata indices, bytes calldata labels, bytes32 salt) external {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    /// @dev Runs ConsensusLearningSettlement.finalize on this contract's storage.
    function finalize(uint256 roundId, address[] calldata committers, bytes[] calldata labels) external {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    /// @dev Runs ConsensusLearningSettlement.abandon on this contract's storage.
    function abandon(uint256 roundId) external {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    /// @dev Runs ConsensusLearningSettlement.propose on this contract's storage.
    function propose(uint256 roundId, bytes calldata consensus, address[] calldata committers, bytes calldata matches)
        external
    {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    /// @dev Runs ConsensusLearningSettlement.challengeQuery on this contract's storage.
    function challengeQuery(
        uint256 roundId,
        uint256 query,
        uint256 alt,
        bytes32 consensusChunk,
        bytes32[] calldata consensusProof,
        address[] calldata revealers,
        bytes32[] calldata chunks,
        bytes32[] calldata siblings
    ) external {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    /// @dev Runs ConsensusLearningSettlement.challengeMatches on this contract's storage.
    function challengeMatches(uint256 roundId, address revealer, bytes calldata labels, bytes calldata consensus)
        external
    {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    /// @dev Runs ConsensusLearningSettlement.confirm on this contract's storage.
    function confirm(uint256 roundId) external {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    /// @dev Runs ConsensusLearningSettlement.publishConsensus on this contract's storage.
    function publishConsensus(uint256 roundId, bytes calldata consensus) external {
        _delegateToSettlement();
    }

    /// @inheritdoc IConsensusLearning
    function claim(uint256 roundId) external returns (uint256 reward) {
        reward = _claim(roundId);
    }

    /// @dev claim(), also the first step of submit().
    function _claim(uint256 roundId) private returns (uint256 reward) {
        Round storage r = _rounds[roundId];
        (Submission storage s, bool held) = _slot(roundId, msg.sender);
        if (!held) revert NothingToClaim(roundId, msg.sender);
        if (s.claimed) revert AlreadyClaimed(roundId, msg.sender);
        // A post past its window settles the round first (confirm, by delegatecall; it reverts inside the window).
        if (r.outcome == uint8(Outcome.Proposed)) _delegateCall(abi.encodeCall(this.confirm, (roundId)));
        // Finalized or Failed: claim() accepts both, so not _checkPhase.
        if (r.outcome == uint8(Outcome.Open)) revert WrongPhase(roundId, Phase.Finalized, _phase(r));
        uint256 penalty;
        Status status;
        (reward, penalty, status) = _settlement(roundId, r, s);
        _scoreLazily(roundId, r, s, penalty, status);

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
    function proposeChallengeTerms(ChallengeTerms calldata t) external onlyOwner {
        _checkTerms(t);
        _proposedTerms = t;
        uint256 effectiveAt = block.timestamp + BOUNDS_DELAY;
        _proposedTermsAt = effectiveAt;
        emit ChallengeTermsProposed(t, effectiveAt);
    }

    /// @inheritdoc IConsensusLearning
    function applyChallengeTerms() external {
        uint256 at = _proposedTermsAt;
        if (at == 0 || block.timestamp < at) revert TermsNotReady(at, block.timestamp);
        ChallengeTerms memory t = _proposedTerms;
        _terms = t;
        _proposedTermsAt = 0;
        emit ChallengeTermsChanged(t);
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
            params: r.params,
            optimistic: r.optimistic
        });
    }

    /// @inheritdoc IConsensusLearning
    function getSubmission(uint256 roundId, address participant) external view returns (SubmissionInfo memory info) {
        (Submission storage s, bool held) = _slot(roundId, participant);
        if (!held) return info; // never committed, evicted, or its slot reused after its claim
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
    function slotOf(address participant, uint256 roundId) external view returns (uint256 heldRound, bool busy) {
        (Submission storage s,) = _slot(roundId, participant);
        heldRound = s.status != Status.None ? s.roundId : 0;
        busy = _slotBusy(s, roundId);
    }

    /// @inheritdoc IConsensusLearning
    function reputationOf(address participant) external view returns (uint256) {
        return _reputationOf(participant);
    }

    /// @inheritdoc IConsensusLearning
    function struckOut(address participant) external view returns (bool) {
        return _reputation[participant] & _STRUCK_OUT != 0;
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
    function getPost(uint256 roundId) external view returns (PostInfo memory info) {
        Post storage p = _posts[roundId];
        info = PostInfo({
            proposer: p.proposer,
            challengeEnds: p.challengeEnds,
            serial: p.serial,
            consensusRoot: p.consensusRoot,
            tallyWeight: p.tallyWeight,
            bond: p.bond,
            mode: p.mode
        });
    }

    /// @inheritdoc IConsensusLearning
    function challengeTerms()
        external
        view
        returns (ChallengeTerms memory current, ChallengeTerms memory proposed, uint256 effectiveAt)
    {
        return (_terms, _proposedTerms, _proposedTermsAt);
    }

    /// @inheritdoc IConsensusLearning
    function bondOf(uint256 roundId) external view returns (uint256) {
        return _bondOf(_rounds[roundId]);
    }

    /// @inheritdoc IConsensusLearning
    function labelsRootOf(bytes calldata labels) external pure returns (bytes32) {
        return _labelsRoot(labels);
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
        (Submission storage s, bool held) = _slot(roundId, participant);
        if (!held || s.claimed || r.outcome == uint8(Outcome.Open)) return (0, 0);
        // a post still challengeable settles nothing yet; past its window, claim would confirm it first
        if (r.outcome == uint8(Outcome.Proposed) && block.timestamp <= _posts[roundId].challengeEnds) return (0, 0);
        (reward, penalty,) = _settlement(roundId, r, s);
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
    function optimisticSeats(uint256 numQueries, uint256 numClasses) external pure returns (uint256) {
        return _optimisticSeats(numQueries, numClasses);
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
                        PRIVATE: THE SETTLEMENT HALF
    //////////////////////////////////////////////////////////////*/

    /// @dev The address of ConsensusLearningSettlement, created by the constructor with nonce 1: the last 20
    /// bytes of keccak256(rlp([address(this), 1])) = keccak256(0xd6 0x94 ++ address(this) ++ 0x01). Computed,
    /// not stored, so that it costs no SLOAD and the runtime code is the same in every deployment.
    function _settlementHalf() private view returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes2(0xd694), address(this), bytes1(0x01))))));
    }

    /// @dev Run the settlement half's function of the same selector with this call's calldata, on this
    /// contract's storage and balance (msg.sender and msg.value unchanged), and return or revert with its data.
    function _delegateToSettlement() private {
        address target = _settlementHalf();
        assembly ("memory-safe") {
            let ptr := mload(0x40) // free memory: the call never returns here, so nothing is overwritten
            calldatacopy(ptr, 0, calldatasize()) // the whole call, selector included
            let ok := delegatecall(gas(), target, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize()) // the result, or the revert data (custom errors pass through)
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
    }

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: PHASE AND CHECKS
    //////////////////////////////////////////////////////////////*/

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
        uint256 revealDuration,
        bool optimistic
    ) private view {
        if (queriesHash == bytes32(0)) revert EmptyQueriesHash();
        if (numClasses < 2 || numClasses > 256) revert InvalidClassCount(numClasses);
        uint256 maxQ = !optimistic ? MAX_QUERIES : numClasses > PACKED_MAX_CLASSES ? MAX_OPTIMISTIC_LABEL_BYTES : MAX_OPTIMISTIC_QUERIES;
        if (numQueries == 0 || numQueries > maxQ) revert InvalidQueryCount(numQueries, maxQ);
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

    /// @dev The SSTORE2 pointer of a finalized round; reverts UnknownRound or WrongPhase otherwise, and
    /// ConsensusNotPublished for a round settled by a post whose consensus nobody published.
    function _finalizedPointer(uint256 roundId) private view returns (address pointer) {
        Round storage r = _rounds[roundId];
        Phase actual = _phase(r);
        if (actual == Phase.None) revert UnknownRound(roundId);
        if (actual != Phase.Finalized) revert WrongPhase(roundId, Phase.Finalized, actual);
        pointer = r.consensusPointer;
        if (pointer == address(0)) revert ConsensusNotPublished(roundId);
    }

    /// @dev The seats of round `r`: optimisticSeats(Q, K) if optimistic-only, else maxParticipants(Q).
    function _seats(Round storage r) private view returns (uint256) {
        return r.optimistic ? _optimisticSeats(r.numQueries, r.numClasses) : maxParticipants(r.numQueries);
    }

    /// @dev The bond a post of round `r` locks: bondBase + bondPerRevealer x revealers, at today's terms.
    function _bondOf(Round storage r) private view returns (uint256) {
        return uint256(_terms.bondBase) + uint256(_terms.bondPerRevealer) * r.revealCount;
    }

    /// @dev Challenge terms within the hard limits: a window in [MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW] and
    /// a base bond of at least 1 wei (a post always risks something).
    function _checkTerms(ChallengeTerms memory t) private pure {
        if (t.window < MIN_CHALLENGE_WINDOW || t.window > MAX_CHALLENGE_WINDOW) {
            revert InvalidChallengeTerms("window", t.window, MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW);
        }
        if (t.bondBase == 0) revert InvalidChallengeTerms("bondBase", 0, 1, type(uint96).max);
    }

    /*//////////////////////////////////////////////////////////////
                              PRIVATE: MONEY
    //////////////////////////////////////////////////////////////*/

    /// @dev What claim() credits and takes for a settled round (Finalized or Failed, or a post past its window),
    /// and the status it settles by (for a revealer of a round settled by a post: the posted count's, which
    /// claim records).
    function _settlement(uint256 roundId, Round storage r, Submission storage s)
        private
        view
        returns (uint256 reward, uint256 penalty, Status status)
    {
        status = s.status;
        uint256 stake = s.stake;
        // Still Revealed in a round not Failed: the round was settled by a post, which scores at claim.
        if (status == Status.Revealed && r.outcome != uint8(Outcome.Failed)) status = _postedStatus(roundId, r, s);
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

    /// @dev A revealer's status under the round's post: the agreement rule on its posted match count.
    function _postedStatus(uint256 roundId, Round storage r, Submission storage s) private view returns (Status) {
        return _agrees(s.matches, _posts[roundId].mode, r.numQueries, r.params.agreementBps)
            ? Status.Agreed
            : Status.Deviated;
    }

    /// @dev What finalize records for everyone at once, a round settled by a post records at each claim: a
    /// revealer's status (Scored, and Slashed if it deviated); a non-revealer's Slashed event and its reputation
    /// step towards 0 (docs/protocol.md, "Optimistic settlement": propose cannot afford N reputation writes).
    /// `status` is _settlement's.
    function _scoreLazily(uint256 roundId, Round storage r, Submission storage s, uint256 penalty, Status status)
        private
    {
        if (s.status == Status.Revealed && r.outcome == uint8(Outcome.Finalized)) {
            s.status = status;
            emit Scored(roundId, msg.sender, s.matches, 0, status);
        } else if (status != Status.Committed || !_posts[roundId].byPost) {
            return; // scored by finalize, or revealed in a failed round
        }
        if (penalty != 0) emit Slashed(roundId, msg.sender, penalty, status);
        if (status == Status.Committed) _updateReputation(roundId, msg.sender, 0, 0);
    }

    /// @dev Run `data`, a call of the settlement half, by delegatecall on this contract's storage; revert with
    /// its revert data.
    function _delegateCall(bytes memory data) private {
        (bool ok, bytes memory ret) = _settlementHalf().delegatecall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret)) // the custom error, unchanged
            }
        }
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

    /// @dev Freeze a new round. `spec` is checked by the caller.
    function _open(RoundSpec memory spec, string calldata queriesURI) private returns (uint256 roundId) {
        roundId = ++_roundCount;
        Round storage r = _rounds[roundId];
        r.numQueries = spec.numQueries;
        r.numClasses = spec.numClasses;
        r.optimistic = spec.optimistic;
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
}
