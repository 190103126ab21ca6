"""The per-thread profile summary of bench/peak_day.py (``--py-spy-threads``): only what
ran is counted, by kind of thread, as node CPU per completed consultation, and the frames
every request passes through are left out of the list."""

from __future__ import annotations

from pathlib import Path

from bench.peak_day import PROFILE_RATE, profile_summary

REQUEST = "thread (0x1): request_0;run (threading.py:1);Chain.__call__ (sanjeevani/config/m.py:3)"
ISSUE = "issue (sanjeevani/prescriptions/services.py:9);write_pdf (weasyprint/__init__.py:2)"
READ = "read (sanjeevani/queueing/selectors.py:4)"
IDLE = "thread (0x3): request_1;run (threading.py:1);_worker (concurrent/futures/thread.py:8)"
LOOP = "thread (0x2): MainThread;Runner.run (asyncio/runners.py:118)"


def test_counts_only_running_threads_as_cpu_per_consultation(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "\n".join(
            [
                f"{REQUEST};{ISSUE} 15",
                f"{REQUEST};{READ} 10",
                f"{REQUEST} 5",
                f"{REQUEST};{READ};Connection.wait (psycopg/connection.py:1) 500",
                f"{IDLE} 900",
                f"{LOOP};_run_once (asyncio/base_events.py:5) 10",
                f"{LOOP} 400",
            ]
        )
    )
    lines = profile_summary(raw, completed=5)
    per_sample = 1000 / PROFILE_RATE / 5
    assert lines[0] == f"40 samples running  {40 * per_sample:5.1f} ms/consultation"
    assert f"  request  {30 * per_sample:5.1f} ms/consultation" in lines
    assert f"  MainThread  {10 * per_sample:5.1f} ms/consultation" in lines
    listed = "\n".join(lines[3:])
    assert "issue (sanjeevani/prescriptions/services.py)" in listed
    assert (
        f" 25.0%  {10 * per_sample:5.1f} ms/consultation  read (sanjeevani/queueing/selectors.py)"
        in listed
    )
    assert "Chain.__call__" not in listed  # in 30 of 40 samples: a wrapper


def test_wall_clock_profile_keeps_every_sample(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "outer (sanjeevani/a.py:1);inner (sanjeevani/b.py:2) 3\nouter (sanjeevani/a.py:1) 1\n"
    )
    assert profile_summary(raw) == [
        "4 samples running",
        "100.0%  outer (sanjeevani/a.py)",
        " 75.0%  inner (sanjeevani/b.py)",
    ]
