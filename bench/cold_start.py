"""Cold-start imports of every function, laid out as Lambda lays them out, against a baseline.

Builds the functions' code as ``make build`` does, but for this machine's platform so that it
can run here (same pinned versions, Python 3.12): the task directory (the asset), the layer
(Powertools and X-Ray SDK) and the runtime's own packages (boto3 and its dependencies), in that
order on ``sys.path``, imported by Python 3.12 in isolated mode. Each function's handler module
is imported in fresh interpreters, with bytecode (compiled as the build compiles it: by Python
3.12, ``unchecked-hash``) and without (no ``.pyc`` anywhere, none written). The baseline is what
every function pays anyway: boto3 and Powertools' Logger, Metrics and Tracer.

    python -m bench.cold_start [--runs 7]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from cdk_app.build import (
    ROOTS,
    compile_bytecode,
    copy_project,
    dependencies_of,
    install_packages,
    runtime_python,
)
from handlers import FUNCTIONS

LAYER = ("aws-lambda-powertools", "aws-xray-sdk", "wrapt")
RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six")
BASELINE = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics, Tracer\n"
    "Logger(); Metrics(namespace='Bench'); Tracer()"
)
_PROBE = """
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
{code}
print((time.perf_counter() - started) * 1000)
"""
ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "POWERTOOLS_SERVICE_NAME": "toro-assistant",
    "POWERTOOLS_METRICS_NAMESPACE": "ToroAssistant",
}
GOALS = {"call_openai": 2.3}
DEFAULT_GOAL = 1.25
# What no function here can import less than, whatever its own code: every one validates its
# payloads with pydantic and reads its configuration with pydantic-settings; call_openai also
# needs the OpenAI SDK. Printed next to the goals, which sit below these floors.
FLOORS = {
    "floor: + pydantic, pydantic-settings": BASELINE + "\nimport pydantic, pydantic_settings",
    "floor: + the OpenAI SDK": BASELINE + "\nimport pydantic, pydantic_settings, openai",
}


def lay_out(root: Path, python: Path | None) -> list[Path]:
    """task, layer and runtime directories under ``root``; compiled when ``python`` is given."""
    native = f"{platform.machine()}-manylinux_2_28"
    dirs = [root / "task", root / "layer", root / "runtime"]
    for folder in dirs:
        folder.mkdir(parents=True)
    install_packages(dirs[0], dependencies_of(ROOTS), platform=native)
    copy_project(dirs[0])
    install_packages(dirs[1], list(LAYER), platform=native)
    install_packages(dirs[2], list(RUNTIME), platform=native)
    if python is not None:
        for folder in dirs:
            compile_bytecode(folder, python)
    return dirs


def import_ms(python: Path, paths: list[Path], code: str) -> float:
    probe = _PROBE.format(paths=[str(p) for p in paths], code=code)
    done = subprocess.run(
        # -I ignores PYTHON* variables, so -B (not PYTHONDONTWRITEBYTECODE) keeps the
        # source-only layout free of the .pyc files a run would otherwise leave behind.
        [str(python), "-I", "-B", "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
        cwd=paths[0],
    )
    return float(done.stdout.strip().splitlines()[-1])


def median_ms(python: Path, paths: list[Path], code: str, runs: int) -> float:
    return statistics.median(import_ms(python, paths, code) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    python = runtime_python()
    if python is None:
        raise SystemExit("Python 3.12 is needed (the Lambda runtime's): `pyenv install 3.12`.")
    work = Path(tempfile.mkdtemp(prefix="toro-cold-"))
    try:
        print(f"==> laying out task, layer and runtime for {platform.machine()}", flush=True)
        layouts = {
            "with bytecode": lay_out(work / "compiled", python),
            "without": lay_out(work / "source", None),
        }
        code = {name: f"import {path.rpartition('.')[0]}" for name, path in FUNCTIONS.items()}
        print(
            f"Import at cold start, median of {args.runs} fresh Python 3.12 interpreters; "
            "ratio to the baseline (boto3 + Powertools)"
        )
        header = "".join(f"{variant:>24}" for variant in layouts)
        print(f"  {'':<22}{header}")
        baselines = {v: median_ms(python, p, BASELINE, args.runs) for v, p in layouts.items()}
        cells = "".join(f"{baselines[v]:>15.0f} ms  1.00x" for v in layouts)
        print(f"  {'baseline':<22}{cells}", flush=True)
        for label, floor in FLOORS.items():
            figures = {v: median_ms(python, p, floor, args.runs) for v, p in layouts.items()}
            cells = "".join(
                f"{figures[v]:>15.0f} ms {figures[v] / baselines[v]:5.2f}x" for v in layouts
            )
            print(f"  {label}\n  {'':<22}{cells}", flush=True)
        over = []
        for name in FUNCTIONS:
            figures = {v: median_ms(python, p, code[name], args.runs) for v, p in layouts.items()}
            ratios = {v: figures[v] / baselines[v] for v in layouts}
            cells = "".join(f"{figures[v]:>15.0f} ms {ratios[v]:5.2f}x" for v in layouts)
            goal = GOALS.get(name, DEFAULT_GOAL)
            if ratios["with bytecode"] > goal:
                over.append(f"{name} ({ratios['with bytecode']:.2f}x > {goal}x)")
            print(f"  {name:<22}{cells}", flush=True)
        print(
            "goals (with bytecode): at most 1.25x the baseline, call_openai 2.3x: "
            + ("met" if not over else "missed by " + ", ".join(over))
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
