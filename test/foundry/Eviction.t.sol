// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrownieBuild, IConsensusLearningFull} from "./lib/BrownieBuild.sol";

/// @notice commitReplacing needs a full round (maxParticipants(Q) >= 16 seats), which the invariant handler's
/// six actors never fill; this fuzz test fills one at Q = 4096 and checks the books through an eviction,
/// an abandon and the drain.
contract EvictionTest is BrownieBuild {
    IConsensusLearningFull internal cl;

    function setUp() public {
        vm.warp(1_700_000_000);
        cl = _deployConsensusLearning();
    }

    function _balanced() internal view {
        (uint256 stake, uint256 rewards, uint256 refunds, uint256 burned, uint256 surplus) = cl.accounting();
        require(surplus == 0, "surplus");
        require(address(cl).balance == stake + rewards + refunds + burned, "balance != liabilities");
    }

    function testFuzz_evictionKeepsBooks(uint96 extra, uint8 victimSeed) public {
        uint256 id = cl.openRound{value: 1 ether}(keccak256("q"), "uri", 4096, 2, 3600, 3600);
        uint256 n = cl.maxParticipants(4096);
        address[] memory seats = new address[](n);
        for (uint256 i; i < n; ++i) {
            seats[i] = address(uint160(0x5000 + i));
            uint256 amount = 0.01 ether + i * 1 gwei;
            vm.deal(seats[i], amount);
            vm.startPrank(seats[i]);
            cl.deposit{value: amount}();
            cl.commit(id, keccak256(abi.encode(i + 1)));
            vm.stopPrank();
        }
        _balanced();
        address whale = address(0xBEEF);
        uint256 stake = 0.01 ether + n * 1 gwei + (uint256(extra) % 100 ether);
        vm.deal(whale, stake);
        vm.startPrank(whale);
        cl.deposit{value: stake}();
        try cl.commit(id, keccak256("whale")) {
            revert("a full round admitted a commit");
        } catch {}
        address victim = seats[victimSeed % n];
        uint256 victimStake = cl.getSubmission(id, victim).stake;
        cl.commitReplacing(id, keccak256("whale"), victim);
        vm.stopPrank();
        require(cl.getAccount(victim).free == victimStake && cl.getAccount(victim).locked == 0, "victim not unlocked");
        require(cl.getRound(id).commitCount == n, "seat count");
        _balanced();

        // nobody reveals: abandon after the deadlines, everyone claims, everyone withdraws
        vm.warp(cl.getRound(id).auditDeadline + cl.ABANDON_DELAY() + 1);
        cl.abandon(id);
        _balanced();
        for (uint256 i; i < n; ++i) {
            if (seats[i] == victim) continue;
            vm.prank(seats[i]);
            cl.claim(id);
        }
        vm.prank(whale);
        cl.claim(id);
        vm.prank(victim);
        try cl.claim(id) {
            revert("an evicted committer claimed");
        } catch {}
        cl.claimRefund(id);
        _balanced();
        seats[victimSeed % n] = whale; // now every account with stake is in `seats` once, the victim apart
        for (uint256 i; i <= n; ++i) {
            address a = i == n ? victim : seats[i];
            uint256 free = cl.getAccount(a).free;
            vm.prank(a);
            cl.requestWithdrawal(free);
        }
        vm.warp(block.timestamp + cl.unbondingDelay());
        for (uint256 i; i <= n; ++i) {
            vm.prank(i == n ? victim : seats[i]);
            cl.withdraw();
        }
        (uint256 st, uint256 rw, uint256 rf, uint256 burned,) = cl.accounting();
        require(st == 0 && rw == 0 && rf == 0, "owed after draining");
        require(address(cl).balance == burned, "balance != burned");
    }

    receive() external payable {} // the refund of the round this test opened
}
