"""Trading accounts in the back office: each client's accounts with their transfers and events,
opened and funded through the services, disabled and synced by admin actions."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import TabularInline

from brokercrm.admin import ReadableFieldsMixin
from brokercrm.api.base import scoped
from brokercrm.errors import ApplicationError
from brokercrm.reference import CURRENCY_CHOICES
from brokercrm.scoping import scope_for
from identity.selectors import profile_visible
from platforms import services
from platforms.models import (
    AccountType,
    TradingAccount,
    TradingEvent,
    TradingServer,
    TradingTransfer,
)

from .common import ReadOnlyScopedAdmin, _report_errors, _sync


class OpenAccountForm(forms.Form):
    profile_id = forms.IntegerField(label="Client profile id", min_value=1)
    account_type = forms.ChoiceField(choices=AccountType.choices)
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")
    server = forms.ModelChoiceField(
        queryset=TradingServer.objects.none(),
        required=False,
        help_text="Only needed when several servers of the entity offer this type and currency.",
    )
    leverage = forms.IntegerField(required=False, min_value=1, max_value=1000)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["server"].queryset = TradingServer.objects.visible_to(
            user, "platforms.view_tradingserver"
        ).filter(active=True)
        self.fields["idempotency_key"].initial = uuid.uuid4().hex

    def clean_profile_id(self) -> int:
        profile_id = self.cleaned_data["profile_id"]
        self.profile = profile_visible(user=self.user, profile_id=profile_id)
        if self.profile is None:
            raise forms.ValidationError("No client profile with this id that you may see.")
        return profile_id


class FundForm(forms.Form):
    direction = forms.ChoiceField(choices=TradingTransfer.Direction.choices)
    amount = forms.DecimalField(max_digits=18, decimal_places=2, min_value=0.01)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4().hex


class TransferInline(ReadableFieldsMixin, TabularInline):
    model = TradingTransfer
    fields = ["created_at", "direction", "amount", "currency", "status", "server_ticket"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-pk"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The account itself is scoped; its transfers belong to the same entity.
        return TradingTransfer.objects.unscoped()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(TabularInline):
    model = TradingEvent
    fields = ["time", "kind", "payload"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return TradingEvent.objects.unscoped()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TradingAccount)
class TradingAccountAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "login",
        "server",
        "profile",
        "account_type",
        "currency",
        "status",
        "server_rights",
        "balance",
        "equity",
        "margin_level",
        "synced_at",
    ]
    list_filter = ["entity", "server", "status", "account_type"]
    list_select_related = ["server", "profile"]
    plain_numbers = ("margin_level",)
    search_fields = ["=login", "profile__email_canonical", "profile__family_name_latin"]
    readonly_fields = ["money"]
    inlines = [TransferInline, EventInline]
    actions = ["disable_accounts", "sync_servers"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not scope_for(request.user, "platforms.add_tradingaccount").is_empty

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/fund/",
                wrap(self.fund_view),
                name="platforms_tradingaccount_fund",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Money")
    def money(self, account: TradingAccount) -> str:
        if account.login is None:
            return "-"
        url = reverse("admin:platforms_tradingaccount_fund", args=[account.pk])
        return format_html('<a class="button" href="{}">Deposit or withdraw</a>', url)

    def _render(self, request: HttpRequest, title: str, form: forms.Form, submit: str) -> Any:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "submit_label": submit,
        }
        return TemplateResponse(request, "admin/platforms/action_form.html", context)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Opening an account is a service call (KYC, group mapping, the server), not a form
        that writes a row."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OpenAccountForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                account = services.trading_account_open(
                    actor=request.user,
                    profile=form.profile,
                    account_type=data["account_type"],
                    currency=data["currency"],
                    server=data["server"],
                    leverage=data["leverage"],
                    idempotency_key=data["idempotency_key"],
                )
            except ApplicationError as error:
                _report_errors(request, "Not opened", error)
            else:
                messages.success(
                    request,
                    f"Trading account {account.login or '(being created)'} is {account.status}.",
                )
                return HttpResponseRedirect(
                    reverse("admin:platforms_tradingaccount_change", args=[account.pk])
                )
        return self._render(request, "Open a trading account", form, "Open account")

    def fund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        account = self.get_object(request, object_id)
        if not scope_for(request.user, "platforms.fund_tradingaccount").contains(account):
            raise PermissionDenied
        form = FundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                transfer = services.trading_transfer_create(
                    actor=request.user,
                    account=account,
                    direction=data["direction"],
                    amount=data["amount"],
                    idempotency_key=f"admin:{data['idempotency_key']}",
                )
            except ApplicationError as error:
                _report_errors(request, "Not moved", error)
            else:
                messages.success(request, f"{transfer}.")
                return HttpResponseRedirect(
                    reverse("admin:platforms_tradingaccount_change", args=[account.pk])
                )
        return self._render(request, f"Deposit or withdraw: {account}", form, "Move money")

    @admin.action(description="Disable the selected accounts (CRM and server)")
    def disable_accounts(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for account in queryset:
            try:
                services.trading_account_status_set(
                    actor=request.user,
                    account=account,
                    status=TradingAccount.Status.DISABLED,
                    reason="Disabled in the back office",
                )
                done += 1
            except ApplicationError as error:
                _report_errors(request, f"Account {account.login}", error)
        if done:
            messages.success(request, f"{done} account(s) disabled.")

    @admin.action(description="Sync the servers of the selected accounts now")
    def sync_servers(self, request: HttpRequest, queryset: QuerySet) -> None:
        servers = scoped(
            TradingServer.objects.filter(pk__in=queryset.values("server_id")),
            scope_for(request.user, "platforms.view_tradingserver"),
        )
        _sync(request, servers)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if scope_for(request.user, "platforms.change_tradingaccount").is_empty:
            actions.pop("disable_accounts", None)
        if scope_for(request.user, "platforms.sync_tradingserver").is_empty:
            actions.pop("sync_servers", None)
        return actions
