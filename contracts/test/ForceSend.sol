// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ForceSend (test only)
/// @notice Forces its msg.value into `target` without calling it: selfdestruct in the constructor still
/// moves the balance after EIP-6780 (Cancun) and before it, whatever the target's code says.
contract ForceSend {
    constructor(address payable target) payable {
        selfdestruct(target);
    }
}
