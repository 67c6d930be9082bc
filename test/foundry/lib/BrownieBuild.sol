// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsensusLearning} from "../../../interfaces/IConsensusLearning.sol";
import {WithVm} from "./MiniVm.sol";

/// @dev IConsensusLearning and the contract's public constants the suite reads (constants are not part of
/// the interface).
interface IConsensusLearningFull is IConsensusLearning {
    function ABANDON_DELAY() external view returns (uint256);
    function REPUTATION_FLOOR() external view returns (uint256);
}

/// @dev Deploys ConsensusLearning from Brownie's build (`brownie compile`), so that forge never compiles
/// contracts/ (its via-IR compile through solc-js takes minutes) and the suite fuzzes the very bytecode that
/// Brownie tests and `cl-client deploy` ships (cl_client/abi is exported from the same artifact). The
/// constructor takes no arguments and the contract links no library (solady's SSTORE2 is internal).
abstract contract BrownieBuild is WithVm {
    string internal constant ARTIFACT = "build/contracts/ConsensusLearning.json";

    function _deployConsensusLearning() internal returns (IConsensusLearningFull deployed) {
        bytes memory code;
        try vm.getCode(ARTIFACT) returns (bytes memory c) {
            code = c;
        } catch {
            revert("no build/contracts/ConsensusLearning.json: run `brownie compile` first");
        }
        address a;
        assembly ("memory-safe") {
            a := create(0, add(code, 32), mload(code))
        }
        require(a != address(0), "deploying Brownie's ConsensusLearning bytecode failed");
        // the code now running is exactly Brownie's deployedBytecode (the contract has no immutables)
        require(keccak256(a.code) == keccak256(vm.getDeployedCode(ARTIFACT)), "runtime code != Brownie's build");
        deployed = IConsensusLearningFull(a);
    }
}
