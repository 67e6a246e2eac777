#!/usr/bin/env python3
"""Print rewardgym's import graph by layer, and every import that points up a layer or across
to a sibling front, and every cycle between packages.

The layers (lowest first) are the design in ARCHITECTURE.md; an import may go down, or stay
inside its own group, never up and never sideways. Imports made inside a function count too:
they are still a dependency, only a lazy one.

Example:
    python scripts/import_graph.py            # the graph, violations and cycles
    python scripts/import_graph.py --check    # exit 1 if there is a violation or a cycle
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "rewardgym"

# group -> rank. A module belongs to the longest group that prefixes its dotted name.
LAYERS: dict[str, int] = {
    # the common vocabulary every layer speaks
    "rewardgym.schema": 0,
    "rewardgym.errors": 0,
    "rewardgym.config": 0,
    "rewardgym.jsonwalk": 0,
    "rewardgym.progress": 0,
    "rewardgym.end_texts": 0,
    "rewardgym.metrics": 0,
    "rewardgym.on_error": 0,
    "rewardgym.version": 0,
    "rewardgym.asgi": 0,
    "rewardgym.proto": 0,  # the schema's gRPC wire form
    "rewardgym.wire": 0,  # the schema's lean JSON wire form (version 2)
    "rewardgym.trusted": 0,  # schema models built without a second validation
    "rewardgym.health": 0,  # reward-health statistics (pure)
    "rewardgym.ledger": 0,  # content addresses and the stores of results and judgments
    # the rewards, and the wire clients (which speak only the schema and the errors)
    "rewardgym.judges": 1,
    "rewardgym.client": 1,
    # the core's services, which may use each other: the named rewards, who may set what,
    # the service, local-or-remote scoring
    "rewardgym.registry": 2,
    "rewardgym.trust": 2,
    "rewardgym.service": 2,
    "rewardgym.scoring": 2,
    "rewardgym.streaming": 2,
    "rewardgym.judge_audits": 2,
    # fronts on the core
    "rewardgym.server": 3,
    "rewardgym.envs": 3,
    "rewardgym.evals": 3,
    # trainers' and protocols' slots (they may wrap envs), then rewardgym's own loops
    "rewardgym.integrations": 4,
    "rewardgym.trainers": 5,
    # the command line sits on everything
    "rewardgym.cli": 6,
    "rewardgym": 6,  # the package's __init__ re-exports
}


CROSSABLE = {0, 2}
"""Ranks whose groups may import each other: the vocabulary, and the core's services."""


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def group_of(module: str) -> str:
    best = ""
    for group in LAYERS:
        if group == "rewardgym":  # the package's own __init__ only
            continue
        if module == "rewardgym.__main__":  # ``python -m rewardgym`` is the command line
            return "rewardgym.cli"
        if (module == group or module.startswith(group + ".")) and len(group) > len(best):
            best = group
    return best or module


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("rewardgym"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("rewardgym"):
                found.add(target)
    return found


def build() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "_proto" in path.parts:
            continue
        module = module_name(path)
        graph[module] = imports_of(path, module)
    return graph


def violations(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for module, targets in sorted(graph.items()):
        src = group_of(module)
        for target in sorted(targets):
            dst = group_of(target)
            if dst == src or dst == "rewardgym.proto._gen":
                continue
            if dst not in LAYERS or src not in LAYERS:
                continue  # reported as unplaced
            if LAYERS[dst] > LAYERS[src]:
                out.append(f"up:       {module} -> {target}")
            elif LAYERS[dst] == LAYERS[src] and LAYERS[src] not in CROSSABLE:
                out.append(f"sideways: {module} -> {target}")
    return out


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles between groups (strongly connected components of more than one group)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        for target in targets:
            a, b = _unit(module), _unit(target)
            if a != b:
                edges[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan; the graph is a few dozen nodes
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(edges) | {t for ts in edges.values() for t in ts}):
        if v not in index:
            visit(v)
    return out


def _unit(module: str) -> str:
    """A cycle unit: a module at the root, else its package two levels down."""
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) > 2 else module


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 on a violation or a cycle")
    args = parser.parse_args()
    graph = build()
    by_group: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        for target in targets:
            if group_of(target) != group_of(module):
                by_group[group_of(module)].add(group_of(target))
    for group in sorted(by_group, key=lambda g: (LAYERS.get(g, 0), g)):
        print(f"[{LAYERS.get(group, 0)}] {group} -> {', '.join(sorted(by_group[group]))}")
    unplaced = sorted(m for m in graph if group_of(m) not in LAYERS)
    print(f"\n{len(unplaced)} modules outside the layers: {', '.join(unplaced) or '-'}")
    bad = violations(graph)
    cycles = package_cycles(graph)
    print(f"\n{len(bad)} imports against the layers")
    for line in bad:
        print("  " + line)
    print(f"{len(cycles)} cycles between packages")
    for comp in cycles:
        print("  " + " <-> ".join(comp))
    return 1 if args.check and (bad or cycles or unplaced) else 0


if __name__ == "__main__":
    sys.exit(main())
