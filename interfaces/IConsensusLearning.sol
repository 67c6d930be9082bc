// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IConsensusLearning
/// @notice Vocabulary of the consensus-learning protocol: participants stake ETH, commit to hashed label
/// vectors for a batch of Q queries with K classes, reveal them, and anyone finalizes the round into a
/// stake-weighted plurality consensus that other contracts can read. Deviators and non-revealers are
/// slashed; the reward and the slashed stake go, pro-rata to weight, to the revealers that agreed.
/// See docs/protocol.md for the state machine, the exact commitment bytes and a worked example.
interface IConsensusLearning {
    /*//////////////////////////////////////////////////////////////
                                  TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Phase of a round; a pure function of its deadlines, `block.timestamp` and its outcome.
    /// (Audit is numbered last so that the older phases keep their numbers.)
    enum Phase {
        None, // no such round
        Commit, // block.timestamp <= commitDeadline
        Reveal, // commitDeadline < block.timestamp <= revealDeadline
        Finalizable, // reveal (and audit, if any) over, finalize() not called yet
        Finalized, // quorum met, consensus stored
        Failed, // quorum not met, nobody passed the audit, or abandoned: reward refundable, no consensus
        Audit, // revealDeadline < block.timestamp <= auditDeadline and the requester has not revealed its audit
        Proposed // a bonded post of the consensus is live: challengeable until its window ends, then confirmable
    }

    /// @notice Where a participant stands in one round.
    enum Status {
        None, // never committed
        Committed, // committed; after the round ends this means "did not reveal"
        Revealed, // revealed, round not finalized yet (or finalized as Failed)
        Agreed, // finalized: passed the audit, chance-corrected agreement >= threshold, shares the pool
        Deviated, // finalized: passed the audit, agreement below the threshold, slashed into the pool
        Excluded // finalized: failed the requester's audit; not in the tally, slashed (burned), no reward
    }

    /// @notice Round parameters, chosen per round by the requester within the owner's `Bounds`.
    struct Params {
        uint16 quorumBps; // share of committed weight that must reveal, in basis points
        uint16 minRevealers; // fewest revealers for a valid round
        // Chance-corrected agreement (Cohen's kappa against the consensus's most frequent label, which
        // bounds what any labeller blind to the queries can match): a revealer that passed the audit agrees
        // iff (matches - M) * BPS >= agreementBps * (Q - M), M = count of the consensus's modal label, and
        // matches beat M by AGREEMENT_SIGMAS blind-labeller standard deviations (a perfect match always agrees).
        uint16 agreementBps;
        uint16 deviatorSlashBps; // share of a deviator's stake slashed (goes to the pool)
        uint16 nonRevealSlashBps; // share of a non-revealer's stake slashed (>= the other two slashes)
        uint16 auditBoundBps; // a revealer right on fewer than this share of the audit queries is Excluded
        uint16 auditSlashBps; // share of an Excluded revealer's stake slashed (burned, never pooled)
        // The crowd rule (0: off): a wrong audit answer given by at least this share of the revealers (at least
        // 2, itself included) is a strike; a revealer with strikes * BPS >= CROWD_STRIKE_BPS * G is Excluded.
        uint16 crowdBps;
        bool equalWeights; // every participant weighs 1 (experiments); needs deviatorSlashBps == 0
        uint96 minStake; // smallest free stake that may commit, in wei
    }

    /// @notice The owner's limits on requester-chosen parameters (inside the contract's hard limits).
    /// Changes take effect BOUNDS_DELAY after they are proposed.
    struct Bounds {
        uint16 minQuorumBps; // quorumBps >= this
        uint16 maxAgreementBps; // agreementBps <= this
        uint16 maxSlashBps; // every slash rate <= this
        uint16 maxAuditBoundBps; // auditBoundBps <= this
        bool allowEqualWeights; // equalWeights may be chosen
        uint96 minStakeFloor; // minStake >= this (>= 1)
        uint96 minStakeCeiling; // minStake <= this
    }

    /// @notice What a requester asks for in `openRoundWith`.
    struct RoundSpec {
        bytes32 queriesHash; // keccak256 of the query batch file
        uint16 numQueries; // Q, 1..MAX_QUERIES
        uint16 numClasses; // K, 2..256
        uint32 commitDuration; // seconds from now to the commit deadline
        uint32 revealDuration; // seconds from the commit deadline to the reveal deadline
        uint32 auditDuration; // seconds from the reveal deadline to the audit deadline (0 iff auditCount == 0)
        uint16 auditCount; // G hidden known-label queries, 0..MAX_AUDIT_QUERIES (and <= Q)
        bytes32 auditCommitment; // auditCommitmentOf(requester, queriesHash, indices, labels, salt); 0 iff G == 0
        uint96 finalizerFee; // part of msg.value paid to whoever settles the round (finalize, abandon, a confirmed post)
        Params params; // within bounds()
        // Optimistic-only: optimisticSeats(Q, K) seats, Q up to MAX_OPTIMISTIC_QUERIES (MAX_OPTIMISTIC_LABEL_BYTES
        // at K > 16), no audit;
        // settled only by propose (or failed: abandon). Other rounds may be proposed or finalized on chain.
        bool optimistic;
    }

    /// @notice What an optimistic post costs and how long it stays challengeable. Changes take effect
    /// BOUNDS_DELAY after they are proposed (proposeChallengeTerms / applyChallengeTerms).
    struct ChallengeTerms {
        uint32 window; // seconds a post stays challengeable (size it above the chain's censorship bound)
        uint96 bondBase; // wei of free stake a proposer locks per post ...
        uint96 bondPerRevealer; // ... plus this per revealer (the worst-case query proof grows with N)
    }

    /// @notice The live (or last confirmed) post of a round, as returned by `getPost`.
    struct PostInfo {
        address proposer; // 0: no live post (none yet, or the last one was refuted)
        uint40 challengeEnds; // last second at which the post can be challenged
        uint32 serial; // posts made in this round so far; the live one is number `serial`
        bytes32 consensusRoot; // Merkle root of the consensus's wire bytes (the labels' chunk layout)
        uint128 tallyWeight; // W: the revealers' total tally weight
        uint96 bond; // free stake the proposer locked
        uint16 mode; // M of the posted consensus (count of its most frequent label)
    }

    /// @notice Everything about a round, as returned by `getRound`.
    struct RoundInfo {
        address requester; // who opened (and paid for) the round
        uint96 reward; // paid in by the requester (net of the finalizer fee; less any audit forfeit)
        uint96 finalizerFee; // paid to the account that settles the round
        bytes32 queriesHash; // keccak256 of the query batch file
        uint16 numQueries; // Q
        uint16 numClasses; // K; labels are 0..K-1
        uint40 commitDeadline; // last second at which commit() is accepted
        uint40 revealDeadline; // last second at which reveal() is accepted
        uint40 auditDeadline; // last second at which revealAudit() is accepted (== revealDeadline if no audit)
        uint16 auditCount; // G
        bool auditRevealed; // the requester revealed its audit
        Phase phase; // current phase
        uint32 commitCount; // participants that committed
        uint32 revealCount; // participants that revealed
        uint128 committedStake; // sum of committed stakes
        uint128 revealedStake; // sum of revealed stakes
        uint128 pool; // after finalize: reward + pooled slashes, shared by agreeing revealers
        uint128 agreedWeight; // after finalize: total weight of the agreeing revealers
        bool refundable; // the reward is owed back to the requester (failed round, or nobody agreed)
        Params params; // frozen at opening
        bool optimistic; // settled only by an optimistic post (RoundSpec.optimistic)
    }

    /// @notice A participant's record in one round, as returned by `getSubmission`.
    struct SubmissionInfo {
        bytes32 hash; // the commitment; after reveal, labelsRootOf(labels) (Merkle root of 32-byte chunks)
        uint96 stake; // stake locked at commit (the weight, unless equalWeights)
        uint32 matches; // after finalize (or a post): queries on which the labels equal the consensus
        uint16 auditHits; // after finalize of an audited round: audit queries answered right
        Status status; // see Status
        bool claimed; // settled by claim()
        uint16 reputation; // the committer's reputation at commit (bps); its tally weight is stake x reputation
    }

    /// @notice A participant's stake, as returned by `getAccount`.
    struct AccountInfo {
        uint128 free; // stake available to commit or to request for withdrawal (rewards are added here)
        uint128 locked; // stake committed to rounds not yet claimed (penalties applied at claim)
        uint128 unbonding; // requested for withdrawal, not yet sent (all pending requests)
        uint64 unbondingReadyAt; // when the last pending request matures (each request keeps its own time)
        uint128 withdrawable; // the part of `unbonding` that withdraw() would send now
    }

    /*//////////////////////////////////////////////////////////////
                                  ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @dev deposit() was called without value.
    error ZeroDeposit();
    /// @dev More stake was asked for than is free (not locked, not unbonding).
    error InsufficientFreeStake(uint256 requested, uint256 available);
    /// @dev withdraw() with nothing unbonding.
    error NothingToWithdraw();
    /// @dev withdraw() before the unbonding delay has passed.
    error UnbondingNotOver(uint256 readyAt, uint256 nowTimestamp);
    /// @dev openRound() with Q outside 1..MAX_QUERIES.
    error InvalidQueryCount(uint256 numQueries, uint256 maxQueries);
    /// @dev openRound() with K outside 2..256.
    error InvalidClassCount(uint256 numClasses);
    /// @dev openRound() with a phase duration outside the allowed bounds.
    error InvalidDuration(uint256 duration, uint256 minDuration, uint256 maxDuration);
    /// @dev openRound() with a zero query hash.
    error EmptyQueriesHash();
    /// @dev openRound() with a reward that does not fit in 96 bits.
    error RewardTooLarge(uint256 reward);
    /// @dev The round does not exist.
    error UnknownRound(uint256 roundId);
    /// @dev The call is not allowed in the round's current phase.
    error WrongPhase(uint256 roundId, Phase expected, Phase actual);
    /// @dev The participant already committed in this round.
    error AlreadyCommitted(uint256 roundId, address participant);
    /// @dev A zero commitment (reserved for "none").
    error ZeroCommitment();
    /// @dev The participant's free stake is below the round's minimum.
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    /// @dev The round already has its maximum number of participants.
    error RoundFull(uint256 roundId, uint256 maxParticipants);
    /// @dev commitReplacing(): the round is not full, or `victim` is not a committer with less weight
    /// (stake x reputation: the victim's at its commit, the caller's free stake and reputation now).
    error NotEvictable(uint256 roundId, address victim, uint256 victimWeight, uint256 weight);
    /// @dev reveal() without a commitment in this round.
    error NotCommitted(uint256 roundId, address participant);
    /// @dev reveal() a second time.
    error AlreadyRevealed(uint256 roundId, address participant);
    /// @dev The labels do not have the expected length: Q bytes, or ceil(Q / 2) when packed (K <= 16); for an
    /// audit, G bytes of labels and 2G of indices.
    error WrongLabelCount(uint256 given, uint256 expected);
    /// @dev Packed labels of an odd Q: the last byte's low nibble, the padding, must be zero.
    error LabelPaddingNotZero(uint256 padding);
    /// @dev A label is not below K.
    error LabelOutOfRange(uint256 index, uint256 label, uint256 numClasses);
    /// @dev The labels and salt do not hash to the participant's commitment.
    error CommitmentMismatch(uint256 roundId, address participant);
    /// @dev finalize() arrays of different lengths.
    error LengthMismatch(uint256 revealers, uint256 labels);
    /// @dev finalize() was not given exactly the round's committers.
    error RevealerCountMismatch(uint256 given, uint256 expected);
    /// @dev finalize() committers must be sorted strictly ascending (this also rules out duplicates).
    error RevealersNotSorted(uint256 index);
    /// @dev finalize() was given an address that did not reveal in this round.
    error NotARevealer(uint256 roundId, address participant);
    /// @dev finalize() was given labels that differ from what the participant revealed.
    error RevealedLabelsMismatch(uint256 roundId, address participant);
    /// @dev claim() by an address that has nothing to settle in this round.
    error NothingToClaim(uint256 roundId, address participant);
    /// @dev claim() a second time.
    error AlreadyClaimed(uint256 roundId, address participant);
    /// @dev commit to `roundId` while the caller's submission slot for it (roundId % SUBMISSION_SLOTS) holds
    /// round `heldRound`, not yet claimed: claim heldRound first (finalize or abandon it if it is not settled).
    error SubmissionSlotBusy(uint256 roundId, uint256 heldRound);
    /// @dev submit() with no step: claimRound, revealRound and commitRound all 0.
    error NothingToSubmit();
    /// @dev claimRefund() by someone other than the requester, or when no refund is owed.
    error NoRefund(uint256 roundId, address caller);
    /// @dev consensusLabel() index not below Q.
    error QueryIndexOutOfRange(uint256 index, uint256 numQueries);
    /// @dev A parameter outside its bounds (the owner's hard limits, or a round's `bounds()`).
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @dev Sending ETH failed.
    error TransferFailed(address to, uint256 amount);

