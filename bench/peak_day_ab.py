"""Two commits' CPU per consultation, measured in turns on one machine (issue 15, item 1).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/11 \\
        .venv/bin/python bench/peak_day_ab.py BASE [--rounds 2] [--rate 0.75]

This machine's speed changes by a factor of two from one hour to the next, and a plain
Python loop does not always show it (``docs/deployment.md``): a CPU figure of one commit
measured an hour after another's compares the machine, not the code. So this runs
``bench/peak_day.py`` (one node, one rate) on ``BASE`` and on this working tree in turns,
base first, ``--rounds`` times each (A B A B ...), and prints each run's server CPU per
consultation, the nodes' share and the CPU of each route, then the median of each and the
ratio of this tree to the base. Server CPU per HTTP request is the steadier figure to judge
by: a 90 s window completes about 60 consultations, and when they happen to end moves the
per-consultation figure by several percent; its requests are twenty times as many. Both
runs use this tree's ``bench/`` files (copied into a temporary worktree of ``BASE``), so
both drive the same lifecycle and print the same lines; the app, its migrations and
``tests/deploy`` (the nginx and node harness) are each commit's own. A run takes about 6.5 minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

TOTAL = re.compile(r"server CPU per completed consultation: (\d+) ms")
PER_REQUEST = re.compile(r"server CPU per HTTP request: ([\d.]+) ms \(app nodes ([\d.]+) ms\)")
NODES = re.compile(r"^\s+app nodes\s+([\d.]+) ms", re.M)
POSTGRES = re.compile(r"^\s+postgres \(this database\)\s+([\d.]+) ms", re.M)
ROUTE = re.compile(
    r"^\s+(GET|POST|PATCH|PUT|DELETE) (\S+)\s+([\d.]+)/consultation\s+([\d.]+) ms each", re.M
)
SPEED = re.compile(r"machine speed at the (start|end): ([\d.]+) s")


@dataclass
class Run:
    label: str
    total: float
    nodes: float
    postgres: float
    per_request: float
    nodes_per_request: float
    routes: dict[str, float] = field(default_factory=dict)
    speed: list[float] = field(default_factory=list)


def measure(tree: Path, label: str, rate: float, log: Path) -> Run:
    """One ``peak_day.py`` run in ``tree``; its whole output is kept in ``log``."""
    command = [PYTHON, "bench/peak_day.py", "--nodes", "1", "--rates", str(rate)]
    with log.open("w") as out:
        finished = subprocess.run(command, cwd=tree, stdout=out, stderr=subprocess.STDOUT)
    text = log.read_text(errors="replace")
    total = TOTAL.search(text)
    if finished.returncode != 0 or total is None:
        raise SystemExit(f"the {label} run failed (exit {finished.returncode}); see {log}")
    return Run(
        label=label,
        total=float(total.group(1)),
        nodes=float(NODES.search(text).group(1)),
        postgres=float(POSTGRES.search(text).group(1)),
        per_request=float(PER_REQUEST.search(text).group(1)),
        nodes_per_request=float(PER_REQUEST.search(text).group(2)),
        routes={f"{m[1]} {m[2]}": float(m[4]) for m in ROUTE.finditer(text)},
        speed=[float(s) for _w, s in SPEED.findall(text)],
    )


def base_tree(commit: str, folder: Path) -> Path:
    """A worktree of ``commit`` with this tree's ``bench/`` files in it."""
    tree = folder / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), commit],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    for path in (ROOT / "bench").glob("*.py"):
        shutil.copy2(path, tree / "bench" / path.name)
    return tree


def report(runs: list[Run]) -> None:
    base = [r for r in runs if r.label == "base"]
    this = [r for r in runs if r.label == "this tree"]
    print("\nEach run (server CPU per consultation; machine loop at start/end):")
    for r in runs:
        speed = "/".join(f"{s:.2f}" for s in r.speed)
        print(f"  {r.label:9}  {r.total:5.0f} ms  (nodes {r.nodes:5.1f}, postgres "
              f"{r.postgres:5.1f}); {r.per_request:.2f} ms per request  loop {speed}")  # fmt: skip

    def row(name: str, a: list[float], b: list[float]) -> None:
        if not a or not b:
            return
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"  {name:44s} {ma:8.1f} {mb:10.1f} {mb / ma:7.2f}")

    print(f"\nMedians of {len(base)} runs each (ms per consultation; routes: ms each):")
    print(f"  {'':44s} {'base':>8} {'this tree':>10} {'ratio':>7}")
    row("server CPU per consultation", [r.total for r in base], [r.total for r in this])
    row("  app nodes", [r.nodes for r in base], [r.nodes for r in this])
    row("  postgres", [r.postgres for r in base], [r.postgres for r in this])
    # Steadier than the above: a window's requests follow the work, its completions jitter.
    row("server CPU per HTTP request", [r.per_request for r in base],
        [r.per_request for r in this])  # fmt: skip
    row("  app nodes", [r.nodes_per_request for r in base],
        [r.nodes_per_request for r in this])  # fmt: skip
    routes = sorted({k for r in runs for k in r.routes}, key=lambda k: -this[0].routes.get(k, 0))
    for route in routes:
        row(route, [r.routes[route] for r in base if route in r.routes],
            [r.routes[route] for r in this if route in r.routes])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the commit to compare this working tree with")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, in turns")
    parser.add_argument("--rate", type=float, default=0.75, help="consultations per second")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("needs PostgreSQL and Redis, as bench/peak_day.py", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="peak-day-ab-"))
    runs: list[Run] = []
    try:
        trees = {"base": base_tree(args.base, folder), "this tree": ROOT}
        for n in range(args.rounds):
            for label, tree in trees.items():
                log = folder / f"{n + 1}-{label.replace(' ', '-')}.txt"
                print(f"round {n + 1}: {label} ({tree}) …", flush=True)
                runs.append(measure(tree, label, args.rate, log))
                print(f"  {runs[-1].total:.0f} ms per consultation", flush=True)
        report(runs)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder / "base")],
                       cwd=ROOT, capture_output=True)  # fmt: skip
        print(f"\nthe runs' whole output: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
