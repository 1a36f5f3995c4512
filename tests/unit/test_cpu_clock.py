"""The stage clock the bench reads: CPU time per stage and counts, written where STAGE_CPU_DIR says."""

from __future__ import annotations

import json
import time

from common import cpu_clock


def test_a_stage_gets_the_cpu_time_spent_in_it_and_counts_add_up(monkeypatch):
    monkeypatch.setattr(cpu_clock, "_totals", {})
    with cpu_clock.clocked("embedding"):
        sum(i * i for i in range(200_000))  # busy: CPU time, not waiting
    with cpu_clock.clocked("policies"):
        time.sleep(0.05)  # waiting costs no CPU time
    cpu_clock.add("messages_embedded", 2)
    cpu_clock.add("messages_embedded")
    totals = cpu_clock.totals()
    assert totals["cpu_embedding"] > 0
    assert totals["cpu_policies"] < totals["cpu_embedding"]
    assert totals["messages_embedded"] == 3


def test_each_process_writes_its_totals_and_the_bench_sums_them(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu_clock, "_totals", {})
    monkeypatch.setattr(cpu_clock, "_writer_pid", 0)
    monkeypatch.setenv("STAGE_CPU_DIR", str(tmp_path))
    (tmp_path / "1.json").write_text(json.dumps({"messages_understood": 5, "cpu_nlu": 0.5}))  # another worker
    cpu_clock.add("messages_understood", 2)
    deadline = time.monotonic() + 10
    while cpu_clock.read_totals(tmp_path).get("messages_understood") != 7 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cpu_clock.read_totals(tmp_path) == {"messages_understood": 7, "cpu_nlu": 0.5}