    /// @dev A stake or balance that does not fit the contract's storage width.
    error AmountTooLarge(uint256 amount, uint256 max);
    /// @dev requestWithdrawal() while MAX_PENDING_WITHDRAWALS requests are pending.
    error TooManyPendingWithdrawals(uint256 max);
    /// @dev withdrawTo / claimRefundTo the zero address.
    error ZeroAddress();
    /// @dev openRoundWith(): the finalizer fee exceeds msg.value.
    error FeeExceedsValue(uint256 fee, uint256 value);
    /// @dev openRoundWith(): audit count, duration and commitment do not fit together or the bounds.
    error InvalidAudit(uint256 auditCount, uint256 auditDuration, bytes32 auditCommitment);
    /// @dev revealAudit() by someone other than the round's requester.
    error NotRequester(uint256 roundId, address caller);
    /// @dev revealAudit(): indices, labels and salt do not hash to the audit commitment.
    error AuditCommitmentMismatch(uint256 roundId);
    /// @dev revealAudit(): the audit indices must be strictly ascending and below Q.
    error InvalidAuditIndex(uint256 position, uint256 index, uint256 numQueries);
    /// @dev finalize() was given an address that did not commit in this round.
    error NotACommitter(uint256 roundId, address participant);
    /// @dev abandon() before the round has been stale for ABANDON_DELAY.
    error NotStaleYet(uint256 roundId, uint256 staleAt, uint256 nowTimestamp);
    /// @dev applyBounds() with no proposal, or before its delay has passed.
    error BoundsNotReady(uint256 readyAt, uint256 nowTimestamp);
    /// @dev Bounds outside the contract's hard limits (a floor above its ceiling included).
    error InvalidBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @dev finalize() on an optimistic-only round: it settles by propose (or abandon).
    error OptimisticOnly(uint256 roundId);
    /// @dev propose() on a round with an audit: audited rounds are finalized on chain.
    error AuditedRound(uint256 roundId);
    /// @dev propose(): `matches` must hold 2 bytes per committer.
    error MatchesLength(uint256 given, uint256 expected);
    /// @dev propose(): a match count above Q, or non-zero for a committer that did not reveal.
    error InvalidMatchCount(address participant, uint256 matches);
    /// @dev A challenge or a confirm of a round whose post is not in the right state: no live post, the
    /// window is over (challenge) or still open (confirm).
    error ChallengeWindow(uint256 roundId, uint256 challengeEnds, uint256 nowTimestamp);
    /// @dev A Merkle proof that does not lead to the stored root (`participant` 0: the consensus).
    error InvalidProof(uint256 roundId, address participant);
    /// @dev challengeQuery(): the alternative label must differ from the posted one and be below K.
    error InvalidAlternative(uint256 alt, uint256 posted, uint256 numClasses);
    /// @dev challengeMatches(): the posted match count is right (nothing to refute).
    error MatchCountCorrect(uint256 roundId, address participant, uint256 matches);
    /// @dev challengeMatches() for a committer that did not reveal (its count was checked to be 0 at propose).
    error NotARevealerOf(uint256 roundId, address participant);
    /// @dev consensus() / consensusLabel() of a round settled by a post whose consensus was not published.
    error ConsensusNotPublished(uint256 roundId);
    /// @dev publishConsensus() for a round that was not confirmed from a post, or already published.
    error NothingToPublish(uint256 roundId);
    /// @dev applyChallengeTerms() with no proposal, or before its delay has passed.
    error TermsNotReady(uint256 readyAt, uint256 nowTimestamp);
    /// @dev proposeChallengeTerms(): a term outside the contract's hard limits.
    error InvalidChallengeTerms(bytes32 name, uint256 value, uint256 min, uint256 max);

