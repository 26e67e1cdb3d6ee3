"""``make build``: the Lambda code asset, built without Docker.

Installs the functions' dependencies as arm64 / Python 3.12 wheels (``uv pip install
--python-platform aarch64-manylinux_2_28 --only-binary :all: --no-compile``: the Python 3.12
runtime is Amazon Linux 2023 with glibc 2.34, and some wheels, argon2's among them, exist only
for manylinux_2_28) into ``build/lambda`` with the project's packages beside them. Left out,
because Lambda provides them: Powertools (the layer, at the version the lock pins) and boto3 with
its dependencies (the runtime). pydantic is shipped although the layer has it too: the layer's
is whatever version that layer was built with, and the asset (``/var/task``) comes first on
``sys.path``, so the functions run the pydantic the tests ran. Versions come from
``requirements.lock``, so the asset matches what the tests ran.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PACKAGES = ("core", "handlers", "api", "state_machine")
# Data folders the functions read: the knowledge base.
DATA = ("knowledge",)
# What the functions import (with their dependencies resolved by the lock file).
ROOTS = (
    "openai",
    "pydantic-settings",
    "python-ulid",
    "fastapi",
    "mangum",
    "pyjwt",
    "pwdlib",
    "argon2-cffi",
    "zxcvbn",
    "bm25s",
    "snowballstemmer",
)
# Provided by the Powertools layer or the Lambda runtime (pydantic is not: it is shipped).
PROVIDED = {
    "aws-lambda-powertools",
    "aws-xray-sdk",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
    "wrapt",
}


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def dependencies_of(roots: tuple[str, ...]) -> list[str]:
    """The roots and everything they need, per the lock file's ``# via`` comments."""
    via: dict[str, set[str]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==", line)
        if match:
            current = match.group(1).lower()
            via.setdefault(current, set())
            continue
        parent = re.match(r"^\s+#\s+(?:via\s+)?([A-Za-z0-9_.-]+)\s*$", line)
        if current and parent:
            via[current].add(parent.group(1).lower())
    needed = set(roots)
    changed = True
    while changed:
        changed = False
        for package, parents in via.items():
            if package not in needed and parents & needed:
                needed.add(package)
                changed = True
    return sorted(needed - PROVIDED)


def zipped_size(folder: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return buffer.tell()


# The front-end files the app serves from npm packages, copied in by `make` (not in git).
VENDOR = ROOT / "api" / "web" / "static" / "vendor"
VENDORED = ("swagger-ui/swagger-ui-bundle.js", "marked/marked.esm.js", "dompurify/purify.es.js")


def copy_project(target: Path, vendor: Path = VENDOR) -> None:
    """The project's packages, data files included (the ASL, the web page and its markdown
    libraries, the docs page and its Swagger UI), and the knowledge base, without caches."""
    missing = [name for name in VENDORED if not (vendor / name).is_file()]
    if missing:
        raise SystemExit(
            f"{vendor} is missing {', '.join(missing)}: run `make build` (it copies them)."
        )
    for package in (*PACKAGES, *DATA):
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )


# The Lambda runtime's interpreter; bytecode is only used by the same minor version.
RUNTIME_PYTHON = "3.12"
LAMBDA_PLATFORM = "aarch64-manylinux_2_28"


def runtime_python() -> Path | None:
    """A working Python 3.12 to compile the asset's bytecode with: pyenv's, or one on PATH
    (a pyenv shim on PATH may name a version that is not selected, so each is tried)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob(f"{RUNTIME_PYTHON}.*/bin/python{RUNTIME_PYTHON}"), reverse=True)
    on_path = shutil.which(f"python{RUNTIME_PYTHON}")
    for python in [*candidates, *([Path(on_path)] if on_path else [])]:
        probe = subprocess.run(
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == RUNTIME_PYTHON:
            return python
    return None


def compile_bytecode(target: Path, python: Path) -> int:
    """Compile every module for the runtime's Python, checked by hash, never by timestamp: the
    CDK zips files with 1980 timestamps and ``/var/task`` is read-only, so timestamped ``.pyc``
    files would be stale and never rewritten. Returns how many ``.pyc`` files there are."""
    subprocess.run(
        [
            str(python),
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            str(target),
        ],
        check=True,
    )
    return sum(1 for _ in target.rglob("*.pyc"))


def install_packages(target: Path, packages: list[str], *, platform: str = LAMBDA_PLATFORM) -> None:
    """The pinned ``packages`` as binary wheels for ``platform`` and Python 3.12 into ``target``."""
    pins = locked_versions()
    missing = [p for p in packages if p not in pins]
    if missing:
        raise SystemExit(f"Not in requirements.lock: {missing}; run `make lock`.")
    uv = Path(sys.executable).with_name("uv")
    subprocess.run(
        [
            str(uv),
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--python-platform",
            platform,
            "--python-version",
            RUNTIME_PYTHON,
            "--only-binary",
            ":all:",
            "--target",
            str(target),
            *(f"{name}=={pins[name]}" for name in packages),
        ],
        check=True,
    )


def build(target: Path, *, platform: str = LAMBDA_PLATFORM, bytecode: bool = True) -> None:
    started = time.perf_counter()
    packages = dependencies_of(ROOTS)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    print(f"==> {len(packages)} packages for {platform} / Python 3.12 into {target}", flush=True)
    install_packages(target, packages, platform=platform)
    copy_project(target)
    python = runtime_python() if bytecode else None
    if python is not None:
        count = compile_bytecode(target, python)
        print(f"==> {count} modules compiled by {python} (unchecked-hash)", flush=True)
    elif bytecode:
        print(
            f"==> WARNING: no Python {RUNTIME_PYTHON} found (on PATH or in pyenv): the asset has "
            "no bytecode, so every cold start compiles the code it imports. Install Python "
            f"{RUNTIME_PYTHON} (`pyenv install {RUNTIME_PYTHON}`) and build again.",
            flush=True,
        )
    size = zipped_size(target)
    print(f"==> built in {time.perf_counter() - started:.1f} s; zipped {size / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the Lambda code asset.")
    parser.add_argument("--target", type=Path, default=ROOT / "build" / "lambda")
    build(parser.parse_args().target)


if __name__ == "__main__":
    main()
