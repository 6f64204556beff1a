"""``python -m payments.simulator --port 8701 [--host H] [--config FILE.json] [--seed N]
[--public-url URL]``"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from brokercrm.simulators import HttpError, serve

from .app import build_app
from .engine import PspSimulator
from .merchants import MerchantConfig


def load_config(path: Path) -> list[MerchantConfig]:
    """Merchant accounts from a `{"merchants": [...]}` file; exits with the reason if bad."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        sys.exit(f"{path}: cannot read the config: {exc}")
    merchants = data.get("merchants") if isinstance(data, dict) else None
    if not isinstance(merchants, list):
        sys.exit(f'{path}: expected {{"merchants": [...]}}.')
    configs: list[MerchantConfig] = []
    for index, item in enumerate(merchants):
        merchant_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(merchant_id, str):
            sys.exit(f"{path}: merchants[{index}] has no string id.")
        try:
            configs.append(MerchantConfig.from_dict(merchant_id, item))
        except HttpError as exc:
            sys.exit(f"{path}: merchant {merchant_id}: {exc.detail}")
    return configs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m payments.simulator", description="Simulated payment service provider."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701, help="0 picks a free port")
    parser.add_argument("--config", type=Path, help='JSON file: {"merchants": [...]}')
    parser.add_argument("--seed", type=int, default=0, help="seed of the outcome stream")
    parser.add_argument(
        "--public-url",
        default=os.environ.get("PSP_SIMULATOR_PUBLIC_URL"),
        help="where payers' browsers reach the hosted pages (default: the Host called)",
    )
    args = parser.parse_args(argv)
    merchants = load_config(args.config) if args.config else []
    serve(
        build_app(PspSimulator(seed=args.seed, merchants=merchants, public_url=args.public_url)),
        host=args.host,
        port=args.port,
    )


if __name__ == "__main__":
    main()