    /*//////////////////////////////////////////////////////////////
                                  EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Stake was added.
    event Deposited(address indexed participant, uint256 amount, uint256 free);
    /// @notice Free stake started unbonding.
    event WithdrawalRequested(address indexed participant, uint256 amount, uint256 unbonding, uint256 readyAt);
    /// @notice Unbonded stake was sent to `to`.
    event Withdrawn(address indexed participant, uint256 amount, address to);
    /// @notice A round was opened; `queriesURI` is only in this event, its hash is stored.
    event RoundOpened(
        uint256 indexed roundId,
        address indexed requester,
        bytes32 queriesHash,
        string queriesURI,
        uint256 numQueries,
        uint256 numClasses,
        uint256 commitDeadline,
        uint256 revealDeadline,
        uint256 reward,
        uint256 finalizerFee
    );
    /// @notice The round's parameters and audit terms (emitted with RoundOpened).
    event RoundTerms(uint256 indexed roundId, Params params, uint256 auditCount, uint256 auditDeadline, bytes32 auditCommitment);
    /// @notice The requester revealed its audit: indices (2 bytes each, big-endian) and their known labels.
    event AuditRevealed(uint256 indexed roundId, bytes indices, bytes labels, bytes32 salt);
    /// @notice The requester never revealed its audit: `amount` of its reward was burned.
    event AuditForfeited(uint256 indexed roundId, uint256 amount);
    /// @notice A participant committed; `stake` moved from free to locked. `reputation` (bps) is its
    /// reputation at commit: its tally weight is stake (1 under equal weights) x reputation.
    event Committed(
        uint256 indexed roundId, address indexed participant, bytes32 commitment, uint256 stake, uint256 reputation
    );
    /// @notice A full round admitted `by` in place of `victim`, whose stake was unlocked without penalty.
    event Evicted(uint256 indexed roundId, address indexed victim, address indexed by, uint256 victimStake);
    /// @notice A participant revealed; the labels are published here for finalizers and observers.
    event Revealed(uint256 indexed roundId, address indexed participant, bytes labels, bytes32 salt);
    /// @notice A revealer was scored at finalization (`auditHits` is 0 in an unaudited round).
    event Scored(uint256 indexed roundId, address indexed participant, uint256 matches, uint256 auditHits, Status status);
    /// @notice `participant`'s reputation moved from `previous` to `current` (bps) when round `roundId` settled.
    event ReputationUpdated(uint256 indexed roundId, address indexed participant, uint256 previous, uint256 current);
    /// @notice The crowd rule's memory of `participant` changed when round `roundId` settled: `struckOut` true if
    /// the rule struck it out there (then CROWD_REPEAT_STRIKES strikes exclude it next time), false once a
    /// judged round let it pass.
    event StruckOut(uint256 indexed roundId, address indexed participant, bool struckOut);
    /// @notice A participant is slashed in a settled round (deviator, excluded by the audit, or non-revealer);
    /// the stake itself is debited at claim.
    event Slashed(uint256 indexed roundId, address indexed participant, uint256 penalty, Status status);
    /// @notice The round reached quorum and its consensus is stored.
    event RoundFinalized(uint256 indexed roundId, address consensusPointer, uint256 pool, uint256 agreedWeight, uint256 dust);
    /// @notice The penalties a finalized round took: `pooled` joined the pool (or was burned if nobody
    /// agreed), `burned` went straight to burning (audit penalties; non-revealers' under equal weights).
    event RoundSlashes(uint256 indexed roundId, uint256 pooled, uint256 burned);
    /// @notice The round missed quorum, nobody passed the audit, or it was abandoned; the reward is refundable
    /// and revealers are not slashed.
    event RoundFailed(uint256 indexed roundId, uint256 revealedWeight, uint256 committedWeight, uint256 slashed);
    /// @notice A finalized round in which nobody agreed: its reward is refundable to the requester.
    event RewardRefundable(uint256 indexed roundId, uint256 amount);
    /// @notice The account that settled the round was paid its fee (added to its free stake).
    event FinalizerPaid(uint256 indexed roundId, address indexed finalizer, uint256 fee);
    /// @notice A participant settled a round: stake minus penalty plus reward back to free stake.
    event Claimed(uint256 indexed roundId, address indexed participant, uint256 reward, uint256 penalty);
    /// @notice The requester took back the reward of a failed round, or of one in which nobody agreed.
    event RefundClaimed(uint256 indexed roundId, address indexed requester, uint256 amount);
    /// @notice Penalties nobody may receive (a failed round's, the audit's, equal-weights rounds'), an audit
    /// forfeit, or rounding dust were burned: they stay in the contract, owned by nobody, forever.
    event Burned(uint256 indexed roundId, uint256 amount, uint256 totalBurned);
    /// @notice The owner changed the defaults of `openRound` (rounds opened from now on).
    event DefaultsChanged(Params params);
    /// @notice The owner proposed new bounds; they apply from `effectiveAt` (applyBounds).
    event BoundsProposed(Bounds bounds, uint256 effectiveAt);
    /// @notice New bounds apply to rounds opened from now on.
    event BoundsChanged(Bounds bounds);
    /// @notice The owner changed the unbonding delay for withdrawals requested from now on.
    event UnbondingDelayChanged(uint256 delay);
    /// @notice A bonded post of a round's consensus: `consensus` in wire form (its Merkle root stored),
    /// `matches` 2 bytes per committer (ascending), challengeable until `challengeEnds`.
    event Proposed(
        uint256 indexed roundId,
        address indexed proposer,
        uint256 serial,
        bytes32 consensusRoot,
        bytes consensus,
        bytes matches,
        uint256 challengeEnds,
        uint256 bond,
        uint256 pool,
        uint256 agreedWeight
    );
    /// @notice A query proof in progress: `alt` has `altWeight`, labels other than the posted one `otherWeight`
    /// among the revealers proven so far by `challenger` (strictly ascending, the last one `last`).
    event ChallengeProgress(
        uint256 indexed roundId, uint256 serial, address indexed challenger, uint256 query, uint256 alt,
        uint256 altWeight, uint256 otherWeight, address last
    );
    /// @notice Post `serial` was refuted by `challenger` (paid `reward`, half the bond; the rest burned). The
    /// round is Finalizable again: anyone may post (or, if it is not optimistic-only, finalize).
    event Refuted(uint256 indexed roundId, uint256 serial, address indexed challenger, uint256 bond, uint256 reward);
    /// @notice Post `serial` outlived its window: the round is Finalized with it, the bond is free again.
    event PostConfirmed(uint256 indexed roundId, uint256 serial, address indexed proposer, uint256 bond);
    /// @notice A confirmed post's consensus was stored for consensus() (SSTORE2 code at `pointer`).
    event ConsensusPublished(uint256 indexed roundId, address pointer);
    /// @notice The owner proposed new challenge terms; they apply from `effectiveAt` (applyChallengeTerms).
    event ChallengeTermsProposed(ChallengeTerms terms, uint256 effectiveAt);
    /// @notice New challenge terms apply to posts made from now on.
    event ChallengeTermsChanged(ChallengeTerms terms);

    /*//////////////////////////////////////////////////////////////
                              STAKE
    //////////////////////////////////////////////////////////////*/

