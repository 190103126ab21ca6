"""CPU to make each of the project's model serializers, as DRF makes them (the model read
again for every serializer) and as the project's ``ModelSerializer`` does (read once per
class, each serializer a deep copy: ``config/model_serializers.py``), in the same run.

Making the serializer is most of what answering with one costs: the consultation's, which
every step of the doctor's workspace answers with, took 1.1-1.4 ms to make and 0.15 ms to
fill. No database is used: only the fields are made.

    .venv/bin/python bench/model_serializers.py [N]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sanjeevani.config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.urls import get_resolver  # noqa: E402
from rest_framework import serializers  # noqa: E402

from sanjeevani.config.model_serializers import ModelSerializer  # noqa: E402


def project_serializers() -> list[type]:
    get_resolver().url_patterns  # noqa: B018 - imports every API module
    found, todo = [], [ModelSerializer]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return sorted(found, key=lambda cls: cls.__name__)


def cpu_ms_per_make(cls: type, n: int) -> float:
    for _ in range(20):
        cls().fields  # noqa: B018
    started = time.process_time()
    for _ in range(n):
        cls().fields  # noqa: B018
    return (time.process_time() - started) / n * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print(f"{n} serializers of each class made, one process; load average {os.getloadavg()[0]:.1f}")
    print(f"  {'serializer':<32} {'DRF':>9} {'now':>9}  now/DRF")
    for cls in project_serializers():
        drf = type(
            f"Drf{cls.__name__}", (cls,), {"get_fields": serializers.ModelSerializer.get_fields}
        )
        before, after = cpu_ms_per_make(drf, n), cpu_ms_per_make(cls, n)
        print(f"  {cls.__name__:<32} {before:6.3f} ms {after:6.3f} ms  {after / before:5.2f}")


if __name__ == "__main__":
    main()
