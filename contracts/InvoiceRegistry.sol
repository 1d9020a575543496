// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IInvoiceRegistry, IStakeManager} from "./interfaces/IOpenLedger.sol";

interface ITaxRateSource {
    function taxRateBps() external view returns (uint16);
}

/// One ERC-721 token per inference ("AI Service Invoice", AINV), minted to the model's provider,
/// transferable as a receivable, groupable into bundles that move as one. IInvoiceRegistry is the
/// ABI this contract matches; it is not inherited because ERC721 declares `Transfer` already.
contract InvoiceRegistry is ERC721, Ownable {
    enum Status {
        None,
        Issued,
        Scheduled,
        Settled,
        Voided
    }

    struct Model {
        address provider;
        uint256 pricePerKToken;
        uint32 sloLatencyMs;
        uint16 penaltyBps;
    }

    /// What settlement needs of an invoice: the terms fixed at issuance.
    struct Invoice {
        address caller;
        address provider;
        uint256 amount;
        uint16 taxRateBps;
        uint16 penaltyBps;
        bool sloMet;
        Status status;
        uint256 bundleId;
    }

    struct Bundle {
        address owner;
        bool active;
        uint256[] members;
    }

    uint16 internal constant BPS = 10_000;
    uint16 internal constant MIN_FEE_MULTIPLIER_BPS = 5_000;
    uint16 internal constant MAX_FEE_MULTIPLIER_BPS = 50_000;
    uint8 internal constant MAX_SHARE_ROLE = 3;
    uint8 internal constant MAX_VOID_REASON = 3;

    IStakeManager public immutable stakeManager;
    address public settlementEngine;
    uint256 public minProviderStake;

    mapping(bytes32 modelId => Model) public models;
    mapping(uint256 invoiceId => Invoice) public invoices;
    mapping(uint256 invoiceId => IInvoiceRegistry.Share[]) internal invoiceShares;
    mapping(uint256 bundleId => Bundle) internal bundles;
    uint256 public lastInvoiceId;
    uint256 public lastBundleId;
    /// Set while a bundle moves its members, the only time a bundled invoice may change hands.
    bool private movingBundle;

    event ModelRegistered(
        bytes32 indexed modelId, address indexed provider, uint256 pricePerKToken, uint32 sloLatencyMs, uint16 penaltyBps
    );
    event ModelTermsUpdated(bytes32 indexed modelId, uint256 pricePerKToken, uint32 sloLatencyMs, uint16 penaltyBps);
    event InvoiceIssued(
        uint256 indexed invoiceId,
        address indexed caller,
        bytes32 indexed modelId,
        address provider,
        bytes32 agentId,
        uint256 amount,
        uint16 feeMultiplierBps,
        uint16 taxRateBps,
        uint256 providerStake,
        uint64 dueAt
    );
    event ServiceMeasured(
        uint256 indexed invoiceId,
        uint32 inputTokens,
        uint32 outputTokens,
        uint32 latencyMs,
        uint32 sloLatencyMs,
        uint16 penaltyBps,
        bool sloMet
    );
    event ProvenanceRecorded(uint256 indexed invoiceId, bytes32 indexed modelVersion, bytes32 trainingLogHash);
    event DatasetUsed(uint256 indexed invoiceId, bytes32 indexed datasetHash, bytes32 indexed datanetId, uint32 version);
    event ShareAssigned(uint256 indexed invoiceId, address indexed contributor, uint8 indexed role, uint16 shareBps);
    event InvoiceVoided(uint256 indexed invoiceId, uint8 reason);
    event BundleCreated(uint256 indexed bundleId, address indexed owner, string name, uint256[] invoiceIds);
    event BundleTransferred(uint256 indexed bundleId, address indexed from, address indexed to);
    event BundleDissolved(uint256 indexed bundleId);

    error ZeroAddress();
    error SettlementEngineAlreadySet();
    error OnlySettlementEngine(address sender);
    error ModelAlreadyRegistered(bytes32 modelId);
    error UnknownModel(bytes32 modelId);
    error PenaltyAboveMax(uint16 penaltyBps);
    error InsufficientProviderStake(uint256 stake, uint256 minimum);
    error OnlyModelProvider(bytes32 modelId, address sender);
    error ZeroCaller();
    error FeeMultiplierOutOfRange(uint16 feeMultiplierBps);
    error InvalidShareRole(uint8 role);
    error SharesExceedTotal(uint256 totalBps);
    error UnknownInvoice(uint256 invoiceId);
    error OnlyInvoiceProvider(uint256 invoiceId, address sender);
    error InvoiceNotIssued(uint256 invoiceId);
    error InvoiceInBundle(uint256 invoiceId, uint256 bundleId);
    error InvalidVoidReason(uint8 reason);
    error EmptyBundle();
    error OnlyInvoiceOwner(uint256 invoiceId, address sender);
    error InvoiceNotBundleable(uint256 invoiceId);
    error UnknownBundle(uint256 bundleId);
    error BundleNotActive(uint256 bundleId);
    error OnlyBundleOwner(uint256 bundleId, address sender);

    constructor(address initialOwner, IStakeManager stakeManager_, uint256 minProviderStake_)
        ERC721("AI Service Invoice", "AINV")
        Ownable(initialOwner)
    {
        if (address(stakeManager_) == address(0)) revert ZeroAddress();
        if (minProviderStake_ == 0) revert InsufficientProviderStake(0, 1);
        stakeManager = stakeManager_;
        minProviderStake = minProviderStake_;
    }

    modifier onlySettlementEngine() {
        if (msg.sender != settlementEngine) revert OnlySettlementEngine(msg.sender);
        _;
    }

    /// Owner only, once: the engine reads the tax rate at issuance and moves invoices' status.
    function setSettlementEngine(address engine) external onlyOwner {
        if (engine == address(0)) revert ZeroAddress();
        if (settlementEngine != address(0)) revert SettlementEngineAlreadySet();
        settlementEngine = engine;
    }

    // ------------------------------------------------------------------ models

    function registerModel(bytes32 modelId, uint256 pricePerKToken, uint32 sloLatencyMs, uint16 penaltyBps) external {
        if (models[modelId].provider != address(0)) revert ModelAlreadyRegistered(modelId);
        if (penaltyBps > BPS) revert PenaltyAboveMax(penaltyBps);
        uint256 stake = stakeManager.stakeOf(msg.sender);
        if (stake < minProviderStake) revert InsufficientProviderStake(stake, minProviderStake);
        models[modelId] = Model(msg.sender, pricePerKToken, sloLatencyMs, penaltyBps);
        emit ModelRegistered(modelId, msg.sender, pricePerKToken, sloLatencyMs, penaltyBps);
    }

    function updateModelTerms(bytes32 modelId, uint256 pricePerKToken, uint32 sloLatencyMs, uint16 penaltyBps)
        external
    {
        Model storage model = models[modelId];
        if (model.provider == address(0)) revert UnknownModel(modelId);
        if (model.provider != msg.sender) revert OnlyModelProvider(modelId, msg.sender);
        if (penaltyBps > BPS) revert PenaltyAboveMax(penaltyBps);
        model.pricePerKToken = pricePerKToken;
        model.sloLatencyMs = sloLatencyMs;
        model.penaltyBps = penaltyBps;
        emit ModelTermsUpdated(modelId, pricePerKToken, sloLatencyMs, penaltyBps);
    }

    // ---------------------------------------------------------------- invoices

    function issue(
        IInvoiceRegistry.ServiceRecord calldata record,
        IInvoiceRegistry.Share[] calldata shares,
        IInvoiceRegistry.DatasetRef[] calldata datasets
    ) external returns (uint256 invoiceId) {
        Model memory model = models[record.modelId];
        if (model.provider == address(0)) revert UnknownModel(record.modelId);
        if (model.provider != msg.sender) revert OnlyModelProvider(record.modelId, msg.sender);
        if (record.caller == address(0)) revert ZeroCaller();
        if (record.feeMultiplierBps < MIN_FEE_MULTIPLIER_BPS || record.feeMultiplierBps > MAX_FEE_MULTIPLIER_BPS) {
            revert FeeMultiplierOutOfRange(record.feeMultiplierBps);
        }
        uint256 totalBps;
        for (uint256 i; i < shares.length; ++i) {
            if (shares[i].role == 0 || shares[i].role > MAX_SHARE_ROLE) revert InvalidShareRole(shares[i].role);
            totalBps += shares[i].shareBps;
        }
        if (totalBps > BPS) revert SharesExceedTotal(totalBps);

        invoiceId = ++lastInvoiceId;
        uint256 amount = (uint256(record.inputTokens) + record.outputTokens) * model.pricePerKToken / 1000
            * record.feeMultiplierBps / BPS;
        uint16 taxRateBps = ITaxRateSource(settlementEngine).taxRateBps();
        bool sloMet = record.latencyMs <= model.sloLatencyMs;
        invoices[invoiceId] =
            Invoice(record.caller, msg.sender, amount, taxRateBps, model.penaltyBps, sloMet, Status.Issued, 0);
        for (uint256 i; i < shares.length; ++i) {
            invoiceShares[invoiceId].push(shares[i]);
        }

        _mint(msg.sender, invoiceId);
        emit InvoiceIssued(
            invoiceId,
            record.caller,
            record.modelId,
            msg.sender,
            record.agentId,
            amount,
            record.feeMultiplierBps,
            taxRateBps,
            stakeManager.stakeOf(msg.sender),
            record.dueAt
        );
        emit ServiceMeasured(
            invoiceId,
            record.inputTokens,
            record.outputTokens,
            record.latencyMs,
            model.sloLatencyMs,
            model.penaltyBps,
            sloMet
        );
        emit ProvenanceRecorded(invoiceId, record.modelVersion, record.trainingLogHash);
        for (uint256 i; i < datasets.length; ++i) {
            emit DatasetUsed(invoiceId, datasets[i].datasetHash, datasets[i].datanetId, datasets[i].version);
        }
        for (uint256 i; i < shares.length; ++i) {
            emit ShareAssigned(invoiceId, shares[i].contributor, shares[i].role, shares[i].shareBps);
        }
    }

    function voidInvoice(uint256 invoiceId, uint8 reason) external {
        Invoice storage invoice = _existing(invoiceId);
        if (invoice.provider != msg.sender) revert OnlyInvoiceProvider(invoiceId, msg.sender);
        if (invoice.status != Status.Issued) revert InvoiceNotIssued(invoiceId);
        if (invoice.bundleId != 0) revert InvoiceInBundle(invoiceId, invoice.bundleId);
        if (reason == 0 || reason > MAX_VOID_REASON) revert InvalidVoidReason(reason);
        invoice.status = Status.Voided;
        emit InvoiceVoided(invoiceId, reason);
    }

    /// Bundled invoices move only with their bundle.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        uint256 bundleId = invoices[tokenId].bundleId;
        if (bundleId != 0 && !movingBundle) revert InvoiceInBundle(tokenId, bundleId);
        return super._update(to, tokenId, auth);
    }

    // ----------------------------------------------------------------- bundles

    function createBundle(string calldata name, uint256[] calldata invoiceIds) external returns (uint256 bundleId) {
        if (invoiceIds.length == 0) revert EmptyBundle();
        bundleId = ++lastBundleId;
        for (uint256 i; i < invoiceIds.length; ++i) {
            uint256 invoiceId = invoiceIds[i];
            Invoice storage invoice = _existing(invoiceId);
            if (_ownerOf(invoiceId) != msg.sender) revert OnlyInvoiceOwner(invoiceId, msg.sender);
            if (invoice.status == Status.Voided || invoice.status == Status.Settled) {
                revert InvoiceNotBundleable(invoiceId);
            }
            if (invoice.bundleId != 0) revert InvoiceInBundle(invoiceId, invoice.bundleId);
            invoice.bundleId = bundleId;
        }
        bundles[bundleId] = Bundle(msg.sender, true, invoiceIds);
        emit BundleCreated(bundleId, msg.sender, name, invoiceIds);
    }

    function transferBundle(uint256 bundleId, address to) external {
        Bundle storage bundle = _activeBundle(bundleId);
        if (to == address(0)) revert ZeroAddress();
        address from = bundle.owner;
        bundle.owner = to;
        movingBundle = true;
        uint256[] storage members = bundle.members;
        for (uint256 i; i < members.length; ++i) {
            _transfer(from, to, members[i]);
        }
        movingBundle = false;
        emit BundleTransferred(bundleId, from, to);
    }

    function dissolveBundle(uint256 bundleId) external {
        Bundle storage bundle = _activeBundle(bundleId);
        bundle.active = false;
        uint256[] storage members = bundle.members;
        for (uint256 i; i < members.length; ++i) {
            invoices[members[i]].bundleId = 0;
        }
        emit BundleDissolved(bundleId);
    }

    function _activeBundle(uint256 bundleId) internal view returns (Bundle storage bundle) {
        bundle = bundles[bundleId];
        if (bundle.owner == address(0)) revert UnknownBundle(bundleId);
        if (!bundle.active) revert BundleNotActive(bundleId);
        if (bundle.owner != msg.sender) revert OnlyBundleOwner(bundleId, msg.sender);
    }

    function bundleOf(uint256 bundleId) external view returns (address owner, bool active, uint256[] memory members) {
        Bundle storage bundle = bundles[bundleId];
        return (bundle.owner, bundle.active, bundle.members);
    }

    // ------------------------------------------------------ settlement engine

    function sharesOf(uint256 invoiceId) external view returns (IInvoiceRegistry.Share[] memory) {
        return invoiceShares[invoiceId];
    }

    function markScheduled(uint256 invoiceId) external onlySettlementEngine {
        invoices[invoiceId].status = Status.Scheduled;
    }

    function markSettled(uint256 invoiceId) external onlySettlementEngine {
        invoices[invoiceId].status = Status.Settled;
    }

    function _existing(uint256 invoiceId) internal view returns (Invoice storage invoice) {
        invoice = invoices[invoiceId];
        if (invoice.status == Status.None) revert UnknownInvoice(invoiceId);
    }
}
