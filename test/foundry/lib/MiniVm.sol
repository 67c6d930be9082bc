// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @dev The few Foundry cheatcodes this suite uses (a subset of forge-std's Vm interface, same signatures),
/// so that the suite does not compile forge-std's ~1 MB of sources through solc-js.
interface Vm {
    function warp(uint256 newTimestamp) external;
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function label(address account, string calldata newLabel) external;
    function getCode(string calldata artifactPath) external view returns (bytes memory creationBytecode);
    function getDeployedCode(string calldata artifactPath) external view returns (bytes memory runtimeBytecode);
}

abstract contract WithVm {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
}
