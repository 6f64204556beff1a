"""The client's history: the movements on their wallets (the ledger's postings), their
deposits and their withdrawals, filtered by type, currency and dates from the address,
paginated, and downloadable as CSV with the same filters."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from brokercrm.reference import CURRENCY_MINOR_UNITS
from payments import selectors as payment_selectors
from wallets.selectors import client_postings

from ..context import entity_wallet_currencies
from .common import client_required, money_text
from .money import DEPOSIT_STATUS_TEXT
from .withdrawals import WITHDRAWAL_STATUS_TEXT

PAGE_SIZE = 25
KINDS = (
    ("movement", gettext_lazy("Wallet movements")),
    ("deposit", gettext_lazy("Deposits")),
    ("withdrawal", gettext_lazy("Withdrawals")),
)
JOURNAL_TEXT = {
    "deposit": gettext_lazy("Deposit"),
    "withdrawal": gettext_lazy("Withdrawal"),
    "transfer": gettext_lazy("Transfer between wallets"),
    "fx_transfer": gettext_lazy("Currency conversion"),
    "hold_posted": gettext_lazy("Withdrawal paid"),
    "platform_transfer": gettext_lazy("Transfer with a trading account"),
    "commission": gettext_lazy("Commission"),
    "adjustment": gettext_lazy("Adjustment"),
    "reversal": gettext_lazy("Reversal"),
}


class HistoryFilter(forms.Form):
    type = forms.ChoiceField(label=gettext_lazy("Type"), required=False)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", _("Everything")), *KINDS]
        self.fields["currency"].choices = [("", _("All currencies"))] + [(c, c) for c in currencies]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("date_from"), data.get("date_to")
        if since and until and since > until:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


@dataclass(frozen=True)
class Row:
    at: datetime
    kind: str
    what: str
    reference: str
    amount: Decimal
    currency: str
    status: str


def _start_of(day: date | None) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


def history_rows(profile: Any, filters: dict[str, Any]) -> list[Row]:
    """The filtered rows, newest first."""
    kind, currency = filters.get("type") or "", filters.get("currency") or ""
    since = _start_of(filters.get("date_from"))
    until_day = filters.get("date_to")
    until = _start_of(until_day + timedelta(days=1)) if until_day else None  # the day inclusive
    scope = {
        "entity_id": profile.entity_id,
        "profile_id": profile.pk,
        "currency": currency,
        "since": since,
        "until": until,
    }
    rows: list[Row] = []
    if kind in ("", "movement"):
        for posting in client_postings(**scope):
            journal = posting.journal
            rows.append(
                Row(
                    journal.created_at,
                    str(KINDS[0][1]),
                    str(JOURNAL_TEXT.get(journal.type, journal.type)),
                    journal.reference,
                    posting.amount,
                    posting.currency,
                    "",
                )
            )
    if kind in ("", "deposit"):
        for deposit in payment_selectors.client_deposits(**scope):
            rows.append(
                Row(
                    deposit.created_at,
                    str(KINDS[1][1]),
                    deposit.method.name,
                    deposit.reference or "",
                    deposit.amount,
                    deposit.currency,
                    str(DEPOSIT_STATUS_TEXT.get(deposit.status, deposit.status)),
                )
            )
    if kind in ("", "withdrawal"):
        for withdrawal in payment_selectors.client_withdrawals(**scope):
            rows.append(
                Row(
                    withdrawal.created_at,
                    str(KINDS[2][1]),
                    _("Paid out in %(currency)s") % {"currency": withdrawal.payout_currency},
                    "",
                    -withdrawal.amount,
                    withdrawal.currency,
                    str(WITHDRAWAL_STATUS_TEXT.get(withdrawal.status, withdrawal.status)),
                )
            )
    rows.sort(key=lambda row: row.at, reverse=True)
    return rows


def places(currency: str) -> int:
    return CURRENCY_MINOR_UNITS.get(currency, 2)


def _csv(rows: list[Row]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="history.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Date"),
            _("Type"),
            _("Description"),
            _("Reference"),
            _("Amount"),
            _("Currency"),
            _("Status"),
        ]
    )
    for row in rows:
        writer.writerow(
            [
                timezone.localtime(row.at).isoformat(timespec="seconds"),
                row.kind,
                row.what,
                row.reference,
                format(row.amount.quantize(Decimal(1).scaleb(-places(row.currency))), "f"),
                row.currency,
                row.status,
            ]
        )
    return response


@client_required
def history(request: HttpRequest) -> HttpResponse:
    profile = request.client.profile
    query = request.GET.copy()
    wanted_csv = query.pop("format", [""])[-1] == "csv"
    query.pop("page", None)
    form = HistoryFilter(query, currencies=entity_wallet_currencies(profile.entity))
    filters = form.cleaned_data if form.is_valid() else {}
    rows = history_rows(profile, filters) if form.is_valid() else []
    if wanted_csv and form.is_valid():
        return _csv(rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/money/history.html",
        {
            "title": _("History"),
            "form": form,
            "page": page,
            "rows": [
                {
                    "at": row.at,
                    "kind": row.kind,
                    "what": row.what,
                    "reference": row.reference,
                    "amount": money_text(row.amount, row.currency),
                    "credit": row.amount > 0,
                    "status": row.status,
                }
                for row in page.object_list
            ],
            "query": query.urlencode(),
        },
    )