    /// @notice Add `msg.value` to the caller's free stake.
    function deposit() external payable;

    /// @notice Move `amount` of free stake to unbonding; it can be withdrawn after the unbonding delay in
    /// force now. Each request keeps its own time (a later request never delays an earlier one); at most
    /// MAX_PENDING_WITHDRAWALS may be pending.
    /// @param amount Wei to unbond; must not exceed the free stake (locked stake cannot be requested).
    function requestWithdrawal(uint256 amount) external;

    /// @notice Send the caller every matured withdrawal request.
    function withdraw() external;

    /// @notice Send the caller's matured withdrawal requests to `to` (for a caller that cannot receive ETH).
    /// @param to Recipient.
    function withdrawTo(address to) external;

    /*//////////////////////////////////////////////////////////////
                              ROUNDS
    //////////////////////////////////////////////////////////////*/

    /// @notice Open a round with the default parameters, no audit and no finalizer fee; `msg.value` is the
    /// reward.
    /// @param queriesHash keccak256 of the query batch file.
    /// @param queriesURI Where the batch can be fetched (only emitted, not stored).
    /// @param numQueries Q, 1..MAX_QUERIES.
    /// @param numClasses K, 2..256.
    /// @param commitDuration Seconds from now to the commit deadline.
    /// @param revealDuration Seconds from the commit deadline to the reveal deadline.
    /// @return roundId The new round's id (ids start at 1).
    function openRound(
        bytes32 queriesHash,
        string calldata queriesURI,
        uint256 numQueries,
        uint256 numClasses,
        uint256 commitDuration,
        uint256 revealDuration
    ) external payable returns (uint256 roundId);

