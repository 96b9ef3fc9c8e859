"""Start-up time of `gpt2eval --help`, `gpt2eval tasks` and `gpt2eval run --help` (target: under 0.5 s).

`run --help` loads every registered task to list the options they declare; `--help` loads none.

    python bench/startup.py [--repeat 10] [--source DIR ...]

Each command runs ``--repeat`` times in a fresh interpreter; min and median are printed.
``--source DIR`` times the gpt2eval package found in DIR instead (a checkout laid out as
the installed package, ``DIR/gpt2eval/{tasks,detokenizers}``), so two versions can be
measured side by side in one run under the same load. Commands run from / so the
current directory never shadows the package under test.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PROBE = "import sys; from gpt2eval.cli import main; sys.argv[0] = 'gpt2eval'; main()"


def timed(args: list[str], source: str | None, repeat: int) -> list[float]:
    env = dict(os.environ, **({"PYTHONPATH": source} if source else {}))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", PROBE, *args], env=env, stdout=subprocess.DEVNULL, check=True, cwd=os.sep)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--source", action="append", default=[], help="a gpt2eval source tree to time (repeatable)")
    opts = parser.parse_args()
    for source in opts.source or [None]:
        for args in (["--help"], ["tasks"], ["run", "--help"]):
            # Interleaved per source would be fairer still; the load of a shared machine drifts.
            t = timed(args, source, opts.repeat)
            print(f"{source or 'installed'}: gpt2eval {' '.join(args):10s} min {min(t):.2f} s, median {statistics.median(t):.2f} s")


if __name__ == "__main__":
    main()
