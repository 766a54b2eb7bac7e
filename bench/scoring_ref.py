#!/usr/bin/env python3
"""Pure-Python reference of tunix-rt's answer scoring (src/scoring/normalize.rs).

Implements the SAME extraction, normalization and equivalence rules as the Rust
module, with the default settings (order marker -> last_number -> last_line,
markers "Answer:" and "####", float_rel_tol 1e-6), and times them: it is the
speed reference for the Rust scorer.

Usage:
    python3 bench/scoring_ref.py ITEMS.jsonl            # one JSON summary line
    python3 bench/scoring_ref.py ITEMS.jsonl --per-item # plus one line per item

ITEMS.jsonl holds lines {"expected": "...", "output": "..."}. Only the scoring
loop is timed, not reading the file. The summary line is
{"items": N, "seconds": S, "items_per_s": R, "correct": C}.
With --per-item, each item first gets {"i": k, "rule": ..., "text": ..., "correct": 0|1}
(used to check that this file and the Rust module agree item by item).

Standard library only (json, re, sys, time).
"""

import json
import re
import sys
import time

# Unicode White_Space, the set Rust's char::is_whitespace / str::trim use
# (Python's str.isspace differs: it includes U+001C..U+001F).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
WS_SET = frozenset(WHITESPACE)
WS_RUN = re.compile("[" + re.escape(WHITESPACE) + "]+")
PUNCT = frozenset(".,;:!?\"'`*()[]{}<>\u201c\u201d\u2018\u2019\u00ab\u00bb")
SIGNS = frozenset("+-\u2212")
CURRENCY = frozenset("$\u20ac\u00a3")
SIGN_CONTEXT = frozenset("([{<=:;,\"'`\u201c")
DIGITS = frozenset("0123456789")

# Number body at a position: ".5", or a digit run / valid thousands grouping with
# an optional fraction; then an optional exponent.
BODY = re.compile(
    r"(\.[0-9]+|(?:[1-9][0-9]{0,2}(?:,[0-9]{3}(?![0-9]))+|[0-9]+)(?:\.[0-9]+)?)"
    r"([eE][+\-\u2212]?[0-9]+)?"
)
PERCENT = re.compile("[" + re.escape(WHITESPACE) + "]*%")
BODY_START = re.compile(r"[0-9]|(?<![0-9])\.[0-9]")

DEFAULT_MARKERS = ("Answer:", "####")
DEFAULT_ORDER = ("marker", "last_number", "last_line")
FLOAT_REL_TOL = 1e-6


def trim(s):
    return s.strip(WHITESPACE)


def strip_surrounding(s):
    """Trim whitespace and surrounding punctuation; keep a leading '.' of '.5'."""
    while True:
        before = len(s)
        s = trim(s)
        if s and s[-1] in PUNCT:
            s = s[:-1]
        if s and s[0] in PUNCT:
            starts_number = s[0] == "." and len(s) > 1 and s[1] in DIGITS
            if not starts_number:
                s = s[1:]
        if len(s) == before:
            return s


def decimal(negative, int_digits, frac_digits):
    """Canonical exact decimal (negative, digits, scale); zero is (False, '', 0)."""
    significant = (int_digits + frac_digits).lstrip("0")
    kept = significant.rstrip("0")
    if not kept:
        return (False, "", 0)
    return (negative, kept, len(frac_digits) - (len(significant) - len(kept)))


def match_number(s, start):
    """Longest number at s[start:] -> (end, number) or None.

    number is ("exact", (negative, digits, scale)) or ("float", value).
    """
    n = len(s)
    pos = start
    sign = None
    if pos < n and s[pos] in SIGNS:
        sign = s[pos]
        pos += 1
    currency = pos < n and s[pos] in CURRENCY
    if currency:
        pos += 1
        if sign is None and pos < n and s[pos] in SIGNS:
            sign = s[pos]
            pos += 1
    m = BODY.match(s, pos)
    if m is None:
        return None
    negative = sign is not None and sign != "+"
    body, exponent = m.group(1), m.group(2)
    pos = m.end()
    if not currency:
        pm = PERCENT.match(s, pos)
        if pm:
            pos = pm.end()
    int_part, _, frac_part = body.replace(",", "").partition(".")
    if exponent is None:
        return pos, ("exact", decimal(negative, int_part, frac_part))
    exp = exponent[1:].replace("\u2212", "-")
    text = "%s%s.%se%s" % ("-" if negative else "", int_part or "0", frac_part or "0", exp)
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return pos, ("float", value + 0.0)


def parse_number(s):
    got = match_number(s, 0)
    if got is not None and got[0] == len(s):
        return got[1]
    return None


def normalize_text(s):
    words = [w for w in WS_RUN.split(s) if w]
    return " ".join("".join(c.lower() for c in w) for w in words)


