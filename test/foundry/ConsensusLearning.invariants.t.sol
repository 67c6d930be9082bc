// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsensusLearning} from "../../interfaces/IConsensusLearning.sol";
import {StdInvariant} from "./lib/StdInvariant.sol";
import {BrownieBuild, IConsensusLearningFull} from "./lib/BrownieBuild.sol";
import {Handler} from "./Handler.sol";
import {console} from "./lib/MiniConsole.sol";

/// @notice Invariants of ConsensusLearning under a handler that drives every participant and requester
/// action (docs/fuzzing.md). Runs and depth: foundry.toml ([profile.default] short, [profile.fuzz] long).
/// The contract is Brownie's build, deployed from build/contracts (lib/BrownieBuild.sol).
contract ConsensusLearningInvariants is StdInvariant, BrownieBuild {
    IConsensusLearningFull internal cl;
    Handler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        cl = _deployConsensusLearning();
        handler = new Handler(cl);
        bytes4[] memory sels = new bytes4[](21);
        sels[0] = Handler.deposit.selector;
        sels[1] = Handler.requestWithdrawal.selector;
        sels[2] = Handler.withdraw.selector;
        sels[3] = Handler.withdrawTo.selector;
        sels[4] = Handler.openRound.selector;
        sels[5] = Handler.commit.selector;
        sels[6] = Handler.commitReplacing.selector;
        sels[7] = Handler.reveal.selector;
        sels[8] = Handler.revealAudit.selector;
        sels[9] = Handler.finalize.selector;
        sels[10] = Handler.abandon.selector;
        sels[11] = Handler.claim.selector;
        sels[12] = Handler.claimRefund.selector;
        sels[13] = Handler.warp.selector;
        // commits and reveals weigh more: a round needs several participants to reach quorum
        sels[14] = Handler.commit.selector;
        sels[15] = Handler.commit.selector;
        sels[16] = Handler.commit.selector;
        sels[17] = Handler.reveal.selector;
        sels[18] = Handler.revealAudit.selector;
        sels[19] = Handler.warp.selector; // time must pass often enough for rounds to cross their phases
        sels[20] = Handler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: sels}));
        targetContract(address(handler));
    }

    /// @dev One campaign checks every invariant after every call (forge runs a campaign per invariant_
    /// function, so splitting them would multiply the run time without exploring more states).
    function invariant_all() public view {
        _check_balanceIsLiabilities();
        _check_ghostBooks();
        _check_stakeCoversAccounts();
        _check_noDoubleClaim();
        _check_honestNeverLoses();
        _check_noUnexpectedRevert();
        _check_reputationInBounds();
    }

    function _books() internal view returns (uint256 stake, uint256 rewards, uint256 refunds, uint256 burned, uint256 surplus) {
        return cl.accounting();
    }

    /// balance == totalStake + rewardsOwed + refundsOwed + burned + surplus, with surplus == 0 (no forced ETH).
    function _check_balanceIsLiabilities() internal view {
        (uint256 stake, uint256 rewards, uint256 refunds, uint256 burned, uint256 surplus) = _books();
        require(address(cl).balance == stake + rewards + refunds + burned + surplus, "balance != liabilities");
        require(surplus == 0, "surplus without forced ETH");
    }

    /// The handler's own books: what came in minus what went out is the balance.
    function _check_ghostBooks() internal view {
        require(address(cl).balance == handler.ethIn() - handler.ethOut(), "ghost books");
    }

    /// totalStake is exactly the sum of every account's free + locked + unbonding, less penalties that
    /// settled rounds already took and are not yet debited at claim.
    function _check_stakeCoversAccounts() internal view {
        (uint256 stake,,,,) = _books();
        address[] memory all = handler.allAccounts();
        uint256 sum;
        for (uint256 i; i < all.length; ++i) {
            IConsensusLearning.AccountInfo memory a = cl.getAccount(all[i]);
            sum += a.free + a.locked + a.unbonding;
        }
        require(stake <= sum, "totalStake exceeds the accounts");
    }

    /// No claim or refund ever succeeds twice.
    function _check_noDoubleClaim() internal view {
        require(handler.doubleClaims() == 0, "double claim");
    }

    /// An honest revealer never loses stake when it agreed (or the round failed), is never excluded by an
    /// audit of the truth, and an honest actor never slashed keeps at least what it deposited.
    function _check_honestNeverLoses() internal view {
        require(handler.honestAgreedLosses() == 0, "honest agreed revealer lost stake");
        require(handler.honestExcluded() == 0, "honest revealer excluded by the audit");
        require(handler.honestNonRevealers() == 0, "handler: an honest actor did not reveal");
        for (uint256 i; i < handler.HONEST(); ++i) {
            address a = handler.actors(i);
            if (handler.tainted(a)) continue;
            IConsensusLearning.AccountInfo memory info = cl.getAccount(a);
            require(
                info.free + info.locked + info.unbonding + handler.withdrawn(a) >= handler.deposited(a),
                "honest actor lost stake"
            );
        }
    }

    /// Every account's reputation lies within [REPUTATION_FLOOR, 10000] (REPUTATION_START if never scored).
    function _check_reputationInBounds() internal view {
        address[] memory all = handler.allAccounts();
        uint256 floor = cl.REPUTATION_FLOOR();
        for (uint256 i; i < all.length; ++i) {
            uint256 rep = cl.reputationOf(all[i]);
            require(rep >= floor && rep <= 10_000, "reputation out of bounds");
        }
    }

    /// Every call the handler deemed valid succeeded.
    function _check_noUnexpectedRevert() internal view {
        require(handler.unexpected() == 0, "a valid call reverted");
    }

    /// End of every run: past every deadline + ABANDON_DELAY, every round settles (finalize), every claim
    /// and refund is taken and all stake withdrawn; then nothing is owed and only burned ETH remains.
    function afterInvariant() public virtual {
        handler.settleEverything(false);
        _checkDrained();
    }

    function _checkDrained() internal view {
        _report();
        for (uint256 i; i < handler.roundCount(); ++i) {
            IConsensusLearning.Phase p = cl.phase(handler.roundIds(i));
            require(p == IConsensusLearning.Phase.Finalized || p == IConsensusLearning.Phase.Failed, "stuck round");
        }
        (uint256 stake, uint256 rewards, uint256 refunds, uint256 burned, uint256 surplus) = _books();
        require(handler.unexpected() == 0, "a valid call reverted while settling");
        require(handler.doubleClaims() == 0, "double claim while settling");
        require(handler.honestAgreedLosses() == 0, "honest agreed revealer lost stake");
        require(stake == 0, "stake left after withdrawing everything");
        require(rewards == 0, "rewards owed after claiming everything");
        require(refunds == 0, "refunds owed after refunding everything");
        require(surplus == 0, "surplus");
        require(address(cl).balance == burned, "balance != burned at the end");
        require(handler.ethIn() - handler.ethOut() == burned, "ghost: in - out != burned");
    }

    /// @dev What the run did (shown with -vv): calls that passed the handler's guards and succeeded.
    function _report() internal view {
        string[13] memory names = [
            "deposit", "requestWithdrawal", "withdraw", "withdrawTo", "openRound", "openRoundWith", "openAudited",
            "commit", "commitReplacing refused", "reveal", "revealAudit", "claim", "claimRefund"
        ];
        for (uint256 i; i < names.length; ++i) console.log(names[i], handler.done(bytes32(bytes(names[i]))));
        console.log("rounds", handler.roundCount());
        console.log("settled by finalize", handler.settledByFinalize());
        console.log("  of which Failed", handler.failedByFinalize());
        console.log("settled by abandon", handler.settledByAbandon());
        string[6] memory st = ["None", "Committed (non-revealer)", "Revealed (failed round)", "Agreed", "Deviated", "Excluded"];
        for (uint256 i = 1; i < 6; ++i) console.log(st[i], handler.statusCount(uint8(i)));
        (,,, uint256 burned,) = cl.accounting();
        console.log("burned (wei)", burned);
    }
}

/// @notice The same handler, settling every stale round with abandon() instead of finalize().
contract ConsensusLearningAbandonInvariants is ConsensusLearningInvariants {
    function afterInvariant() public override {
        handler.settleEverything(true);
        _checkDrained();
    }
}
