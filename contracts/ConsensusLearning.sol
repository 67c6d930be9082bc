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
/// trained models (Magureanu & Usher, arXiv 2402.16157). Label vectors travel in calldata; storage holds
/// only hashes, per-participant scores and the consensus itself (as SSTORE2 code). See docs/protocol.md.
/// @dev Money leaves only through claim / claimRefund / withdraw (pull, checks-effects-interactions,
/// nonReentrant). Penalties round up and shares round down; the difference goes to the treasury, so the
/// sum of liabilities in `accounting()` always equals the balance.
contract ConsensusLearning is IConsensusLearning, Ownable2Step, Pausable, ReentrancyGuard {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Largest Q of a round.
    uint256 public constant MAX_QUERIES = 4096;
    /// @notice Largest number of participants of a round, whatever Q.
    uint256 public constant MAX_PARTICIPANTS = 64;
    /// @notice Largest N x Q of a round. finalize() is linear in it; at this bound it was measured well
    /// under a 30M block (docs/protocol.md, "Gas").
    uint256 public constant MAX_LABELS = 65_536;
    /// @notice Bounds on a phase's duration, in seconds.
    uint256 public constant MIN_PHASE_DURATION = 10;
    uint256 public constant MAX_PHASE_DURATION = 30 days;
    /// @notice Hard bounds the owner can never leave.
    uint256 public constant MIN_QUORUM_BPS = 1_000;
    uint256 public constant MAX_AGREEMENT_BPS = 9_000;
    uint256 public constant MAX_SLASH_BPS = 5_000;
    uint256 public constant MAX_MIN_STAKE = 10_000 ether;
    uint256 public constant MAX_UNBONDING_DELAY = 30 days;

    uint256 private constant _BPS = 10_000;
    /// @dev Tally weights are stored shifted left by one label's width (8 bits), so that in _plurality
    /// `key = or(t, xor(label, 0xff))` puts (255 - label) in the freed low byte: comparing keys then orders
    /// by weight first and, on equal weight, prefers the smaller label (the tie rule). _loadRevealers
    /// shifts, _scoreAndSettle shifts back; `0xff` in _plurality is the mask of those low bits.
    uint256 private constant _KEY_SHIFT = 8;

    /// @dev What finalize() recorded; with the deadlines and the block time it gives the Phase.
    enum Outcome {
        Open, // not finalized yet
        Finalized, // quorum met, consensus stored
        Failed // quorum missed
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
        // An Outcome, stored as its uint8: an enum-typed storage read is range-checked (Panic 0x21) at
        // every comparison by the legacy code generator, which would cost commit and reveal ~40 gas.
        uint8 outcome; // uint8(Outcome.Open), uint8(Outcome.Finalized) or uint8(Outcome.Failed)
        bool refunded; // the requester took back the reward of a failed round
        uint32 commitCount; // participants that committed
        uint32 revealCount; // participants that revealed
        // slot 1
        Params params; // frozen copy of the defaults at opening
        // slot 2
        bytes32 queriesHash; // keccak256 of the query batch file
        // slot 3
        address requester; // who paid the reward
        uint96 reward; // wei paid in by the requester
        // slot 4: written at commit
        uint128 committedStake; // sum of stakes locked by commit
        uint128 committedPenalty; // sum over committers of ceil(stake * nonRevealSlashBps / BPS)
        // slot 5: written at reveal
        uint128 revealedStake; // sum of revealers' stakes
        uint128 revealedPenalty; // the same sum over revealers (non-revealers': committedPenalty - revealedPenalty)
        // slot 6: written at finalize
        uint128 pool; // reward + bonus + slashed, shared by agreeing revealers pro-rata to weight
        uint128 agreedWeight; // total weight of agreeing revealers
        // slot 7
        address consensusPointer; // SSTORE2 contract holding the Q consensus bytes
        uint96 bonus; // wei added from the treasury at opening
    }

    struct Submission {
        bytes32 hash; // commitment; replaced by keccak256(labels) at reveal
        uint96 stake; // locked at commit
        uint32 matches; // queries equal to the consensus, set at finalize
        Status status; // Committed -> Revealed -> Agreed | Deviated
        bool claimed; // settled by claim()
    }

    struct Account {
        uint128 free; // may commit or unbond
        uint128 locked; // committed to rounds not yet claimed
        uint128 unbonding; // requested for withdrawal
        uint64 unbondingReadyAt; // when it may be withdrawn
    }

    Params private _defaults;
    uint256 private _unbondingDelay;
    uint256 private _roundCount;

    uint256 private _totalStake; // free + locked + unbonding, net of penalties taken at finalize
    uint256 private _rewardsOwed; // rewards of open rounds + unclaimed shares
    uint256 private _refundsOwed; // unclaimed refunds of failed rounds
    uint256 private _treasury; // dust and undistributable stake; only ever becomes a future bonus

    mapping(uint256 roundId => Round) private _rounds;
    mapping(uint256 roundId => mapping(address participant => Submission)) private _submissions;
    mapping(address participant => Account) private _accounts;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Deploy with sensible defaults; the deployer becomes the owner.
    constructor() Ownable(msg.sender) {
        Params memory p = Params({
            quorumBps: 5_000, // half of the committed weight must reveal
            minRevealers: 3,
            agreementBps: 2_600, // from measured agreement distributions (docs/agreement-threshold.md)
            deviatorSlashBps: 1_000, // 10 %
            nonRevealSlashBps: 2_000, // 20 %
            equalWeights: false,
            minStake: 0.01 ether
        });
        _checkParams(p);
        _defaults = p;
        _unbondingDelay = 1 days;
        emit DefaultsChanged(p);
        emit UnbondingDelayChanged(1 days);
    }

    /*//////////////////////////////////////////////////////////////
                                  STAKE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsensusLearning
    function deposit() external payable {
        if (msg.value == 0) revert ZeroDeposit();
        Account storage a = _accounts[msg.sender];
        // The cast is unchecked (the add is checked): it is safe while msg.value < 2^128, which holds for ETH
        // (supply ~1.2e26 wei < 2^96). A chain whose native supply exceeds 2^128 wei is not supported (nor one
        // above 2^96: commit keeps stakes in 96 bits; docs/protocol.md, known limitations).
        a.free += uint128(msg.value);
        _totalStake += msg.value;
        emit Deposited(msg.sender, msg.value, a.free);
    }

    /// @inheritdoc IConsensusLearning
    function requestWithdrawal(uint256 amount) external {
        Account storage a = _accounts[msg.sender];
        if (amount == 0 || amount > a.free) revert InsufficientFreeStake(amount, a.free);
        unchecked {
            a.free -= uint128(amount); // amount <= free
        }
        a.unbonding += uint128(amount);
        uint256 readyAt = block.timestamp + _unbondingDelay;
        a.unbondingReadyAt = uint64(readyAt);
        emit WithdrawalRequested(msg.sender, amount, a.unbonding, readyAt);
    }

    /// @inheritdoc IConsensusLearning
    function withdraw() external nonReentrant {
        Account storage a = _accounts[msg.sender];
        uint256 amount = a.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < a.unbondingReadyAt) revert UnbondingNotOver(a.unbondingReadyAt, block.timestamp);
        a.unbonding = 0;
        a.unbondingReadyAt = 0;
        _totalStake -= amount;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
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
        if (queriesHash == bytes32(0)) revert EmptyQueriesHash();
        if (numQueries == 0 || numQueries > MAX_QUERIES) revert InvalidQueryCount(numQueries, MAX_QUERIES);
        if (numClasses < 2 || numClasses > 256) revert InvalidClassCount(numClasses);
        _checkDuration(commitDuration);
        _checkDuration(revealDuration);
        if (msg.value > type(uint96).max) revert RewardTooLarge(msg.value);

        roundId = ++_roundCount;
        uint256 bonus = _treasury; // the treasury only ever funds the next round's reward
        Round storage r = _rounds[roundId];
        r.numQueries = uint16(numQueries);
        r.numClasses = uint16(numClasses);
        uint256 commitDeadline = block.timestamp + commitDuration;
        uint256 revealDeadline = commitDeadline + revealDuration;
        r.commitDeadline = uint40(commitDeadline);
        r.revealDeadline = uint40(revealDeadline);
        r.params = _defaults;
        r.queriesHash = queriesHash;
        r.requester = msg.sender;
        r.reward = uint96(msg.value);
        if (bonus != 0) {
            bonus = bonus > type(uint96).max ? type(uint96).max : bonus;
            r.bonus = uint96(bonus);
            _treasury -= bonus;
        }
        _rewardsOwed += msg.value + bonus;
        emit RoundOpened(
            roundId,
            msg.sender,
            queriesHash,
            queriesURI,
            numQueries,
            numClasses,
            commitDeadline,
            revealDeadline,
            msg.value,
            bonus
        );
    }

    /// @inheritdoc IConsensusLearning
    function commit(uint256 roundId, bytes32 commitment) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Commit);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status != Status.None) revert AlreadyCommitted(roundId, msg.sender);
        uint256 maxN = maxParticipants(r.numQueries);
        if (r.commitCount >= maxN) revert RoundFull(roundId, maxN);

        Account storage a = _accounts[msg.sender];
        uint256 stake = a.free;
        Params memory p = r.params;
        if (stake < p.minStake) revert StakeBelowMinimum(stake, p.minStake);

        // Effects. The whole free stake is the weight and is locked until this round is claimed.
        a.free = 0;
        a.locked += uint128(stake);
        s.hash = commitment;
        s.stake = uint96(stake); // stake <= total ETH supply < 2^96
        s.status = Status.Committed;
        unchecked {
            r.commitCount += 1; // bounded by maxParticipants
        }
        r.committedStake += uint128(stake);
        r.committedPenalty += uint128(_penalty(stake, p.nonRevealSlashBps));
        emit Committed(roundId, msg.sender, commitment, stake);
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
    function finalize(uint256 roundId, address[] calldata revealers, bytes[] calldata labels) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Finalizable);
        (bool met, uint256 revealedWeight, uint256 committedWeight) = _quorumMet(r);
        if (!met) return _fail(roundId, r, revealedWeight, committedWeight);
        uint256[] memory rows = _loadRevealers(roundId, r, revealers, labels);
        bytes memory consensusLabels = _plurality(rows, r.numQueries, r.numClasses);
        _scoreAndSettle(roundId, r, revealers, rows, consensusLabels);
    }

    /// @inheritdoc IConsensusLearning
    function claim(uint256 roundId) external nonReentrant returns (uint256 reward) {
        Round storage r = _rounds[roundId];
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status == Status.None) revert NothingToClaim(roundId, msg.sender);
        if (s.claimed) revert AlreadyClaimed(roundId, msg.sender);
        // Finalized or Failed: claim() accepts both, so not _checkPhase. (A helper here cost 34 gas.)
        if (r.outcome == uint8(Outcome.Open)) revert WrongPhase(roundId, Phase.Finalized, _phase(r));
        uint256 penalty;
        (reward, penalty) = _settlement(r, s);

        // Effects
        s.claimed = true;
        uint256 stake = s.stake;
        Account storage a = _accounts[msg.sender];
        a.locked -= uint128(stake);
        a.free += uint128(stake - penalty);
        _rewardsOwed -= reward;
        emit Claimed(roundId, msg.sender, reward, penalty);

        // Interaction
        if (reward != 0) _send(msg.sender, reward);
    }

    /// @inheritdoc IConsensusLearning
    function claimRefund(uint256 roundId) external nonReentrant {
        Round storage r = _rounds[roundId];
        if (r.outcome != uint8(Outcome.Failed) || r.refunded || msg.sender != r.requester || r.reward == 0) {
            revert NoRefund(roundId, msg.sender);
        }
        uint256 amount = r.reward;
        r.refunded = true;
        _refundsOwed -= amount;
        emit RefundClaimed(roundId, msg.sender, amount);
        _send(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                  OWNER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IConsensusLearning
    function setDefaults(Params calldata params) external onlyOwner {
        _checkParams(params);
        _defaults = params;
        emit DefaultsChanged(params);
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
            bonus: r.bonus,
            queriesHash: r.queriesHash,
            numQueries: r.numQueries,
            numClasses: r.numClasses,
            commitDeadline: r.commitDeadline,
            revealDeadline: r.revealDeadline,
            phase: _phase(r),
            commitCount: r.commitCount,
            revealCount: r.revealCount,
            committedStake: r.committedStake,
            revealedStake: r.revealedStake,
            pool: r.pool,
            agreedWeight: r.agreedWeight,
            params: r.params
        });
    }

    /// @inheritdoc IConsensusLearning
    function getSubmission(uint256 roundId, address participant) external view returns (SubmissionInfo memory) {
        Submission storage s = _submissions[roundId][participant];
        return SubmissionInfo({hash: s.hash, stake: s.stake, matches: s.matches, status: s.status, claimed: s.claimed});
    }

    /// @inheritdoc IConsensusLearning
    function getAccount(address participant) external view returns (AccountInfo memory) {
        Account storage a = _accounts[participant];
        return AccountInfo({
            free: a.free, locked: a.locked, unbonding: a.unbonding, unbondingReadyAt: a.unbondingReadyAt
        });
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
        returns (uint256 totalStake, uint256 rewardsOwed, uint256 refundsOwed, uint256 treasury)
    {
        return (_totalStake, _rewardsOwed, _refundsOwed, _treasury);
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

    function _checkParams(Params memory p) private pure {
        if (p.quorumBps < MIN_QUORUM_BPS || p.quorumBps > _BPS) {
            revert ParameterOutOfBounds("quorumBps", p.quorumBps, MIN_QUORUM_BPS, _BPS);
        }
        if (p.minRevealers == 0 || p.minRevealers > MAX_PARTICIPANTS) {
            revert ParameterOutOfBounds("minRevealers", p.minRevealers, 1, MAX_PARTICIPANTS);
        }
        if (p.agreementBps > MAX_AGREEMENT_BPS) {
            revert ParameterOutOfBounds("agreementBps", p.agreementBps, 0, MAX_AGREEMENT_BPS);
        }
        if (p.deviatorSlashBps > MAX_SLASH_BPS) {
            revert ParameterOutOfBounds("deviatorSlashBps", p.deviatorSlashBps, 0, MAX_SLASH_BPS);
        }
        if (p.nonRevealSlashBps < p.deviatorSlashBps || p.nonRevealSlashBps > MAX_SLASH_BPS) {
            revert ParameterOutOfBounds("nonRevealSlashBps", p.nonRevealSlashBps, p.deviatorSlashBps, MAX_SLASH_BPS);
        }
        if (p.minStake == 0 || p.minStake > MAX_MIN_STAKE) {
            revert ParameterOutOfBounds("minStake", p.minStake, 1, MAX_MIN_STAKE);
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

    /// @dev What claim() pays and takes for a settled round (outcome != Outcome.Open).
    function _settlement(Round storage r, Submission storage s) private view returns (uint256 reward, uint256 penalty) {
        Status status = s.status;
        uint256 stake = s.stake;
        if (status == Status.Committed) {
            penalty = _penalty(stake, r.params.nonRevealSlashBps); // never revealed
        } else if (status == Status.Deviated) {
            penalty = _penalty(stake, r.params.deviatorSlashBps);
        } else if (status == Status.Agreed) {
            uint256 weight = r.params.equalWeights ? 1 : stake;
            reward = uint256(r.pool) * weight / r.agreedWeight; // rounds down; dust went to the treasury
        }
        // Status.Revealed after settlement means a failed round: no penalty, no reward.
    }

    /// @dev Add `amount` (dust, undistributable stake) to the treasury, which only funds future bonuses.
    function _fundTreasury(uint256 roundId, uint256 amount) private {
        if (amount == 0) return;
        _treasury += amount;
        emit TreasuryFunded(roundId, amount, _treasury);
    }

    /// @dev The only ETH transfer out: to msg.sender of claim / claimRefund / withdraw, after their effects.
    function _send(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: FINALIZE PIPELINE
    //////////////////////////////////////////////////////////////*/

    /// @dev Quorum: at least one and at least minRevealers revealers, and revealed weight >= quorumBps of
    /// committed weight (weights are stakes, or counts when equalWeights). Also returns the two weights it
    /// compared, which _fail reports in RoundFailed (so the failure path does not read them again).
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

    /// @dev Mark a round that missed quorum Failed: the reward becomes refundable to the requester, the
    /// non-revealers' penalties and the bonus go to the treasury, and no consensus is stored.
    function _fail(uint256 roundId, Round storage r, uint256 revealedWeight, uint256 committedWeight) private {
        uint256 nonRevealPenalty = r.committedPenalty - r.revealedPenalty;
        uint256 reward = r.reward;
        uint256 bonus = r.bonus;
        r.outcome = uint8(Outcome.Failed);
        _totalStake -= nonRevealPenalty;
        _rewardsOwed -= reward + bonus;
        _refundsOwed += reward;
        emit RoundFailed(roundId, revealedWeight, committedWeight, nonRevealPenalty);
        _fundTreasury(roundId, bonus + nonRevealPenalty);
    }

    /// @dev Check the finalize() input against storage: exactly the round's revealers, strictly ascending
    /// (so no duplicates), each with labels hashing to what it revealed. Returns interleaved rows
    /// (calldata offset of the labels, tally weight << _KEY_SHIFT) for the assembly loops.
    function _loadRevealers(
        uint256 roundId,
        Round storage r,
        address[] calldata revealers,
        bytes[] calldata labels
    ) private view returns (uint256[] memory rows) {
        uint256 n = revealers.length;
        if (n != labels.length) revert LengthMismatch(n, labels.length);
        if (n != r.revealCount) revert RevealerCountMismatch(n, r.revealCount);
        bool equalWeights = r.params.equalWeights;
        rows = new uint256[](2 * n);
        address previous;
        for (uint256 i; i < n; ++i) {
            address participant = revealers[i];
            if (participant <= previous) revert RevealersNotSorted(i);
            previous = participant;
            Submission storage s = _submissions[roundId][participant];
            if (s.status != Status.Revealed) revert NotARevealer(roundId, participant);
            bytes calldata v = labels[i];
            if (keccak256(v) != s.hash) revert RevealedLabelsMismatch(roundId, participant);
            uint256 offset;
            assembly ("memory-safe") {
                offset := v.offset
            }
            rows[2 * i] = offset;
            rows[2 * i + 1] = (equalWeights ? 1 : uint256(s.stake)) << _KEY_SHIFT; // stake < 2^96: no overflow
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

    /// @dev Score every revealer against the consensus (agreement = matches / Q, compared in integers as
    /// matches * BPS >= agreementBps * Q), then store the consensus and the pool. Shares are
    /// floor(pool * weight / agreedWeight), exactly what claim() pays; what the floors leave (or the whole
    /// pool if nobody agreed) goes to the treasury.
    function _scoreAndSettle(
        uint256 roundId,
        Round storage r,
        address[] calldata revealers,
        uint256[] memory rows,
        bytes memory consensusLabels
    ) private {
        uint256 n = revealers.length;
        uint256 threshold = uint256(r.params.agreementBps) * consensusLabels.length;
        uint256 deviatorSlashBps = r.params.deviatorSlashBps;
        uint256 agreedWeight;
        uint256 slashed = r.committedPenalty - r.revealedPenalty; // non-revealers
        for (uint256 i; i < n; ++i) {
            uint256 matches = _countMatches(rows[2 * i], consensusLabels);
            Submission storage s = _submissions[roundId][revealers[i]];
            s.matches = uint32(matches);
            bool agreed = matches * _BPS >= threshold;
            if (agreed) {
                s.status = Status.Agreed;
                agreedWeight += rows[2 * i + 1] >> _KEY_SHIFT;
            } else {
                s.status = Status.Deviated;
                slashed += _penalty(s.stake, deviatorSlashBps);
                rows[2 * i + 1] = 0; // no share
            }
            emit Scored(roundId, revealers[i], matches, agreed);
        }

        uint256 pool = uint256(r.reward) + r.bonus + slashed;
        uint256 paid;
        if (agreedWeight != 0) {
            for (uint256 i; i < n; ++i) {
                paid += pool * (rows[2 * i + 1] >> _KEY_SHIFT) / agreedWeight; // 0 for deviators
            }
        }
        uint256 dust = pool - paid;

        address pointer = SSTORE2.write(consensusLabels);
        r.outcome = uint8(Outcome.Finalized);
        r.pool = uint128(pool);
        r.agreedWeight = uint128(agreedWeight);
        r.consensusPointer = pointer;
        _totalStake -= slashed; // penalties leave the stake now; accounts are debited at claim
        _rewardsOwed = _rewardsOwed + slashed - dust;
        emit RoundFinalized(roundId, pointer, pool, agreedWeight, slashed, dust);
        _fundTreasury(roundId, dust);
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
