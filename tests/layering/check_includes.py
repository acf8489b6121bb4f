#!/usr/bin/env python3
"""Folder dependency rules of src/lowbit, read from the includes (docs/ARCHITECTURE.md "Dependency rules").

Every `#include "lowbit/<dir>/..."` in src/lowbit/<folder>/ is an arrow folder -> dir. BELOW lists,
per folder, the folders directly beneath it; a folder may include itself and anything reachable
from it in BELOW (the transitive closure), nothing else. BELOW must be acyclic, so no two folders
can depend on each other. Fails (exit 1) with one line per forbidden arrow, naming the file, the
line and the arrow; a folder or include target without a row in BELOW is an error too.

usage: check_includes.py SRC_LOWBIT_DIR     check the tree
       check_includes.py --self-test        show the checks fail on trees and tables built to break them
"""
import os
import re
import sys
import tempfile

# folder -> the folders directly beneath it. Adding an arrow: add it here, keeping the table acyclic.
BELOW = {
    "core": [],                      # error, dtype, tensor, mapped_file, log, blas: depends on nothing
    "dist": ["core"],                # Comm, tree_reduce
    "archive": ["dist"],             # HDF5 records (collective commit)
    "model": ["core"],               # DecoderConfig, Model, forward, compressed linears' types
    "io": ["model"],                 # file formats, loaders, conversion, corpus, spill
    "eval": ["io", "archive"],       # perplexity, generate, tasks
    "compress": ["io", "dist"],      # the driver and the methods
    "diagnose": ["compress", "eval"],
    "fit": ["archive", "model"],
    "plan": ["fit", "compress", "eval"],  # eval: the tasks: section is eval's TaskOptions
    "train": ["eval"],
    "testbed": ["train"],
    "run": ["plan", "diagnose"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]lowbit/([^/">]+)(/[^">]*)?[">]')


def find_cycle(table):
    """A cycle of `table` as a list of folders (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(table.get(node, [])):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for start in sorted(table):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def allowed_closure(table):
    """folder -> every folder it may include (itself and all reachable ones)."""
    closure = {}
    for start in table:
        seen, todo = {start}, [start]
        while todo:
            for nxt in table.get(todo.pop(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        closure[start] = seen
    return closure


def check_tree(root, table):
    """Problems (one line each) of the tree at `root` under `table`; [] when every rule holds."""
    problems = []
    for name, deps in table.items():
        for d in deps:
            if d not in table:
                problems.append(f"table: {name} -> {d}: '{d}' has no row")
    cycle = find_cycle(table)
    if cycle:
        problems.append("table: cycle " + " -> ".join(cycle))
        return problems
    allowed = allowed_closure(table)
    arrows = {}
    n_files = 0
    for folder in sorted(os.listdir(root)):
        fdir = os.path.join(root, folder)
        if not os.path.isdir(fdir):
            continue
        for dirpath, _, files in os.walk(fdir):
            for f in sorted(files):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                if not f.endswith((".hpp", ".cpp", ".h", ".inc", ".cuh")):
                    continue
                n_files += 1
                if folder not in table:
                    problems.append(f"{rel}: folder '{folder}' has no row in the dependency table")
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for lineno, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(1)
                        if m.group(2) is None or target not in table:
                            problems.append(f"{rel}:{lineno}: includes lowbit/{target}{m.group(2) or ''}, "
                                            f"not a file of a folder in the dependency table")
                            continue
                        arrows.setdefault(folder, set()).add(target)
                        if target not in allowed[folder]:
                            problems.append(f"{rel}:{lineno}: forbidden arrow {folder} -> {target} "
                                            f"(#include \"lowbit/{target}{m.group(2)}\"; {folder} may include "
                                            f"{', '.join(sorted(allowed[folder] - {folder})) or 'nothing'})")
    if n_files == 0:
        problems.append(f"{root}: no source files found (wrong folder?)")
    graph = {k: sorted(v - {k}) for k, v in arrows.items()}
    cycle = find_cycle(graph)
    if cycle:
        problems.append("includes: cycle between folders " + " -> ".join(cycle))
    return problems


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


def self_test():
    """Each case is built to break one rule; the check must report it (else this exits 1)."""
    failures = []

    def expect(what, problems, needle):
        if not any(needle in p for p in problems):
            failures.append(f"self-test: {what}: expected a problem containing '{needle}', got {problems}")

    with tempfile.TemporaryDirectory() as tmp:
        write(tmp, "core/a.hpp", '#include "lowbit/core/b.hpp"\n')
        write(tmp, "model/m.cpp", '#include "lowbit/core/a.hpp"\n#include "lowbit/model/m.hpp"\n')
        if check_tree(tmp, BELOW):
            failures.append(f"self-test: a clean tree was refused: {check_tree(tmp, BELOW)}")
        write(tmp, "model/bad.cpp", '// x\n#include "lowbit/io/load.hpp"\n')
        expect("model -> io", check_tree(tmp, BELOW), "model/bad.cpp:2: forbidden arrow model -> io")
        write(tmp, "core/up.hpp", '#  include <lowbit/model/model.hpp>\n')
        expect("core -> model", check_tree(tmp, BELOW), "core/up.hpp:1: forbidden arrow core -> model")
        write(tmp, "newdir/x.cpp", '#include "lowbit/core/a.hpp"\n')
        expect("unknown folder", check_tree(tmp, BELOW), "folder 'newdir' has no row")
    with tempfile.TemporaryDirectory() as tmp:
        write(tmp, "io/x.cpp", '#include "lowbit/compress/quant.hpp"\n')
        write(tmp, "compress/y.cpp", '#include "lowbit/eval/perplexity.hpp"\n#include "lowbit/io/z.hpp"\n')
        p = check_tree(tmp, BELOW)
        expect("io -> compress", p, "forbidden arrow io -> compress")
        expect("compress -> eval", p, "forbidden arrow compress -> eval")
        expect("cycle io <-> compress", p, "includes: cycle between folders compress -> io -> compress")
        cyclic = dict(BELOW, io=["model", "compress"])  # compress already reaches io
        expect("cyclic table", check_tree(tmp, cyclic), "table: cycle")
    for f in failures:
        print(f)
    print(f"check_includes self-test: {'FAILED' if failures else 'ok'} (8 cases)")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    problems = check_tree(argv[1], BELOW)
    for p in problems:
        print(p)
    print(f"check_includes: {len(problems)} problem(s) in {argv[1]}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
