"""Cold-start import time of every Lambda function: each handler module imported in fresh
interpreters, median of several runs. A function that imports nothing new keeps its figure.

    python -m bench.imports [--runs 7] [--against OTHER_CHECKOUT]

With ``--against``, the same functions are also imported from another checkout of the project
(an earlier commit, say), interleaved run by run, so the two columns share the machine's noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from handlers import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
_PROBE = (
    "import importlib, time; started = time.perf_counter(); importlib.import_module({module!r}); "
    "print((time.perf_counter() - started) * 1000)"
)


def import_ms(module: str, root: Path) -> float:
    """Milliseconds to import ``module`` in a fresh interpreter whose first path is ``root``."""
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": str(root),
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=root,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    args = parser.parse_args()
    print(
        f"Handler import time, median of {args.runs} fresh interpreters "
        f"({sys.version.split()[0]}, bytecode cached)"
    )
    for name, path in FUNCTIONS.items():
        module = path.rpartition(".")[0]
        source = Path(*module.split(".")).with_suffix(".py")
        compare = args.against is not None and (args.against / source).exists()
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.runs):
            ours.append(import_ms(module, ROOT))
            if compare:
                theirs.append(import_ms(module, args.against))
        line = f"  {name:<22} {statistics.median(ours):7.0f} ms"
        if theirs:
            other = statistics.median(theirs)
            line += f"   other {other:7.0f} ms   ratio {statistics.median(ours) / other:5.2f}"
        elif args.against is not None:
            line += "   (not in the other checkout)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
