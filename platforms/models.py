"""Trading servers, the accounts our clients hold on them, and what we import from them.

The CRM and the trading server must never disagree about who may trade: `TradingAccount.status`
is what the CRM wants (enabled, read-only, disabled, closed), `server_rights` is what the server
last said. A full reconcile compares the two on every sync and records a `ControlFailure` when
they differ. Money figures are copies of the server's (it is the book of record for trading);
movements between wallets and trading accounts are `TradingTransfer`s, each a journal in the
ledger and a balance operation on the server carrying our operation id (docs/adr/0008).

Every row belongs to the entity of its server. The database enforces that an account, a group
mapping and a transfer name a server of their own entity (composite foreign keys, migration
0002), so an entity's clients can get accounts only on that entity's servers.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokercrm.labels import amount_label, number
from brokercrm.money import MONEY
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import EntityOwned


class Rights(models.TextChoices):
    """What a trading server says a login may do (the connectors' three states)."""

    ENABLED = "enabled", "Enabled"
    READ_ONLY = "read_only", "Read-only"
    DISABLED = "disabled", "Disabled"


class AccountType(models.TextChoices):
    STANDARD = "standard", "Live standard"
    PRO = "pro", "Live pro"
    DEMO = "demo", "Demo"


class TradingServer(EntityOwned):
    class Kind(models.TextChoices):
        MT4 = "mt4", "MetaTrader 4"
        MT5 = "mt5", "MetaTrader 5"

    name = models.CharField(max_length=100, help_text="Shown to staff, e.g. EU live (MT5).")
    kind = models.CharField(max_length=3, choices=Kind.choices)
    base_url = models.CharField(max_length=200, help_text="The manager gateway, http(s)://…")
    server_name = models.CharField(max_length=64, help_text="The server's name on the platform.")
    credentials_env = models.CharField(
        max_length=64,
        blank=True,
        help_text="Name of the environment variable that holds the manager credentials. "
        "The credentials themselves are never stored.",
    )
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_id", "name"]
        permissions = [("sync_tradingserver", "Can start a sync of a trading server")]
        constraints = [
            # One platform server belongs to one entity: a login never means two clients.
            models.UniqueConstraint(
                fields=["base_url", "server_name"], name="tradingserver_one_entity_per_server"
            ),
            # The target of the composite foreign keys (migration 0002).
            models.UniqueConstraint(fields=["id", "entity"], name="tradingserver_id_entity"),
            models.CheckConstraint(
                name="tradingserver_credentials_env_name",
                condition=Q(credentials_env="") | Q(credentials_env__regex=r"^[A-Z][A-Z0-9_]*$"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.server_name})"


class GroupMapping(EntityOwned):
    """entity + server + account type + currency → the group new accounts are created in."""

    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="mappings")
    account_type = models.CharField(max_length=10, choices=AccountType.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    group = models.CharField(max_length=64, help_text="The group's name on the server.")
    leverage = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Empty: the group's default leverage."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["entity_id", "server_id", "account_type", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "server", "account_type", "currency"],
                condition=Q(active=True),
                name="groupmapping_one_active_rule",
            ),
            models.CheckConstraint(
                name="groupmapping_leverage_range",
                condition=Q(leverage__isnull=True) | Q(leverage__gte=1, leverage__lte=1000),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_account_type_display()} {self.currency} → {self.group}"


class TradingAccount(EntityOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Being created"
        ENABLED = "enabled", "Enabled"
        READ_ONLY = "read_only", "Read-only"
        DISABLED = "disabled", "Disabled"
        CLOSED = "closed", "Closed"
        FAILED = "failed", "Refused by the server"

    profile = models.ForeignKey(
        "identity.ClientProfile", on_delete=models.PROTECT, related_name="+"
    )
    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="accounts")
    login = models.BigIntegerField(null=True, blank=True)
    # Our reference, put in the login's comment on the server: a create whose answer was lost
    # is found again by it instead of being created twice.
    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account_type = models.CharField(max_length=10, choices=AccountType.choices)
    group = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    leverage = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # What the server last said, and when the CRM's status was last confirmed on the server.
    server_rights = models.CharField(max_length=10, choices=Rights.choices, blank=True)
    rights_pushed_at = models.DateTimeField(null=True, blank=True)
    balance = models.DecimalField(**MONEY, default=0)
    credit = models.DecimalField(**MONEY, default=0)
    equity = models.DecimalField(**MONEY, default=0)
    margin = models.DecimalField(**MONEY, default=0)
    free_margin = models.DecimalField(**MONEY, default=0)
    margin_level = models.DecimalField(**MONEY, null=True, blank=True)
    # When the figures above last changed; the server's last complete pass is on its SyncCursor.
    synced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_desk_field: ClassVar[str] = "profile__desk"

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("fund_tradingaccount", "Can move money between wallets and trading accounts"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["server", "login"], name="tradingaccount_login_unique"),
            models.CheckConstraint(
                name="tradingaccount_login_once_created",
                condition=Q(status__in=["pending", "failed"]) | Q(login__isnull=False),
            ),
            models.UniqueConstraint(fields=["id", "entity"], name="tradingaccount_id_entity"),
        ]
        indexes = [
            models.Index(fields=["profile"], name="tradingaccount_profile"),
            models.Index(fields=["entity", "status"], name="tradingaccount_entity_status"),
        ]

    def __str__(self) -> str:
        return f"{self.login or 'pending'} on {self.server.server_name}"