    /// @notice Open a round with the requester's parameters (within `bounds()`), an optional hidden audit and
    /// an optional finalizer fee; `msg.value - spec.finalizerFee` is the reward.
    /// @param spec What is asked for; see RoundSpec.
    /// @param queriesURI Where the batch can be fetched (only emitted, not stored).
    /// @return roundId The new round's id.
    function openRoundWith(RoundSpec calldata spec, string calldata queriesURI)
        external
        payable
        returns (uint256 roundId);

    /// @notice Commit to a label vector with all of the caller's free stake as weight.
    /// @param roundId The round, in its Commit phase.
    /// @param commitment keccak256(abi.encode(block.chainid, address(this), roundId, msg.sender,
    /// keccak256(labels), salt)), `labels` as reveal sends them (packed when K <= 16); see `commitmentOf`. Never reuse a salt: draw a fresh secret 32 bytes for
    /// every commitment (a reused salt lets anyone who saw an earlier reveal test guesses of the labels).
    function commit(uint256 roundId, bytes32 commitment) external;

    /// @notice Commit to a full round by taking the seat of `victim`, a committer whose weight (stake x
    /// reputation at its commit) is strictly less than the caller's (free stake x reputation now); the victim's
    /// stake is unlocked without penalty (it may take another seat the same way). Keeping a participant of
    /// weight w out of a full round therefore needs every seat to weigh at least w. The client names the
    /// lightest committer (from the Committed and Evicted events).
    /// @param roundId The round, in its Commit phase, with maxParticipants(Q) committers.
    /// @param commitment As for `commit`.
    /// @param victim The committer to replace.
    function commitReplacing(uint256 roundId, bytes32 commitment, address victim) external;

