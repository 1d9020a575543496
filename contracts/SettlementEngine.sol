// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IInvoiceRegistry, ISettlementEngine, IStakeManager} from "./interfaces/IOpenLedger.sol";
import {InvoiceRegistry} from "./InvoiceRegistry.sol";

/// Settles invoices in OPEN, real-time (`settle`) or scheduled (`schedule`, then `settleDue`).
/// Settlement takes the protocol tax at the invoice's rate of issuance, credits every share and the
/// holder (role 4, who gets the rest with the rounding dust), and on an SLO breach refunds the
/// penalty to the payer and slashes the provider by the same amount, after the payouts.
contract SettlementEngine is ISettlementEngine, Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct Escrow {
        address payer;
        uint64 settleAt;
        uint256 amount;
    }

    uint16 internal constant BPS = 10_000;
    uint16 public constant MAX_TAX_RATE_BPS = 2_000;
    uint8 internal constant HOLDER_ROLE = 4;
    uint8 internal constant SLO_BREACH = 1;

    IERC20 public immutable token;
    InvoiceRegistry public immutable registry;
    IStakeManager public immutable stakeManager;
    /// Credited the tax; receives slashed OPEN from the StakeManager.
    address private treasuryAccount;
    uint16 public taxRateBps;

    mapping(address account => uint256) public claimable;
    mapping(uint256 invoiceId => Escrow) public escrows;

    error ZeroAddress();
    error TaxRateAboveMax(uint16 bps);
    error InvoiceNotIssued(uint256 invoiceId);
    error OnlyInvoiceCaller(uint256 invoiceId, address sender);
    error SettleAtInPast(uint64 settleAt, uint256 nowSeconds);
    error NothingToClaim(address account);

    constructor(
        address initialOwner,
        IERC20 token_,
        InvoiceRegistry registry_,
        IStakeManager stakeManager_,
        address treasury_,
        uint16 taxRateBps_
    ) Ownable(initialOwner) {
        if (address(token_) == address(0) || address(registry_) == address(0) || address(stakeManager_) == address(0))
        {
            revert ZeroAddress();
        }
        if (treasury_ == address(0)) revert ZeroAddress();
        if (taxRateBps_ > MAX_TAX_RATE_BPS) revert TaxRateAboveMax(taxRateBps_);
        token = token_;
        registry = registry_;
        stakeManager = stakeManager_;
        treasuryAccount = treasury_;
        taxRateBps = taxRateBps_;
        emit TreasuryUpdated(address(0), treasury_);
        emit TaxRateUpdated(0, taxRateBps_);
    }

    function setTaxRate(uint16 bps) external onlyOwner {
        if (bps > MAX_TAX_RATE_BPS) revert TaxRateAboveMax(bps);
        emit TaxRateUpdated(taxRateBps, bps);
        taxRateBps = bps;
    }

    function setTreasury(address treasury) external onlyOwner {
        if (treasury == address(0)) revert ZeroAddress();
        emit TreasuryUpdated(treasuryAccount, treasury);
        treasuryAccount = treasury;
    }

    function treasury() external view returns (address) {
        return treasuryAccount;
    }

    function settle(uint256 invoiceId) external nonReentrant {
        (address caller,, uint256 amount,, uint16 penaltyBps, bool sloMet,) = _issuedInvoice(invoiceId);
        uint256 refund = _refundOf(amount, penaltyBps, sloMet);
        uint256 paid = amount - refund;
        if (paid > 0) token.safeTransferFrom(msg.sender, address(this), paid);
        _settle(invoiceId, msg.sender, paid, refund);
    }

    function schedule(uint256 invoiceId, uint64 settleAt) external nonReentrant {
        (,, uint256 amount,,,,) = _issuedInvoice(invoiceId);
        if (settleAt < block.timestamp) revert SettleAtInPast(settleAt, block.timestamp);
        escrows[invoiceId] = Escrow(msg.sender, settleAt, amount);
        registry.markScheduled(invoiceId);
        if (amount > 0) token.safeTransferFrom(msg.sender, address(this), amount);
        emit SettlementScheduled(invoiceId, msg.sender, settleAt, amount);
    }

    function settleDue(uint256[] calldata invoiceIds) external nonReentrant {
        for (uint256 i; i < invoiceIds.length; ++i) {
            uint256 invoiceId = invoiceIds[i];
            Escrow memory escrow = escrows[invoiceId];
            if (escrow.payer == address(0) || block.timestamp < escrow.settleAt) continue;
            (,,,, uint16 penaltyBps, bool sloMet, InvoiceRegistry.Status status,) = registry.invoices(invoiceId);
            if (status != InvoiceRegistry.Status.Scheduled) continue;
            delete escrows[invoiceId];
            uint256 refund = _refundOf(escrow.amount, penaltyBps, sloMet);
            if (refund > 0) token.safeTransfer(escrow.payer, refund);
            _settle(invoiceId, escrow.payer, escrow.amount - refund, refund);
        }
    }

    function claim() external nonReentrant returns (uint256 amount) {
        amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        token.safeTransfer(msg.sender, amount);
        emit EarningsClaimed(msg.sender, amount);
    }

    /// Requires an `issued` invoice whose caller is msg.sender; returns its stored terms.
    function _issuedInvoice(uint256 invoiceId)
        internal
        view
        returns (address, address, uint256, uint16, uint16, bool, InvoiceRegistry.Status)
    {
        (
            address caller,
            address provider,
            uint256 amount,
            uint16 invoiceTaxRateBps,
            uint16 penaltyBps,
            bool sloMet,
            InvoiceRegistry.Status status,
        ) = registry.invoices(invoiceId);
        if (status != InvoiceRegistry.Status.Issued) revert InvoiceNotIssued(invoiceId);
        if (caller != msg.sender) revert OnlyInvoiceCaller(invoiceId, msg.sender);
        return (caller, provider, amount, invoiceTaxRateBps, penaltyBps, sloMet, status);
    }

    function _refundOf(uint256 amount, uint16 penaltyBps, bool sloMet) internal pure returns (uint256) {
        return sloMet ? 0 : amount * penaltyBps / BPS;
    }

    /// Credits tax, shares and holder from `paid` (already held here), marks the invoice settled,
    /// then slashes the provider by `refund` on an SLO breach.
    function _settle(uint256 invoiceId, address payer, uint256 paid, uint256 refund) internal {
        (, address provider,, uint16 invoiceTaxRateBps,,,,) = registry.invoices(invoiceId);
        uint256 tax = paid * invoiceTaxRateBps / BPS;
        uint256 distributed = paid - tax;
        address holder = registry.ownerOf(invoiceId);
        claimable[treasuryAccount] += tax;
        registry.markSettled(invoiceId);
        emit InvoiceSettled(invoiceId, payer, holder, paid, tax, refund, distributed);

        IInvoiceRegistry.Share[] memory shares = registry.sharesOf(invoiceId);
        uint256 remaining = distributed;
        for (uint256 i; i < shares.length; ++i) {
            uint256 credit = distributed * shares[i].shareBps / BPS;
            remaining -= credit;
            claimable[shares[i].contributor] += credit;
            emit PayoutCredited(invoiceId, shares[i].contributor, shares[i].role, credit);
        }
        claimable[holder] += remaining;
        emit PayoutCredited(invoiceId, holder, HOLDER_ROLE, remaining);

        if (refund > 0) stakeManager.slash(provider, invoiceId, SLO_BREACH, refund, bytes32(0));
    }
}
