"""The mutation score of the last ``mutmut run``: killed mutants among the non-equivalent ones.

Reads mutmut's results (``mutants/core/*.py.meta``) and the mutants judged equivalent, each with
its reason, from ``tests/mutation/equivalent.toml``. Prints the score, the counts by status and
every surviving mutant not judged equivalent (``mutmut show <name>`` prints its change). Exits 1
when the score is below ``--goal``, a mutant listed as equivalent was killed (the list is
stale), or the run has not checked every mutant yet.

Usage: python -m tests.mutation.score [--goal 0.85]
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "mutants" / "core"
EQUIVALENT = Path(__file__).with_name("equivalent.toml")

# mutmut's exit codes (mutmut.stats.status_by_exit_code), as the statuses counted here.
KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout"}
KILLED |= {255: "timeout", 37: "caught by type check"}
OTHER = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}


def status(exit_code: int | None) -> str:
    if exit_code is None:
        return "not checked"
    return KILLED.get(exit_code) or OTHER.get(exit_code) or "suspicious"


def load_results(folder: Path = RESULTS) -> dict[str, str]:
    """Each mutant's status, by mutant name."""
    found: dict[str, str] = {}
    for meta in sorted(folder.rglob("*.py.meta")):
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        found.update({name: status(code) for name, code in codes.items()})
    return found


def load_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """Mutant name -> why it changes nothing a caller can observe."""
    with path.open("rb") as file:
        listed: dict[str, str] = tomllib.load(file).get("equivalent", {})
    return listed


def by_module(judged: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """Module -> (killed, mutants, not checked), for the mutants not judged equivalent."""
    counts: dict[str, list[int]] = {}
    for name, found in sorted(judged.items()):
        module = name.split(".x", 1)[0]
        tally = counts.setdefault(module, [0, 0, 0])
        tally[0] += found in KILLED.values()
        tally[1] += 1
        tally[2] += found == "not checked"
    return {module: (k, n, u) for module, (k, n, u) in counts.items()}


def markdown(judged: dict[str, str], killed: int, checked: int, unchecked: int) -> str:
    """The score by module as a Markdown table."""
    rows = ["| module | killed | checked | score | not checked yet |", "|---|---:|---:|---:|---:|"]
    for module, (module_killed, module_judged, module_unchecked) in by_module(judged).items():
        checked_here = module_judged - module_unchecked
        share = f"{module_killed / checked_here:.0%}" if checked_here else "-"
        rows.append(
            f"| `{module.removeprefix('core.')}` | {module_killed} | {checked_here} | {share} "
            f"| {module_unchecked or ''} |"
        )
    share = f"{killed / checked:.1%}" if checked else "-"
    rows.append(f"| **all** | **{killed}** | **{checked}** | **{share}** | {unchecked or ''} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal", type=float, default=0.85)
    parser.add_argument(
        "--markdown", action="store_true", help="print the table by module for docs/testing.md"
    )
    args = parser.parse_args(argv)
    results = load_results()
    if not results:
        sys.stderr.write("No mutmut results under mutants/core: run `make mutation`.\n")
        return 1
    equivalent = load_equivalent()
    unchecked = [name for name, found in results.items() if found == "not checked"]
    stale = sorted(name for name in equivalent if results.get(name, "survived") in KILLED.values())
    judged = {name: found for name, found in results.items() if name not in equivalent}
    killed = sum(1 for found in judged.values() if found in KILLED.values())
    checked = len(judged) - len(unchecked)
    score = killed / checked if checked else 1.0
    if args.markdown:
        print(markdown(judged, killed, checked, len(unchecked)))
        return 0
    counts = Counter(results.values())
    print(f"mutants of core/: {len(results)}")
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {name}: {count}")
    print(f"judged equivalent: {len(equivalent)} (tests/mutation/equivalent.toml)")
    print("\nby module (killed / non-equivalent, checked so far):")
    for module, (module_killed, module_judged, module_unchecked) in by_module(judged).items():
        unchecked_note = f", {module_unchecked} not checked" if module_unchecked else ""
        checked_here = module_judged - module_unchecked
        share = f"{module_killed / checked_here:.0%}" if checked_here else "-"
        print(f"  {module}: {module_killed} / {checked_here} = {share}{unchecked_note}")
    print()
    print(f"mutation score: {killed} of {checked} non-equivalent mutants killed = {score:.1%}")
    survivors = sorted(
        name
        for name, found in judged.items()
        if found not in KILLED.values() and found != "not checked"
    )
    if survivors:
        print("\nsurviving, not judged equivalent (`mutmut show <name>`):")
        for name in survivors:
            print(f"  {name}: {judged[name]}")
    if unchecked:
        print(f"\n{len(unchecked)} mutants were not checked: the run did not finish.")
    if stale:
        print(f"\nlisted as equivalent but killed (remove them): {', '.join(stale)}")
    return 0 if score >= args.goal and not stale and not unchecked else 1


if __name__ == "__main__":
    raise SystemExit(main())
