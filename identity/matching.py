"""The match engine: from a registration to candidates, scores and one outcome.

Candidates come only from the match index (one indexed query on HMAC digests, never a scan of
persons). Each candidate is scored field by field; the fields add up to one confidence, and the
per-field evidence is stored with the decision so a reviewer sees why.

Outcomes:
- auto_link: very high confidence *and* the gates hold (a strong identifier in common, names
  that agree, the same birth date): the registration joins the existing person;
- review: enough evidence, or a strong identifier or device in common (a shared phone in a
  household is worth a human look, never a link; IP addresses alone never raise anything);
- block: a candidate with review-level evidence carries an AML block;
- new: nothing close.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from rapidfuzz import fuzz

from .crypto import blind_index
from .models import ClientProfile, DistinctPair, MatchKey, Person
from .normalize import name_key, name_tokens, phonetic, phonetic_key

Kind = MatchKey.Kind
STRONG_KINDS = frozenset({Kind.EMAIL, Kind.PHONE, Kind.DOCUMENT, Kind.TAX})
WEAK_KINDS = frozenset({Kind.DEVICE, Kind.IP, Kind.SUBNET})
# Weak keys (shared NAT addresses, family devices) can point at many persons: cap them.
WEAK_CANDIDATE_LIMIT = 20
CANDIDATE_LIMIT = 10

DEFAULT_CONFIG: dict[str, Any] = {
    "auto_link": 0.65,
    "review": 0.35,
    "name_gate": 0.85,
    "weights": {
        "document": 0.5,
        "document_differs": -0.15,
        "tax": 0.5,
        "tax_differs": -0.15,
        "name": 0.25,
        "name_differs": -0.2,
        "birth_date": 0.15,
        "birth_date_swapped": 0.08,
        "birth_date_differs": -0.25,
        "email": 0.3,
        "email_verified_bonus": 0.05,
        "phone": 0.3,
        "device": 0.05,
        "ip": 0.03,
        "subnet": 0.01,
    },
}


def match_config() -> dict[str, Any]:
    configured = getattr(settings, "IDENTITY_MATCH", {}) or {}
    weights = {**DEFAULT_CONFIG["weights"], **configured.get("weights", {})}
    return {**DEFAULT_CONFIG, **configured, "weights": weights}


@dataclass(frozen=True)
class DocumentValue:
    doc_type: str
    issuing_country: str
    number: str  # normalised

    @property
    def key_value(self) -> str:
        return f"{self.issuing_country}:{self.number}"


@dataclass
class Probe:
    """A registration's identifying values, normalised (see identity.normalize)."""

    given_name: str
    family_name: str
    birth_date: date
    birth_date_keys: list[str]  # the date, plus its day/month-swapped twin when there is one
    email: str | None = None
    phone: str | None = None
    documents: list[DocumentValue] = field(default_factory=list)
    tax_ids: list[str] = field(default_factory=list)  # "CC:compact"
    device: str | None = None
    ip: str | None = None
    subnet: str | None = None
    nationality: str = ""

    @property
    def tokens(self) -> list[str]:
        return name_tokens(self.given_name, self.family_name)

    def key_values(self, *, probing: bool) -> list[tuple[str, str]]:
        """(kind, value) pairs. Stored keys use the birth date as given; probes also try the
        swapped date, so a day/month mix-up on either side is found."""
        dates = self.birth_date_keys if probing else self.birth_date_keys[:1]
        full = name_key(self.given_name, self.family_name)
        sounds = phonetic_key(self.given_name, self.family_name)
        family_sound = phonetic_key(self.family_name)
        values: list[tuple[str, str]] = []
        for day in dates:
            values += [
                (Kind.NAME_DOB, f"{full}|{day}"),
                (Kind.PHONETIC_DOB, f"{sounds}|{day}"),
                (Kind.FAMILY_DOB, f"{family_sound}|{day}"),
            ]
        if self.email:
            values.append((Kind.EMAIL, self.email))
        if self.phone:
            values.append((Kind.PHONE, self.phone))
        values += [(Kind.DOCUMENT, doc.key_value) for doc in self.documents]
        values += [(Kind.TAX, tax) for tax in self.tax_ids]
        if self.device:
            values.append((Kind.DEVICE, self.device))
        if self.ip:
            values.append((Kind.IP, self.ip))
        if self.subnet:
            values.append((Kind.SUBNET, self.subnet))
        return values

    def digests(self, *, probing: bool) -> list[tuple[str, bytes]]:
        return [
            (kind, blind_index(kind, value)) for kind, value in self.key_values(probing=probing)
        ]


