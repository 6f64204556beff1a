"""What the verification pages call each step, document type, reason and answer, in the
client's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

STEP_TITLES = {
    "questionnaire": gettext_lazy("About you and your finances"),
    "appropriateness": gettext_lazy("Appropriateness test"),
    "document_identity": gettext_lazy("Identity document"),
    "document_proof_of_address": gettext_lazy("Proof of address"),
    "document_source_of_funds": gettext_lazy("Source of funds"),
    "liveness": gettext_lazy("Selfie or liveness check"),
}
# The upload pages, by document kind, and the step each one completes.
KIND_STEPS = {
    "identity": "document_identity",
    "proof_of_address": "document_proof_of_address",
    "source_of_funds": "document_source_of_funds",
    "selfie": "liveness",
}
KIND_TITLES = {
    "identity": gettext_lazy("Your identity document"),
    "proof_of_address": gettext_lazy("Your proof of address"),
    "source_of_funds": gettext_lazy("Where your money comes from"),
    "selfie": gettext_lazy("A selfie"),
}
REASON_TEXT = {
    "unreadable": gettext_lazy("The document cannot be read: blurred, dark or cut off."),
    "expired": gettext_lazy("The document has expired."),
    "wrong_document": gettext_lazy("This is not a document of the kind asked for."),
    "incomplete": gettext_lazy("Pages or sides are missing."),
    "name_mismatch": gettext_lazy("The name does not match the name you registered with."),
    "address_mismatch": gettext_lazy("The address does not match the address you gave us."),
    "too_old": gettext_lazy("The document is older than we accept."),
    "other": gettext_lazy("See the reviewer's note."),
    "liveness_failed": gettext_lazy("The liveness check did not succeed: please try again."),
    "liveness_timeout": gettext_lazy("The liveness check was not finished in time."),
    "liveness_attempts_exceeded": gettext_lazy(
        "No more attempts are left: submit your details and a reviewer will look at them."
    ),
}
DOCUMENT_TYPES = {
    "passport": gettext_lazy("Passport"),
    "national_id": gettext_lazy("National identity card"),
    "driving_licence": gettext_lazy("Driving licence"),
    "residence_permit": gettext_lazy("Residence permit"),
    "utility_bill": gettext_lazy("Utility bill"),
    "bank_statement": gettext_lazy("Bank statement"),
    "tax_letter": gettext_lazy("Letter from the tax office"),
    "government_letter": gettext_lazy("Government letter"),
    "council_tax_bill": gettext_lazy("Council tax bill"),
    "tenancy_agreement": gettext_lazy("Tenancy agreement"),
    "insurance_statement": gettext_lazy("Insurance statement"),
    "mobile_phone_bill": gettext_lazy("Mobile phone bill"),
    "payslip": gettext_lazy("Payslip"),
    "other": gettext_lazy("Other document"),
}
SIDE_TEXT = {
    "single": gettext_lazy("Page"),
    "front": gettext_lazy("Front"),
    "back": gettext_lazy("Back"),
}
CHOICE_TEXT = {
    "employed": gettext_lazy("Employed"),
    "self_employed": gettext_lazy("Self-employed"),
    "retired": gettext_lazy("Retired"),
    "student": gettext_lazy("Student"),
    "unemployed": gettext_lazy("Not working"),
    "salary": gettext_lazy("Salary"),
    "savings": gettext_lazy("Savings"),
    "business_income": gettext_lazy("Business income"),
    "investments": gettext_lazy("Investments"),
    "pension": gettext_lazy("Pension"),
    "inheritance": gettext_lazy("Inheritance"),
    "property_sale": gettext_lazy("Sale of property"),
    "gift": gettext_lazy("Gift"),
    "other": gettext_lazy("Other"),
    "none": gettext_lazy("None"),
    "some": gettext_lazy("Some"),
    "experienced": gettext_lazy("Experienced"),
}
ANSWER_TEXT = {
    "2_percent": gettext_lazy("About 2%"),
    "60_percent": gettext_lazy("About 60%"),
    "nothing_until_closed": gettext_lazy("Nothing until the position is closed"),
    "positions_closed": gettext_lazy("My positions may be closed"),
    "broker_lends_more": gettext_lazy("The broker lends me more"),
    "nothing": gettext_lazy("Nothing"),
    "no": gettext_lazy("No"),
    "yes": gettext_lazy("Yes"),
    "no_it_may_slip": gettext_lazy("No, the price may slip"),
    "none": gettext_lazy("None"),
    "1_to_10": gettext_lazy("1 to 10"),
    "more_than_10": gettext_lazy("More than 10"),
}
QUESTION_TEXT = {
    "leverage_effect": gettext_lazy(
        "With leverage of 1:30, a 2% price move against your position changes the margin you "
        "put up by about how much?"
    ),
    "margin_close_out": gettext_lazy(
        "What can happen when your equity falls below the margin your positions need?"
    ),
    "cfd_ownership": gettext_lazy("Does a CFD on a share make you an owner of that share?"),
    "stop_loss_slippage": gettext_lazy(
        "In a fast market, is an ordinary stop-loss order certain to close your position at "
        "exactly its price?"
    ),
    "overnight_financing": gettext_lazy(
        "Do you pay a financing charge for keeping a CFD position open overnight?"
    ),
    "leveraged_trades_last_year": gettext_lazy(
        "How many leveraged trades (CFDs, forex, futures, options) have you made in the last "
        "12 months?"
    ),
    "finance_background": gettext_lazy(
        "Have you worked or studied in finance in a way relevant to leveraged products?"
    ),
}
ACCEPTED_FILES = "image/*,application/pdf"


def text_choices(codes: Any, texts: dict[str, Any], empty: bool = True) -> list[tuple[str, Any]]:
    options = [(code, texts.get(code, code.replace("_", " "))) for code in codes]
    return [("", gettext_lazy("Choose…")), *options] if empty else options