class TradingTransfer(EntityOwned):
    """Money between a client wallet and a trading account: a journal in the ledger and a
    balance operation on the server with `operation_id`, in the order docs/adr/0008 gives."""

    class Direction(models.TextChoices):
        DEPOSIT = "deposit", "Wallet → trading account"
        WITHDRAWAL = "withdrawal", "Trading account → wallet"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the server"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Refused (nothing moved)"
        REVERSED = "reversed", "Refused by the server (journal reversed)"

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="transfers")
    wallet = models.ForeignKey("wallets.LedgerAccount", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    operation_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    journal = models.ForeignKey(
        "wallets.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal = models.ForeignKey(
        "wallets.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    server_ticket = models.BigIntegerField(null=True, blank=True)
    server_balance_after = models.DecimalField(**MONEY, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=50, blank=True)
    error_detail = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    scope_desk_field: ClassVar[str] = "account__profile__desk"

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "idempotency_key"], name="tradingtransfer_idempotency_key"
            ),
            models.CheckConstraint(
                name="tradingtransfer_amount_positive", condition=Q(amount__gt=0)
            ),
            models.CheckConstraint(
                name="tradingtransfer_completed_has_journal",
                condition=~Q(status="completed") | Q(journal__isnull=False),
            ),
            models.CheckConstraint(
                name="tradingtransfer_reversed_has_reversal",
                condition=~Q(status="reversed") | Q(reversal__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="tradingtransfer_status")]

    def __str__(self) -> str:
        amount = amount_label(self.amount, self.currency)
        return f"{self.get_direction_display()} {number(self)} · {amount} ({self.status})"


