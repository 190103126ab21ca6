"""Write a national registry file (115,234 spokes, 15,731 hubs, each spoke linked to one or
two hubs of its district) for timing ``manage.py import_registry``.

    .venv/bin/python bench/registry_file.py var/national-registry.csv     # --small: 2 states
    DATABASE_URL=... .venv/bin/python manage.py import_registry var/national-registry.csv

The rows come from ``sanjeevani.registry.importing.sample`` (the plan of ``seed_national``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--small", action="store_true", help="two states, same proportions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prefix", default="RF", help="facility code prefix")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
    import django

    django.setup()
    from sanjeevani.dashboard.seeding.country import plan_country
    from sanjeevani.registry.importing.sample import registry_csv

    started = time.monotonic()
    plan = plan_country(small=args.small)
    text = registry_csv(plan.spokes, plan.hubs, seed=args.seed, prefix=args.prefix)
    # (the plan is the dashboard's seeding plan, so the file and seed_national agree)
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    rows = text.count("\n") - 1
    seconds = time.monotonic() - started
    print(f"{args.path}: {rows:,} rows, {len(text) / 1e6:,.1f} MB in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
