"""Benchmark: how long and how much memory `cwparity validate` takes to refuse the malformed
configs most likely to hang or blow up (alias bombs, 20,000-deep nesting, the largest file the
size limit allows with its mistake at the very end), next to a good config.

Prints, per config, the child's wall time, CPU time and peak RSS, read from ``wait4``. Not a
test: figures, not assertions (tests/unit/test_config_mutants.py bounds each child at 5 s of
CPU and 1 GiB of address space).

    python benchmarks/config_refusal.py [--all]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.test_config_mutants import GOOD, MUTANTS, Mutant

HAZARDS = ("alias-bomb", "deep-", "recursive", "merge-bomb", "too-large", "largest")


def measure(mutant: Mutant, folder: Path) -> tuple[int, float, float, float]:
    """(exit code, wall s, CPU s, peak RSS MiB) of `cwparity validate` on the mutant."""
    path = folder / "config.yaml"
    path.write_bytes(mutant.content)
    argv = [sys.executable, "-m", "cwparity.cli", "validate", "--config", str(path)]
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return child.returncode, wall, cpu, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every mutant, not only the hazards")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.all or m.id.startswith(HAZARDS)]
    good = Mutant("a-good-config", GOOD.replace(b"output_dir: reports", b"output_dir: ."), None)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'config':45} {'exit':>4} {'wall s':>7} {'CPU s':>6} {'RSS MiB':>8}")
        for mutant in [good, *chosen]:
            code, wall, cpu, rss = measure(mutant, Path(tmp))
            print(f"{mutant.id[:45]:45} {code:>4} {wall:7.2f} {cpu:6.2f} {rss:8.1f}")


if __name__ == "__main__":
    main()
