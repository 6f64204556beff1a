"""Demo KYC: the bundled sanctions/PEP sample list, loaded once (loading it screens every client
already registered), and the demo clients' KYC files taken through the real services so each
work queue has something in it: files in review, an enhanced-due-diligence case, a listed
person's escalated file with its screening hit, and an active client whose passport expires
within the month."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from brokercrm.gate import SYSTEM
from identity.demo import demo_profile

from .models import KycFile, ScreeningListVersion
from .services import document_upload, kyc_approve, kyc_file_for, kyc_run_checks, kyc_submit
from .specimens import SPECIMEN_PDF

SCREENING_LIST = Path(__file__).resolve().parent / "data" / "sanctions_demo.jsonl"

QUESTIONNAIRE: dict[str, Any] = {
    "employment_status": "employed",
    "occupation": "software engineer",
    "annual_income": "60000",
    "source_of_funds": "salary",
    "expected_deposit": "2000",
    "trading_experience": "some",
    "appropriateness": {
        "leverage_effect": "60_percent",
        "margin_close_out": "positions_closed",
        "cfd_ownership": "no",
        "stop_loss_slippage": "no_it_may_slip",
        "overnight_financing": "yes",
        "leveraged_trades_last_year": "1_to_10",
        "finance_background": "no",
    },
}

# (entity, e-mail, passport valid for days, questionnaire changes, approved by): the checks
# leave each file in review (no selfie for the liveness check), or escalate it.
DEMO_FILES: list[tuple[str, str, int, dict[str, Any], str]] = [
    ("EU", "camille.laurent@example.fr", 5 * 365, {}, ""),
    # Declares a deposit above the EU's EDD threshold: enhanced due diligence.
    ("EU", "k.nowak@example.pl", 4 * 365, {"expected_deposit": "250000"}, ""),
    # A listed person: the sanctions screening fails and the file is escalated.
    ("EU", "t.gavrilin@example.de", 3 * 365, {}, ""),
    ("UK", "amelia.jones@example.co.uk", 6 * 365, {}, ""),
    # Approved, with a passport that expires in three weeks.
    ("UK", "oliver.smith@example.co.uk", 21, {}, "compliance.uk"),
]


def seed(*, entities: dict[str, Any] | None = None) -> ScreeningListVersion | None:
    """Load the demo list unless a list is loaded, then the demo KYC files (only those still
    drafts). Returns the list version it loaded."""
    from .services import screening_load

    loaded = None
    if not ScreeningListVersion.objects.exists():
        loaded = screening_load(path=SCREENING_LIST)
    if entities:
        seed_files(entities=entities)
    return loaded


def seed_files(*, entities: dict[str, Any], today: date | None = None) -> int:
    """Submit and check the demo clients' files that are still drafts; returns how many."""
    today = today or timezone.localdate()
    done = 0
    for code, email, valid_days, answers, approver in DEMO_FILES:
        profile = demo_profile(entities[code], email)
        kyc_file = kyc_file_for(profile=profile)
        if kyc_file.status != KycFile.Status.DRAFT:
            continue
        document_upload(
            actor=SYSTEM,
            kyc_file=kyc_file,
            kind="identity",
            doc_type="passport",
            data=SPECIMEN_PDF,
            filename="passport.pdf",
            expires_on=today + timedelta(days=valid_days),
        )
        document_upload(
            actor=SYSTEM,
            kyc_file=kyc_file,
            kind="proof_of_address",
            doc_type="utility_bill",
            data=SPECIMEN_PDF + b"\n% bill",
            filename="bill.pdf",
            issued_on=today - timedelta(days=12),
        )
        kyc_submit(actor=SYSTEM, kyc_file=kyc_file, questionnaire={**QUESTIONNAIRE, **answers})
        kyc_file = kyc_run_checks(kyc_file_id=kyc_file.pk)
        reviewer = get_user_model().objects.filter(username=approver).first() if approver else None
        if reviewer is not None and kyc_file.status == KycFile.Status.IN_REVIEW:
            kyc_approve(actor=reviewer, kyc_file=kyc_file, reason="documents checked by hand")
        done += 1
    return done
