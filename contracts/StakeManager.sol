// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IStakeManager} from "./interfaces/IOpenLedger.sol";

interface ITreasurySource {
    function treasury() external view returns (address);
}

/// Stakes of service providers, withdrawn through unstake requests after a cooldown, and slashed by
/// the settlement engine (SLO breaches) or the owner (governance). A slash takes active stake first,
/// then pending requests oldest first, never more than the staker holds, and sends what it took to
/// the settlement engine's treasury at once.
contract StakeManager is IStakeManager, Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct UnstakeRequest {
        address staker;
        uint256 amountLeft; // requested amount less what slashes took from it
        uint64 unlockAt;
        bool open;
    }

    uint8 internal constant MAX_SLASH_REASON = 5;

    IERC20 public immutable token;
    address public settlementEngine;
    uint64 public cooldown;

    mapping(address staker => uint256) public activeStake;
    mapping(address staker => uint256) public pendingUnstake;
    mapping(uint256 requestId => UnstakeRequest) public unstakeRequests;
    /// Each staker's request ids in creation order; slashes walk it from `firstOpenRequest`.
    mapping(address staker => uint256[]) internal requestQueue;
    mapping(address staker => uint256) internal firstOpenRequest;
    uint256 public lastRequestId;

    error ZeroAmount();
    error ZeroAddress();
    error UnstakeExceedsActiveStake(uint256 requested, uint256 active);
    error OnlyRequestStaker(uint256 requestId);
    error UnstakeRequestClosed(uint256 requestId);
    error CooldownNotElapsed(uint256 requestId, uint64 unlockAt);
    error OnlyOwnerOrSettlementEngine(address sender);
    error InvalidSlashReason(uint8 reason);
    error SettlementEngineAlreadySet();

    constructor(address initialOwner, IERC20 token_, uint64 cooldown_) Ownable(initialOwner) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        cooldown = cooldown_;
        emit CooldownUpdated(0, cooldown_);
    }

    /// Owner only, once: the engine may slash, and its treasury receives slashed OPEN.
    function setSettlementEngine(address engine) external onlyOwner {
        if (engine == address(0)) revert ZeroAddress();
        if (settlementEngine != address(0)) revert SettlementEngineAlreadySet();
        settlementEngine = engine;
    }

    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 total = activeStake[msg.sender] + amount;
        activeStake[msg.sender] = total;
        emit Staked(msg.sender, amount, total);
    }

    function requestUnstake(uint256 amount) external returns (uint256 requestId) {
        if (amount == 0) revert ZeroAmount();
        uint256 active = activeStake[msg.sender];
        if (amount > active) revert UnstakeExceedsActiveStake(amount, active);
        activeStake[msg.sender] = active - amount;
        pendingUnstake[msg.sender] += amount;
        requestId = ++lastRequestId;
        uint64 unlockAt = uint64(block.timestamp) + cooldown;
        unstakeRequests[requestId] = UnstakeRequest(msg.sender, amount, unlockAt, true);
        requestQueue[msg.sender].push(requestId);
        emit UnstakeRequested(msg.sender, requestId, amount, unlockAt);
    }

    function unstake(uint256 requestId) external nonReentrant {
        UnstakeRequest storage request = unstakeRequests[requestId];
        if (request.staker != msg.sender) revert OnlyRequestStaker(requestId);
        if (!request.open) revert UnstakeRequestClosed(requestId);
        if (block.timestamp < request.unlockAt) revert CooldownNotElapsed(requestId, request.unlockAt);
        uint256 amount = request.amountLeft;
        request.open = false;
        request.amountLeft = 0;
        pendingUnstake[msg.sender] -= amount;
        if (amount > 0) token.safeTransfer(msg.sender, amount);
        emit Unstaked(msg.sender, requestId, amount);
    }

    function slash(address staker, uint256 invoiceId, uint8 reason, uint256 amount, bytes32 evidence)
        external
        nonReentrant
    {
        if (msg.sender != owner() && msg.sender != settlementEngine) revert OnlyOwnerOrSettlementEngine(msg.sender);
        if (reason == 0 || reason > MAX_SLASH_REASON) revert InvalidSlashReason(reason);
        if (amount == 0) revert ZeroAmount();

        uint256 active = activeStake[staker];
        uint256 taken = amount < active ? amount : active;
        active -= taken;
        activeStake[staker] = active;
        if (taken < amount) taken += _slashPending(staker, amount - taken);

        if (taken > 0) token.safeTransfer(ITreasurySource(settlementEngine).treasury(), taken);
        emit Slashed(staker, invoiceId, reason, taken, active, evidence);
    }

    /// Takes up to `wanted` from the staker's open requests, oldest first; returns what it took.
    function _slashPending(address staker, uint256 wanted) internal returns (uint256 taken) {
        uint256[] storage queue = requestQueue[staker];
        uint256 index = firstOpenRequest[staker];
        while (taken < wanted && index < queue.length) {
            UnstakeRequest storage request = unstakeRequests[queue[index]];
            uint256 left = request.open ? request.amountLeft : 0;
            uint256 take = wanted - taken < left ? wanted - taken : left;
            request.amountLeft = left - take;
            taken += take;
            if (request.amountLeft == 0) index++;
            else break;
        }
        firstOpenRequest[staker] = index;
        pendingUnstake[staker] -= taken;
    }

    function setCooldown(uint64 seconds_) external onlyOwner {
        emit CooldownUpdated(cooldown, seconds_);
        cooldown = seconds_;
    }

    function stakeOf(address staker) external view returns (uint256) {
        return activeStake[staker];
    }
}
