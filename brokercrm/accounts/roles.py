"""Roles as named sets of permissions.

Patterns use fnmatch syntax over "app_label.codename" and are resolved against the
permissions that exist, so a role picks up a new model's permissions once its app adds them.
Oversight roles may be granted group-wide; they hold view permissions only (plus the few
oversight actions listed in OVERSIGHT_ACTIONS), which is what "view across entities, edit
nothing" means in practice.
"""

from __future__ import annotations

from dataclasses import dataclass

# Apps whose rows belong to entities; their permissions are the ones granted per entity.
SCOPED_APPS: tuple[str, ...] = (
    "accounts",
    "entities",
    "identity",
    "kyc",
    "wallets",
    "payments",
    "platforms",
    "ib",
    "support",
    "audit",
)

# Actions an oversight role may take across entities without editing an entity's rows.
# Group compliance decides duplicate cases of every entity: a duplicate spans entities by nature.
# Escalated KYC files (enhanced due diligence) are decided by group compliance.
OVERSIGHT_ACTIONS: frozenset[str] = frozenset(
    {
        "identity.review_duplicatecase",
        "identity.merge_person",
        "kyc.approve_kycfile",
        "kyc.escalate_kycfile",
    }
)


@dataclass(frozen=True)
class RoleDefinition:
    code: str
    name: str
    description: str
    patterns: tuple[str, ...]
    oversight: bool = False


_VIEW_CONFIG = ("entities.view_legalentity", "entities.view_brand", "entities.view_desk")

ROLE_DEFINITIONS: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        "sales",
        "Sales",
        "Works leads and new clients of the desks granted.",
        (
            *_VIEW_CONFIG,
            "identity.view_clientprofile",
            "identity.add_clientprofile",
            "identity.change_clientprofile",
            "support.view_*",
            "support.add_*",
            "platforms.view_tradingaccount",
        ),
    ),
    RoleDefinition(
        "retention",
        "Retention",
        "Looks after funded clients: profiles, wallets, deposits and trading accounts.",
        (
            *_VIEW_CONFIG,
            "identity.view_clientprofile",
            "identity.change_clientprofile",
            "wallets.view_*",
            "payments.view_deposit",
            "payments.view_withdrawal",
            "platforms.view_*",
            "platforms.add_tradingaccount",
            "support.view_*",
            "support.add_*",
            "support.change_*",
        ),
    ),
    RoleDefinition(
        "compliance",
        "Compliance",
        "KYC/AML decisions, duplicate reviews and the audit trail of one entity.",
        (
            *_VIEW_CONFIG,
            "entities.view_*",
            # The client agreement, risk disclosure and privacy notice clients accept.
            "entities.*_legaldocument",
            "identity.*",
            "kyc.*",
            "audit.view_auditevent",
            "wallets.view_*",
            "payments.view_*",
            "payments.approve_withdrawal_compliance",
            "platforms.view_*",
            "platforms.change_tradingaccount",
            "platforms.resolve_controlfailure",
            "platforms.sync_tradingserver",
            "support.view_*",
            "accounts.view_rolegrant",
            "notifications.view_notification",
        ),
    ),
    RoleDefinition(
        "finance",
        "Finance",
        "Wallets, deposits, withdrawals, reconciliation and IB payouts of one entity.",
        (
            *_VIEW_CONFIG,
            "entities.view_*",
            "wallets.*",
            # Everything in payments but the compliance half of a large withdrawal's approval.
            "payments.view_*",
            "payments.add_*",
            "payments.change_*",
            "payments.approve_withdrawal",
            "payments.override_deposit",
            "payments.resolve_reconciliationbreak",
            "identity.view_clientprofile",
            "ib.view_*",
            "ib.run_commissionbatch",
            "platforms.view_*",
            "platforms.fund_tradingaccount",
            "audit.view_auditevent",
        ),
    ),
    RoleDefinition(
        "support",
        "Support",
        "Answers clients: tickets, profile contact details, KYC status without documents.",
        (
            *_VIEW_CONFIG,
            "identity.view_clientprofile",
            # A client who lost a phone: every signed-in session ended at once.
            "identity.end_sessions_clientprofile",
            "support.*",
            "platforms.view_tradingaccount",
            "notifications.view_notification",
        ),
    ),
    RoleDefinition(
        "ib_manager",
        "IB manager",
        "Introducing brokers, referral codes, rebate plans and commission statements.",
        (*_VIEW_CONFIG, "ib.*", "identity.view_clientprofile", "platforms.view_*"),
    ),
    RoleDefinition(
        "entity_admin",
        "Entity administrator",
        "Configures one entity: brands, desks, routing, rule sets and staff grants.",
        (
            "entities.view_*",
            "entities.change_legalentity",
            "entities.*_brand",
            "entities.*_desk",
            "entities.*_countryroute",
            "entities.*_ruleset",
            "entities.*_legaldocument",
            "accounts.*_rolegrant",
            "platforms.view_*",
            "platforms.*_tradingserver",
            "platforms.*_groupmapping",
            "audit.view_auditevent",
        ),
    ),
    RoleDefinition(
        "group_compliance",
        "Group compliance",
        "Oversight: views every entity's clients, KYC files and audit trail, and decides "
        "duplicate cases across entities; edits no entity's rows.",
        (
            "entities.view_*",
            "identity.view_*",
            "identity.review_duplicatecase",
            "identity.merge_person",
            "kyc.approve_kycfile",
            "kyc.view_*",
            "payments.view_*",
            "wallets.view_*",
            "platforms.view_*",
            "ib.view_*",
            "support.view_*",
            "audit.view_*",
            "accounts.view_*",
            "notifications.view_notification",
        ),
        oversight=True,
    ),
    RoleDefinition(
        "group_risk",
        "Group risk",
        "Oversight: views exposure, wallets, payments and trading across entities; edits nothing.",
        (
            "entities.view_*",
            "identity.view_person",
            "identity.view_clientprofile",
            "wallets.view_*",
            "payments.view_*",
            "platforms.view_*",
            "ib.view_*",
            "audit.view_auditevent",
        ),
        oversight=True,
    ),
)

ROLES_BY_CODE = {role.code: role for role in ROLE_DEFINITIONS}


def oversight_allows(perm: str) -> bool:
    codename = perm.partition(".")[2]
    return codename.startswith("view_") or perm in OVERSIGHT_ACTIONS