    /// @notice Reveal the committed labels (each < K) and salt.
    /// @param roundId The round, in its Reveal phase.
    /// @param labels For K <= PACKED_MAX_CLASSES (16), 4 bits a label: ceil(Q / 2) bytes, query 2i in the high
    /// nibble of byte i and query 2i + 1 in its low nibble, the last low nibble zero if Q is odd; otherwise
    /// Q bytes, one a label.
    /// @param salt The secret used in the commitment.
    function reveal(uint256 roundId, bytes calldata labels, bytes32 salt) external;

    /// @notice The requester reveals its hidden audit queries after the reveal phase, before the audit
    /// deadline. They become public (AuditRevealed) and finalize() scores every revealer on them.
    /// @param roundId The round, in its Audit phase.
    /// @param indices G query indices, 2 bytes each big-endian, strictly ascending, each < Q.
    /// @param labels G known labels, one byte each, each < K.
    /// @param salt The secret of the audit commitment.
    function revealAudit(uint256 roundId, bytes calldata indices, bytes calldata labels, bytes32 salt) external;

    /// @notice Close a round once reveal (and audit) are over. If quorum and the minimum number of revealers
    /// are met and someone passes the audit, compute the plurality of the audit-passing revealers per query,
    /// weighted by stake x reputation at commit (ties go to the smallest label), score every revealer, update
    /// reputations (ReputationUpdated: revealers of an audited round, non-revealers), emit a Slashed event per slashed address and store the
    /// consensus; otherwise mark the round Failed (only non-revealers' reputations move). The caller is paid
    /// the finalizer fee.
    /// @param roundId The round, in its Finalizable phase.
    /// @param committers Every committer of the round, sorted ascending (from the Committed events).
    /// @param labels Their revealed labels, in the same order, as revealed (packed when K <= 16: the bytes of
    /// their Revealed events); empty for those that did not reveal.
    function finalize(uint256 roundId, address[] calldata committers, bytes[] calldata labels) external;

    /// @notice Post the consensus of a Finalizable round without an audit (optimistic settlement; docs/protocol.md,
    /// "Optimistic settlement"). The caller locks bondOf(roundId) of its free stake. The contract checks the
    /// committer set, reads each stake and computes the settlement (pool, agreed weight, penalties, dust) exactly
    /// from the posted match counts, and stores the consensus's Merkle root; claims wait for the challenge
    /// window. A round that missed quorum is marked Failed instead (no bond, no post).
    /// @param roundId The round, Finalizable, with no audit.
    /// @param consensus The consensus in wire form (as a reveal: packed when K <= 16).
    /// @param committers Every committer, sorted ascending (from the Committed events).
    /// @param matches 2 bytes (big-endian) per committer: its labels' matches with `consensus` (0 if it did not reveal).
    function propose(uint256 roundId, bytes calldata consensus, address[] calldata committers, bytes calldata matches)
        external;

    /// @notice Refute the live post at one query: prove revealers' labels at `query` against their stored roots.
    /// The post falls once the proven weight of `alt` beats what the posted label can have at most (the revealers'
    /// total weight minus the proven weight of other labels), or ties it with a smaller `alt`. May be spread over
    /// several calls (the caller's running sums are kept per post, query and alt; revealers strictly ascending
    /// across the calls). The refuter gets half the bond, the rest is burned.
    /// @param consensusChunk The posted consensus's 32-byte chunk holding `query`, with its proof `consensusProof`.
    /// @param revealers Revealers, strictly ascending; `chunks[i]` is the chunk of revealers[i]'s labels holding
    /// `query` and siblings[i*d ... i*d + d) its proof, d = the round's tree depth (leaf level first).
    function challengeQuery(
        uint256 roundId,
        uint256 query,
        uint256 alt,
        bytes32 consensusChunk,
        bytes32[] calldata consensusProof,
        address[] calldata revealers,
        bytes32[] calldata chunks,
        bytes32[] calldata siblings
    ) external;

    /// @notice Refute the live post's match count of one revealer: give its revealed labels and the posted
    /// consensus (both checked against their roots); reverts MatchCountCorrect if the count is right.
    function challengeMatches(uint256 roundId, address revealer, bytes calldata labels, bytes calldata consensus)
        external;

