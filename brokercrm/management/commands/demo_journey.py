"""A new client's journey through the client API of the running demo, as a brand's own front
end makes it: sign up → verify the e-mail from the link in the outbox → accept the entity's
documents → questionnaire and appropriateness test → passport (a specimen with its MRZ), proof
of address and selfie → submit, decided by the worker with no person in it → deposit by card
on the PSP's hosted page (the payer's steps done here) → open a live account and fund it from
the wallet at a quoted rate → what still blocks a withdrawal (the cooling-off, and until when)
→ the same person signing up again through another brand with another address, and the
neutral answer that gets. Every call is printed with its answer.

`make demo` runs it once everything is up (`DEMO_JOURNEY=0` to skip); `make demo-journey`
runs it again beside a running demo.

The cross-currency withdrawal past the cooling-off is the demo's seeded case (printed by
`make demo`): a live journey cannot wait a day."""

from __future__ import annotations

import datetime
import re
import time
import urllib.parse
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from brokercrm.accounts.demo import demo_password
from brokercrm.frontend import FrontEnd, FrontEndError, Upload
from brokercrm.httpjson import UpstreamError, json_request
from entities.models import Brand
from identity.demo import demo_api_key
from kyc.specimens import SPECIMEN_PDF, readable_passport, render_photo_without_mrz, td3_lines
from payments.simulator.payer import pay

GIVEN = ["Marta", "Jonas", "Elena", "Felix", "Clara", "Tobias", "Lena", "Matteo", "Sara", "Noah"]
FAMILY = ["Keller", "Brandt", "Vogel", "Hartmann", "Lorenz", "Seidel", "Kraus", "Winter"]
PASSWORD = "Harbour-Lantern-2048"  # noqa: S105 (the demo client's, printed)
# What the client types into the front end's forms.
QUESTIONNAIRE = {
    "employment_status": "employed",
    "occupation": "civil engineer",
    "annual_income": "72000",
    "source_of_funds": "salary",
    "expected_deposit": "3000",
    "trading_experience": "some",
}
APPROPRIATENESS = {
    "leverage_effect": "60_percent",
    "margin_close_out": "positions_closed",
    "cfd_ownership": "no",
    "stop_loss_slippage": "no_it_may_slip",
    "overnight_financing": "yes",
    "leveraged_trades_last_year": "1_to_10",
    "finance_background": "no",
}
DECIDED = ("approved", "rejected", "in_review", "edd_required")