@dataclass
class CandidateScore:
    person_id: int
    confidence: float
    evidence: dict[str, dict[str, Any]]
    strong_shared: bool
    auto_link_gates: bool
    aml_blocked: bool
    raw_total: float = 0.0
    # A shared strong identifier or device is worth a reviewer's look whatever the score says.
    review_trigger: bool = False

    def explanation(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "confidence": round(self.confidence, 4),
            "fields": self.evidence,
            "strong_identifier_shared": self.strong_shared,
        }


@dataclass
class MatchResult:
    outcome: str  # "new" | "auto_link" | "review" | "block"
    best: CandidateScore | None
    candidates: list[CandidateScore]
    config: dict[str, Any]

    @property
    def confidence(self) -> Decimal:
        return Decimal(str(round(self.best.confidence, 4))) if self.best else Decimal(0)

    def explanation(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "thresholds": {k: self.config[k] for k in ("auto_link", "review", "name_gate")},
            "candidates": [candidate.explanation() for candidate in self.candidates[:5]],
        }


class _Evidence:
    """Points per field, with the sentence a reviewer reads."""

    def __init__(self) -> None:
        self.fields: dict[str, dict[str, Any]] = {}
        self.total = 0.0

    def add(self, name: str, points: float, detail: str) -> None:
        self.total += points
        self.fields[name] = {"points": round(points, 4), "detail": detail}

    def points(self, name: str) -> float:
        return self.fields.get(name, {"points": 0.0})["points"]


def candidate_hits(probe: Probe) -> dict[int, set[str]]:
    """Persons sharing at least one key with the probe, with the kinds they share."""
    digests = probe.digests(probing=True)
    strong_or_name = [digest for kind, digest in digests if kind not in WEAK_KINDS]
    weak = [digest for kind, digest in digests if kind in WEAK_KINDS]
    hits: dict[int, set[str]] = defaultdict(set)
    for person_id, kind in MatchKey.objects.filter(digest__in=strong_or_name).values_list(
        "person_id", "kind"
    ):
        hits[person_id].add(kind)
    if weak:
        rows = MatchKey.objects.filter(digest__in=weak).values_list("person_id", "kind")[
            :WEAK_CANDIDATE_LIMIT
        ]
        for person_id, kind in rows:
            hits[person_id].add(kind)
    return hits


# Particles are shared by unrelated families ("de la", "van der", "al-"), so agreeing on them
# says nothing; they are left out of the similarity when a name has other words.
NAME_PARTICLES = frozenset(
    {
        "al", "el", "ben", "bin", "ibn", "abu", "da", "das", "de", "del", "della", "der", "den",
        "di", "do", "dos", "du", "la", "las", "le", "los", "van", "von", "y", "zu",
    }
)  # fmt: skip


def _significant(tokens: list[str]) -> list[str]:
    kept = [token for token in tokens if token not in NAME_PARTICLES]
    return kept or tokens


def _token_similarity(left: list[str], right: list[str]) -> float:
    """Share of tokens that find a close partner: typos and transliteration still agree,
    a different first name (twins) does not. Each token partners at most one token on the
    other side, so "Hamid Hamidi" does not agree with "Talal Hamidi"."""
    left, right = _significant(left), _significant(right)
    if not left or not right:
        return 0.0
    right_sounds = [phonetic(token) for token in right]
    pairs = []
    for i, token in enumerate(left):
        sound = phonetic(token)
        for j, other in enumerate(right):
            score = fuzz.ratio(token, other)
            if sound == right_sounds[j]:
                score = max(score, 90.0)
            if score >= 80:
                pairs.append((score, i, j))
    used_left: set[int] = set()
    used_right: set[int] = set()
    total = 0.0
    # Best pairs first; a greedy assignment is exact enough for names of a few words.
    for score, i, j in sorted(pairs, reverse=True):
        if i not in used_left and j not in used_right:
            used_left.add(i)
            used_right.add(j)
            total += score
    return total / (100.0 * max(len(left), len(right)))


def _profile_tokens(profile: dict[str, Any]) -> list[str]:
    try:
        return name_tokens(profile["given_name_latin"], profile["family_name_latin"])
    except ValueError:
        return []