    /// @notice Settle a round by its post once the challenge window is over: Finalized, the proposer's bond back
    /// to its free stake and the finalizer fee paid to it. claim() does this itself when needed.
    function confirm(uint256 roundId) external;

    /// @notice Store a confirmed post's consensus (wire form, checked against its root) for `consensus()` and
    /// `consensusLabel()`; optional, anyone may pay for it.
    function publishConsensus(uint256 roundId, bytes calldata consensus) external;

    /// @notice Propose new challenge terms (owner); they may be applied BOUNDS_DELAY later.
    function proposeChallengeTerms(ChallengeTerms calldata terms) external;

    /// @notice Apply the proposed challenge terms once their delay has passed (anyone).
    function applyChallengeTerms() external;

    /// @notice Escape for a round nobody could or would finalize: ABANDON_DELAY after its last deadline,
    /// anyone may mark it Failed (revealers unslashed, every stake unlocked, the reward refundable).
    /// @param roundId The round, in its Finalizable phase for at least ABANDON_DELAY.
    function abandon(uint256 roundId) external;

    /// @notice Settle the caller's participation in a finalized or failed round: the stake minus any
    /// penalty, plus the caller's share of the pool, return to its free stake (no ETH is sent, so a caller
    /// that cannot receive ETH is never blocked; withdraw through requestWithdrawal / withdrawTo).
    /// @param roundId The round.
    /// @return reward Wei added to the caller's free stake on top of its stake.
    function claim(uint256 roundId) external returns (uint256 reward);

    /// @notice One transaction per participant per round, for rounds run back to back (round r + 1's commit
    /// phase overlapping round r's reveal phase): claim `claimRound` (r - 1), reveal `revealRound` (r),
    /// commit to `commitRound` (r + 1), in this order. A round id of 0 skips its step (`labels` and `salt` are
    /// then ignored); at least one step must be given. Each step checks, reverts and emits exactly as
    /// claim / reveal / commit do, and any revert undoes all three. Since commit locks the whole free
    /// stake, a participant in two live rounds holds two lots: the claim returns r - 1's lot (plus its
    /// reward, minus any penalty) to the free stake, the commit locks it for r + 1, and r's lot stays
    /// locked until the next submit claims r (docs/protocol.md, "One transaction per round").
    /// @param claimRound A finalized or failed round to settle, or 0.
    /// @param revealRound A round in its Reveal phase to reveal, or 0.
    /// @param labels revealRound's labels, encoded as for reveal.
    /// @param salt The salt of revealRound's commitment.
    /// @param commitRound A round in its Commit phase to commit to, or 0.
    /// @param commitment The commitment for commitRound (as for commit).
    /// @return reward Wei claimRound added to the caller's free stake on top of its stake (0 without a claim).
    function submit(
        uint256 claimRound,
        uint256 revealRound,
        bytes calldata labels,
        bytes32 salt,
        uint256 commitRound,
        bytes32 commitment
    ) external returns (uint256 reward);

    /// @notice Send the refundable reward of a round (failed, or nobody agreed) back to its requester.
    /// @param roundId The round.
    function claimRefund(uint256 roundId) external;

    /// @notice The same, sent to `to` (for a requester that cannot receive ETH).
    /// @param roundId The round.
    /// @param to Recipient.
    function claimRefundTo(uint256 roundId, address to) external;

    /*//////////////////////////////////////////////////////////////
                              OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Change the parameters of `openRound` for rounds opened from now on, within the bounds in force
    /// and any pending ones.
    /// @param params The new defaults.
    function setDefaults(Params calldata params) external;

    /// @notice Propose new bounds (within the hard limits, containing the defaults); applyBounds() makes them
    /// apply after BOUNDS_DELAY, longer than the longest possible round. A new proposal replaces the last.
    /// @param bounds The proposed bounds.
    function proposeBounds(Bounds calldata bounds) external;

    /// @notice Anyone may apply the proposed bounds once BOUNDS_DELAY has passed.
    function applyBounds() external;

    /// @notice Change the unbonding delay for withdrawals requested from now on, within its bounds.
    /// @param delay Seconds.
    function setUnbondingDelay(uint256 delay) external;

    /// @notice Stop new rounds from being opened. Running rounds, stakes and claims are unaffected.
    function pause() external;

    /// @notice Allow new rounds again.
    function unpause() external;

    /*//////////////////////////////////////////////////////////////
                              VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The round's phase (None for an unknown round).
    function phase(uint256 roundId) external view returns (Phase);

    /// @notice Everything about a round.
    function getRound(uint256 roundId) external view returns (RoundInfo memory);

    /// @notice A participant's record in a round; all zero (status None) if it never committed, was evicted,
    /// or its submission slot was reused by a later round after this one was claimed (the round's events keep
    /// the history: Committed, Revealed, Scored, Claimed).
    function getSubmission(uint256 roundId, address participant) external view returns (SubmissionInfo memory);

    /// @notice The submission slot a commit to `roundId` would use (roundId % SUBMISSION_SLOTS): the round it
    /// holds (0 if empty) and whether it is busy, i.e. holds another round not yet claimed, so that the commit
    /// would revert SubmissionSlotBusy until that round is claimed.
    function slotOf(address participant, uint256 roundId) external view returns (uint256 heldRound, bool busy);

