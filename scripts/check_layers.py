#!/usr/bin/env python3
"""The shape of the house, checked: imports between the crate's top-level modules point down only.

    front -> request/env -> ops/error -> sigstore|oci|signing|stores -> net|gha|secret|fsutil

Each top-level module (a file or folder directly under src/) has a layer. A module may use a module of a
lower layer, or of its own layer as long as no cycle forms; never one of a higher layer. Also checked:
no module outside front/ and env.rs reads the process environment.

Usage: python3 scripts/check_layers.py [SRC_DIR]   (exit 1 on a violation, with the offending lines)
"""
import pathlib
import re
import sys

LAYERS = [
    ("fuzzing", {"fuzzing"}),  # the fuzz targets' entry points (feature `fuzzing`), above everything
    ("front", {"front", "testing"}),  # testing: hooks for tests/it only
    ("request", {"request", "env"}),
    ("ops", {"ops", "error"}),
    ("domain", {"sigstore", "oci", "signing", "stores"}),
    ("doors", {"net", "gha", "secret", "fsutil"}),
]
RANK = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}
ROOT_FILES = {"lib.rs", "main.rs"}
ENV_READS = re.compile(r"\bstd::env::(var|var_os|vars|vars_os)\b|\benv::var(_os)?\(")
ENV_ALLOWED = {"front", "env"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def crate_paths(text):
    """Every top-level module named by a `crate::…` path, including grouped `use crate::{a, b::c}`."""
    found = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
    for group in re.findall(r"\bcrate::\{([^}]*)\}", text, flags=re.S):
        for item in group.split(","):
            name = item.strip().split("::")[0].split(" ")[0]
            if name:
                found.add(name)
    return found


def main():
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    modules = set()
    edges = {}  # (from, to) -> first "file:line"
    problems = []
    for path in sorted(src.rglob("*.rs")):
        rel = path.relative_to(src)
        if rel.parts[0] in ROOT_FILES:
            continue
        module = rel.parts[0].removesuffix(".rs")
        modules.add(module)
        if module not in RANK:
            problems.append(f"{path}: top-level module `{module}` has no layer in {__file__}")
            continue
        text = strip_comments(path.read_text())
        for lineno, line in enumerate(text.splitlines(), 1):
            for target in crate_paths(line):
                if target in RANK and target != module:
                    edges.setdefault((module, target), f"{path}:{lineno}")
            if module not in ENV_ALLOWED and ENV_READS.search(line):
                problems.append(
                    f"{path}:{lineno}: reads the process environment below the front-ends: {line.strip()}"
                )
    for (a, b), where in sorted(edges.items()):
        if RANK[a] > RANK[b]:
            problems.append(
                f"{where}: `{a}` ({LAYERS[RANK[a]][0]}) uses `{b}` ({LAYERS[RANK[b]][0]}), a layer above it"
            )
    # Cycles (within a layer; across layers the rank check already forbids them).
    graph = {m: sorted(b for (a, b) in edges if a == m) for m in modules}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in graph.get(m, []):
            if state.get(n) == "open":
                cycle = stack[stack.index(n):] + [n]
                problems.append("import cycle: " + " -> ".join(cycle)
                                + " (" + edges[(m, n)] + ")")
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(modules):
        if m not in state:
            visit(m)
    for i, (name, mods) in enumerate(LAYERS):
        present = sorted(m for m in mods if m in modules)
        uses = sorted({b for (a, b) in edges if a in mods})
        print(f"layer {i} {name:8} {', '.join(present):40} uses: {', '.join(uses) or '-'}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"check-layers: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check-layers: {len(modules)} top-level modules, {len(edges)} edges, no cycle, all pointing down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
