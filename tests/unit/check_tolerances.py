#!/usr/bin/env python3
# tests/unit/check_tolerances.py — fails, naming file:line, when a GoogleTest *_NEAR in tests/unit has a
# numeric literal in its tolerance (third) argument, or an `EXPECT_LE/LT(std::abs(..), bound)` has one
# in its bound. Tolerances live in tests/unit/tolerances*.hpp as named constants, each with its reason
# (issue #14 step 6); a bare `1e-5` says neither why nor how loose.
# Usage: check_tolerances.py [DIR]   (DIR defaults to this script's folder; exit 1 on any finding)
import pathlib
import re
import sys

NEAR = re.compile(r"\b(?:EXPECT|ASSERT)_(?:NEAR|FLOAT_NEAR|DOUBLE_NEAR)\s*\(")
ABS_BOUND = re.compile(r"\b(?:EXPECT|ASSERT)_(?:LE|LT)\s*\(\s*std::f?abs\s*\(")
# A C++ numeric literal not part of an identifier (k1e5 is a name, 1e-5f a literal); FLOATING has a
# point or an exponent. Integers inside a bound are structure (`(1 + |x|)`, `15 * step`), not a size.
LITERAL = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFlLuU]*(?![\w.])")
FLOATING = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][+-]?\d+)?[fFlL]?(?![\w.])")


def bare(bound, expected):
    """True when `bound` is a literal, or holds a floating literal other than the expected value
    itself (`tol::kRel * 2.5` beside an expected 2.5 is a relative bound, named)."""
    bound, expected = bound.strip(), expected.strip()
    if LITERAL.fullmatch(bound):
        return True
    if LITERAL.fullmatch(expected):
        bound = re.sub(r"(?<![\w.])" + re.escape(expected) + r"(?![\w.])", " ", bound)
    return bool(FLOATING.search(bound))


def strip_comments_and_strings(text):
    """Blanks // and /* */ comments and string/char literals, keeping every newline and offset."""
    out, i, n = [], 0, len(text)
    while i < n:
        two = text[i:i + 2]
        if two == "//":
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif two == "/*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif text[i] in "\"'":
            j, q = i + 1, text[i]
            while j < n and text[j] != q:
                j += 2 if text[j] == "\\" else 1
            j += 1
        else:
            out.append(text[i])
            i += 1
            continue
        out.append("".join(c if c == "\n" else " " for c in text[i:j]))
        i = j
    return "".join(out)


def arguments(text, start):
    """Top-level comma-separated arguments of the call whose '(' ends at `start`."""
    depth, args, cur = 0, [], []
    for c in text[start:]:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append("".join(cur))
                return args
            depth -= 1
        elif c == "," and depth == 0:
            args.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    return args


def findings(path):
    text = strip_comments_and_strings(path.read_text(encoding="utf-8"))
    for pattern, index in ((NEAR, 2), (ABS_BOUND, 1)):
        for m in pattern.finditer(text):
            open_paren = m.end() if pattern is NEAR else text.index("(", m.start())
            args = arguments(text, open_paren + (0 if pattern is NEAR else 1))
            if len(args) > index and bare(args[index], args[index - 1]):
                line = text.count("\n", 0, m.start()) + 1
                yield line, " ".join(args[index].split())


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
    bad = 0
    for path in sorted(root.glob("*.cpp")):
        for line, arg in findings(path):
            print(f"{path}:{line}: bare numeric tolerance `{arg}`: name it in tests/unit/tolerances.hpp")
            bad += 1
    print(f"check_tolerances: {bad} bare tolerance(s) in {root}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
