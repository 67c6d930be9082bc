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
    enum Phase {
        None, // no such round
        Commit, // block.timestamp <= commitDeadline
        Reveal, // commitDeadline < block.timestamp <= revealDeadline
        Finalizable, // revealDeadline < block.timestamp, finalize() not called yet
        Finalized, // quorum met, consensus stored
        Failed // quorum not met: reward refundable to the requester, no consensus
    }

    /// @notice Where a participant stands in one round.
    enum Status {
        None, // never committed
        Committed, // committed; after the round ends this means "did not reveal"
        Revealed, // revealed, round not finalized yet (or finalized as Failed)
        Agreed, // finalized: agreement >= threshold, shares the pool
        Deviated // finalized: agreement < threshold, slashed
    }

    /// @notice Round parameters. The contract's defaults are copied (frozen) into each round at opening.
    struct Params {
        uint16 quorumBps; // share of committed weight that must reveal, in basis points
        uint16 minRevealers; // fewest revealers for a valid round
        uint16 agreementBps; // a revealer whose agreement is below this (bps of Q) is a deviator
        uint16 deviatorSlashBps; // share of a deviator's committed stake that is slashed
        uint16 nonRevealSlashBps; // share of a non-revealer's committed stake that is slashed (>= deviator)
        bool equalWeights; // true: every participant weighs 1 (experiments); false: weight = stake
        uint96 minStake; // smallest free stake that may commit, in wei
    }

    /// @notice Everything about a round, as returned by `getRound`.
    struct RoundInfo {
        address requester; // who opened (and paid for) the round
        uint96 reward; // paid in by the requester
        uint96 bonus; // added from the treasury at opening
        bytes32 queriesHash; // keccak256 of the query batch file
        uint16 numQueries; // Q
        uint16 numClasses; // K; labels are 0..K-1
        uint40 commitDeadline; // last second at which commit() is accepted
        uint40 revealDeadline; // last second at which reveal() is accepted
        Phase phase; // current phase
        uint32 commitCount; // participants that committed
        uint32 revealCount; // participants that revealed
        uint128 committedStake; // sum of committed stakes
        uint128 revealedStake; // sum of revealed stakes
        uint128 pool; // after finalize: reward + bonus + slashed stake, shared by agreeing revealers
        uint128 agreedWeight; // after finalize: total weight of the agreeing revealers
        Params params; // frozen at opening
    }

    /// @notice A participant's record in one round, as returned by `getSubmission`.
    struct SubmissionInfo {
        bytes32 hash; // the commitment; after reveal, keccak256(labels)
        uint96 stake; // stake locked at commit (the weight, unless equalWeights)
        uint32 matches; // after finalize: queries on which the labels equal the consensus
        Status status; // see Status
        bool claimed; // settled by claim()
    }

    /// @notice A participant's stake, as returned by `getAccount`.
    struct AccountInfo {
        uint128 free; // stake available to commit or to request for withdrawal
        uint128 locked; // stake committed to rounds not yet claimed (penalties applied at claim)
        uint128 unbonding; // requested for withdrawal
        uint64 unbondingReadyAt; // when withdraw() may send `unbonding`
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
    /// @dev reveal() without a commitment in this round.
    error NotCommitted(uint256 roundId, address participant);
    /// @dev reveal() a second time.
    error AlreadyRevealed(uint256 roundId, address participant);
    /// @dev The label vector does not have exactly Q entries.
    error WrongLabelCount(uint256 given, uint256 expected);
    /// @dev A label is not below K.
    error LabelOutOfRange(uint256 index, uint256 label, uint256 numClasses);
    /// @dev The labels and salt do not hash to the participant's commitment.
    error CommitmentMismatch(uint256 roundId, address participant);
    /// @dev finalize() arrays of different lengths.
    error LengthMismatch(uint256 revealers, uint256 labels);
    /// @dev finalize() was not given exactly the round's revealers.
    error RevealerCountMismatch(uint256 given, uint256 expected);
    /// @dev finalize() revealers must be sorted strictly ascending (this also rules out duplicates).
    error RevealersNotSorted(uint256 index);
    /// @dev finalize() was given an address that did not reveal in this round.
    error NotARevealer(uint256 roundId, address participant);
    /// @dev finalize() was given labels that differ from what the participant revealed.
    error RevealedLabelsMismatch(uint256 roundId, address participant);
    /// @dev claim() by an address that has nothing to settle in this round.
    error NothingToClaim(uint256 roundId, address participant);
    /// @dev claim() a second time.
    error AlreadyClaimed(uint256 roundId, address participant);
    /// @dev claimRefund() by someone other than the requester, or when no refund is owed.
    error NoRefund(uint256 roundId, address caller);
    /// @dev consensusLabel() index not below Q.
    error QueryIndexOutOfRange(uint256 index, uint256 numQueries);
    /// @dev An owner setting outside its hard bounds.
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @dev Sending ETH failed.
    error TransferFailed(address to, uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                  EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Stake was added.
    event Deposited(address indexed participant, uint256 amount, uint256 free);
    /// @notice Free stake started unbonding.
    event WithdrawalRequested(address indexed participant, uint256 amount, uint256 unbonding, uint256 readyAt);
    /// @notice Unbonded stake was sent.
    event Withdrawn(address indexed participant, uint256 amount);
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
        uint256 bonus
    );
    /// @notice A participant committed; `stake` moved from free to locked.
    event Committed(uint256 indexed roundId, address indexed participant, bytes32 commitment, uint256 stake);
    /// @notice A participant revealed; the labels are published here for finalizers and observers.
    event Revealed(uint256 indexed roundId, address indexed participant, bytes labels, bytes32 salt);
    /// @notice A revealer was scored at finalization.
    event Scored(uint256 indexed roundId, address indexed participant, uint256 matches, bool agreed);
    /// @notice The round reached quorum and its consensus is stored.
    event RoundFinalized(
        uint256 indexed roundId, address consensusPointer, uint256 pool, uint256 agreedWeight, uint256 slashed, uint256 dust
    );
    /// @notice The round missed quorum (or had too few revealers); the reward is refundable.
    event RoundFailed(uint256 indexed roundId, uint256 revealedWeight, uint256 committedWeight, uint256 slashed);
    /// @notice A participant settled a round: stake minus penalty back to free, reward sent.
    event Claimed(uint256 indexed roundId, address indexed participant, uint256 reward, uint256 penalty);
    /// @notice The requester of a failed round took its reward back.
    event RefundClaimed(uint256 indexed roundId, address indexed requester, uint256 amount);
    /// @notice Rounding dust or undistributable stake went to the treasury (it only funds future rounds).
    event TreasuryFunded(uint256 indexed roundId, uint256 amount, uint256 treasury);
    /// @notice The owner changed the defaults for rounds opened from now on.
    event DefaultsChanged(Params params);
    /// @notice The owner changed the unbonding delay for withdrawals requested from now on.
    event UnbondingDelayChanged(uint256 delay);

    /*//////////////////////////////////////////////////////////////
                              STAKE
    //////////////////////////////////////////////////////////////*/

    /// @notice Add `msg.value` to the caller's free stake.
    function deposit() external payable;

    /// @notice Move `amount` of free stake to unbonding; it can be withdrawn after the unbonding delay.
    /// Requesting again adds to the amount and restarts the delay.
    /// @param amount Wei to unbond; must not exceed the free stake (locked stake cannot be requested).
    function requestWithdrawal(uint256 amount) external;

    /// @notice Send the caller's unbonded stake once the delay is over.
    function withdraw() external;

    /*//////////////////////////////////////////////////////////////
                              ROUNDS
    //////////////////////////////////////////////////////////////*/

    /// @notice Open a round on a batch of queries published off-chain, paying `msg.value` as reward.
    /// The treasury, if any, is added to the reward as a bonus. Parameters are frozen from the defaults.
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

    /// @notice Commit to a label vector with all of the caller's free stake as weight.
    /// @param roundId The round, in its Commit phase.
    /// @param commitment keccak256(abi.encode(block.chainid, address(this), roundId, msg.sender,
    /// keccak256(labels), salt)); see `commitmentOf`. Never reuse a salt: draw a fresh secret 32 bytes for
    /// every commitment (a reused salt lets anyone who saw an earlier reveal test guesses of the labels).
    function commit(uint256 roundId, bytes32 commitment) external;

    /// @notice Reveal the committed labels (one byte per query, each < K) and salt.
    /// @param roundId The round, in its Reveal phase.
    /// @param labels Exactly Q bytes.
    /// @param salt The secret used in the commitment.
    function reveal(uint256 roundId, bytes calldata labels, bytes32 salt) external;

    /// @notice Close a round after its reveal deadline. If quorum and the minimum number of revealers
    /// are met, compute the weighted plurality per query (ties go to the smallest label), score every
    /// revealer and store the consensus; otherwise mark the round Failed (arrays are then ignored).
    /// @param roundId The round, in its Finalizable phase.
    /// @param revealers Every revealer of the round, sorted ascending (from the Revealed events).
    /// @param labels Their revealed labels, in the same order.
    function finalize(uint256 roundId, address[] calldata revealers, bytes[] calldata labels) external;

    /// @notice Settle the caller's participation in a finalized or failed round: the stake minus any
    /// penalty returns to free stake and the caller's share of the pool is sent.
    /// @param roundId The round.
    /// @return reward Wei sent to the caller.
    function claim(uint256 roundId) external returns (uint256 reward);

    /// @notice Send the reward of a failed round back to its requester.
    /// @param roundId The failed round.
    function claimRefund(uint256 roundId) external;

    /*//////////////////////////////////////////////////////////////
                              OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Change the defaults for rounds opened from now on, within the hard bounds.
    /// @param params The new defaults.
    function setDefaults(Params calldata params) external;

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

    /// @notice A participant's record in a round.
    function getSubmission(uint256 roundId, address participant) external view returns (SubmissionInfo memory);

    /// @notice A participant's stake.
    function getAccount(address participant) external view returns (AccountInfo memory);

    /// @notice The consensus label vector of a finalized round (Q bytes). Reverts in any other phase.
    function consensus(uint256 roundId) external view returns (bytes memory);

    /// @notice The consensus label of one query of a finalized round.
    function consensusLabel(uint256 roundId, uint256 queryIndex) external view returns (uint8);

    /// @notice What `claim` would pay and slash now (zero before the round is settled or after claiming).
    function claimable(uint256 roundId, address participant) external view returns (uint256 reward, uint256 penalty);

    /// @notice The commitment the contract expects for these labels and salt.
    function commitmentOf(uint256 roundId, address participant, bytes calldata labels, bytes32 salt)
        external
        view
        returns (bytes32);

    /// @notice Most participants a round with `numQueries` queries accepts (bounds finalize's gas).
    function maxParticipants(uint256 numQueries) external pure returns (uint256);

    /// @notice The defaults new rounds will freeze.
    function defaults() external view returns (Params memory);

    /// @notice The current unbonding delay in seconds.
    function unbondingDelay() external view returns (uint256);

    /// @notice Number of rounds opened so far (the latest round id).
    function roundCount() external view returns (uint256);

    /// @notice The contract's liabilities; their sum always equals its balance.
    /// @return totalStake Free + locked + unbonding stake, net of penalties already taken at finalize.
    /// @return rewardsOwed Rewards of open rounds plus unclaimed shares of finalized ones.
    /// @return refundsOwed Unclaimed refunds of failed rounds.
    /// @return treasury Dust and undistributable stake, reserved for future rounds' rewards.
    function accounting()
        external
        view
        returns (uint256 totalStake, uint256 rewardsOwed, uint256 refundsOwed, uint256 treasury);
}