    /// @notice A participant's reputation in basis points (REPUTATION_START if never scored): its tally weight
    /// in a round is its stake (1 under equal weights) times its reputation at commit. Updated at finalize:
    /// towards a revealer's audit accuracy when the round's audit was revealed (0 if excluded), towards 0 for a
    /// non-revealer; a revealer of a round without a revealed audit keeps its reputation.
    function reputationOf(address participant) external view returns (uint256);

    /// @notice Whether the crowd rule struck `participant` out in the last finalized round that judged it (a
    /// revealed audit, crowdBps != 0). Such an address is struck out again by CROWD_REPEAT_STRIKES strikes; a
    /// judged round it passes clears the mark. Rounds without an audit or the rule leave it as it is.
    function struckOut(address participant) external view returns (bool);

    /// @notice A participant's stake.
    function getAccount(address participant) external view returns (AccountInfo memory);

    /// @notice The consensus label vector of a finalized round (Q bytes). Reverts in any other phase.
    function consensus(uint256 roundId) external view returns (bytes memory);

    /// @notice The consensus label of one query of a finalized round.
    function consensusLabel(uint256 roundId, uint256 queryIndex) external view returns (uint8);

    /// @notice The revealed audit of a round (empty before it is revealed, or if the round has none).
    /// @return indices 2 bytes per audit query, big-endian.
    /// @return labels One byte per audit query.
    function audit(uint256 roundId) external view returns (bytes memory indices, bytes memory labels);

    /// @notice What `claim` would pay and slash now (zero before the round is settled or after claiming).
    function claimable(uint256 roundId, address participant) external view returns (uint256 reward, uint256 penalty);

    /// @notice The commitment the contract expects for these labels (encoded as for reveal) and salt.
    function commitmentOf(uint256 roundId, address participant, bytes calldata labels, bytes32 salt)
        external
        view
        returns (bytes32);

    /// @notice The audit commitment `openRoundWith` expects: keccak256(abi.encode(block.chainid,
    /// address(this), requester, queriesHash, keccak256(indices), keccak256(labels), salt)).
    function auditCommitmentOf(
        address requester,
        bytes32 queriesHash,
        bytes calldata indices,
        bytes calldata labels,
        bytes32 salt
    ) external view returns (bytes32);

    /// @notice The round's post (live, or the one it was confirmed with); proposer 0 and serial 0: never posted.
    function getPost(uint256 roundId) external view returns (PostInfo memory);

    /// @notice The challenge terms in force, the proposed ones and when they may apply (0: no proposal).
    function challengeTerms()
        external
        view
        returns (ChallengeTerms memory current, ChallengeTerms memory proposed, uint256 effectiveAt);

    /// @notice The bond a post of `roundId` locks now: bondBase + bondPerRevealer x revealers.
    function bondOf(uint256 roundId) external view returns (uint256);

    /// @notice The Merkle root reveal stores for `labels` (wire bytes): 32-byte chunks, the last zero-padded, as
    /// leaves of a tree of depth ceil(log2(chunks)) padded with zero leaves, nodes keccak256(left ++ right).
    function labelsRootOf(bytes calldata labels) external pure returns (bytes32);

    /// @notice Most participants an optimistic-only round of `numQueries` queries and `numClasses` classes accepts:
    /// min(MAX_OPTIMISTIC_PARTICIPANTS, (POST_GAS_BUDGET - POST_GAS_BASE - per-label gas x Q) / POST_GAS_PER_COMMITTER),
    /// so that its propose fits one transaction (e.g. 1,670 at Q = 1,000, K = 10; 1,600 at Q = 10,000).
    function optimisticSeats(uint256 numQueries, uint256 numClasses) external pure returns (uint256);

    /// @notice Most participants a round with `numQueries` queries accepts (bounds finalize's gas).
    function maxParticipants(uint256 numQueries) external pure returns (uint256);

    /// @notice The parameters `openRound` freezes into new rounds.
    function defaults() external view returns (Params memory);

    /// @notice The bounds in force for requester-chosen parameters.
    function bounds() external view returns (Bounds memory);

    /// @notice The proposed bounds and when they may be applied (effectiveAt 0: no proposal).
    function pendingBounds() external view returns (Bounds memory proposal, uint256 effectiveAt);

    /// @notice The current unbonding delay in seconds.
    function unbondingDelay() external view returns (uint256);

    /// @notice Number of rounds opened so far (the latest round id).
    function roundCount() external view returns (uint256);

    /// @notice The contract's liabilities: totalStake + rewardsOwed + refundsOwed + burned + surplus equals the
    /// balance, and surplus is exactly the ETH forced in without a call (selfdestruct, block rewards).
    /// @return totalStake Free + locked + unbonding stake, net of penalties already taken at finalize.
    /// @return rewardsOwed Rewards and fees of open rounds plus unclaimed shares of finalized ones.
    /// @return refundsOwed Unclaimed refunds.
    /// @return burned Penalties, forfeits and dust nobody may receive.
    /// @return surplus balance minus the four above.
    function accounting()
        external
        view
        returns (uint256 totalStake, uint256 rewardsOwed, uint256 refundsOwed, uint256 burned, uint256 surplus);
}
