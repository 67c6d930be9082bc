// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsensusLearning} from "../../interfaces/IConsensusLearning.sol";
import {IConsensusLearningFull} from "./lib/BrownieBuild.sol";
import {WithVm} from "./lib/MiniVm.sol";

/// @notice Drives ConsensusLearning with a few actors and small rounds, keeping its own books (ghosts).
/// Honest actors (0..HONEST-1) commit to the round's ground truth and always reveal in time (the handler
/// reveals them whenever time is about to pass their reveal deadline). Byzantine actors pick, per round,
/// one of: a labelling shared by the cartel, their own random labels, the truth on the audit queries and the
/// cartel's labels elsewhere (audit-aware), or never revealing. Requesters hide audits of the truth and
/// usually, not always, reveal them. Every call the handler deems valid must succeed: an unexpected revert
/// is counted (`unexpected`) and fails the suite, as does any ghost violation.
contract Handler is WithVm {
    IConsensusLearningFull public immutable cl;

    uint256 public constant ACTORS = 6;
    uint256 public constant HONEST = 4;
    uint256 public constant REQUESTERS = 2;
    uint256 public constant MAX_LIVE_ROUNDS = 4;

    address[] public actors; // participants
    address[] public requesters;
    address public immutable keeper; // finalizes and abandons; collects finalizer fees in its free stake

    // --- rounds as the handler knows them
    struct R {
        uint16 q;
        uint16 k;
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint40 auditDeadline; // == revealDeadline without an audit
        address requester;
        bool audited;
        bool willRevealAudit;
        bool settled;
        bytes auditIdx;
        bytes auditLab;
        bytes32 auditSalt;
        address[] committers;
    }

    uint256[] public roundIds;
    uint256[] internal liveIds; // not settled yet
    mapping(uint256 => R) internal rounds;
    mapping(uint256 => mapping(address => bytes)) internal labelsOf;
    mapping(uint256 => mapping(address => bytes32)) internal saltOf;
    mapping(uint256 => mapping(address => bool)) internal neverReveal;
    mapping(uint256 => mapping(address => bool)) public revealedG;
    mapping(uint256 => mapping(address => bool)) public claimedG;
    mapping(uint256 => bool) internal honestDone; // _warpTo revealed the round's honest committers

    // --- ghosts
    uint256 public ethIn; // deposits + round payments
    uint256 public ethOut; // withdrawals + refunds
    mapping(address => uint256) public deposited;
    mapping(address => uint256) public withdrawn; // ETH that left the contract for this account's stake
    mapping(address => bool) public tainted; // honest actor slashed legitimately (outvoted by the cartel)
    uint256 public doubleClaims; // a second claim or refund that succeeded
    uint256 public honestAgreedLosses; // an honest Agreed (or failed-round revealer) claim that lost stake
    uint256 public honestExcluded; // an honest revealer failed the audit (audit labels are the truth)
    uint256 public honestNonRevealers; // handler sanity: honest actors always reveal
    uint256 public unexpected; // calls the handler deemed valid that reverted
    bytes4 public lastUnexpected;
    uint256 public settledByFinalize;
    uint256 public settledByAbandon;
    uint256 public failedByFinalize;
    mapping(bytes32 => uint256) public calls;
    mapping(uint8 => uint256) public statusCount; // statuses at settlement, all committers
    mapping(bytes32 => uint256) public done; // calls that got past the handler's guards and succeeded

    /// @dev The handler's clock: every call starts at it (forge does not carry block.timestamp over from one
    /// invariant call to the next), and _warpTo advances it.
    uint256 public now_;

    modifier timed() {
        if (now_ != 0 && block.timestamp != now_) vm.warp(now_);
        _;
        now_ = block.timestamp;
    }

    constructor(IConsensusLearningFull cl_) {
        cl = cl_;
        for (uint256 i; i < ACTORS; ++i) {
            address a = address(uint160(0x1000 + i));
            actors.push(a);
            vm.label(a, i < HONEST ? "honest" : "byzantine");
        }
        for (uint256 i; i < REQUESTERS; ++i) {
            requesters.push(address(uint160(0x2000 + i)));
        }
        keeper = address(uint160(0x3000));
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    function _fail(bytes4 sel) internal {
        unexpected += 1;
        lastUnexpected = sel;
    }

    function roundCount() external view returns (uint256) {
        return roundIds.length;
    }

    function committersOf(uint256 id) external view returns (address[] memory) {
        return rounds[id].committers;
    }

    function allAccounts() public view returns (address[] memory all) {
        all = new address[](ACTORS + 1);
        for (uint256 i; i < ACTORS; ++i) all[i] = actors[i];
        all[ACTORS] = keeper;
    }

    function _phase(uint256 id) internal view returns (IConsensusLearning.Phase) {
        return cl.phase(id);
    }

    /// @dev Ground truth of a round: Q labels below K.
    function truth(uint256 id) public view returns (bytes memory t) {
        R storage r = rounds[id];
        t = _labels(keccak256(abi.encode("truth", id)), r.q, r.k);
    }

    function _labels(bytes32 seed, uint256 q, uint256 k) internal pure returns (bytes memory b) {
        b = new bytes(q);
        for (uint256 i; i < q; ++i) {
            b[i] = bytes1(uint8(uint256(keccak256(abi.encode(seed, i))) % k));
        }
    }

    /// @dev Labels (one byte each) as reveal takes them: two per byte, the first in the high nibble, for
    /// K <= 16 (an odd Q's last low nibble 0), else unchanged.
    function _wire(bytes memory b, uint256 k) internal pure returns (bytes memory w) {
        if (k > 16) return b;
        w = new bytes((b.length + 1) / 2);
        for (uint256 i; i < b.length; ++i) {
            w[i / 2] = bytes1(uint8(w[i / 2]) | (uint8(b[i]) << (i % 2 == 0 ? 4 : 0)));
        }
    }

    /// @dev A live round picked by seed, or 0 if there is none.
    function _pick(uint256 seed) internal view returns (uint256) {
        uint256 n = roundIds.length;
        if (n == 0) return 0;
        // prefer recent rounds: the last MAX_LIVE_ROUNDS * 2
        uint256 window = n < 2 * MAX_LIVE_ROUNDS ? n : 2 * MAX_LIVE_ROUNDS;
        return roundIds[n - 1 - seed % window];
    }

    /// @dev A recent round in phase `ph` (scanning from a seeded start), or 0.
    function _pickIn(uint256 seed, IConsensusLearning.Phase ph) internal view returns (uint256) {
        uint256 n = liveIds.length;
        for (uint256 i; i < n; ++i) {
            uint256 id = liveIds[(seed % n + i) % n];
            if (_phase(id) == ph) return id;
        }
        return 0;
    }

    function _live() internal view returns (uint256) {
        return liveIds.length;
    }

    /*//////////////////////////////////////////////////////////////
                                  STAKE
    //////////////////////////////////////////////////////////////*/

    function deposit(uint256 actorSeed, uint256 amount) external timed {
        calls["deposit"]++;
        _deposit(actors[actorSeed % ACTORS], _bound(amount, 0.001 ether, 5 ether));
    }

    function _deposit(address a, uint256 amount) internal {
        vm.deal(a, a.balance + amount);
        vm.prank(a);
        try cl.deposit{value: amount}() {
            deposited[a] += amount;
            ethIn += amount;
            done["deposit"]++;
        } catch {
            _fail(cl.deposit.selector);
        }
    }

    function requestWithdrawal(uint256 actorSeed, uint256 amount) external timed {
        calls["requestWithdrawal"]++;
        address a = actors[actorSeed % ACTORS];
        IConsensusLearning.AccountInfo memory info = cl.getAccount(a);
        if (info.free == 0) return;
        amount = _bound(amount, 1, info.free);
        vm.prank(a);
        try cl.requestWithdrawal(amount) {
            done["requestWithdrawal"]++;
        }
        catch (bytes memory err) {
            if (bytes4(err) != IConsensusLearning.TooManyPendingWithdrawals.selector) _fail(cl.requestWithdrawal.selector);
        }
    }

    function withdraw(uint256 actorSeed) external timed {
        calls["withdraw"]++;
        _withdraw(actors[actorSeed % ACTORS], address(0));
    }

    function withdrawTo(uint256 actorSeed, uint256 toSeed) external timed {
        calls["withdrawTo"]++;
        _withdraw(actors[actorSeed % ACTORS], address(uint160(0x4000 + toSeed % 3)));
    }

    function _withdraw(address a, address to) internal {
        uint256 amount = cl.getAccount(a).withdrawable;
        if (amount == 0) return;
        address dest = to == address(0) ? a : to;
        uint256 before = dest.balance;
        vm.prank(a);
        if (to == address(0)) {
            try cl.withdraw() {} catch { return _fail(cl.withdraw.selector); }
        } else {
            try cl.withdrawTo(to) {} catch { return _fail(cl.withdrawTo.selector); }
        }
        if (dest.balance - before != amount) _fail(bytes4("wamt"));
        withdrawn[a] += amount;
        ethOut += amount;
        done[to == address(0) ? bytes32("withdraw") : bytes32("withdrawTo")]++;
    }

    /*//////////////////////////////////////////////////////////////
                                 ROUNDS
    //////////////////////////////////////////////////////////////*/

    /// @param shape Q, K, durations; @param opts audit?, reveal it?, which entry point, parameters.
    function openRound(uint256 reqSeed, uint256 shape, uint256 opts, uint256 value) external timed {
        calls["openRound"]++;
        if (_live() >= MAX_LIVE_ROUNDS) return;
        address req = requesters[reqSeed % REQUESTERS];
        value = _bound(value, 0, 3 ether);
        bool audited = opts % 3 != 0; // two rounds in three hide an audit
        bool plain = !audited && (opts >> 2) & 1 == 1; // the old 6-argument openRound (defaults, no fee)
        vm.deal(req, req.balance + value);
        // split into helpers so that the harness compiles without via IR (stack depth), which is much faster
        uint256 id = plain ? _openPlain(req, shape, value) : _openWith(req, shape, opts, value, audited);
        if (id == 0) return; // reverted, counted as unexpected
        ethIn += value;
        done[audited ? bytes32("openAudited") : plain ? bytes32("openRound") : bytes32("openRoundWith")]++;
        R storage r = rounds[id];
        (r.q, r.k,,) = _shape(shape);
        r.requester = req;
        if (audited) {
            r.audited = true;
            r.willRevealAudit = (opts >> 120) % 5 != 0; // 1 in 5 requesters never reveal (forfeit)
            r.auditIdx = rounds[0].auditIdx;
            r.auditLab = rounds[0].auditLab;
            r.auditSalt = rounds[0].auditSalt;
            delete rounds[0];
        }
        roundIds.push(id);
        liveIds.push(id);
        IConsensusLearning.RoundInfo memory info = cl.getRound(id);
        r.commitDeadline = info.commitDeadline;
        r.revealDeadline = info.revealDeadline;
        r.auditDeadline = info.auditDeadline;
    }

    /// @dev Q 4..16, K 2..4, commit and reveal durations 100..1,200 s, from a seed.
    function _shape(uint256 shape) internal pure returns (uint16 q, uint16 k, uint32 cd, uint32 rd) {
        q = uint16(_bound(shape, 4, 16));
        k = uint16(_bound(shape >> 8, 2, 4));
        cd = uint32(_bound(shape >> 16, 100, 1200));
        rd = uint32(_bound(shape >> 40, 100, 1200));
    }

    /// @dev The 6-argument openRound; the new round's id, or 0 if it reverted (counted).
    function _openPlain(address req, uint256 shape, uint256 value) internal returns (uint256 id) {
        (uint16 q, uint16 k, uint32 cd, uint32 rd) = _shape(shape);
        vm.prank(req);
        try cl.openRound{value: value}(keccak256(abi.encode(roundIds.length + 1)), "uri", q, k, cd, rd) returns (
            uint256 rid
        ) {
            id = rid;
        } catch {
            _fail(cl.openRound.selector);
        }
    }

    /// @dev openRoundWith, random parameters and fee, an audit if `audited` (kept in rounds[0] until the
    /// caller copies it); the new round's id, or 0 if it reverted (counted).
    function _openWith(address req, uint256 shape, uint256 opts, uint256 value, bool audited)
        internal
        returns (uint256 id)
    {
        IConsensusLearning.RoundSpec memory spec;
        spec.queriesHash = keccak256(abi.encode(roundIds.length + 1));
        (spec.numQueries, spec.numClasses, spec.commitDuration, spec.revealDuration) = _shape(shape);
        spec.finalizerFee = uint96(value * _bound(opts >> 8, 0, 20) / 100);
        spec.params = _params(uint256(keccak256(abi.encode("params", opts))));
        if (audited) _hideAudit(spec, req, opts);
        vm.prank(req);
        try cl.openRoundWith{value: value}(spec, "uri") returns (uint256 rid) {
            id = rid;
        } catch {
            delete rounds[0];
            _fail(cl.openRoundWith.selector);
        }
    }

    /// @dev An audit of G = 1..4 queries (the truth at them) into rounds[0], its commitment into `spec`.
    function _hideAudit(IConsensusLearning.RoundSpec memory spec, address req, uint256 opts) internal {
        R storage pending = rounds[0]; // scratch for the audit, copied by openRound
        uint256 q = spec.numQueries;
        uint256 g = _bound(opts >> 64, 1, q < 4 ? q : 4);
        (pending.auditIdx, pending.auditLab) = _audit(roundIds.length + 1, q, spec.numClasses, g, opts >> 72);
        pending.auditSalt = keccak256(abi.encode("audit salt", opts));
        spec.auditCount = uint16(g);
        spec.auditDuration = uint32(_bound(opts >> 96, 100, 1200));
        spec.auditCommitment =
            cl.auditCommitmentOf(req, spec.queriesHash, pending.auditIdx, pending.auditLab, pending.auditSalt);
    }

    /// @dev Parameters within the default bounds, from a seed.
    function _params(uint256 s) internal view returns (IConsensusLearning.Params memory p) {
        p = cl.defaults();
        if (s & 1 == 0) return p;
        p.quorumBps = uint16(_bound(s >> 1, 1000, 10000));
        p.minRevealers = uint16(_bound(s >> 16, 1, 4));
        p.agreementBps = uint16(_bound(s >> 24, 0, 5000));
        p.auditBoundBps = uint16(_bound(s >> 40, 0, 9000));
        p.auditSlashBps = uint16(_bound(s >> 56, 0, 1000));
        p.equalWeights = (s >> 72) % 4 == 0;
        p.deviatorSlashBps = p.equalWeights ? 0 : uint16(_bound(s >> 80, 0, 2000));
        uint256 floor = p.deviatorSlashBps > p.auditSlashBps ? p.deviatorSlashBps : p.auditSlashBps;
        p.nonRevealSlashBps = uint16(_bound(s >> 96, floor, 2000));
        p.minStake = uint96(_bound(s >> 112, 0.001 ether, 0.05 ether));
        p.crowdBps = uint16(_bound(s >> 208, 0, 10000));
    }

    /// @dev G sorted distinct indices below Q and the truth at them.
    function _audit(uint256 id, uint256 q, uint256 k, uint256 g, uint256 seed)
        internal
        pure
        returns (bytes memory idx, bytes memory lab)
    {
        idx = new bytes(2 * g);
        lab = new bytes(g);
        bytes memory t = _labels(keccak256(abi.encode("truth", id)), q, k);
        // walk 0..Q-1 choosing `need` of the `left` remaining (selection sampling): sorted, distinct
        uint256 need = g;
        uint256 j;
        for (uint256 i; i < q && need > 0; ++i) {
            uint256 left = q - i;
            if (uint256(keccak256(abi.encode(seed, i))) % left < need) {
                idx[2 * j] = bytes1(uint8(i >> 8));
                idx[2 * j + 1] = bytes1(uint8(i));
                lab[j] = t[i];
                ++j;
                --need;
            }
        }
    }

    /// @dev Seats 1..3 actors (from actorSeed on) in one call, so that rounds reach quorum often.
    function commit(uint256 actorSeed, uint256 roundSeed, uint256 mode) external timed {
        calls["commit"]++;
        uint256 id = _pickIn(roundSeed, IConsensusLearning.Phase.Commit);
        if (id == 0) return;
        uint256 n = 1 + (mode >> 128) % 3;
        for (uint256 i; i < n; ++i) {
            _commitOne(id, (actorSeed % ACTORS + i) % ACTORS, uint256(keccak256(abi.encode(mode, i))));
        }
    }

    function _commitOne(uint256 id, uint256 actorSeed, uint256 mode) internal {
        address a = actors[actorSeed];
        R storage r = rounds[id];
        if (cl.getSubmission(id, a).status != IConsensusLearning.Status.None) return;
        // Recycled slots: a commit to `id` needs slot id % SUBMISSION_SLOTS free of other unclaimed rounds.
        // A settled one is claimed first (as cl-client's Gateway.commit does); an unsettled one skips.
        (uint256 held, bool busy) = cl.slotOf(a, id);
        if (busy) {
            _claim(held, a);
            (, busy) = cl.slotOf(a, id);
            if (busy) return;
        }
        uint256 minStake = cl.getRound(id).params.minStake;
        if (cl.getAccount(a).free < minStake) _deposit(a, _bound(mode >> 8, minStake, 3 ether));
        bytes memory labels;
        uint256 isHonest = actorSeed % ACTORS < HONEST ? 1 : 0;
        if (isHonest == 1) {
            labels = truth(id);
        } else {
            uint256 m = mode % 4;
            bytes memory cartel = _labels(keccak256(abi.encode("cartel", id)), r.q, r.k);
            if (m == 0) {
                labels = cartel; // shared labelling
            } else if (m == 1) {
                labels = _labels(keccak256(abi.encode("random", id, a, mode)), r.q, r.k);
            } else if (m == 2) {
                labels = cartel;
                neverReveal[id][a] = true;
            } else {
                labels = cartel; // audit-aware: the truth where the audit is, the cartel's labels elsewhere
                bytes memory t = truth(id);
                for (uint256 i; i < r.auditLab.length; ++i) {
                    uint256 index = (uint256(uint8(r.auditIdx[2 * i])) << 8) | uint8(r.auditIdx[2 * i + 1]);
                    labels[index] = t[index];
                }
            }
        }
        labels = _wire(labels, r.k); // as reveal sends them (and the commitment hashes them)
        bytes32 salt = keccak256(abi.encode("salt", id, a, mode));
        bytes32 c = cl.commitmentOf(id, a, labels, salt);
        vm.prank(a);
        try cl.commit(id, c) {
            labelsOf[id][a] = labels;
            saltOf[id][a] = salt;
            r.committers.push(a);
            done["commit"]++;
        } catch {
            _fail(cl.commit.selector);
        }
    }

    /// @dev With 6 actors no round (maxParticipants >= 16) is ever full, so the contract must refuse.
    function commitReplacing(uint256 actorSeed, uint256 roundSeed, uint256 victimSeed) external timed {
        calls["commitReplacing"]++;
        uint256 id = _pickIn(roundSeed, IConsensusLearning.Phase.Commit);
        if (id == 0) return;
        R storage r = rounds[id];
        if (r.committers.length == 0) return;
        address a = actors[actorSeed % ACTORS];
        address victim = r.committers[victimSeed % r.committers.length];
        if (r.committers.length >= cl.maxParticipants(r.q)) return; // cannot happen here
        vm.prank(a);
        try cl.commitReplacing(id, keccak256("x"), victim) {
            _fail(cl.commitReplacing.selector); // a round that is not full must not evict
        } catch {
            done["commitReplacing refused"]++;
        }
    }

    function reveal(uint256 actorSeed, uint256 roundSeed) external timed {
        calls["reveal"]++;
        uint256 id = _pickIn(roundSeed, IConsensusLearning.Phase.Reveal);
        if (id == 0) return;
        address[] storage cs = rounds[id].committers; // a committer that has not revealed yet, if any
        for (uint256 i; i < cs.length; ++i) {
            address a = cs[(actorSeed % cs.length + i) % cs.length];
            if (!revealedG[id][a] && !neverReveal[id][a]) return _reveal(id, a);
        }
    }

    function _reveal(uint256 id, address a) internal {
        if (labelsOf[id][a].length == 0 || revealedG[id][a] || neverReveal[id][a]) return;
        vm.prank(a);
        try cl.reveal(id, labelsOf[id][a], saltOf[id][a]) {
            revealedG[id][a] = true;
            done["reveal"]++;
        } catch {
            _fail(cl.reveal.selector);
        }
    }

    function revealAudit(uint256 roundSeed) external timed {
        calls["revealAudit"]++;
        uint256 id = _pickIn(roundSeed, IConsensusLearning.Phase.Audit);
        if (id == 0) return;
        R storage r = rounds[id];
        if (!r.willRevealAudit) return;
        vm.prank(r.requester);
        try cl.revealAudit(id, r.auditIdx, r.auditLab, r.auditSalt) {
            done["revealAudit"]++;
        } catch { _fail(cl.revealAudit.selector); }
    }

    function finalize(uint256 roundSeed) external timed {
        calls["finalize"]++;
        uint256 id = _pickIn(roundSeed, IConsensusLearning.Phase.Finalizable);
        if (id == 0) return;
        _finalize(id);
    }

    function _finalize(uint256 id) internal {
        R storage r = rounds[id];
        address[] memory cs = r.committers;
        // insertion sort, ascending
        for (uint256 i = 1; i < cs.length; ++i) {
            address x = cs[i];
            uint256 j = i;
            while (j > 0 && cs[j - 1] > x) {
                cs[j] = cs[j - 1];
                --j;
            }
            cs[j] = x;
        }
        bytes[] memory ls = new bytes[](cs.length);
        for (uint256 i; i < cs.length; ++i) {
            if (revealedG[id][cs[i]]) ls[i] = labelsOf[id][cs[i]];
        }
        vm.prank(keeper);
        try cl.finalize(id, cs, ls) {
            settledByFinalize++;
            if (_phase(id) == IConsensusLearning.Phase.Failed) failedByFinalize++;
            _afterSettle(id);
        } catch {
            _fail(cl.finalize.selector);
        }
    }

    function abandon(uint256 roundSeed) external timed {
        calls["abandon"]++;
        uint256 id = _pickIn(roundSeed, IConsensusLearning.Phase.Finalizable);
        if (id == 0) return;
        if (block.timestamp <= cl.getRound(id).auditDeadline + cl.ABANDON_DELAY()) return;
        _abandon(id);
    }

    function _abandon(uint256 id) internal {
        vm.prank(keeper);
        try cl.abandon(id) {
            settledByAbandon++;
            _afterSettle(id);
        } catch {
            _fail(cl.abandon.selector);
        }
    }

    /// @dev Record what settlement did to honest actors.
    function _afterSettle(uint256 id) internal {
        R storage r = rounds[id];
        r.settled = true;
        for (uint256 i; i < liveIds.length; ++i) {
            if (liveIds[i] == id) {
                liveIds[i] = liveIds[liveIds.length - 1];
                liveIds.pop();
                break;
            }
        }
        for (uint256 i; i < r.committers.length; ++i) {
            address a = r.committers[i];
            IConsensusLearning.Status st = cl.getSubmission(id, a).status;
            statusCount[uint8(st)]++;
            if (!_isHonest(a)) continue;
            if (st == IConsensusLearning.Status.Excluded) honestExcluded++;
            if (st == IConsensusLearning.Status.Committed) honestNonRevealers++;
            // outvoted by the cartel in a round without a revealed audit (with one, a deviator keeps its stake)
            if (st == IConsensusLearning.Status.Deviated && !cl.getRound(id).auditRevealed) tainted[a] = true;
        }
    }

    function _isHonest(address a) internal pure returns (bool) {
        return uint160(a) >= 0x1000 && uint160(a) < 0x1000 + HONEST; // actors[i] = 0x1000 + i
    }

    function claim(uint256 actorSeed, uint256 roundSeed) external timed {
        calls["claim"]++;
        address a = actors[actorSeed % ACTORS];
        uint256 id = _pick(roundSeed); // any round (a second claim must fail) unless one is owed below
        uint256 n = roundIds.length;
        for (uint256 i; i < n && i < 4 * MAX_LIVE_ROUNDS; ++i) {
            uint256 w = n < 4 * MAX_LIVE_ROUNDS ? n : 4 * MAX_LIVE_ROUNDS;
            uint256 c = roundIds[n - 1 - (roundSeed % w + i) % w];
            if (rounds[c].settled && labelsOf[c][a].length != 0 && !claimedG[c][a]) {
                id = c;
                break;
            }
        }
        if (id == 0) return;
        _claim(id, a);
    }

    function _claim(uint256 id, address a) internal {
        IConsensusLearning.Phase ph = _phase(id);
        if (ph != IConsensusLearning.Phase.Finalized && ph != IConsensusLearning.Phase.Failed) return;
        IConsensusLearning.SubmissionInfo memory s = cl.getSubmission(id, a);
        if (s.status == IConsensusLearning.Status.None) return;
        if (claimedG[id][a]) {
            // a second claim must fail
            vm.prank(a);
            try cl.claim(id) {
                doubleClaims++;
            } catch {}
            return;
        }
        uint256 before = cl.getAccount(a).free;
        vm.prank(a);
        try cl.claim(id) returns (uint256) {
            claimedG[id][a] = true;
            done["claim"]++;
        } catch {
            return _fail(cl.claim.selector);
        }
        uint256 gained = cl.getAccount(a).free - before;
        bool keepsStake =
            s.status == IConsensusLearning.Status.Agreed || s.status == IConsensusLearning.Status.Revealed;
        if (_isHonest(a) && keepsStake && gained < s.stake) honestAgreedLosses++;
        // and at once a second claim, which must fail
        vm.prank(a);
        try cl.claim(id) {
            doubleClaims++;
        } catch {}
    }

    function claimRefund(uint256 roundSeed) external timed {
        calls["claimRefund"]++;
        uint256 id = _pick(roundSeed);
        uint256 n = roundIds.length;
        for (uint256 i; i < n && i < 4 * MAX_LIVE_ROUNDS; ++i) {
            uint256 w = n < 4 * MAX_LIVE_ROUNDS ? n : 4 * MAX_LIVE_ROUNDS;
            uint256 c = roundIds[n - 1 - (roundSeed % w + i) % w];
            if (rounds[c].settled && !refundedG[c] && cl.getRound(c).refundable) {
                id = c;
                break;
            }
        }
        if (id == 0) return;
        _refund(id);
    }

    function _refund(uint256 id) internal {
        IConsensusLearning.RoundInfo memory info = cl.getRound(id);
        if (!info.refundable || info.reward == 0) return;
        address req = rounds[id].requester;
        uint256 before = req.balance;
        vm.prank(req);
        try cl.claimRefund(id) {
            uint256 got = req.balance - before;
            if (got != info.reward) _fail(bytes4("ramt"));
            ethOut += got;
            done["claimRefund"]++;
            vm.prank(req);
            try cl.claimRefund(id) {
                doubleClaims++;
            } catch {}
        } catch {
            // already refunded is the only acceptable reason
            if (!refundedG[id]) _fail(cl.claimRefund.selector);
            return;
        }
        if (refundedG[id]) doubleClaims++;
        refundedG[id] = true;
    }

    mapping(uint256 => bool) public refundedG;

    /*//////////////////////////////////////////////////////////////
                                  TIME
    //////////////////////////////////////////////////////////////*/

    function warp(uint256 secs) external timed {
        calls["warp"]++;
        // mostly short steps (within a phase), sometimes long ones (unbonding, abandon)
        secs = secs % 8 == 0 ? _bound(secs >> 3, 1 days, 4 days) : _bound(secs >> 3, 1, 600);
        _warpTo(block.timestamp + secs);
    }

    /// @dev Move time to `t`; honest committers of every round whose reveal window `t` would pass reveal
    /// first (an honest client always reveals in time; half the Byzantine ones do too), and so does an audited
    /// round's requester that means
    /// to reveal its audit, within its audit window (without this, the fuzzer's mostly long or minimal steps
    /// skipped every audit window, and no audit was ever revealed in the short run). Events are taken in time
    /// order, each at its earliest moment (commitDeadline + 1 for reveals, revealDeadline + 1 for the audit),
    /// so time only moves forward.
    function _warpTo(uint256 t) internal {
        while (true) {
            // the earliest pending event before t: (id, kind 1 = reveals, 2 = audit)
            uint256 best;
            uint256 at = type(uint256).max;
            uint256 kind;
            for (uint256 i; i < liveIds.length; ++i) {
                uint256 id = liveIds[i];
                R storage r = rounds[id];
                if (t > r.revealDeadline && block.timestamp <= r.revealDeadline && !_honestRevealed(id)) {
                    uint256 e = block.timestamp > r.commitDeadline ? block.timestamp : uint256(r.commitDeadline) + 1;
                    if (e < at) (best, at, kind) = (id, e, 1);
                }
                if (r.audited && r.willRevealAudit && t > r.auditDeadline && block.timestamp <= r.auditDeadline
                        && !cl.getRound(id).auditRevealed) {
                    uint256 e = block.timestamp > r.revealDeadline ? block.timestamp : uint256(r.revealDeadline) + 1;
                    if (e < at) (best, at, kind) = (id, e, 2);
                }
            }
            if (best == 0) break;
            if (at > block.timestamp) vm.warp(at);
            if (kind == 1) {
                address[] storage cs = rounds[best].committers;
                for (uint256 j; j < cs.length; ++j) {
                    // honest committers always; half the Byzantine ones too (by hash), so that the cartel's
                    // labels reach finalize and the audit (never-revealers stay silent: _reveal skips them)
                    if (_isHonest(cs[j]) || uint256(keccak256(abi.encode("late", best, cs[j]))) % 2 == 0) {
                        _reveal(best, cs[j]);
                    }
                }
                honestDone[best] = true;
            } else {
                R storage r = rounds[best];
                vm.prank(r.requester);
                try cl.revealAudit(best, r.auditIdx, r.auditLab, r.auditSalt) {
                    done["revealAudit"]++;
                } catch { _fail(cl.revealAudit.selector); }
            }
        }
        if (t > block.timestamp) vm.warp(t);
    }

    /// @dev Whether _warpTo already revealed round `id`'s honest committers.
    function _honestRevealed(uint256 id) internal view returns (bool) {
        return honestDone[id];
    }

    /*//////////////////////////////////////////////////////////////
                       END OF A RUN: SETTLE EVERYTHING
    //////////////////////////////////////////////////////////////*/

    /// @dev Not a fuzz target (the test excludes it): past every deadline + ABANDON_DELAY, settle every
    /// round (finalize, or abandon when `useAbandon`), claim every submission and refund, then withdraw all.
    function settleEverything(bool useAbandon) external timed {
        uint256 last = block.timestamp;
        for (uint256 i; i < roundIds.length; ++i) {
            uint256 d = cl.getRound(roundIds[i]).auditDeadline;
            if (d > last) last = d;
        }
        _warpTo(last + cl.ABANDON_DELAY() + 1);
        for (uint256 i; i < roundIds.length; ++i) {
            uint256 id = roundIds[i];
            if (_phase(id) == IConsensusLearning.Phase.Finalizable) {
                if (useAbandon) _abandon(id);
                else _finalize(id);
            }
        }
        for (uint256 i; i < roundIds.length; ++i) {
            uint256 id = roundIds[i];
            R storage r = rounds[id];
            for (uint256 j; j < r.committers.length; ++j) {
                if (!claimedG[id][r.committers[j]]) _claim(id, r.committers[j]);
            }
            _refund(id);
        }
        // withdraw everything: first what is pending, then all free stake
        address[] memory all = allAccounts();
        _warpTo(block.timestamp + cl.unbondingDelay() + 1);
        for (uint256 i; i < all.length; ++i) _withdraw(all[i], address(0));
        for (uint256 i; i < all.length; ++i) {
            uint256 free = cl.getAccount(all[i]).free;
            if (free == 0) continue;
            vm.prank(all[i]);
            try cl.requestWithdrawal(free) {} catch { _fail(cl.requestWithdrawal.selector); }
        }
        _warpTo(block.timestamp + cl.unbondingDelay() + 1);
        for (uint256 i; i < all.length; ++i) _withdraw(all[i], address(0));
    }
}
