"""The IB area, for a client who is an introducing broker with their entity: referral links
(one per code, on every brand of the entity), the clients attributed to me, masked as the
client API shows them, and my commission statement for a period.

The same selectors as the client API's my-IB views (ib/api/views/mine.py, MyIbStatementView).
A client who is no IB gets 404, as `not_an_ib` there.
Each link on the code's own brand comes with its QR code, drawn on the server as inline SVG
(portal.qr)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ib.referred import ib_referral_links, ib_referred_clients, referred_rows
from ib.selectors import ib_partner_of_client, ib_statement, ib_statement_csv

from ..qr import qr_svg
from .common import client_required, money_text, not_found
from .profile import PROFILE_STATUS_TEXT

PAGE_SIZE = 50
# The longest period one statement covers (a page, not a report run).
MAX_PERIOD_DAYS = 366

SOURCE_TEXT = {
    "referral": gettext_lazy("Your referral code"),
    "manager": gettext_lazy("Assigned to you"),
}


class StatementForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", _("The end of the period is before its start."))
            elif (end - start).days >= MAX_PERIOD_DAYS:
                self.add_error(
                    "date_to",
                    _("A statement covers at most %(days)s days.") % {"days": MAX_PERIOD_DAYS},
                )
        return data


def _month_so_far() -> dict[str, dt.date]:
    today = timezone.localdate()
    return {"date_from": today.replace(day=1), "date_to": today}


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of the first day, start of the day after the last) in the site's time zone."""
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def _statement(ib: Any, form: StatementForm) -> dict[str, Any] | None:
    if not form.is_valid():
        return None
    date_from, date_to = _bounds(form.cleaned_data["date_from"], form.cleaned_data["date_to"])
    return ib_statement(ib=ib, date_from=date_from, date_to=date_to)


def _statement_view(statement: dict[str, Any]) -> dict[str, Any]:
    currencies = {row["currency"] for row in statement["lines"]}
    currency = currencies.pop() if len(currencies) == 1 else ""

    def amount(value: Any, code: str) -> str:
        return money_text(value, code) if code else str(value)

    return {
        "lines": [
            {
                "ticket": row["deal_ticket"],
                "login": row["login"],
                "symbol": row["symbol"],
                "at": row["deal_time"],
                "lots": row["lots"],
                "tier": row["tier"],
                "status": row["status"],
                "amount": amount(row["amount"], row["currency"]),
                "paid": amount(row["paid_amount"], row["currency"])
                if row["paid_amount"] is not None
                else "—",
            }
            for row in statement["lines"]
        ],
        "total": amount(statement["totals"]["amount"], currency),
        "paid": amount(statement["totals"]["paid"], currency),
        "ledger": amount(statement["totals"]["ledger"], currency),
    }


def _partner(request: HttpRequest) -> Any:
    profile = request.client.profile
    ib = ib_partner_of_client(entity_id=profile.entity_id, profile_id=profile.pk)
    if ib is None:
        raise not_found()
    return ib


@client_required
def ib_area(request: HttpRequest) -> HttpResponse:
    ib = _partner(request)
    form = StatementForm(request.GET if "date_from" in request.GET else None)
    if not form.is_bound:
        form = StatementForm(_month_so_far())
    statement = _statement(ib, form)
    if statement is not None and request.GET.get("output") == "csv":
        response = HttpResponse(ib_statement_csv(statement), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="ib-statement.csv"'
        return response
    page = Paginator(ib_referred_clients(ib=ib), PAGE_SIZE).get_page(request.GET.get("page"))
    referred = referred_rows(list(page), entity_id=ib.entity_id)
    return render(
        request,
        "portal/ib/ib.html",
        {
            "title": _("Partner area"),
            "links": [{**link, "qr": qr_svg(link["link"])} for link in ib_referral_links(ib=ib)],
            "page": page,
            "referred": [
                {
                    **row,
                    "status_text": PROFILE_STATUS_TEXT.get(row["status"], row["status"]),
                    "source_text": SOURCE_TEXT.get(row["source"], row["source"]),
                }
                for row in referred
            ],
            "form": form,
            "statement": _statement_view(statement) if statement is not None else None,
            "csv_query": urlencode(
                {
                    "date_from": form.cleaned_data["date_from"].isoformat(),
                    "date_to": form.cleaned_data["date_to"].isoformat(),
                    "output": "csv",
                }
            )
            if statement is not None
            else "",
        },
    )
