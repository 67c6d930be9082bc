// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title NaiveConsensusLearning -- REFERENCE FOR BENCHMARKS ONLY, NEVER DEPLOY
/// @notice The consensus-learning protocol of ConsensusLearning.sol written "the textbook way", so that
/// scripts/benchmark.py can show what the optimised design saves. Same commit encoding, same defaults,
/// same consensus rule (stake-weighted plurality per query, ties to the smallest label), same scoring and
/// settlement arithmetic, but:
///   - every revealed label is written to its own storage slot,
///   - per-query per-class tallies are updated in storage at every reveal,
///   - finalize() computes the consensus from the stored tallies and scores every revealer by reading
///     its stored labels back.
/// A Q = 1024 reveal costs ~45M gas, more than a 30M block, so reveal and finalize also exist as
/// resumable batches (revealBatch / finalizeBatch) that work until gasleft() runs low and keep a cursor
/// in storage; the benchmark counts the batches.
/// @dev Not production-grade: no pause, no owner, no withdrawals, no reentrancy guard, fixed defaults.
/// A participant whose batched reveal never completes leaves labels in the tallies; before finalize they
/// must be removed with retractPartial() (finalize refuses to run while any are pending).
contract NaiveConsensusLearning {
    enum Phase {
        None,
        Commit,
        Reveal,
        Finalizable,
        Finalized,
        Failed
    }

    enum Status {
        None,
        Committed,
        Revealed,
        Agreed,
        Deviated
    }

    struct Round {
        address requester;
        uint256 reward;
        uint256 bonus;
        bytes32 queriesHash;
        uint256 numQueries;
        uint256 numClasses;
        uint256 commitDeadline;
        uint256 revealDeadline;
        uint256 commitCount;
        uint256 revealCount;
        uint256 committedStake;
        uint256 revealedStake;
        uint256 committedPenalty; // sum of non-reveal penalties over committers
        uint256 revealedPenalty; // the same sum over completed revealers
        uint256 partialReveals; // batched reveals started but not completed
        uint8 outcome; // 0 open, 1 finalized, 2 failed
        bool refunded;
        // finalize cursor
        uint8 stage; // 0 not started, 1 consensus, 2 scoring, 3 done
        uint256 cursorQuery;
        uint256 cursorRevealer;
        uint256 slashed;
        uint256 pool;
        uint256 agreedWeight;
    }

    struct Submission {
        bytes32 hash;
        uint256 stake;
        uint256 revealedUpTo; // labels written so far (batched reveals)
        uint256 matches;
        Status status;
        bool claimed;
    }

    /// @notice Same shape as IConsensusLearning.SubmissionInfo.
    struct SubmissionInfo {
        bytes32 hash;
        uint96 stake;
        uint32 matches;
        Status status;
        bool claimed;
    }

    uint256 public constant QUORUM_BPS = 5_000;
    uint256 public constant MIN_REVEALERS = 3;
    uint256 public constant AGREEMENT_BPS = 2_600;
    uint256 public constant DEVIATOR_SLASH_BPS = 1_000;
    uint256 public constant NON_REVEAL_SLASH_BPS = 2_000;
    uint256 public constant MIN_STAKE = 0.01 ether;
    uint256 public constant MAX_QUERIES = 4096;
    /// @notice A batch stops when less gas than this is left (enough for one more step, saving the cursor
    /// and emitting; the consensus step adds K cold reads per query on top).
    uint256 public constant GAS_RESERVE = 120_000;
    uint256 private constant _BPS = 10_000;

    uint256 public roundCount;
    uint256 public treasury;
    mapping(address => uint256) public freeStake;
    mapping(address => uint256) public lockedStake;
    mapping(uint256 => Round) private _rounds;
    mapping(uint256 => mapping(address => Submission)) private _submissions;
    mapping(uint256 => address[]) private _revealers;
    /// round => participant => query => label: one slot per revealed label
    mapping(uint256 => mapping(address => mapping(uint256 => uint256))) private _labels;
    /// round => query => class => revealed weight
    mapping(uint256 => mapping(uint256 => mapping(uint256 => uint256))) private _tally;
    /// round => query => consensus label
    mapping(uint256 => mapping(uint256 => uint256)) private _consensus;

    error ZeroDeposit();
    error InvalidQueryCount(uint256 numQueries, uint256 maxQueries);
    error InvalidClassCount(uint256 numClasses);
    error UnknownRound(uint256 roundId);
    error WrongPhase(uint256 roundId, Phase expected, Phase actual);
    error AlreadyCommitted(uint256 roundId, address participant);
    error ZeroCommitment();
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    error NotCommitted(uint256 roundId, address participant);
    error AlreadyRevealed(uint256 roundId, address participant);
    error WrongLabelCount(uint256 given, uint256 expected);
    error LabelOutOfRange(uint256 index, uint256 label, uint256 numClasses);
    error CommitmentMismatch(uint256 roundId, address participant);
    error RevealIncomplete(uint256 roundId, address participant, uint256 revealed, uint256 expected);
    error PartialRevealsPending(uint256 roundId, uint256 count);
    error NothingToRetract(uint256 roundId, address participant);
    error NothingToClaim(uint256 roundId, address participant);
    error AlreadyClaimed(uint256 roundId, address participant);
    error NoRefund(uint256 roundId, address caller);
    error TransferFailed(address to, uint256 amount);

    event Committed(uint256 indexed roundId, address indexed participant, bytes32 commitment, uint256 stake);
    event Revealed(uint256 indexed roundId, address indexed participant, bytes labels, bytes32 salt);
    event FinalizeProgress(uint256 indexed roundId, uint256 stage, uint256 cursorQuery, uint256 cursorRevealer);
    event RoundFinalized(uint256 indexed roundId, uint256 pool, uint256 agreedWeight, uint256 slashed, uint256 dust);
    event RoundFailed(uint256 indexed roundId, uint256 revealedWeight, uint256 committedWeight, uint256 slashed);
    event Claimed(uint256 indexed roundId, address indexed participant, uint256 reward, uint256 penalty);

    /*//////////////////////////////////////////////////////////////
                              STAKE AND ROUNDS
    //////////////////////////////////////////////////////////////*/

    function deposit() external payable {
        if (msg.value == 0) revert ZeroDeposit();
        freeStake[msg.sender] += msg.value;
    }

    function openRound(
        bytes32 queriesHash,
        string calldata, /* queriesURI */
        uint256 numQueries,
        uint256 numClasses,
        uint256 commitDuration,
        uint256 revealDuration
    ) external payable returns (uint256 roundId) {
        if (numQueries == 0 || numQueries > MAX_QUERIES) revert InvalidQueryCount(numQueries, MAX_QUERIES);
        if (numClasses < 2 || numClasses > 256) revert InvalidClassCount(numClasses);
        roundId = ++roundCount;
        Round storage r = _rounds[roundId];
        r.requester = msg.sender;
        r.reward = msg.value;
        r.bonus = treasury;
        treasury = 0;
        r.queriesHash = queriesHash;
        r.numQueries = numQueries;
        r.numClasses = numClasses;
        r.commitDeadline = block.timestamp + commitDuration;
        r.revealDeadline = block.timestamp + commitDuration + revealDuration;
    }

    function commit(uint256 roundId, bytes32 commitment) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Commit);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status != Status.None) revert AlreadyCommitted(roundId, msg.sender);
        uint256 stake = freeStake[msg.sender];
        if (stake < MIN_STAKE) revert StakeBelowMinimum(stake, MIN_STAKE);
        freeStake[msg.sender] = 0;
        lockedStake[msg.sender] += stake;
        s.hash = commitment;
        s.stake = stake;
        s.status = Status.Committed;
        r.commitCount += 1;
        r.committedStake += stake;
        r.committedPenalty += _penalty(stake, NON_REVEAL_SLASH_BPS);
        emit Committed(roundId, msg.sender, commitment, stake);
    }

    /// @notice Reveal all Q labels in one transaction (reverts out of gas if Q is large; see revealBatch).
    function reveal(uint256 roundId, bytes calldata labels, bytes32 salt) external {
        _reveal(roundId, labels, salt, false);
    }

    /// @notice Reveal as many labels as the gas allows, continuing where the previous batch stopped.
    /// Every batch resends the full labels and salt (checked against the commitment each time).
    /// @return done True once all Q labels are stored and tallied.
    function revealBatch(uint256 roundId, bytes calldata labels, bytes32 salt) external returns (bool done) {
        return _reveal(roundId, labels, salt, true);
    }

    /// @notice After the reveal deadline, remove from the tallies the labels of a participant whose batched
    /// reveal was never completed (as many as the gas allows). Anyone may call it.
    /// @return done True once none of that participant's labels remain.
    function retractPartial(uint256 roundId, address participant) external returns (bool done) {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Finalizable);
        Submission storage s = _submissions[roundId][participant];
        uint256 q = s.revealedUpTo;
        if (s.status != Status.Committed || q == 0) revert NothingToRetract(roundId, participant);
        uint256 stake = s.stake;
        while (q > 0 && gasleft() >= GAS_RESERVE) {
            --q;
            uint256 label = _labels[roundId][participant][q];
            _tally[roundId][q][label] -= stake;
            _labels[roundId][participant][q] = 0;
        }
        s.revealedUpTo = q;
        if (q == 0) {
            r.partialReveals -= 1;
            return true;
        }
    }

    /// @notice Finalize in one transaction (reverts out of gas for large rounds; see finalizeBatch).
    function finalize(uint256 roundId) external {
        _finalize(roundId, false);
    }

    /// @notice Advance finalization as far as the gas allows; call again until it returns true.
    function finalizeBatch(uint256 roundId) external returns (bool done) {
        return _finalize(roundId, true);
    }

    function claim(uint256 roundId) external returns (uint256 reward) {
        Round storage r = _rounds[roundId];
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status == Status.None) revert NothingToClaim(roundId, msg.sender);
        if (s.claimed) revert AlreadyClaimed(roundId, msg.sender);
        if (r.outcome == 0) revert WrongPhase(roundId, Phase.Finalized, _phase(r));
        uint256 penalty;
        (reward, penalty) = _settlement(r, s);
        s.claimed = true;
        lockedStake[msg.sender] -= s.stake;
        freeStake[msg.sender] += s.stake - penalty;
        emit Claimed(roundId, msg.sender, reward, penalty);
        if (reward != 0) _send(msg.sender, reward);
    }

    function claimRefund(uint256 roundId) external {
        Round storage r = _rounds[roundId];
        if (r.outcome != 2 || r.refunded || msg.sender != r.requester || r.reward == 0) {
            revert NoRefund(roundId, msg.sender);
        }
        r.refunded = true;
        _send(msg.sender, r.reward);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function phase(uint256 roundId) external view returns (Phase) {
        return _phase(_rounds[roundId]);
    }

    /// @notice The consensus label vector (Q bytes) of a finalized round.
    function consensus(uint256 roundId) external view returns (bytes memory out) {
        Round storage r = _rounds[roundId];
        Phase actual = _phase(r);
        if (actual != Phase.Finalized) revert WrongPhase(roundId, Phase.Finalized, actual);
        out = new bytes(r.numQueries);
        for (uint256 q; q < out.length; ++q) {
            out[q] = bytes1(uint8(_consensus[roundId][q]));
        }
    }

    function getSubmission(uint256 roundId, address participant) external view returns (SubmissionInfo memory) {
        Submission storage s = _submissions[roundId][participant];
        return SubmissionInfo({
            hash: s.hash, stake: uint96(s.stake), matches: uint32(s.matches), status: s.status, claimed: s.claimed
        });
    }

    function revealedUpTo(uint256 roundId, address participant) external view returns (uint256) {
        return _submissions[roundId][participant].revealedUpTo;
    }

    function claimable(uint256 roundId, address participant) external view returns (uint256 reward, uint256 penalty) {
        Round storage r = _rounds[roundId];
        Submission storage s = _submissions[roundId][participant];
        if (r.outcome == 0 || s.status == Status.None || s.claimed) return (0, 0);
        return _settlement(r, s);
    }

    /// @notice The commitment expected for these labels and salt (same bytes as ConsensusLearning).
    function commitmentOf(uint256 roundId, address participant, bytes calldata labels, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        return _commitment(roundId, participant, keccak256(labels), salt);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNALS
    //////////////////////////////////////////////////////////////*/

    function _reveal(uint256 roundId, bytes calldata labels, bytes32 salt, bool batched) private returns (bool) {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Reveal);
        Submission storage s = _submissions[roundId][msg.sender];
        if (s.status == Status.None) revert NotCommitted(roundId, msg.sender);
        if (s.status != Status.Committed) revert AlreadyRevealed(roundId, msg.sender);
        uint256 numQueries = r.numQueries;
        if (labels.length != numQueries) revert WrongLabelCount(labels.length, numQueries);
        if (_commitment(roundId, msg.sender, keccak256(labels), salt) != s.hash) {
            revert CommitmentMismatch(roundId, msg.sender);
        }
        uint256 stake = s.stake;
        uint256 start = s.revealedUpTo;
        uint256 q = _storeLabels(roundId, labels, start, stake, r.numClasses, batched);
        s.revealedUpTo = q;
        if (q < numQueries) {
            if (start == 0 && q != 0) r.partialReveals += 1;
            return false;
        }
        if (start != 0) r.partialReveals -= 1;
        s.status = Status.Revealed;
        r.revealCount += 1;
        r.revealedStake += stake;
        r.revealedPenalty += _penalty(stake, NON_REVEAL_SLASH_BPS);
        _revealers[roundId].push(msg.sender);
        emit Revealed(roundId, msg.sender, labels, salt);
        return true;
    }

    /// @dev Store labels [start, Q) one slot each and add `stake` to their tallies, until done or (batched)
    /// low on gas. Returns how far it got.
    function _storeLabels(
        uint256 roundId,
        bytes calldata labels,
        uint256 start,
        uint256 stake,
        uint256 numClasses,
        bool batched
    ) private returns (uint256 q) {
        mapping(uint256 => uint256) storage mine = _labels[roundId][msg.sender];
        mapping(uint256 => mapping(uint256 => uint256)) storage tally = _tally[roundId];
        for (q = start; q < labels.length; ++q) {
            if (batched && gasleft() < GAS_RESERVE) break;
            uint256 label = uint8(labels[q]);
            if (label >= numClasses) revert LabelOutOfRange(q, label, numClasses);
            mine[q] = label;
            tally[q][label] += stake;
        }
    }

    function _finalize(uint256 roundId, bool batched) private returns (bool) {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, Phase.Finalizable);
        if (r.stage == 0) {
            if (!_quorumMet(roundId, r)) return true; // Failed
            if (r.partialReveals != 0) revert PartialRevealsPending(roundId, r.partialReveals);
            r.stage = 1;
        }
        if (r.stage == 1 && !_consensusStep(roundId, r, batched)) return _paused(roundId, r);
        if (r.stage == 2 && !_scoreStep(roundId, r, batched)) return _paused(roundId, r);
        _settle(roundId, r);
        return true;
    }

    function _paused(uint256 roundId, Round storage r) private returns (bool) {
        emit FinalizeProgress(roundId, r.stage, r.cursorQuery, r.cursorRevealer);
        return false;
    }

    /// @dev Consensus of queries [cursorQuery, Q) from the stored tallies; ties to the smallest label.
    function _consensusStep(uint256 roundId, Round storage r, bool batched) private returns (bool) {
        uint256 numQueries = r.numQueries;
        uint256 numClasses = r.numClasses;
        uint256 q = r.cursorQuery;
        uint256 reserve = GAS_RESERVE + numClasses * 2_200; // one query reads K cold tally slots
        for (; q < numQueries; ++q) {
            if (batched && gasleft() < reserve) {
                r.cursorQuery = q;
                return false;
            }
            uint256 best;
            uint256 bestWeight;
            for (uint256 c; c < numClasses; ++c) {
                uint256 w = _tally[roundId][q][c];
                if (w > bestWeight) {
                    bestWeight = w;
                    best = c;
                }
            }
            _consensus[roundId][q] = best;
        }
        r.cursorQuery = 0;
        r.stage = 2;
        return true;
    }

    /// @dev Score revealers from cursorRevealer on, reading their stored labels back.
    function _scoreStep(uint256 roundId, Round storage r, bool batched) private returns (bool) {
        address[] storage revealers = _revealers[roundId];
        uint256 n = revealers.length;
        uint256 numQueries = r.numQueries;
        uint256 threshold = AGREEMENT_BPS * numQueries;
        uint256 q = r.cursorQuery;
        for (uint256 i = r.cursorRevealer; i < n; ++i) {
            address participant = revealers[i];
            Submission storage s = _submissions[roundId][participant];
            uint256 matches = s.matches;
            for (; q < numQueries; ++q) {
                if (batched && gasleft() < GAS_RESERVE) {
                    s.matches = matches;
                    r.cursorRevealer = i;
                    r.cursorQuery = q;
                    return false;
                }
                if (_labels[roundId][participant][q] == _consensus[roundId][q]) ++matches;
            }
            q = 0;
            s.matches = matches;
            if (matches * _BPS >= threshold) {
                s.status = Status.Agreed;
                r.agreedWeight += s.stake;
            } else {
                s.status = Status.Deviated;
                r.slashed += _penalty(s.stake, DEVIATOR_SLASH_BPS);
            }
        }
        r.cursorRevealer = n;
        r.cursorQuery = 0;
        r.stage = 3;
        return true;
    }

    function _settle(uint256 roundId, Round storage r) private {
        uint256 slashed = r.slashed + r.committedPenalty - r.revealedPenalty;
        uint256 pool = r.reward + r.bonus + slashed;
        uint256 agreedWeight = r.agreedWeight;
        uint256 paid;
        if (agreedWeight != 0) {
            address[] storage revealers = _revealers[roundId];
            for (uint256 i; i < revealers.length; ++i) {
                Submission storage s = _submissions[roundId][revealers[i]];
                if (s.status == Status.Agreed) paid += pool * s.stake / agreedWeight;
            }
        }
        uint256 dust = pool - paid;
        treasury += dust;
        r.pool = pool;
        r.outcome = 1;
        emit RoundFinalized(roundId, pool, agreedWeight, slashed, dust);
    }

    function _quorumMet(uint256 roundId, Round storage r) private returns (bool) {
        uint256 n = r.revealCount;
        if (n != 0 && n >= MIN_REVEALERS && r.revealedStake * _BPS >= r.committedStake * QUORUM_BPS) return true;
        uint256 slashed = r.committedPenalty - r.revealedPenalty;
        r.outcome = 2;
        treasury += r.bonus + slashed;
        emit RoundFailed(roundId, r.revealedStake, r.committedStake, slashed);
        return false;
    }

    function _settlement(Round storage r, Submission storage s) private view returns (uint256 reward, uint256 penalty) {
        Status status = s.status;
        if (status == Status.Committed) {
            penalty = _penalty(s.stake, NON_REVEAL_SLASH_BPS);
        } else if (status == Status.Deviated) {
            penalty = _penalty(s.stake, DEVIATOR_SLASH_BPS);
        } else if (status == Status.Agreed) {
            reward = r.pool * s.stake / r.agreedWeight;
        }
    }

    function _phase(Round storage r) private view returns (Phase) {
        if (r.revealDeadline == 0) return Phase.None;
        if (r.outcome == 1) return Phase.Finalized;
        if (r.outcome == 2) return Phase.Failed;
        if (block.timestamp <= r.commitDeadline) return Phase.Commit;
        if (block.timestamp <= r.revealDeadline) return Phase.Reveal;
        return Phase.Finalizable;
    }

    function _checkPhase(uint256 roundId, Round storage r, Phase expected) private view {
        Phase actual = _phase(r);
        if (actual == Phase.None) revert UnknownRound(roundId);
        if (actual != expected) revert WrongPhase(roundId, expected, actual);
    }

    function _commitment(uint256 roundId, address participant, bytes32 labelsHash, bytes32 salt)
        private
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), roundId, participant, labelsHash, salt));
    }

    function _penalty(uint256 stake, uint256 bps) private pure returns (uint256) {
        return (stake * bps + _BPS - 1) / _BPS;
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }
}