class Command(BaseCommand):
    help = "Walk a new client through the client API of the running demo and print each call."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL)
        parser.add_argument("--brand", default="atlas-markets")
        parser.add_argument("--country", default="DE")
        parser.add_argument("--again-through", default="atlasfx-global")
        parser.add_argument("--again-from", default="BR", help="residence on signing up again")
        parser.add_argument("--wait", type=float, default=180, help="seconds per step at most")

    def handle(self, *args: Any, **options: Any) -> None:
        self.wait = options["wait"]
        brand = self._brand(options["brand"])
        other = self._brand(options["again_through"])
        password = demo_password()
        base = options["base_url"].rstrip("/")
        self._web_up(base)
        site = FrontEnd(base, "Api-Key {}.{}".format(*demo_api_key(brand, password)))
        stamp = int(time.time())
        given, family = GIVEN[stamp % len(GIVEN)], FAMILY[(stamp // 10) % len(FAMILY)]
        birth = datetime.date(1980, 1, 1) + datetime.timedelta(days=stamp % 7000)
        email = f"{given}.{family}.{stamp}@example.com".lower()
        person = {
            "given_name": given,
            "family_name": family,
            "birth_date": birth.isoformat(),
            "residence_country": options["country"],
        }
        self._heading(f"{given} {family}, born {birth}, signs up on {brand.name}")
        signed_up = self._call(
            site,
            "POST",
            "registrations",
            {**person, "email": email, "password": PASSWORD, "language": "en"},
            show=("status", "entity", "login"),
        )
        if signed_up.get("status") != "accepted":
            raise CommandError(f"The sign-up was not accepted: {signed_up}")
        token = self._call(
            site, "POST", "client-tokens", {"email": email, "password": PASSWORD}, show=()
        )["token"]
        me = site.as_client(token)

        self._heading("E-mail, documents, KYC")
        link_token = self._mailed_token(email)
        self._call(me, "POST", "me/email-verification/confirm", {"token": link_token})
        for document in self._call(me, "GET", "me/documents", show=()):
            self._call(me, "POST", "me/consents", {"document_id": document["id"]}, show=())
        self._say(f"accepted {document['title']} and the others (version, time and IP kept)")
        kyc = self._call(me, "GET", "me/kyc", show=("status",))
        codes = {step["code"] for step in kyc["steps"]}
        self._call(me, "PUT", "me/kyc/questionnaire", QUESTIONNAIRE, show=())
        if "appropriateness" in codes:
            self._call(me, "PUT", "me/kyc/appropriateness", APPROPRIATENESS, show=())
        passport = self._passport(given, family, birth, stamp)
        self._upload(me, "identity", "passport.png", "image/png", passport, doc_type="passport")
        issued = (timezone.localdate() - datetime.timedelta(days=12)).isoformat()
        self._upload(
            me,
            "proof_of_address",
            "bill.pdf",
            "application/pdf",
            SPECIMEN_PDF,
            doc_type="utility_bill",
            issued_on=issued,
        )
        if "liveness" in codes:
            self._upload(me, "selfie", "selfie.png", "image/png", render_photo_without_mrz())
        self._call(me, "POST", "me/kyc/submit", show=("status",))
        started = time.monotonic()
        kyc = self._until(me, "me/kyc", lambda k: k["status"] in DECIDED)
        self._say(
            f"KYC {kyc['status']} after {time.monotonic() - started:.1f} s "
            "(OCR, screening, risk and liveness by the worker, no person in it)"
        )
        if kyc["status"] != "approved":
            self._say("a reviewer decides next: see Compliance → KYC files in the back office")
            return

        self._heading("Money in, a live account funded")
        currency = brand.entity.base_currency
        deposit = self._call(
            me,
            "POST",
            "me/deposits",
            {
                "amount": "500.00",
                "currency": currency,
                "method": "card",
                "return_url": f"{base}/healthz",
            },
            key=f"journey-dep-{stamp}",
            show=("status", "redirect_url"),
        )
        back = pay(deposit["redirect_url"], card="4242424242424242")
        self._say(f"the payer typed card 4242 4242 4242 4242 and code 123456; back to {back}")
        credited = self._until(
            me, f"me/deposits/{deposit['id']}", lambda d: d["status"] != "awaiting_payer"
        )
        self._say(f"deposit {credited['status']} by the PSP's signed webhook")
        wallet = next(
            w for w in self._call(me, "GET", "me/wallets", show=()) if w["currency"] == currency
        )
        account = self._call(
            me,
            "POST",
            "me/trading-accounts",
            {"type": "standard", "kind": "live", "currency": "USD"},
            key=f"journey-acc-{stamp}",
            show=("login", "status", "currency"),
        )
        account = self._until(me, f"me/trading-accounts/{account['id']}", _enabled)
        quote = self._call(
            me,
            "POST",
            "me/transfers/quote",
            {
                "from": {"kind": "wallet", "id": wallet["id"]},
                "to": {"kind": "trading_account", "id": account["id"]},
                "amount": "200.00",
            },
            show=("rate", "from_amount", "to_amount", "expires_at"),
        )
        self._call(
            me,
            "POST",
            "me/transfers",
            {"quote_id": quote["quote_id"]},
            key=f"journey-fund-{stamp}",
            show=("status",),
        )
        funded = self._call(me, "GET", f"me/trading-accounts/{account['id']}", show=("balance",))
        expected = (Decimal("200") * Decimal(quote["rate"])).quantize(Decimal("0.01"), ROUND_DOWN)
        self._say(f"login {account['login']} holds {funded['balance']} USD (quoted {expected})")
        eligibility = self._call(
            me, "GET", f"me/withdrawals/eligibility?currency={currency}", show=()
        )
        for block in eligibility["blocks"]:
            until = f" until {block['until']}" if block.get("until") else ""
            self._say(f"withdrawal blocked: {block['code']}{until} — {block['detail']}")

        self._heading(
            f"The same person signs up again through {other.name}, from "
            f"{options['again_from']} with another address"
        )
        again = FrontEnd(base, "Api-Key {}.{}".format(*demo_api_key(other, password)))
        try:
            answer = self._call(
                again,
                "POST",
                "registrations",
                {
                    **person,
                    "residence_country": options["again_from"],
                    "email": f"{given}.{stamp}@example.net".lower(),
                    "password": PASSWORD,
                },
                show=("status", "entity", "login"),
            )
        except FrontEndError as refused:
            answer = refused.body
        self._say(
            'the site says only "we are checking your details": nothing about the other '
            "registration; compliance sees the match in the back office (Identity → Duplicate "
            "cases)"
            if answer.get("status") == "pending_review"
            else f"answered {answer.get('status') or answer.get('code')}: linked to the same "
            "person across the group, or refused as the entity's rules say"
        )
        self._heading("Done")
        self._say(f"sign in as {email} / {PASSWORD} to go on; the back office shows it all")

    # --- helpers ------------------------------------------------------------------------------

    def _web_up(self, base: str) -> None:
        """Wait for the API to answer (the demo starts it beside this command)."""
        deadline = time.monotonic() + self.wait
        while True:
            try:
                if json_request("GET", f"{base}/healthz", timeout=5).ok:
                    return
            except UpstreamError:
                pass
            if time.monotonic() > deadline:
                raise CommandError(f"No API answers at {base}: start it with `make demo`.")
            time.sleep(1)

    def _brand(self, code: str) -> Brand:
        brand = Brand.objects.unscoped().select_related("entity").filter(code=code).first()
        if brand is None:
            raise CommandError(f"No brand {code}: run `make demo` first.")
        return brand

    def _heading(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"\n{text}"))

    def _say(self, text: str) -> None:
        self.stdout.write(f"    {text}")

    def _call(
        self,
        api: FrontEnd,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str = "",
        show: tuple[str, ...] = ("status",),
        files: dict[str, Upload] | None = None,
    ) -> Any:
        try:
            answer = api.call(method, path, body, key=key, files=files)
        except FrontEndError as error:
            self.stdout.write(self.style.ERROR(f"  {method} /api/v1/{path} → {error}"))
            raise
        shown = ", ".join(f"{name}={answer.get(name)}" for name in show if isinstance(answer, dict))
        self.stdout.write(f"  {method} /api/v1/{path} → ok {shown}".rstrip())
        return answer

    def _upload(
        self, me: FrontEnd, kind: str, name: str, content_type: str, data: bytes, **fields: str
    ) -> None:
        self._call(
            me,
            "POST",
            "me/kyc/documents",
            {"kind": kind, **fields},
            files={"file": Upload(name, content_type, data)},
            show=("status",),
        )

    def _until(self, me: FrontEnd, path: str, done: Any) -> dict[str, Any]:
        deadline = time.monotonic() + self.wait
        while True:
            answer = me.get(path)
            if done(answer) or time.monotonic() > deadline:
                return answer
            time.sleep(1)

    def _mailed_token(self, email: str) -> str:
        """The token of the verification link mailed to `email` (the demo's outbox)."""
        outbox = Path(getattr(settings, "EMAIL_FILE_PATH", settings.VAR_DIR / "mail"))
        deadline = time.monotonic() + self.wait
        while time.monotonic() < deadline:
            for message in sorted(outbox.glob("*.log"), reverse=True):
                text = message.read_text(errors="replace")
                found = re.search(r"[?&]token=([^\s&]+)", text)
                if f"To: {email}" in text and "email_verification" in text and found:
                    self._say(f"the verification link arrived in {message}")
                    return urllib.parse.unquote(found.group(1))
            time.sleep(1)
        raise CommandError(f"No verification mail to {email} in {outbox}.")

    def _passport(self, given: str, family: str, birth: datetime.date, stamp: int) -> bytes:
        number = f"C{stamp % 100_000_000:08d}"
        expiry = timezone.localdate() + datetime.timedelta(days=5 * 365)
        return readable_passport(
            lambda day: td3_lines(
                surname=family.upper(),
                given_names=given.upper(),
                document_number=number,
                birth_date=birth,
                expiry_date=day,
                sex="F" if given in ("Marta", "Elena", "Clara", "Lena", "Sara") else "M",
                nationality="D",
                issuing_country="D",
            ),
            expiry,
        )[0]


def _enabled(account: dict[str, Any]) -> bool:
    return account["status"] != "pending"
