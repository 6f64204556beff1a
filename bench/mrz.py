"""MRZ reading benchmark: random passports and ID cards read the way a KYC upload reads them.

    make bench-mrz ARGS="--documents 400"

Renders documents from seeded random data with the test renderer (`kyc.specimens`):
TD3 passports (half), TD2 and TD1 ID cards (a quarter each), names from several cultures, some
too long for the name field and cut as the issuer would, document numbers of 5-9 letters and
digits, birth dates from 1935 to 2008 and expiry dates across ten years (2021-2030). Every other
document is read as rendered (a flat PNG scan, "clean"); the others are first photographed
(`photograph`: rotated up to 3 degrees on a table, in perspective, blurred, with sensor noise,
600 px wide, JPEG quality 50, "perturbed"). Each image goes through `kyc.ocr.read_mrz` with
the default local engine, as `kyc.services` does on an upload.

A reading counts as read when it is valid (every check digit agrees) and equals the printed
MRZ; `wrong_reads` counts valid readings that differ from it (what the reader must never
return); everything else is a refusal. Each call is timed with perf_counter after one warm-up
read. Misses go to stderr; the last line of stdout is one JSON object. No database or Django
settings are needed (the default local engine is used).
"""

# The random numbers are seeded test data, not secrets.
# ruff: noqa: S311

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    from kyc.mrz import MrzError
    from kyc.ocr import read_mrz
    from kyc.specimens import photograph, random_document, render_passport

    rng = random.Random(args.seed)
    base = datetime.date(2026, 1, 1)
    with contextlib.suppress(MrzError):  # load the models
        read_mrz(render_passport(random_document(random.Random(0), base=base)[1]))
    outcomes: dict[str, list[str]] = {"clean": [], "perturbed": []}
    by_format: dict[str, list[str]] = {}
    seconds: list[float] = []
    for n in range(args.documents):
        kind, lines = random_document(rng, base=base)
        image = render_passport(lines)
        condition = "clean" if n % 2 == 0 else "perturbed"
        if condition == "perturbed":
            image = photograph(image, rng)
        started = time.perf_counter()
        try:
            result = read_mrz(image)
        except MrzError as exc:
            outcome, detail = "refused", f"{exc.code} ({exc})"
        else:
            if not result.valid:
                outcome, detail = "refused", "check digits fail"
            elif list(result.lines) == lines:
                outcome, detail = "read", ""
            else:
                outcome, detail = "wrong", " / ".join(result.lines)
        seconds.append(time.perf_counter() - started)
        outcomes[condition].append(outcome)
        by_format.setdefault(f"{kind} {condition}", []).append(outcome)
        if outcome != "read":
            print(
                f"{n} {kind} {condition} {outcome}: {detail} | {' / '.join(lines)}", file=sys.stderr
            )
        if (n + 1) % 50 == 0:
            print(f"{n + 1} documents", file=sys.stderr)

    def rate(items: list[str]) -> float:
        return round(items.count("read") / len(items), 4) if items else 0.0

    print(
        json.dumps(
            {
                "documents": args.documents,
                "read_rate_clean": rate(outcomes["clean"]),
                "read_rate_perturbed": rate(outcomes["perturbed"]),
                "wrong_reads": sum(o.count("wrong") for o in outcomes.values()),
                "s_per_doc_p50": round(percentile(seconds, 0.5), 3),
                "s_per_doc_p95": round(percentile(seconds, 0.95), 3),
                "by_format": {key: rate(value) for key, value in sorted(by_format.items())},
            }
        )
    )


if __name__ == "__main__":
    main()
