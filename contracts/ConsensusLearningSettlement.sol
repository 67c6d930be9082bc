// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SSTORE2} from "solady/utils/SSTORE2.sol";

import {IConsensusLearning} from "../interfaces/IConsensusLearning.sol";
import {ConsensusLearningBase} from "./ConsensusLearningBase.sol";

/// @title ConsensusLearningSettlement
/// @notice The settlement half of ConsensusLearning: the requester's audit reveal, finalize (the audit, the
/// weighted plurality, scoring and the pool) and abandon. ConsensusLearning creates it in its constructor and
/// runs these three functions by delegatecall, on its own storage and balance, with the caller's calldata
/// unchanged. The split keeps both halves under EIP-170's 24,576-byte code limit (docs/architecture.md, "Two
/// contracts, one storage").
/// @dev Called directly, a function runs on this contract's own storage, which is empty and stays empty: each
/// of the three starts with `_checkPhase`, which reverts `UnknownRound` for a round that was never opened, and
/// nothing here can open one. There is no immutable and no constructor state, so the runtime code is the same
/// in every deployment and a client can recognise both halves by their code hashes.
contract ConsensusLearningSettlement is ConsensusLearningBase {

    /// @notice IConsensusLearning.revealAudit, run by delegatecall from ConsensusLearning.
    function revealAudit(uint256 roundId, bytes calldata indices, bytes calldata labels, bytes32 salt) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, IConsensusLearning.Phase.Audit);
        if (msg.sender != r.requester) revert IConsensusLearning.NotRequester(roundId, msg.sender);
        uint256 g = r.auditCount;
        if (labels.length != g) revert IConsensusLearning.WrongLabelCount(labels.length, g);
        if (indices.length != 2 * g) revert IConsensusLearning.WrongLabelCount(indices.length, 2 * g);
        if (_auditCommitment(r.requester, r.queriesHash, keccak256(indices), keccak256(labels), salt)
                != r.auditCommitment) revert IConsensusLearning.AuditCommitmentMismatch(roundId);
        uint256 q = r.numQueries;
        uint256 previous = 0;
        for (uint256 i; i < g; ++i) {
            uint256 index = (uint256(uint8(indices[2 * i])) << 8) | uint8(indices[2 * i + 1]);
            if (index >= q || (i != 0 && index <= previous)) revert IConsensusLearning.InvalidAuditIndex(i, index, q);
            previous = index;
        }
        _checkLabels(labels, r.numClasses);
        r.auditRevealed = true;
        r.auditPointer = SSTORE2.write(abi.encodePacked(indices, labels));
        emit IConsensusLearning.AuditRevealed(roundId, indices, labels, salt);
    }

    /// @notice IConsensusLearning.finalize, run by delegatecall from ConsensusLearning.
    function finalize(uint256 roundId, address[] calldata committers, bytes[] calldata labels) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, IConsensusLearning.Phase.Finalizable);
        if (r.optimistic) revert IConsensusLearning.OptimisticOnly(roundId);
        (uint256[] memory rows, uint256[] memory revs, uint256 passers) = _loadRevealers(roundId, r, committers, labels);
        _payFinalizer(roundId, r, msg.sender);
        (bool met, uint256 revealedWeight, uint256 committedWeight) = _quorumMet(r);
        // Nobody passing the audit is treated like a missed quorum: no consensus, nobody slashed but the
        // non-revealers (a requester whose audit fails everyone cannot slash anyone through it).
        if (!met || passers == 0) return _fail(roundId, r, revealedWeight, committedWeight, committers);
        bytes memory consensusLabels = _plurality(rows, r.numQueries, r.numClasses);
        _scoreAndSettle(roundId, r, committers, revs, consensusLabels);
    }

    /// @notice IConsensusLearning.abandon, run by delegatecall from ConsensusLearning.
    function abandon(uint256 roundId) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, IConsensusLearning.Phase.Finalizable);
        uint256 staleAt = uint256(r.auditDeadline) + ABANDON_DELAY;
        if (block.timestamp <= staleAt) revert IConsensusLearning.NotStaleYet(roundId, staleAt, block.timestamp);
        _payFinalizer(roundId, r, msg.sender);
        (, uint256 revealedWeight, uint256 committedWeight) = _quorumMet(r);
        _fail(roundId, r, revealedWeight, committedWeight, new address[](0));
    }

    /*//////////////////////////////////////////////////////////////
                        OPTIMISTIC SETTLEMENT
    //////////////////////////////////////////////////////////////*/

    /// @notice IConsensusLearning.propose, run by delegatecall from ConsensusLearning.
    function propose(uint256 roundId, bytes calldata consensus, address[] calldata committers, bytes calldata matches)
        external
    {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, IConsensusLearning.Phase.Finalizable);
        if (r.auditCount != 0) revert IConsensusLearning.AuditedRound(roundId);
        Post storage post = _posts[roundId];
        (bool met, uint256 revealedWeight, uint256 committedWeight) = _quorumMet(r);
        if (!met) {
            // Facts only, nothing to post: the round fails now. Non-revealers are scored at their claims (byPost).
            post.byPost = true;
            _payFinalizer(roundId, r, msg.sender);
            return _fail(roundId, r, revealedWeight, committedWeight, new address[](0));
        }
        uint256 n = committers.length;
        if (n != r.commitCount) revert IConsensusLearning.RevealerCountMismatch(n, r.commitCount);
        if (matches.length != 2 * n) revert IConsensusLearning.MatchesLength(matches.length, 2 * n);
        _checkRevealedLabels(consensus, r.numQueries, r.numClasses);
        uint256 mode = _modeOfWire(consensus, r.numQueries, r.numClasses);
        (uint256 tallyWeight, uint256 agreedWeight, uint256 pooled, uint256[] memory agreed) =
            _scorePosted(roundId, r, committers, matches, mode);

        uint256 burnt = r.committedPenalty - r.revealedPenalty; // non-revealers'
        if (r.params.equalWeights) pooled = 0; // deviators are never slashed then; non-revealers' are burned
        else (pooled, burnt) = (pooled + burnt, 0);
        (uint256 pool, uint256 dust) = _poolAndDust(r.reward, pooled, agreed, agreedWeight);
        if (pooled + burnt > type(uint96).max) revert IConsensusLearning.AmountTooLarge(pooled + burnt, type(uint96).max);

        // Effects: the bond leaves the proposer's free stake for its locked stake until confirm or a refutation.
        uint256 bond = uint256(_terms.bondBase) + uint256(_terms.bondPerRevealer) * r.revealCount;
        Account storage a = _accounts[msg.sender];
        if (a.free < bond) revert IConsensusLearning.InsufficientFreeStake(bond, a.free);
        a.free -= uint128(bond);
        a.locked += uint128(bond);
        uint256 serial = post.serial + 1;
        uint256 challengeEnds = block.timestamp + _terms.window;
        bytes32 root = _labelsRoot(consensus);
        _posts[roundId] = Post({
            proposer: msg.sender,
            challengeEnds: uint40(challengeEnds),
            serial: uint32(serial),
            byPost: false,
            consensusRoot: root,
            tallyWeight: uint128(tallyWeight), // < 2^110 per revealer, at most 2^11 revealers
            bond: uint96(bond), // <= free stake < 2^96
            mode: uint16(mode), // <= Q < 2^16
            pooled: uint96(pooled),
            burnt: uint96(burnt),
            dust: uint64(dust)
        });
        r.pool = uint128(pool);
        r.agreedWeight = uint128(agreedWeight);
        r.outcome = uint8(Outcome.Proposed);
        emit IConsensusLearning.Proposed(
            roundId, msg.sender, serial, root, consensus, matches, challengeEnds, bond, pool, agreedWeight
        );
    }

    /// @notice IConsensusLearning.challengeQuery, run by delegatecall from ConsensusLearning.
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
        Round storage r = _rounds[roundId];
        Post storage post = _livePost(roundId, r);
        uint256 k = r.numClasses;
        if (query >= r.numQueries) revert IConsensusLearning.QueryIndexOutOfRange(query, r.numQueries);
        uint256 depth = _treeDepth(_labelBytes(r.numQueries, k));
        uint256 at = _chunkOf(query, k);
        if (
            consensusProof.length != depth
                || !_verifyChunk(post.consensusRoot, consensusChunk, at, _offset(consensusProof), depth)
        ) revert IConsensusLearning.InvalidProof(roundId, address(0));
        uint256 posted = _labelInChunk(consensusChunk, query, k);
        if (alt == posted || alt >= k) revert IConsensusLearning.InvalidAlternative(alt, posted, k);
        uint256 n = revealers.length;
        if (chunks.length != n || siblings.length != n * depth) {
            revert IConsensusLearning.LengthMismatch(n, chunks.length);
        }
        bytes32 key = keccak256(abi.encode(roundId, post.serial, msg.sender, query, alt));
        Tally storage t = _tallies[key];
        (uint256 altWeight, uint256 otherWeight, address last) = (t.altWeight, t.otherWeight, t.last);
        bool equal = r.params.equalWeights;
        uint256 proof = _offset(siblings);
        for (uint256 i; i < n; ++i) {
            address who = revealers[i];
            // strictly ascending across all of this challenger's calls: nobody counts twice
            if (who <= last) revert IConsensusLearning.RevealersNotSorted(i);
            last = who;
            (Submission storage s, bool held) = _slot(roundId, who);
            if (!held || s.status != IConsensusLearning.Status.Revealed) revert IConsensusLearning.NotARevealer(roundId, who);
            if (!_verifyChunk(s.hash, chunks[i], at, proof + (i * depth << 5), depth)) {
                revert IConsensusLearning.InvalidProof(roundId, who);
            }
            uint256 label = _labelInChunk(chunks[i], query, k);
            uint256 w = (equal ? 1 : uint256(s.stake)) * s.reputation; // the tally weight
            if (label == alt) altWeight += w;
            if (label != posted) otherWeight += w;
        }
        // The posted label has at most W - B; alt has at least A. A > W - B, or a tie won by the smaller label,
        // shows the posted label is not the plurality at `query`.
        uint256 total = post.tallyWeight;
        if (altWeight + otherWeight > total || (altWeight + otherWeight == total && alt < posted)) {
            delete _tallies[key];
            return _refute(roundId, r, post);
        }
        (t.altWeight, t.otherWeight, t.last) = (uint128(altWeight), uint128(otherWeight), last);
        emit IConsensusLearning.ChallengeProgress(roundId, post.serial, msg.sender, query, alt, altWeight, otherWeight, last);
    }

    /// @notice IConsensusLearning.challengeMatches, run by delegatecall from ConsensusLearning.
    function challengeMatches(uint256 roundId, address revealer, bytes calldata labels, bytes calldata consensus)
        external
    {
        Round storage r = _rounds[roundId];
        Post storage post = _livePost(roundId, r);
        (uint256 q, uint256 k) = (r.numQueries, r.numClasses);
        (Submission storage s, bool held) = _slot(roundId, revealer);
        if (!held || s.status != IConsensusLearning.Status.Revealed) revert IConsensusLearning.NotARevealerOf(roundId, revealer);
        uint256 size = _labelBytes(q, k);
        if (labels.length != size || _labelsRoot(labels) != s.hash) {
            revert IConsensusLearning.RevealedLabelsMismatch(roundId, revealer);
        }
        if (consensus.length != size || _labelsRoot(consensus) != post.consensusRoot) {
            revert IConsensusLearning.InvalidProof(roundId, address(0));
        }
        uint256 m = _equalLabels(labels, consensus, q, k);
        if (m == s.matches) revert IConsensusLearning.MatchCountCorrect(roundId, revealer, m);
        _refute(roundId, r, post);
    }

    /// @notice IConsensusLearning.confirm, run by delegatecall from ConsensusLearning (also from its claim).
    function confirm(uint256 roundId) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, IConsensusLearning.Phase.Proposed);
        Post storage post = _posts[roundId];
        uint256 ends = post.challengeEnds;
        if (block.timestamp <= ends) revert IConsensusLearning.ChallengeWindow(roundId, ends, block.timestamp);
        address proposer = post.proposer;
        uint256 bond = post.bond;
        _accounts[proposer].locked -= uint128(bond);
        _accounts[proposer].free += uint128(bond); // it was free before the post: < 2^96
        // The fee goes to the proposer unless it would take its free stake past 96 bits (where _payFinalizer
        // reverts): then it is burned, so that no proposer can make its round unconfirmable.
        uint256 fee = r.finalizerFee;
        if (uint256(_accounts[proposer].free) + fee > type(uint96).max) {
            _rewardsOwed -= fee;
            _burn(roundId, fee);
        } else {
            _payFinalizer(roundId, r, proposer);
        }
        post.byPost = true;
        uint256 dust = post.dust;
        uint256 burnt = _book(roundId, r, r.reward, post.pooled, post.burnt, dust, r.agreedWeight);
        r.outcome = uint8(Outcome.Finalized);
        emit IConsensusLearning.PostConfirmed(roundId, post.serial, proposer, bond);
        emit IConsensusLearning.RoundFinalized(roundId, address(0), r.pool, r.agreedWeight, dust);
        _burn(roundId, burnt);
    }

    /// @notice IConsensusLearning.publishConsensus, run by delegatecall from ConsensusLearning.
    function publishConsensus(uint256 roundId, bytes calldata consensus) external {
        Round storage r = _rounds[roundId];
        _checkPhase(roundId, r, IConsensusLearning.Phase.Finalized);
        Post storage post = _posts[roundId];
        if (!post.byPost || r.consensusPointer != address(0)) revert IConsensusLearning.NothingToPublish(roundId);
        (uint256 q, uint256 k) = (r.numQueries, r.numClasses);
        if (consensus.length != _labelBytes(q, k) || _labelsRoot(consensus) != post.consensusRoot) {
            revert IConsensusLearning.InvalidProof(roundId, address(0));
        }
        bytes memory labels = consensus; // one byte a label, in query order, as finalize stores it
        if (k <= PACKED_MAX_CLASSES) {
            uint256 at = _unpack(consensus, q, k);
            bytes memory inPositions;
            assembly ("memory-safe") {
                inPositions := sub(at, 0x20) // _unpack's buffer, whose length word we cut to Q
                mstore(inPositions, q)
            }
            labels = _inQueryOrder(inPositions);
        }
        address pointer = SSTORE2.write(labels);
        r.consensusPointer = pointer;
        emit IConsensusLearning.ConsensusPublished(roundId, pointer);
    }

    /// @dev The live post of round `r`, still challengeable; else WrongPhase (no live post) or ChallengeWindow.
    function _livePost(uint256 roundId, Round storage r) private view returns (Post storage post) {
        _checkPhase(roundId, r, IConsensusLearning.Phase.Proposed);
        post = _posts[roundId];
        uint256 ends = post.challengeEnds;
        if (block.timestamp > ends) revert IConsensusLearning.ChallengeWindow(roundId, ends, block.timestamp);
    }

    /// @dev The calldata offset of an array's first element.
    function _offset(bytes32[] calldata a) private pure returns (uint256 o) {
        assembly ("memory-safe") {
            o := a.offset
        }
    }

    /// @dev propose's pass over the committers (strictly ascending, exactly the round's): checks each posted
    /// match count (<= Q for a revealer, 0 for a non-revealer), records it, and sums the revealers' tally weight
    /// W, the agreeing revealers' pool weight and the deviators' penalties; `agreed[i]` is committer i's pool
    /// weight (0 unless it agrees).
    function _scorePosted(
        uint256 roundId,
        Round storage r,
        address[] calldata committers,
        bytes calldata matches,
        uint256 mode
    ) private returns (uint256 tallyWeight, uint256 agreedWeight, uint256 pooled, uint256[] memory agreed) {
        IConsensusLearning.Params memory p = r.params;
        uint256 q = r.numQueries;
        agreed = new uint256[](committers.length);
        for (uint256 i; i < committers.length; ++i) {
            address who = committers[i];
            if (i != 0 && who <= committers[i - 1]) revert IConsensusLearning.RevealersNotSorted(i);
            uint256 m = uint16(bytes2(matches[2 * i:2 * i + 2]));
            (Submission storage s, bool held) = _slot(roundId, who);
            IConsensusLearning.Status status = held ? s.status : IConsensusLearning.Status.None;
            if (status == IConsensusLearning.Status.Committed) {
                if (m != 0) revert IConsensusLearning.InvalidMatchCount(who, m);
                continue;
            }
            if (status != IConsensusLearning.Status.Revealed) revert IConsensusLearning.NotACommitter(roundId, who);
            if (m > q) revert IConsensusLearning.InvalidMatchCount(who, m);
            uint256 stake = s.stake;
            tallyWeight += (p.equalWeights ? 1 : stake) * s.reputation;
            if (_agrees(m, mode, q, p.agreementBps)) {
                uint256 w = p.equalWeights ? 1 : stake;
                agreed[i] = w;
                agreedWeight += w;
            } else {
                pooled += _penalty(stake, p.deviatorSlashBps); // 0 under equal weights
            }
            s.matches = uint32(m);
        }
    }

    /// @dev Refute the live post: half its bond (REFUTER_SHARE_BPS) to msg.sender's free stake, the rest burned;
    /// the round is Finalizable again.
    function _refute(uint256 roundId, Round storage r, Post storage post) private {
        uint256 bond = post.bond;
        uint256 reward = bond * REFUTER_SHARE_BPS / _BPS;
        _accounts[post.proposer].locked -= uint128(bond);
        Account storage a = _accounts[msg.sender];
        uint256 free = a.free + reward;
        if (free > type(uint96).max) revert IConsensusLearning.AmountTooLarge(free, type(uint96).max);
        a.free = uint128(free);
        _totalStake -= bond - reward;
        post.proposer = address(0);
        r.outcome = uint8(Outcome.Open);
        r.pool = 0;
        r.agreedWeight = 0;
        emit IConsensusLearning.Refuted(roundId, post.serial, msg.sender, bond, reward);
        _burn(roundId, bond - reward);
    }

    /// @dev M of the agreement rule for a consensus in wire form: the count of its most frequent label.
    /// Packed, per class c, the nibbles equal to c are counted 64 a word (the zero nibbles of w xor c in
    /// every nibble, as _zeroNibbles); an odd Q's zero padding nibble is taken off class 0.
    function _modeOfWire(bytes calldata wire, uint256 q, uint256 k) private pure returns (uint256 best) {
        if (k > PACKED_MAX_CLASSES) return _modeCount(wire, k); // one byte a label, copied to memory
        assembly ("memory-safe") {
            let nib1 := 0x1111111111111111111111111111111111111111111111111111111111111111
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let end := add(wire.offset, wire.length)
            for { let c := 0 } lt(c, k) { c := add(c, 1) } {
                let pattern := mul(c, nib1) // c in every nibble
                let count := 0
                for { let p := wire.offset } lt(p, end) { p := add(p, 0x20) } {
                    let x := xor(calldataload(p), pattern) // a zero nibble: a label equal to c
                    let rest := sub(end, p)
                    if lt(rest, 0x20) { x := or(x, shr(shl(3, rest), not(0))) } // past the end: never equal
                    // bit 0 of each nibble := the OR of its bits; z: 1 in the nibbles that were zero
                    let t := or(x, shr(1, x))
                    t := or(t, shr(2, t))
                    let z := and(not(t), nib1)
                    // low + high nibble of each byte into the byte (0..2), the 32 bytes summed into the top byte
                    count := add(count, shr(248, mul(add(and(z, ones), and(shr(4, z), ones)), ones)))
                }
                if and(iszero(c), and(q, 1)) { count := sub(count, 1) } // the padding nibble is a 0
                if gt(count, best) { best := count }
            }
        }
    }

    /// @dev How many of the Q labels of `a` and `b` (wire bytes of the same length) are equal.
    function _equalLabels(bytes calldata a, bytes calldata b, uint256 q, uint256 k) private pure returns (uint256 count) {
        bool packed = k <= PACKED_MAX_CLASSES;
        uint256 len = a.length;
        for (uint256 p; p < len; p += 32) {
            uint256 x;
            assembly ("memory-safe") {
                // both words from calldata; the bytes past the end set to 0xff so that they never count
                x := xor(calldataload(add(a.offset, p)), calldataload(add(b.offset, p)))
                let rest := sub(len, p)
                if lt(rest, 0x20) { x := or(x, shr(shl(3, rest), not(0))) }
            }
            count += packed ? _zeroNibbles(x) : _zeroBytes(x);
        }
        if (packed && q & 1 != 0) --count; // both paddings are 0
    }

    /// @dev The number of zero nibbles of `x` (64 nibbles).
    function _zeroNibbles(uint256 x) private pure returns (uint256 count) {
        assembly ("memory-safe") {
            // bit 0 of each nibble := the OR of its four bits (the bits shifted in from the next nibble land in
            // bits 1..3, never read)
            let t := or(x, shr(1, x))
            t := or(t, shr(2, t))
            let z := and(not(t), 0x1111111111111111111111111111111111111111111111111111111111111111)
            // the low and the high nibble of each byte added into the byte (0..2), then the 32 bytes summed
            // into the top byte by one multiplication (<= 64: no carry between bytes)
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let perByte := add(and(z, ones), and(shr(4, z), ones))
            count := shr(248, mul(perByte, ones))
        }
    }

    /// @dev The number of zero bytes of `x` (32 bytes).
    function _zeroBytes(uint256 x) private pure returns (uint256 count) {
        assembly ("memory-safe") {
            let lo7 := 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f
            // high bit of each byte set iff that byte is zero (as _countMatches)
            let z := not(or(or(add(and(x, lo7), lo7), x), lo7))
            count := shr(248, mul(shr(7, z), 0x0101010101010101010101010101010101010101010101010101010101010101))
        }
    }

    /*//////////////////////////////////////////////////////////////
                        PRIVATE: FINALIZE PIPELINE
    //////////////////////////////////////////////////////////////*/

    /// @dev Credit the round's finalizer fee to `to`'s free stake (whatever the outcome).
    function _payFinalizer(uint256 roundId, Round storage r, address to) private {
        uint256 fee = r.finalizerFee;
        if (fee == 0) return;
        Account storage a = _accounts[to];
        uint256 free = a.free + fee;
        if (free > type(uint96).max) revert IConsensusLearning.AmountTooLarge(free, type(uint96).max);
        a.free = uint128(free);
        _rewardsOwed -= fee;
        _totalStake += fee;
        emit IConsensusLearning.FinalizerPaid(roundId, to, fee);
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
        emit IConsensusLearning.AuditForfeited(roundId, forfeit);
        _burn(roundId, forfeit);
    }

    /// @dev Burn `amount`: it stays in the contract and belongs to nobody.
    function _burn(uint256 roundId, uint256 amount) private {
        if (amount == 0) return;
        uint256 total = _burned + amount;
        _burned = total;
        emit IConsensusLearning.Burned(roundId, amount, total);
    }

    /// @dev Quorum: at least one and at least minRevealers revealers, and revealed weight >= quorumBps of
    /// committed weight (weights are stakes, or counts when equalWeights). Also returns the two weights it
    /// compared, which _fail reports in RoundFailed.
    function _quorumMet(Round storage r)
        private
        view
        returns (bool met, uint256 revealedWeight, uint256 committedWeight)
    {
        IConsensusLearning.Params memory p = r.params;
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
        emit IConsensusLearning.RoundFailed(roundId, revealedWeight, committedWeight, nonRevealPenalty);
        _burn(roundId, nonRevealPenalty);
    }

    /// @dev For each committer that never revealed: a Slashed event (unless `bps` is 0) and a reputation
    /// update towards a score of 0.
    function _settleNonRevealers(uint256 roundId, uint256 bps, address[] memory committers) private {
        for (uint256 i; i < committers.length; ++i) {
            // committers were checked by _loadRevealers: each slot holds this round
            (Submission storage s,) = _slot(roundId, committers[i]);
            if (s.status == IConsensusLearning.Status.Committed) {
                if (bps != 0) emit IConsensusLearning.Slashed(roundId, committers[i], _penalty(s.stake, bps), IConsensusLearning.Status.Committed);
                _updateReputation(roundId, committers[i], 0, 0);
            }
        }
    }

    /// @dev Check the finalize() input against storage: exactly the round's committers, strictly ascending
    /// (so no duplicates), each revealer with labels hashing to what it revealed; score each revealer on the
    /// audit, if revealed: it passes iff hits * BPS >= auditBoundBps * G and the crowd rule does not strike it
    /// out (always, without a revealed audit). Returns
    ///   rows     interleaved (memory address of the labels, one byte each, tally weight << _KEY_SHIFT) of the revealers
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
        if (committers.length != labels.length) revert IConsensusLearning.LengthMismatch(committers.length, labels.length);
        if (committers.length != r.commitCount) revert IConsensusLearning.RevealerCountMismatch(committers.length, r.commitCount);
        bytes memory auditData = r.auditRevealed ? SSTORE2.read(r.auditPointer) : new bytes(0);
        uint256 g = auditData.length / 3; // 0 without a revealed audit
        if (r.numClasses <= PACKED_MAX_CLASSES) _toPositions(auditData, g, r.numQueries);
        // wrong[j << 8 | label]: how many revealers answered audit query j with `label`, a wrong one
        bytes memory wrong = new bytes(g << 8);
        rows = new uint256[](2 * r.revealCount);
        revs = new uint256[](r.revealCount);
        bool judged = g != 0 && r.params.crowdBps != 0; // the crowd rule runs, with its memory
        uint256 m;
        for (uint256 i; i < committers.length; ++i) {
            // strictly ascending: no duplicates, and with the count above, exactly the committers
            if (i != 0 && committers[i] <= committers[i - 1]) revert IConsensusLearning.RevealersNotSorted(i);
            (uint256 offset, uint256 weight, uint256 hits) =
                _revealerRow(roundId, r, committers[i], labels[i], auditData, wrong);
            if (weight == 0) continue; // a non-revealer: its labels entry is ignored
            uint256 word = i | (hits << 16) | (g << 40) | (offset << 64); // G <= 128: 16 bits
            // struck out last time: bit 34 (read now, warm when finalize writes the reputation word back)
            if (judged && _reputation[committers[i]] & _STRUCK_OUT != 0) word |= 1 << 34;
            revs[m] = word;
            rows[2 * m + 1] = weight; // parked: rows is compacted below, never ahead of this read
            ++m;
        }
        passers = _admit(r, rows, revs, m, auditData, wrong);
        assembly ("memory-safe") {
            mstore(rows, shl(1, passers)) // shrink to the rows filled (memory stays allocated)
        }
    }

    /// @dev The audit's verdict on the `m` revealers loaded by _loadRevealers (`rows[2j + 1]` holding revealer
    /// j's tally weight): it passes iff hits * BPS >= auditBoundBps * G and, if the crowd rule is on, the rule
    /// does not strike it out: strikes * BPS >= CROWD_STRIKE_BPS * G, or, for an address struck out last time
    /// (bit 34), strikes >= CROWD_REPEAT_STRIKES. Every revealer is judged by the crowd rule (bit 35; bit 33 if
    /// struck out: its memory for the next round), each passer gets bit 32, and the passers' rows are
    /// compacted to the front of `rows`; returns their number.
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
            bool pass = ((word >> 16) & 0xffff) * _BPS >= bar;
            if (crowd != 0) {
                uint256 strikes = _crowdStrikes(word >> 64, auditData, g, wrong, crowd);
                word |= 1 << 35;
                if (strikes * _BPS >= CROWD_STRIKE_BPS * g || ((word >> 34) & 1 != 0 && strikes >= CROWD_REPEAT_STRIKES)) {
                    word |= 1 << 33;
                    pass = false;
                }
            }
            if (pass) {
                rows[2 * passers] = word >> 64;
                rows[2 * passers + 1] = rows[2 * j + 1] << _KEY_SHIFT; // weight < 2^110; slot 2j + 1 was read first
                ++passers;
                word |= 1 << 32;
            }
            revs[j] = word;
        }
    }

    /// @dev For a revealer: the memory address of its Q labels, one byte each (`v`, checked to hash to what it
    /// revealed, unpacked by _unpack), its tally weight (>= 1) and, if the audit `auditData` is revealed (else
    /// empty), its audit hits, counting its wrong audit answers into `wrong`. For a non-revealer (0, 0, 0).
    /// Anyone else reverts NotACommitter.
    function _revealerRow(
        uint256 roundId,
        Round storage r,
        address participant,
        bytes calldata v,
        bytes memory auditData,
        bytes memory wrong
    ) private view returns (uint256 offset, uint256 weight, uint256 hits) {
        (Submission storage s, bool held) = _slot(roundId, participant);
        IConsensusLearning.Status status = held ? s.status : IConsensusLearning.Status.None;
        if (status == IConsensusLearning.Status.Committed) return (0, 0, 0);
        if (status != IConsensusLearning.Status.Revealed) revert IConsensusLearning.NotACommitter(roundId, participant);
        // the root fixes the bytes up to zero padding, the length the rest
        if (v.length != _labelBytes(r.numQueries, r.numClasses) || _labelsRoot(v) != s.hash) {
            revert IConsensusLearning.RevealedLabelsMismatch(roundId, participant);
        }
        offset = _unpack(v, r.numQueries, r.numClasses);
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

    /// @dev The Q labels `v` (as revealed: checked at reveal, and by hash) in memory, one byte each, for the
    /// loops of finalize; returns the address of the first. Bytes (K > 16) are copied in query order. Packed
    /// labels (K <= 16) are split, one calldata word (64 labels) at a time, into the high nibbles (even
    /// queries) and the low nibbles (odd queries), each nibble moved into a byte of its own by one mask: the
    /// labels land in "position order" (_position), a permutation of the queries that is the same for every
    /// revealer, so the plurality and the match counts need no order; _inQueryOrder undoes it for the stored
    /// consensus, and the audit indices are mapped to positions (_toPositions). Positions >= Q hold 0.
    function _unpack(bytes calldata v, uint256 q, uint256 k) private pure returns (uint256 at) {
        // whole 64-byte blocks: every store below is inside (the last block's odd half starts at most 32 in)
        bytes memory out = new bytes(((q + 63) >> 6) << 6);
        assembly ("memory-safe") {
            at := add(out, 0x20)
            switch gt(k, PACKED_MAX_CLASSES)
            case 1 { calldatacopy(at, v.offset, q) } // already one byte a label
            default {
                let nib := 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f
                let src := v.offset
                let end := add(src, v.length) // ceil(Q / 2) bytes
                for { let dst := at } lt(src, end) {
                    src := add(src, 0x20)
                    dst := add(dst, 0x40)
                } {
                    // Block b: labels 64b..64b+63, the calldata word at byte 32b. Its h bytes (32, or fewer
                    // in the last block) hold h even and h or h - 1 odd labels: the evens go to positions
                    // 64b..64b+h-1, the odds right after them, from 64b + h.
                    let w := calldataload(src)
                    let h := 0x20
                    let rest := sub(end, src)
                    if lt(rest, 0x20) {
                        w := and(w, not(shr(shl(3, rest), not(0)))) // this revealer's bytes only
                        h := rest
                    }
                    mstore(dst, and(shr(4, w), nib)) // byte j: label 64b + 2j (0 past Q)
                    mstore(add(dst, h), and(w, nib)) // byte j: label 64b + 2j + 1 (0 past Q; the padding is 0)
                }
            }
        }
    }

    /// @dev The position of query `i` in _unpack's layout of packed labels (Q queries): in block b = i / 64
    /// with h = min(32, ceil(Q / 2) - 32b) bytes, an even r = i % 64 is at 64b + r / 2, an odd one at
    /// 64b + h + r / 2.
    function _position(uint256 i, uint256 q) private pure returns (uint256) {
        uint256 base = (i >> 6) << 6;
        uint256 h = ((q + 1) >> 1) - (base >> 1);
        if (h > 32) h = 32;
        uint256 r = i & 63;
        return base + (r & 1 == 0 ? r >> 1 : h + (r >> 1));
    }

    /// @dev Rewrite the G audit indices at the start of `auditData` (2 bytes each, big-endian, < Q) as their
    /// positions (_position): the audit reads revealers' labels in position order.
    function _toPositions(bytes memory auditData, uint256 g, uint256 q) private pure {
        for (uint256 i; i < g; ++i) {
            uint256 p = _position((uint256(uint8(auditData[2 * i])) << 8) | uint8(auditData[2 * i + 1]), q);
            auditData[2 * i] = bytes1(uint8(p >> 8));
            auditData[2 * i + 1] = bytes1(uint8(p));
        }
    }

    /// @dev The consensus `p` (Q bytes in position order, K <= 16) in query order: per block, its evens (the
    /// first h bytes) and odds (the next) interleaved. Each half-word of 16 labels is spread into 16-bit
    /// lanes (byte m of the 128 bits moves to bits 16m..16m+7: shifts of 64, 32, 16, 8 on the bits of m);
    /// the evens take the lanes' high bytes, the odds the low ones.
    function _inQueryOrder(bytes memory p) private pure returns (bytes memory out) {
        uint256 q = p.length;
        out = new bytes(((q + 63) >> 6) << 6);
        assembly ("memory-safe") {
            function spread(x) -> y {
                y := and(or(x, shl(64, x)), 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff)
                y := and(or(y, shl(32, y)), 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff)
                y := and(or(y, shl(16, y)), 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff)
                y := and(or(y, shl(8, y)), 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
            }
            let lo := shr(128, not(0))
            let src := add(p, 0x20)
            let dst := add(out, 0x20)
            let half := shr(1, add(q, 1)) // ceil(Q / 2): the number of even queries
            for { let b := 0 } lt(b, half) { b := add(b, 0x20) } {
                // block b / 32: h evens (h = 32 but in the last block), then q - 2b - h odds
                let h := sub(half, b)
                if gt(h, 0x20) { h := 0x20 }
                let odds := sub(sub(q, shl(1, b)), h)
                if gt(odds, 0x20) { odds := 0x20 }
                let at := add(src, shl(1, b))
                let e := and(mload(at), not(shr(shl(3, h), not(0)))) // the first h bytes
                let o := and(mload(add(at, h)), not(shr(shl(3, odds), not(0)))) // the next `odds` bytes
                let out0 := add(dst, shl(1, b))
                mstore(out0, or(shl(8, spread(shr(128, e))), spread(shr(128, o))))
                mstore(add(out0, 0x20), or(shl(8, spread(and(e, lo))), spread(and(o, lo))))
            }
            mstore(out, q)
        }
    }

    /// @dev Audit queries answered right by the Q labels at memory address `offset`; each wrong answer is counted
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
                let got := byte(0, mload(add(offset, index))) // the revealer's label at that query
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

    /// @dev The crowd rule's strikes of the revealer whose Q labels are at memory address `offset`: audit queries it
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
                let got := byte(0, mload(add(offset, index)))
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

    /// @dev Weighted plurality per query over label vectors already checked to be Q labels < K (at reveal,
    /// and by hash in _loadRevealers), unpacked to a byte each in memory, zero past Q (_unpack; packed labels
    /// in position order, so the result is too). Ties go to the smallest label. Linear in N x Q. Queries are taken 32 at a time, so each revealer's labels are read
    /// one memory word per chunk.
    ///
    /// Memory, per chunk of 32 queries (j = query index within the chunk, 0..31):
    ///
    ///     tally (K x 32 words, label-major: row `label` starts at tallyData + label * 0x400)
    ///     +-------------------+-------------------+-----+--------------------+
    ///     | tally[0][0..31]   | tally[1][0..31]   | ... | tally[K-1][0..31]  |
    ///     +-------------------+-------------------+-----+--------------------+
    ///       word tallyData + label * 0x400 + j * 0x20 = weight of `label` on query j, << _KEY_SHIFT
    ///
    ///     leader (32 words; the "track" way only)
    ///     +-----------+-----------+-----+------------+
    ///     | key[0]    | key[1]    | ... | key[31]    |     key[j] = max over labels of
    ///     +-----------+-----------+-----+------------+              tally[label][j] | (0xff ^ label)
    ///       high 248 bits: the leading weight; low byte: 0xff ^ its label (so the smaller label wins ties)
    ///
    /// Two ways to find each query's leader, with the same result (most weight, then the smallest label);
    /// the round's shape picks the cheaper:
    ///   scan   (K <= N revealers): adding a label only adds its weight; after the chunk's rows each query's
    ///          K tallies are read once. K reads per query.
    ///   track  (otherwise, e.g. K = 256): each label added also updates its query's leader key, so a query
    ///          costs N comparisons however large K is.
    /// In both, a pass takes several labels of one calldata word at constant byte positions (the word is
    /// shifted left after each pass), the bodies copied out: a 1-label loop pays its overhead per label.
    /// The tally (and the leaders) are zeroed after each chunk.
    function _plurality(uint256[] memory rows, uint256 q, uint256 k) private pure returns (bytes memory result) {
        result = new bytes(q);
        uint256[] memory tally = new uint256[](k << 5);
        uint256[] memory leader = new uint256[](32);
        assembly ("memory-safe") {
            let tallyData := add(tally, 0x20)
            let tallyBytes := shl(10, k)
            let top := sub(tallyBytes, 0x400) // from label 0's tally of a query to label K-1's
            let tallyEnd := add(tallyData, 0x400) // end of row 0: where a pass's `base` stops
            let leaderData := add(leader, 0x20)
            let rowsStart := add(rows, 0x20)
            let rowsEnd := add(rowsStart, shl(5, mload(rows)))
            let out := add(result, 0x20)
            // scan iff K <= N (rows holds two words per revealer). Measured (Anvil, N = 16, Q = 1024, K = 10):
            // adding a label costs 48 gas, adding and tracking it 109 + the leader writes (~13); a scan
            // costs ~62 a label read + ~20 a query. So a scan costs ~48 + 62 K / N a label: cheaper up to
            // K / N ~ 1.2.
            let scan := iszero(gt(k, shr(1, mload(rows))))
            for { let c := 0 } lt(c, q) { c := add(c, 0x20) } {
                // Labels past Q in the last chunk are 0 (a valid label; _unpack) and their results are dropped.
                let n := sub(q, c) // queries in this chunk
                if gt(n, 0x20) { n := 0x20 }
                switch scan
                case 1 {
                    for { let row := rowsStart } lt(row, rowsEnd) { row := add(row, 0x40) } {
                        let word := mload(add(mload(row), c))
                        let w := mload(add(row, 0x20)) // weight << _KEY_SHIFT
                        // 4 passes of 8 queries: a pass's labels are bytes 0..7 of `word`, the tally words of
                        // its queries start at base + 0x20 i; tally[label][j] += weight at + label * 0x400.
                        for { let base := tallyData } lt(base, tallyEnd) { base := add(base, 0x100) } {
                            { let s := add(base, shl(10, byte(0, word))) mstore(s, add(mload(s), w)) }
                            { let s := add(add(base, 0x20), shl(10, byte(1, word))) mstore(s, add(mload(s), w)) }
                            { let s := add(add(base, 0x40), shl(10, byte(2, word))) mstore(s, add(mload(s), w)) }
                            { let s := add(add(base, 0x60), shl(10, byte(3, word))) mstore(s, add(mload(s), w)) }
                            { let s := add(add(base, 0x80), shl(10, byte(4, word))) mstore(s, add(mload(s), w)) }
                            { let s := add(add(base, 0xa0), shl(10, byte(5, word))) mstore(s, add(mload(s), w)) }
                            { let s := add(add(base, 0xc0), shl(10, byte(6, word))) mstore(s, add(mload(s), w)) }
                            { let s := add(add(base, 0xe0), shl(10, byte(7, word))) mstore(s, add(mload(s), w)) }
                            word := shl(64, word)
                        }
                    }
                    // Each query's leader: its K tallies (0x400 apart) from label K-1 down to 0, taking each
                    // tally >= the best so far, so on equal weight the smaller label is the one taken last;
                    // the label is the row of the tally taken last. Two labels a step: for an even K label K-1
                    // is taken first, then label `p` alone, then pairs down to label 0 (p never passes below
                    // `first`, so it cannot wrap around).
                    for { let j := 0 } lt(j, n) { j := add(j, 1) } {
                        let first := add(tallyData, shl(5, j)) // label 0's tally of query j
                        let p := add(first, top)
                        let best := 0
                        let at := p
                        if iszero(and(k, 1)) {
                            best := mload(p)
                            p := sub(p, 0x400) // K >= 2: still >= first
                        }
                        {
                            let t := mload(p)
                            if iszero(lt(t, best)) {
                                best := t
                                at := p
                            }
                        }
                        for { } gt(p, first) { } {
                            let u := sub(p, 0x400)
                            let t := mload(u)
                            if iszero(lt(t, best)) {
                                best := t
                                at := u
                            }
                            p := sub(u, 0x400)
                            t := mload(p)
                            if iszero(lt(t, best)) {
                                best := t
                                at := p
                            }
                        }
                        mstore8(add(out, add(c, j)), shr(10, sub(at, first)))
                    }
                }
                default {
                    for { let row := rowsStart } lt(row, rowsEnd) { row := add(row, 0x40) } {
                        let word := mload(add(mload(row), c))
                        let w := mload(add(row, 0x20)) // weight << _KEY_SHIFT: its low byte is free for the label
                        // 8 passes of 4 queries (bytes 0..3 of `word`; `lead` walks the leader words). For each
                        // label: tally[label][j] += weight; key = (sum << _KEY_SHIFT) | (255 - label);
                        // leader[j] = max(leader[j], key) -- more weight wins, then the smaller label.
                        let lead := leaderData
                        for { let base := tallyData } lt(base, tallyEnd) { base := add(base, 0x80) } {
                            {
                                let label := byte(0, word)
                                let s := add(base, shl(10, label))
                                let t := add(mload(s), w)
                                mstore(s, t)
                                let key := or(t, xor(label, 0xff))
                                if gt(key, mload(lead)) { mstore(lead, key) }
                            }
                            {
                                let label := byte(1, word)
                                let s := add(add(base, 0x20), shl(10, label))
                                let t := add(mload(s), w)
                                mstore(s, t)
                                let key := or(t, xor(label, 0xff))
                                let l := add(lead, 0x20)
                                if gt(key, mload(l)) { mstore(l, key) }
                            }
                            {
                                let label := byte(2, word)
                                let s := add(add(base, 0x40), shl(10, label))
                                let t := add(mload(s), w)
                                mstore(s, t)
                                let key := or(t, xor(label, 0xff))
                                let l := add(lead, 0x40)
                                if gt(key, mload(l)) { mstore(l, key) }
                            }
                            {
                                let label := byte(3, word)
                                let s := add(add(base, 0x60), shl(10, label))
                                let t := add(mload(s), w)
                                mstore(s, t)
                                let key := or(t, xor(label, 0xff))
                                let l := add(lead, 0x60)
                                if gt(key, mload(l)) { mstore(l, key) }
                            }
                            word := shl(32, word)
                            lead := add(lead, 0x80)
                        }
                    }
                    // the chunk's consensus bytes are the leaders' low bytes ^ 0xff
                    for { let j := 0 } lt(j, n) { j := add(j, 1) } {
                        mstore8(add(out, add(c, j)), xor(and(mload(add(leaderData, shl(5, j))), 0xff), 0xff))
                    }
                    calldatacopy(leaderData, calldatasize(), 0x400) // zeros, as below
                }
                // Zero the tally for the next chunk: copying from past the end of calldata yields zeros for
                // 3 gas a word (no memory expansion: the words are allocated).
                calldatacopy(tallyData, calldatasize(), tallyBytes)
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
        IConsensusLearning.Params memory p = r.params;
        uint256 mode = _modeCount(consensusLabels, r.numClasses);
        uint256 agreedWeight = 0;
        uint256 pooled = r.committedPenalty - r.revealedPenalty; // non-revealers
        uint256 burnt = 0;
        if (p.equalWeights || r.auditRevealed) (burnt, pooled) = (pooled, 0);
        for (uint256 j; j < revs.length; ++j) {
            (IConsensusLearning.Status status, uint256 penalty, uint256 weight) =
                _scoreRevealer(roundId, p, committers[revs[j] & 0xffff], revs[j], consensusLabels, mode);
            revs[j] = weight; // reused: the revealer's weight in the pool, 0 unless it agreed
            agreedWeight += weight;
            if (status == IConsensusLearning.Status.Excluded) burnt += penalty;
            else pooled += penalty; // a deviator's (0 under equal weights)
        }
        _settleNonRevealers(roundId, p.nonRevealSlashBps, committers);

        uint256 reward = _forfeitUnrevealedAudit(roundId, r);
        (uint256 pool, uint256 dust) = _poolAndDust(reward, pooled, revs, agreedWeight);
        burnt = _book(roundId, r, reward, pooled, burnt, dust, agreedWeight);

        address pointer =
            SSTORE2.write(r.numClasses <= PACKED_MAX_CLASSES ? _inQueryOrder(consensusLabels) : consensusLabels);
        r.outcome = uint8(Outcome.Finalized);
        r.pool = uint128(pool);
        r.agreedWeight = uint128(agreedWeight);
        r.consensusPointer = pointer;
        emit IConsensusLearning.RoundFinalized(roundId, pointer, pool, agreedWeight, dust);
        _burn(roundId, burnt);
    }

    /// @dev The pool of a round and its rounding dust: `reward` + `pooled` penalties shared pro-rata to
    /// `weights` (each revealer's pool weight, 0 unless it agreed; they sum to `agreedWeight`), each share
    /// rounded down (claim recomputes it the same way), the remainder `dust` (< the number of agreeing
    /// revealers). Nobody agreed: no pool.
    function _poolAndDust(uint256 reward, uint256 pooled, uint256[] memory weights, uint256 agreedWeight)
        private
        pure
        returns (uint256 pool, uint256 dust)
    {
        if (agreedWeight == 0) return (0, 0);
        pool = reward + pooled;
        uint256 paid = 0;
        for (uint256 j; j < weights.length; ++j) {
            paid += pool * weights[j] / agreedWeight;
        }
        dust = pool - paid;
    }

    /// @dev The books of a settled round (finalize, or confirm of a post): the penalties leave the stake
    /// (accounts are debited at claim); if nobody agreed, the reward is refundable and the pooled penalties are
    /// burned, else they join the rewards owed, less the dust. Returns what to burn (`burnt` penalties plus the
    /// pooled ones or the dust).
    function _book(
        uint256 roundId,
        Round storage r,
        uint256 reward,
        uint256 pooled,
        uint256 burnt,
        uint256 dust,
        uint256 agreedWeight
    ) private returns (uint256) {
        _totalStake -= pooled + burnt;
        emit IConsensusLearning.RoundSlashes(roundId, pooled, burnt);
        if (agreedWeight == 0) {
            r.refundable = true;
            _rewardsOwed -= reward;
            _refundsOwed += reward;
            emit IConsensusLearning.RewardRefundable(roundId, reward);
            return burnt + pooled;
        }
        _rewardsOwed = _rewardsOwed + pooled - dust;
        return burnt + dust;
    }

    /// @dev Score one revealer (`x`: its word from _loadRevealers), record it and, if the round's audit was
    /// revealed, move its reputation towards its audit accuracy (0 if Excluded). Returns its status, its penalty and its weight in the pool
    /// (0 unless it agreed).
    function _scoreRevealer(
        uint256 roundId,
        IConsensusLearning.Params memory p,
        address who,
        uint256 x,
        bytes memory consensusLabels,
        uint256 mode
    ) private returns (IConsensusLearning.Status status, uint256 penalty, uint256 weight) {
        (Submission storage s,) = _slot(roundId, who); // a revealer: its slot holds this round
        uint256 matches = _countMatches(x >> 64, consensusLabels);
        uint256 q = consensusLabels.length;
        uint256 hits = (x >> 16) & 0xffff;
        uint256 g = (x >> 40) & 0xffff; // G if the audit was revealed, else 0
        if ((x >> 32) & 1 == 0) {
            status = IConsensusLearning.Status.Excluded;
            penalty = _penalty(s.stake, p.auditSlashBps);
        } else if (_agrees(matches, mode, q, p.agreementBps)) {
            status = IConsensusLearning.Status.Agreed;
            weight = p.equalWeights ? 1 : s.stake;
        } else {
            status = IConsensusLearning.Status.Deviated;
            // The audit outranks agreement: a revealer that passed a revealed audit keeps its stake (it is
            // not paid). Only without an audit is disagreement the evidence, slashed deviatorSlashBps.
            if (g == 0) penalty = _penalty(s.stake, p.deviatorSlashBps); // 0 under equal weights
        }
        // Reputation moves only on the truth: towards the audit accuracy (0 if Excluded) when the audit was
        // revealed. Agreement with the consensus is not evidence (a cartel that holds the consensus would earn
        // trust from it), so without an audit a revealer's reputation stays where it is.
        if (g != 0) {
            _updateReputation(roundId, who, status == IConsensusLearning.Status.Excluded ? 0 : hits * _BPS / g, (x >> 33) & 7);
        }
        s.matches = uint32(matches);
        s.auditHits = uint16(hits);
        s.status = status;
        emit IConsensusLearning.Scored(roundId, who, matches, hits, status);
        if (penalty != 0) emit IConsensusLearning.Slashed(roundId, who, penalty, status);
    }

    /// @dev Number of equal bytes between the Q bytes at memory address `offset` and `b` (Q bytes), 32 at a time.
    function _countMatches(uint256 offset, bytes memory b) private pure returns (uint256 count) {
        assembly ("memory-safe") {
            let len := mload(b)
            let lo7 := 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let bData := add(b, 0x20)
            for { let p := 0 } lt(p, len) { p := add(p, 0x20) } {
                let x := xor(mload(add(offset, p)), mload(add(bData, p)))
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
}
