// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrownieBuild, IConsensusLearningFull} from "./lib/BrownieBuild.sol";

/// @dev Sends its value to `to` without a call: selfdestruct in the constructor (EIP-6780 still moves the ETH).
contract ForceSend {
    constructor(address to) payable {
        selfdestruct(payable(to));
    }
}

/// @notice ETH forced in without a call shows up as `surplus`, exactly, and the books still balance.
contract ForcedEthTest is BrownieBuild {
    IConsensusLearningFull internal cl;

    function setUp() public {
        cl = _deployConsensusLearning();
    }

    function _check(uint256 forced) internal view {
        (uint256 stake, uint256 rewards, uint256 refunds, uint256 burned, uint256 surplus) = cl.accounting();
        require(surplus == forced, "surplus != forced ETH");
        require(address(cl).balance == stake + rewards + refunds + burned + surplus, "balance != liabilities");
    }

    function testFuzz_forcedEthIsSurplus(uint96 deposit, uint96 forced) public {
        address a = address(0xA11CE);
        if (deposit != 0) {
            vm.deal(a, deposit);
            vm.prank(a);
            cl.deposit{value: deposit}();
        }
        _check(0);
        vm.deal(address(this), forced);
        new ForceSend{value: forced}(address(cl));
        _check(forced);
        // surplus is nobody's: withdrawing every stake leaves exactly the forced ETH
        if (deposit != 0) {
            vm.prank(a);
            cl.requestWithdrawal(deposit);
            vm.warp(block.timestamp + cl.unbondingDelay());
            vm.prank(a);
            cl.withdraw();
        }
        _check(forced);
        require(address(cl).balance == forced, "balance != forced after withdrawing all");
    }
}
