"""Submission and the check run: a draft submitted with its questionnaire, then every check
run and what the system may decide (approve, queue for review, escalate) decided."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from brokercrm.errors import Conflict
from brokercrm.gate import require
from identity.selectors import person_get, person_has_duplicate_history, profile_get

from .. import audit_actions as actions
from ..due_diligence import edd_triggers
from ..models import KycCheck, KycFile
from ..questionnaire import questionnaire_validate
from ..risk import DEFAULT_RISK_RULES, risk_score
from .checks import _address_check, _appropriateness_check, _identity_checks, _source_of_funds_check
from .common import _kyc_rules, _rules
from .decisions import _approve
from .person_checks import _liveness_check, _screening_checks

RISK_ORDER = ["low", "medium", "high"]
# Results that do not stop an automatic approval: a warning is recorded for the reviewer and
# the client, not waited on.
NOT_BLOCKING = {KycCheck.Result.PASS, KycCheck.Result.WARN}


def kyc_submit(*, actor: Any, kyc_file: KycFile, questionnaire: Any) -> KycFile:
    """Submit a draft with the client's questionnaire, validated against the KYC rules for the
    client's residence country (QuestionnaireInvalid, code questionnaire_invalid, with every
    problem by field; the file stays a draft). The checks run after commit under the rule-set
    version in force now, which the file records."""
    from ..tasks import kyc_run_checks_task

    require(actor, "kyc.change_kycfile", kyc_file)
    with transaction.atomic():
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file.pk)
        if kyc_file.status != KycFile.Status.DRAFT:
            raise Conflict("Only a draft file can be submitted.", code="kyc_not_draft")
        profile = profile_get(kyc_file.profile_id)
        now = timezone.now()
        rules, reference = _kyc_rules(profile, now)
        kyc_file.questionnaire = questionnaire_validate(questionnaire, rules=rules)
        kyc_file.status = KycFile.Status.SUBMITTED
        kyc_file.submitted_at = now
        kyc_file.kyc_ruleset = reference
        kyc_file.save(
            update_fields=[
                "questionnaire",
                "status",
                "submitted_at",
                "kyc_ruleset",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            action=actions.SUBMITTED,
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={"status": kyc_file.status, "ruleset": reference},
        )
        file_id = kyc_file.pk
        transaction.on_commit(lambda: kyc_run_checks_task.delay(file_id))
    return kyc_file


def kyc_run_checks(*, kyc_file_id: int) -> KycFile:
    """Run every check of a submitted file and decide what the system may decide. Safe to run
    again: checks are unique per input, and a decided file is left alone."""
    with transaction.atomic(durable=True):
        kyc_file = KycFile.objects.unscoped().select_for_update().get(pk=kyc_file_id)
        if kyc_file.status not in (KycFile.Status.SUBMITTED, KycFile.Status.CHECKING):
            return kyc_file
        kyc_file.status = KycFile.Status.CHECKING
        profile = profile_get(kyc_file.profile_id)
        person = person_get(profile.person_id)
        today = timezone.localdate()
        # The rules in force when the client submitted: the questionnaire was validated
        # against them, and a re-run (a vendor's answer) decides under the same version.
        rules, kyc_reference = _kyc_rules(profile, kyc_file.submitted_at)
        risk_rules, _ = _rules(profile.entity, "risk")
        checks = _identity_checks(kyc_file, profile, rules, today)
        checks.append(_address_check(kyc_file, rules, today, kyc_reference))
        checks += [
            check
            for check in (
                _source_of_funds_check(kyc_file, rules, kyc_reference),
                _appropriateness_check(kyc_file, rules, kyc_reference),
            )
            if check is not None
        ]
        screening, near_match, pep = _screening_checks(kyc_file, profile, person)
        checks += screening
        if rules.get("liveness_required"):
            checks.append(_liveness_check(kyc_file))
        risk = risk_score(
            rules=risk_rules or DEFAULT_RISK_RULES,
            residence_country=profile.residence_country,
            nationality=profile.nationality,
            birth_date=profile.birth_date,
            today=today,
            questionnaire=kyc_file.questionnaire,
            pep=pep,
            sanctions_near_match=near_match,
            duplicate_history=person_has_duplicate_history(person),
        )
        kyc_file.risk_score, kyc_file.risk_level, kyc_file.risk_breakdown = (
            risk.score,
            risk.level,
            risk.breakdown,
        )
        kyc_file.kyc_ruleset = kyc_reference
        results = {check.kind: check.result for check in checks}
        triggers = edd_triggers(
            rules=rules,
            questionnaire=kyc_file.questionnaire,
            residence_country=profile.residence_country,
            risk_level=risk.level,
            risk_score=risk.score,
            sanctioned=results.get(KycCheck.Kind.SANCTIONS) == KycCheck.Result.FAIL,
            pep=pep,
            aml_blocked=person.aml_blocked,
        )
        kyc_file.edd_triggers = triggers
        if KycCheck.Result.PENDING in results.values():
            # A vendor will answer by webhook, which runs the checks again; decide then.
            kyc_file.save()
            return kyc_file
        auto_max = rules.get("auto_approve_max_risk", "low")
        if triggers:
            kyc_file.status = KycFile.Status.ESCALATED
        elif (
            all(result in NOT_BLOCKING for result in results.values())
            and auto_max != "none"
            and RISK_ORDER.index(risk.level) <= RISK_ORDER.index(auto_max)
        ):
            _approve(kyc_file, profile, reason="every check passed; low risk", actor=None)
            kyc_file.auto_approved = True
        else:
            kyc_file.status = KycFile.Status.IN_REVIEW
        kyc_file.save()
        audit_record(
            actor=None,
            actor_label="system:kyc_checks",
            action=actions.CHECKS_BY_STATUS[kyc_file.status],
            entity=kyc_file.entity_id,
            obj=kyc_file,
            after={
                "status": kyc_file.status,
                "checks": {k: str(v) for k, v in results.items()},
                "risk": {"score": risk.score, "level": risk.level, "factors": list(risk.breakdown)},
                "edd_triggers": triggers,
                "ruleset": kyc_reference,
            },
        )
    return kyc_file