def normalize(s):
    core = strip_surrounding(s)
    number = parse_number(core)
    if number is not None:
        return ("number", number)
    return ("text", normalize_text(core))


def to_float(number):
    kind, value = number
    if kind == "float":
        return value
    negative, digits, scale = value
    if not digits:
        return 0.0
    return float("%s%se%d" % ("-" if negative else "", digits, -scale))


def numbers_match(a, b, tol=FLOAT_REL_TOL):
    if a[0] == "exact" and b[0] == "exact":
        return a[1] == b[1]
    x, y = to_float(a), to_float(b)
    return x == y or abs(x - y) <= tol * max(abs(x), abs(y))


def normalized_match(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "number":
        return numbers_match(a[1], b[1])
    return a[1] == b[1]


def answers_match(extracted, expected):
    want = normalize(expected)
    got = normalize(extracted)
    if got[0] == "text" and want[0] == "number":
        tokens = numbers_in(extracted)
        return len(tokens) == 1 and numbers_match(tokens[0][2], want[1])
    return normalized_match(got, want)


def sign_context_ok(prev):
    return prev is None or prev in WS_SET or prev in SIGN_CONTEXT


def token_start(s, floor, body):
    """Start of the token whose body is at `body`, taking in sign/currency."""

    def within(pos):
        return s[pos - 1] if pos > floor else None

    def before(pos):
        return s[pos - 1] if pos > 0 else None

    c1 = within(body)
    if c1 is None:
        return body
    p1 = body - 1
    if c1 in CURRENCY:
        c2 = within(p1)
        if c2 is not None and c2 in SIGNS and sign_context_ok(before(p1 - 1)):
            return p1 - 1
        return p1
    if c1 not in SIGNS:
        return body
    c2 = within(p1)
    if c2 is not None and c2 in CURRENCY:
        p2 = p1 - 1
        prev = before(p2)
        return body if (prev is not None and prev in SIGNS) else p2
    return p1 if sign_context_ok(before(p1)) else body


def numbers_in(text):
    """[(start, end, number)] for every number token, left to right."""
    tokens = []
    floor = 0
    pos = 0
    while True:
        m = BODY_START.search(text, pos)
        if m is None:
            return tokens
        i = m.start()
        prefixed = token_start(text, floor, i)
        got = match_number(text, prefixed)
        start = prefixed
        if got is None:
            got, start = match_number(text, i), i
        if got is None:
            pos = i + 1
            continue
        end, number = got
        tokens.append((start, end, number))
        floor = pos = end


def chars_eq_ci(a, b):
    if a.isascii() and b.isascii():
        return a.lower() == b.lower()
    return a == b or a.lower() == b.lower()


def match_ci_at(hay, start, needle):
    if len(hay) - start < len(needle):
        return None
    for k, c in enumerate(needle):
        if not chars_eq_ci(hay[start + k], c):
            return None
    return start + len(needle)


def extract_after_marker(output, markers):
    markers = [m for m in markers if m]
    for start in range(len(output) - 1, -1, -1):
        ends = [e for e in (match_ci_at(output, start, m) for m in markers) if e is not None]
        if ends:
            line = trim(output[max(ends):].split("\n", 1)[0])
            return line if strip_surrounding(line) else None
    return None


def extract_last_number(output):
    tokens = numbers_in(output)
    if not tokens:
        return None
    start, end, _ = tokens[-1]
    return output[start:end]


def rust_lines(output):
    lines = output.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def extract_last_line(output):
    for line in reversed(rust_lines(output)):
        line = trim(line)
        if strip_surrounding(line):
            return line
    return None


def extract_answer(output, order=DEFAULT_ORDER, markers=DEFAULT_MARKERS):
    for rule in order:
        if rule == "marker":
            text = extract_after_marker(output, markers)
        elif rule == "last_number":
            text = extract_last_number(output)
        else:
            text = extract_last_line(output)
        if text is not None:
            return rule, text
    return None


def answer_correctness(output, expected):
    if not trim(output):
        return None, 0.0
    found = extract_answer(output)
    if found is None:
        return None, 0.0
    return found, 1.0 if answers_match(found[1], expected) else 0.0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    per_item = "--per-item" in argv[2:]
    with open(argv[1], encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    pairs = [(item["output"], item["expected"]) for item in items]

    t0 = time.perf_counter()
    results = [answer_correctness(output, expected) for output, expected in pairs]
    seconds = time.perf_counter() - t0

    correct = int(sum(score for _, score in results))
    if per_item:
        for i, (found, score) in enumerate(results):
            rule, text = found if found else (None, None)
            print(json.dumps({"i": i, "rule": rule, "text": text, "correct": int(score)},
                             ensure_ascii=False))
    print(json.dumps({
        "items": len(pairs),
        "seconds": seconds,
        "items_per_s": len(pairs) / seconds if seconds > 0 else None,
        "correct": correct,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
