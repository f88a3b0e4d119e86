"""The dashboard and the registry import on treatments of every kind beside the same figures on cryoablations only.

    python benchmarks/bench_kinds.py

Runs bench_dashboard.py twice, on two 100,000-patient databases seeded alike but for the treatments' kinds
(painreg_bench: the demo's mix; painreg_bench_cryo: cryoablation only; each seeded on its first run, a few minutes),
and prints the uncached dashboard's median side by side (target: the mix under 400 ms for the whole clinic). Then
runs bench_import.py twice, on the same 100,000 survey answers: in version 2 files with treatments of every kind
(--v2), and in version 1 files (cryoablations only), and prints the first import's time of each side by side (target:
under 60 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_MS = 400
LINE = re.compile(r"without the cache \(engine computes\): median (\d+) ms")
IMPORT_TARGET_S = 60
IMPORT_LINE = re.compile(r"^import_registry: ([\d.]+) s", re.MULTILINE)


def run(kinds: str) -> tuple[list[int], str]:
    env = {**os.environ, "PAINREG_BENCH_KINDS": kinds}
    env.pop("PAINREG_BENCH_DATABASE", None)
    result = subprocess.run(  # noqa: S603 - this interpreter running a script of this folder
        [sys.executable, str(HERE / "bench_dashboard.py")], env=env, capture_output=True, text=True, check=True
    )
    return [int(ms) for ms in LINE.findall(result.stdout)], result.stdout


def main() -> None:
    mixed, mixed_out = run("mixed")
    cryo, cryo_out = run("cryoablation")
    print("every kind:\n" + mixed_out + "\ncryoablation only:\n" + cryo_out)
    labels = ("whole clinic (admin)", "my patients (physician)")
    print("uncached dashboard, median ms: every kind | cryoablation only")
    for label, every, only in zip(labels, mixed, cryo, strict=True):
        print(f"  {label}: {every} | {only}")
    verdict = "ok" if mixed and mixed[0] < TARGET_MS else "MISSED"
    print(f"whole clinic, every kind: {mixed[0] if mixed else '?'} ms (target < {TARGET_MS} ms) {verdict}")

    imports = {}
    for label, args in [("every kind (version 2)", ["--v2"]), ("cryoablation only (version 1)", [])]:
        result = subprocess.run(  # noqa: S603 - this interpreter running a script of this folder
            [sys.executable, str(HERE / "bench_import.py"), *args], capture_output=True, text=True, check=True
        )
        imports[label] = float(IMPORT_LINE.findall(result.stdout)[0])
    print("import of 100,000 survey answers, s: " + " | ".join(imports))
    every, only = imports.values()
    verdict = "ok" if every < IMPORT_TARGET_S else "MISSED"
    print(f"  {every:.1f} | {only:.1f} (target < {IMPORT_TARGET_S} s) {verdict}")


if __name__ == "__main__":
    main()