def score_candidates(
    probe: Probe, hits: dict[int, set[str]], config: dict[str, Any]
) -> list[CandidateScore]:
    if not hits:
        return []
    weights = config["weights"]
    # Most shared strong keys first; only the best few are scored.
    ranked = sorted(hits, key=lambda pid: (-len(hits[pid] & STRONG_KINDS), -len(hits[pid]), pid))
    person_ids = ranked[:CANDIDATE_LIMIT]
    persons = {
        row["id"]: row
        for row in Person.objects.filter(pk__in=person_ids, status=Person.Status.ACTIVE).values(
            "id", "birth_date", "aml_blocked", "nationality"
        )
    }
    profiles: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in (
        ClientProfile.objects.unscoped()
        .filter(person_id__in=persons)
        .values(
            "person_id",
            "given_name_latin",
            "family_name_latin",
            "birth_date",
            "email_canonical",
            "email_verified",
        )
    ):
        profiles[row["person_id"]].append(row)
    has_docs: dict[int, set[str]] = defaultdict(set)
    for person_id, kind in MatchKey.objects.filter(
        person_id__in=persons, kind__in=[Kind.DOCUMENT, Kind.TAX]
    ).values_list("person_id", "kind"):
        has_docs[person_id].add(kind)

    probe_tokens = probe.tokens
    swapped = set(probe.birth_date_keys[1:])
    scores = []
    for person_id, person in persons.items():
        shared = hits[person_id]
        evidence = _Evidence()
        add = evidence.add

        for kind, label, weight_key in (
            (Kind.DOCUMENT, "document", "document"),
            (Kind.TAX, "tax", "tax"),
        ):
            probe_has = bool(probe.documents) if kind == Kind.DOCUMENT else bool(probe.tax_ids)
            if kind in shared:
                add(label, weights[weight_key], "same number")
            elif probe_has and kind in has_docs[person_id]:
                add(label, weights[f"{weight_key}_differs"], "both have one; the numbers differ")
        name_sim = max(
            (_token_similarity(probe_tokens, _profile_tokens(p)) for p in profiles[person_id]),
            default=0.0,
        )
        if name_sim >= 0.6:
            add("name", weights["name"] * name_sim, f"similarity {name_sim:.2f}")
        else:
            add("name", weights["name_differs"], f"different names (similarity {name_sim:.2f})")
        candidate_dob = person["birth_date"].isoformat()
        if candidate_dob == probe.birth_date_keys[0]:
            add("birth_date", weights["birth_date"], "same date")
            dob_exact = True
        elif candidate_dob in swapped:
            add("birth_date", weights["birth_date_swapped"], "day and month swapped")
            dob_exact = False
        else:
            add("birth_date", weights["birth_date_differs"], "different date")
            dob_exact = False
        if Kind.EMAIL in shared:
            verified = any(
                p["email_verified"] and p["email_canonical"] == probe.email
                for p in profiles[person_id]
            )
            add(
                "email",
                weights["email"] + (weights["email_verified_bonus"] if verified else 0.0),
                "same address" + (" (verified)" if verified else ""),
            )
        if Kind.PHONE in shared:
            add("phone", weights["phone"], "same number")
        for kind, label in ((Kind.DEVICE, "device"), (Kind.IP, "ip"), (Kind.SUBNET, "subnet")):
            if kind in shared:
                add(label, weights[label], "shared")
        strong_shared = bool(shared & STRONG_KINDS)
        identity_match = bool(shared & {Kind.DOCUMENT, Kind.TAX})
        # A conflicting document or tax number vetoes a link whatever else agrees.
        gates = bool(
            strong_shared
            and name_sim >= config["name_gate"]
            and (dob_exact or (identity_match and candidate_dob in swapped))
            and evidence.points("document") >= 0
            and evidence.points("tax") >= 0
        )
        scores.append(
            CandidateScore(
                person_id=person_id,
                confidence=max(0.0, min(1.0, evidence.total)),
                raw_total=evidence.total,
                review_trigger=strong_shared or Kind.DEVICE in shared,
                evidence=evidence.fields,
                strong_shared=strong_shared,
                auto_link_gates=gates,
                aml_blocked=person["aml_blocked"],
            )
        )
    # Rank on the unclamped total: two candidates at the 1.0 ceiling are not equally good.
    scores.sort(key=lambda s: (-s.raw_total, s.person_id))
    return scores


def _drop_declared_distinct(scores: list[CandidateScore]) -> list[CandidateScore]:
    """Once a reviewer said two persons are different people, the pair is not raised again:
    when the best candidate is one of them, the other is not a candidate."""
    if len(scores) < 2:
        return scores
    best = scores[0].person_id
    others = [s.person_id for s in scores[1:]]
    distinct = set()
    for low, high in DistinctPair.objects.filter(
        person_low_id__in=[best, *others], person_high_id__in=[best, *others]
    ).values_list("person_low_id", "person_high_id"):
        if best in (low, high):
            distinct.add(high if low == best else low)
    return [s for s in scores if s.person_id not in distinct]


def match_probe(probe: Probe) -> MatchResult:
    config = match_config()
    scores = _drop_declared_distinct(score_candidates(probe, candidate_hits(probe), config))
    relevant = [s for s in scores if s.confidence >= config["review"] or s.review_trigger]
    if not relevant:
        return MatchResult("new", None, scores, config)
    blocked = next((s for s in relevant if s.aml_blocked), None)
    if blocked is not None:
        return MatchResult("block", blocked, scores, config)
    best = relevant[0]
    if best.confidence >= config["auto_link"] and best.auto_link_gates:
        return MatchResult("auto_link", best, scores, config)
    return MatchResult("review", best, scores, config)