class Deal(EntityOwned):
    """A deal imported from a server's history: trades, balance and credit operations."""

    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="+")
    ticket = models.BigIntegerField()
    login = models.BigIntegerField()
    # None for a login the CRM does not know (created on the server by hand, for example).
    account = models.ForeignKey(
        TradingAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    kind = models.CharField(max_length=10)
    entry = models.CharField(max_length=3, blank=True)
    symbol = models.CharField(max_length=32, blank=True)
    volume = models.DecimalField(max_digits=20, decimal_places=4)
    price = models.DecimalField(**MONEY)
    profit = models.DecimalField(**MONEY)
    commission = models.DecimalField(**MONEY)
    swap = models.DecimalField(**MONEY)
    comment = models.CharField(max_length=64, blank=True)
    time = models.DateTimeField()
    position = models.BigIntegerField(null=True, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    # When a deal imported for a login not yet known was linked to its account (the database
    # clock, under the deal-import lock): readers that follow deals by id catch up by it.
    account_linked_at = models.DateTimeField(null=True, blank=True)

    scope_desk_field: ClassVar[str] = "account__profile__desk"

    class Meta:
        ordering = ["-time", "-ticket"]
        constraints = [
            models.UniqueConstraint(fields=["server", "ticket"], name="deal_ticket_unique"),
        ]
        indexes = [
            models.Index(fields=["account", "time"], name="deal_account_time"),
            models.Index(
                fields=["account_linked_at"],
                condition=models.Q(account_linked_at__isnull=False),
                name="deal_linked_late",
            ),
        ]

    def __str__(self) -> str:
        return f"Deal {self.ticket} ({self.kind})"


class TradingEvent(EntityOwned):
    """A margin call or stop-out from a server's event feed, kept against the account."""

    class Kind(models.TextChoices):
        MARGIN_CALL = "margin_call", "Margin call"
        STOP_OUT = "stop_out", "Stop-out"

    server = models.ForeignKey(TradingServer, on_delete=models.PROTECT, related_name="+")
    seq = models.BigIntegerField(help_text="The event's position in the server's feed.")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    login = models.BigIntegerField()
    account = models.ForeignKey(
        TradingAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    payload = models.JSONField(default=dict)
    time = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    scope_desk_field: ClassVar[str] = "account__profile__desk"

    class Meta:
        ordering = ["-time", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["server", "seq"], name="tradingevent_seq_unique"),
        ]
        indexes = [models.Index(fields=["account", "time"], name="tradingevent_account_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.login}"


class SyncCursor(EntityOwned):
    """Where each feed of a server was read up to, and where a full reconcile in progress
    stands: a sync killed halfway continues from here and writes nothing twice."""

    server = models.OneToOneField(TradingServer, on_delete=models.PROTECT, related_name="cursor")
    deals_cursor = models.CharField(max_length=64, blank=True)
    events_cursor = models.CharField(max_length=64, blank=True)
    # Empty when no full reconcile is under way; otherwise the page to continue from.
    accounts_cursor = models.CharField(max_length=64, blank=True)
    accounts_run_started_at = models.DateTimeField(null=True, blank=True)
    # The pass in progress: the highest login its committed pages covered, and the live CRM
    # accounts in that range the server did not list. Only a complete pass may call them
    # missing (see `sync`), so they are kept here page by page, with the cursor.
    accounts_covered_through = models.BigIntegerField(null=True, blank=True)
    accounts_unseen = models.JSONField(default=list, blank=True)
    accounts_synced_at = models.DateTimeField(null=True, blank=True)
    feed_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["server_id"]

    def __str__(self) -> str:
        return f"Sync state of trading server #{self.server_id}"


class ControlFailure(EntityOwned):
    """The CRM and the server disagreed about whether an account may trade. Compliance's
    queue: an account the server let trade while the CRM restricts it was disabled again
    (corrected); the reverse is only flagged, for a person to look at. A live CRM account
    whose login a complete reconcile did not find on its server is flagged too (its CRM status
    is left for a person to decide; transfers to and from it are refused meanwhile) and
    resolved by the first complete reconcile that finds the login again."""

    class Kind(models.TextChoices):
        SERVER_MORE_PERMISSIVE = (
            "server_more_permissive",
            "Enabled on the server while restricted in the CRM",
        )
        SERVER_LESS_PERMISSIVE = (
            "server_less_permissive",
            "Restricted on the server while enabled in the CRM",
        )
        ACCOUNT_MISSING_ON_SERVER = (
            "account_missing_on_server",
            "Live in the CRM but not on the server",
        )

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    account = models.ForeignKey(
        TradingAccount, on_delete=models.PROTECT, related_name="control_failures"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    crm_status = models.CharField(max_length=10)
    server_rights = models.CharField(max_length=10)
    corrected_at = models.DateTimeField(null=True, blank=True)
    correction_error = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    detected_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    seen_count = models.PositiveIntegerField(default=1)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    scope_desk_field: ClassVar[str] = "account__profile__desk"

    class Meta:
        ordering = ["-detected_at"]
        permissions = [("resolve_controlfailure", "Can resolve control failures")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(status="open"),
                name="controlfailure_one_open_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["entity", "status"], name="controlfailure_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (trading account #{self.account_id})"


from .quote_models import TransferQuote  # noqa: E402  (kept apart: this module is long enough)

__all__ = [
    "AccountType",
    "ControlFailure",
    "Deal",
    "GroupMapping",
    "Rights",
    "SyncCursor",
    "TradingAccount",
    "TradingEvent",
    "TradingServer",
    "TradingTransfer",
    "TransferQuote",
]
