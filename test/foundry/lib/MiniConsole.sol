// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @dev forge-std's console.log(string, uint256), alone: forge prints these with -vv.
library console {
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory s, uint256 v) internal view {
        bytes memory payload = abi.encodeWithSignature("log(string,uint256)", s, v);
        address c = CONSOLE;
        assembly ("memory-safe") {
            pop(staticcall(gas(), c, add(payload, 32), mload(payload), 0, 0))
        }
    }
}
