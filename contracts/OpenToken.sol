// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IOpenToken} from "./interfaces/IOpenLedger.sol";

/// The OPEN token of local chains and tests. The real OPEN has a fixed supply; `mint` exists so a
/// devnet can fund its accounts. `Transfer` and `Approval` come from OpenZeppelin's ERC-20, whose
/// signatures are those of IOpenToken, so the interface is implemented without being inherited.
contract OpenToken is ERC20, Ownable {
    constructor(address initialOwner) ERC20("OpenLedger", "OPEN") Ownable(initialOwner) {}

    /// Owner only: local chains and tests.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
