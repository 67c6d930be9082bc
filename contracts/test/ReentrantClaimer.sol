// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsensusLearning} from "../../interfaces/IConsensusLearning.sol";

/// @title ReentrantClaimer (test only)
/// @notice A participant / requester contract whose receive() calls back into ConsensusLearning once,
/// trying to be paid twice. The nested call's revert data is recorded (and swallowed, so the outer
/// payment can still succeed); tests check that the nested call failed and nothing was paid twice.
/// In `Reject` mode receive() reverts: a participant / requester that cannot receive ETH, which must still be
/// able to claim (v2 credits free stake) and to take its money out through withdrawTo / claimRefundTo.
contract ReentrantClaimer {
    enum Attack {
        None,
        Claim,
        Withdraw,
        ClaimRefund,
        Reject
    }

    IConsensusLearning public immutable target;
    Attack public attack;
    uint256 public attackRound;
    uint256 public received; // ETH received in total
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes public lastReentryError;

    constructor(IConsensusLearning target_) {
        target = target_;
    }

    function setAttack(Attack attack_, uint256 roundId) external {
        attack = attack_;
        attackRound = roundId;
    }

    function deposit() external payable {
        target.deposit{value: msg.value}();
    }

    function requestWithdrawal(uint256 amount) external {
        target.requestWithdrawal(amount);
    }

    function withdraw() external {
        target.withdraw();
    }

    function withdrawTo(address to) external {
        target.withdrawTo(to);
    }

    function claimRefundTo(uint256 roundId, address to) external {
        target.claimRefundTo(roundId, to);
    }

    function openRound(bytes32 queriesHash, uint256 q, uint256 k, uint256 commitDuration, uint256 revealDuration)
        external
        payable
        returns (uint256)
    {
        return target.openRound{value: msg.value}(queriesHash, "", q, k, commitDuration, revealDuration);
    }

    function commit(uint256 roundId, bytes32 commitment) external {
        target.commit(roundId, commitment);
    }

    function reveal(uint256 roundId, bytes calldata labels, bytes32 salt) external {
        target.reveal(roundId, labels, salt);
    }

    function claim(uint256 roundId) external returns (uint256) {
        return target.claim(roundId);
    }

    function claimRefund(uint256 roundId) external {
        target.claimRefund(roundId);
    }

    receive() external payable {
        received += msg.value;
        Attack a = attack;
        if (a == Attack.None) return;
        if (a == Attack.Reject) revert("ReentrantClaimer: rejecting payment");
        attack = Attack.None; // one nested attempt per payment
        reentryAttempts += 1;
        bool ok;
        bytes memory err;
        if (a == Attack.Claim) {
            (ok, err) = address(target).call(abi.encodeCall(IConsensusLearning.claim, (attackRound)));
        } else if (a == Attack.Withdraw) {
            (ok, err) = address(target).call(abi.encodeCall(IConsensusLearning.withdraw, ()));
        } else {
            (ok, err) = address(target).call(abi.encodeCall(IConsensusLearning.claimRefund, (attackRound)));
        }
        if (ok) reentrySuccesses += 1;
        else lastReentryError = err;
    }
}
