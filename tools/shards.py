"""Sharded execution: N machines (the CI matrix, .github/workflows/) each execute a share of the notebooks into
their own execution cache, and one job merges the caches and builds with nothing left to execute.

Why shares of *distinct code* rather than of files: zh and en of a topic share one execution (see
tools/execute.py), so splitting files would execute that code on two machines. The share is a pure function
of the notebooks' code: every machine computes the same split from the same checkout, with no coordinator.

  python -m tools execute --shard K/N     execute share K of N (1 ≤ K ≤ N) into build/jupyter-cache/
  python -m tools merge-cache DIR …       file the executions found in other caches into build/jupyter-cache/
"""
from __future__ import annotations

import re
from pathlib import Path

from tools.notebooks import BuildError, Notebook, code_key


def parse_shard(text: str) -> tuple[int, int]:
    """"K/N" as (K, N); anything else (0/2, 3/2, 1/0, "x") is a BuildError that says what is expected."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise BuildError(f"--shard {text!r}: expected K/N with 1 ≤ K ≤ N, e.g. --shard 2/4")
    return int(m[1]), int(m[2])


def share(notebooks: list[Notebook], k: int, n: int) -> list[Notebook]:
    """The notebooks of share K of N: the distinct codes, ordered by (first topic, code key), dealt out in
    turn (code i goes to share i mod N + 1), so shares differ in size by one code at most. Every notebook
    with a given code lands in the same share; the union of the N shares is every notebook, once."""
    keys: dict[str, str] = {}
    by_key: dict[str, list[Notebook]] = {}
    for nbf in notebooks:
        key = code_key(nbf.read())
        keys.setdefault(key, nbf.topic)
        by_key.setdefault(key, []).append(nbf)
    order = sorted(keys, key=lambda key: (keys[key], key))
    mine = {key for i, key in enumerate(order) if i % n == k - 1}
    return [nbf for nbf in notebooks if any(nbf in by_key[key] for key in mine)]


def merge_caches(sources: list[Path], target: Path) -> tuple[int, int]:
    """File every execution held by the caches in `sources` that `target` lacks; returns (filed, already
    there). A source is opened as the build opens its own (tools/execute.py `ExecutionCache`): a damaged one
    is named and yields nothing, and one made under other requirements.txt pins is cleared, not trusted."""
    from tools.execute import ExecutionCache

    into = ExecutionCache(target)
    filed = present = 0
    for src in sources:
        if not (src / "global.db").is_file():
            raise BuildError(f"{src}: not an execution cache (no global.db): pass the build/jupyter-cache folders")
        cache = ExecutionCache(src).cache
        for record in cache.list_cache_records():
            nb = cache.get_cache_bundle(record.pk).nb
            if isinstance(into.lookup(nb), tuple):
                present += 1
                continue
            into.store(nb, record.uri, dict(record.data))
            filed += 1
    return filed, present
