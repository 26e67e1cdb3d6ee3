"""Retrieval on its own, in this process: loading the knowledge base and building the index
(once per process, at the Retrieve function's cold start), then one search per question of the
evaluation set, follow-ups and every turn of a conversation with the questions before them.

Usage: python -m bench.retrieval [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench import percentile
from core.knowledge import load
from core.retrieval import BM25Retriever, Query, search
from eval.run import load_cases, turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the question set")
    args = parser.parse_args()
    started = time.perf_counter()
    knowledge_base = load()
    loaded = time.perf_counter()
    retriever = BM25Retriever(knowledge_base)
    built = time.perf_counter()
    queries = []
    for case in load_cases():
        asked = [*case.get("after", []), *(turn["question"] for turn in turns(case))]
        queries += [
            Query(question, tuple(reversed(asked[:position])))
            for position, question in enumerate(asked)
            if position >= len(case.get("after", []))
        ]
    timings: list[float] = []
    for _ in range(args.rounds):
        for query in queries:
            begun = time.perf_counter()
            search(retriever, query, 3)
            timings.append((time.perf_counter() - begun) * 1000)
    print(
        f"Knowledge base {knowledge_base.version}: {len(knowledge_base)} entries loaded in "
        f"{(loaded - started) * 1000:.0f} ms, indexed in {(built - loaded) * 1000:.0f} ms"
    )
    print(
        f"One search ({len(timings)} = {len(queries)} questions x {args.rounds}): median "
        f"{statistics.median(timings):.2f} ms, p95 {percentile(timings, 0.95):.2f} ms, "
        f"max {max(timings):.2f} ms"
    )


if __name__ == "__main__":
    main()
