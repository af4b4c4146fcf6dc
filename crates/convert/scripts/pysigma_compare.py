#!/usr/bin/env python3
"""Compares sigrun's ES|QL and Splunk SPL with pySigma's, rule by rule, and sorts every
difference into an explained category. Used by tests/pysigma.rs.

Usage: pysigma_compare.py RULES_DIR < sigrun.jsonl > report.json
  stdin   sigrun's conversions, one JSON line per rule and target:
          {"path", "id", "target": "esql"|"splunk", "queries": [...]} or {..., "error": "..."}
  stdout  {"versions", "summary": {target: {category: count}}, "unexplained": [...]}

Both queries of a rule are parsed into boolean trees of field tests with their meaning
spelled out (case sensitivity, wildcard pattern, regex, CIDR, null, number), then
normalised: `and`/`or` flattened and sorted, `IN` lists expanded, `NOT COALESCE(x, false)`
read as `not x`, ES|QL `starts_with`/`ends_with`/`LIKE`/`==` all read as patterns. Trees that
are equal then are "equivalent". Otherwise the smallest set of *relaxations* that makes them
equal names the difference: each relaxation forgets one known, explained way the two
converters write the same rule differently (case handling, pySigma's LIKE escaping, ...).
A pair that no set of relaxations reconciles, or that a parser cannot read, is unexplained.
"""
import itertools
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pysigma_convert  # noqa: E402

# ------------------------------------------------------------------------------------------
# The canonical form: ("and", (..)), ("or", (..)), ("not", x), ("test", field, pred),
# ("true",). A field of None is a keyword search. Predicates:
#   ("glob", tokens, cased)  tokens: tuple of ("t", text) | ("*",) | ("?",)
#   ("re", pattern, dialect)  dialect: "pcre" | "lucene"
#   ("cidr", net) ("null",) ("exists", bool) ("num", op, value) ("ref", other, position)
# ------------------------------------------------------------------------------------------


class Unreadable(Exception):
    pass


def glob_tokens(parts):
    """Merges adjacent text and collapses runs of '*'."""
    out = []
    for p in parts:
        if p[0] == "t":
            if not p[1]:
                continue
            if out and out[-1][0] == "t":
                out[-1] = ("t", out[-1][1] + p[1])
                continue
        elif p[0] == "*" and out and out[-1][0] == "*":
            continue
        out.append(p)
    return tuple(out)


def test(field, pred):
    return ("test", field, pred)


def glob(field, parts, cased):
    return test(field, ("glob", glob_tokens(parts), cased))


def normalize(node):
    """Flattens and sorts and/or, removes double negation, dedups operands."""
    kind = node[0]
    if kind == "not":
        inner = normalize(node[1])
        if inner[0] == "not":
            return inner[1]
        return ("not", inner)
    if kind in ("and", "or"):
        items = []
        for item in node[1]:
            item = normalize(item)
            if item[0] == kind:
                items.extend(item[1])
            elif item == ("true",) and kind == "and":
                continue
            else:
                items.append(item)
        items = sorted(set(items), key=repr)
        if len(items) == 1:
            return items[0]
        return (kind, tuple(items))
    return node


# ------------------------------------------------------------------------------------------
# A small tokenizer shared by both languages.
# ------------------------------------------------------------------------------------------

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<quoted>'(?:[^'\\]|\\.)*')
      | (?P<backquoted>`(?:[^`]|``)*`)
      | (?P<op>==|!=|<=|>=|=|<|>|\(|\)|,|\|)
      | (?P<word>[^\s"'`=!<>(),|]+)
    )""",
    re.X,
)


def tokenize(text):
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise Unreadable(f"cannot tokenize at {text[pos:pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
    return tokens


def unquote(token, keep_unknown=False):
    """The text of a double-quoted string: \\x is x; with keep_unknown, a backslash before
    anything but `\\`, `"`, n, t, r stays (how pySigma means `\\*`)."""
    body = token[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if keep_unknown and nxt not in '\\"ntr':
                out.append(c)
                i += 1
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


class Tokens:
    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset=0):
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else (None, None)

    def next(self):
        tok = self.peek()
        self.pos += 1
        return tok

    def expect(self, value):
        tok = self.next()
        if tok[1] != value:
            raise Unreadable(f"expected {value!r}, found {tok[1]!r}")
        return tok

    def word(self, *values):
        tok = self.peek()
        return tok[0] == "word" and tok[1].lower() in values

    def done(self):
        return self.pos >= len(self.tokens)


# ------------------------------------------------------------------------------------------
# ES|QL (the `WHERE` expression of both converters).
# ------------------------------------------------------------------------------------------


def esql_like(pattern, escapes="esql"):
    """An ES|QL LIKE pattern: * and ? are wildcards, \\ escapes the next character
    (escapes="esql"). pySigma escapes the wildcards but not the backslash, so its patterns are
    also read as it means them: every backslash literal ("literal", a rule without literal
    wildcards), or only `\\*` and `\\?` escapes ("wildcards")."""
    parts = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and (
            escapes == "esql" or (escapes == "wildcards" and pattern[i + 1] in "*?")
        ):
            parts.append(("t", pattern[i + 1]))
            i += 2
            continue
        parts.append(("*",) if c == "*" else ("?",) if c == "?" else ("t", c))
        i += 1
    return parts


class Esql:
    def __init__(self, text, like_escapes="esql"):
        frame = re.match(r"(?is)\s*from\s+\S+(?:\s+metadata\s+[\w\s,]+?)?\s*\|\s*where\s+(.*)$", text)
        if not frame:
            raise Unreadable("no FROM ... | WHERE")
        self.t = Tokens(tokenize(frame.group(1)))
        self.like_escapes = like_escapes

    def parse(self):
        node = self.or_()
        if not self.t.done():
            raise Unreadable(f"trailing {self.t.peek()[1]!r}")
        return node

    def or_(self):
        items = [self.and_()]
        while self.t.word("or"):
            self.t.next()
            items.append(self.and_())
        return items[0] if len(items) == 1 else ("or", tuple(items))

    def and_(self):
        items = [self.not_()]
        while self.t.word("and"):
            self.t.next()
            items.append(self.not_())
        return items[0] if len(items) == 1 else ("and", tuple(items))

    def not_(self):
        if self.t.word("not"):
            self.t.next()
            if self.t.word("coalesce") and self.t.peek(1)[1] == "(":
                self.t.next()
                self.t.expect("(")
                inner = self.or_()
                self.t.expect(",")
                if not self.t.word("false"):
                    raise Unreadable("COALESCE default is not false")
                self.t.next()
                self.t.expect(")")
                return ("not", inner)
            return ("not", self.not_())
        return self.atom()

    def field(self):
        kind, value = self.t.next()
        if kind == "backquoted":
            return value[1:-1].replace("``", "`"), True
        if kind == "word" and value.lower() == "to_lower" and self.t.peek()[1] == "(":
            self.t.expect("(")
            name, _ = self.field()
            self.t.expect(")")
            return name, False
        if kind == "word":
            return value, True
        raise Unreadable(f"expected a field, found {value!r}")

    def string(self):
        kind, value = self.t.next()
        if kind != "string":
            raise Unreadable(f"expected a string, found {value!r}")
        return unquote(value, keep_unknown=self.like_escapes != "esql")

    def value_list(self):
        self.t.expect("(")
        values = [self.t.next()]
        while self.t.peek()[1] == ",":
            self.t.next()
            values.append(self.t.next())
        self.t.expect(")")
        return values

    def atom(self):
        kind, value = self.t.peek()
        if value == "(":
            self.t.next()
            node = self.or_()
            self.t.expect(")")
            return node
        low = (value or "").lower()
        if kind == "word" and low in ("starts_with", "ends_with", "cidr_match") and self.t.peek(1)[1] == "(":
            self.t.next()
            self.t.expect("(")
            field, cased = self.field()
            args = []
            while self.t.peek()[1] == ",":
                self.t.next()
                args.append(self.string())
            self.t.expect(")")
            if low == "cidr_match":
                return ("or", tuple(test(field, ("cidr", a)) for a in args))
            text = args[0]
            parts = [("t", text), ("*",)] if low == "starts_with" else [("*",), ("t", text)]
            return glob(field, parts, cased)
        if kind == "word" and low in ("true", "false"):
            self.t.next()
            return ("true",) if low == "true" else ("not", ("true",))
        field, cased = self.field()
        op = self.t.next()
        opv = (op[1] or "").lower()
        if opv == "is":
            if self.t.word("not"):
                self.t.next()
                self.t.next()  # null
                return ("not", test(field, ("null",)))
            self.t.next()
            return test(field, ("null",))
        if opv in ("like", "rlike"):
            pattern = self.string()
            if opv == "rlike":
                return test(field, ("re", pattern, "lucene"))
            return glob(field, esql_like(pattern, self.like_escapes), cased)
        if opv == "in":
            values = self.value_list()
            return ("or", tuple(self.compare(field, cased, "==", v) for v in values))
        if opv in ("==", "!=", "<", "<=", ">", ">="):
            return self.compare(field, cased, opv, self.t.next())
        raise Unreadable(f"unknown operator {op[1]!r}")

    def compare(self, field, cased, op, tok):
        kind, value = tok
        if kind == "string":
            node = glob(field, [("t", unquote(value))], cased)
            return ("not", node) if op == "!=" else node
        if kind == "word" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return test(field, ("num", op, float(value)))
        if kind == "word" and value.lower() in ("true", "false"):
            return test(field, ("glob", (("t", value.lower()),), False))
        if kind == "word" and value.lower() == "to_lower" and self.t.peek()[1] == "(":
            self.t.expect("(")
            other, _ = self.field()
            self.t.expect(")")
            return test(field, ("ref", other, "equals", False))
        if kind in ("word", "backquoted"):
            name = value[1:-1] if kind == "backquoted" else value
            return test(field, ("ref", name, "equals", cased))
        raise Unreadable(f"unknown value {value!r}")


# ------------------------------------------------------------------------------------------
# Splunk SPL: a search expression, then `| regex` / `| where` stages.
# ------------------------------------------------------------------------------------------


def spl_value(text, star_escape=False):
    """A search value: `*` is the only wildcard; `?` is literal in SPL search. Numbers are
    values like any other (`F=4`, `F="4"` and `F IN (4)` are the same search). With
    star_escape, `\\*` is a literal `*` (what pySigma means by it)."""
    parts = []
    i = 0
    while i < len(text):
        if star_escape and text.startswith("\\*", i):
            parts.append(("t", "*"))
            i += 2
            continue
        parts.append(("*",) if text[i] == "*" else ("t", text[i]))
        i += 1
    return parts


class SplSearch:
    """SPL search syntax: OR binds tighter than AND (implicit or explicit); NOT binds
    tightest."""

    def __init__(self, text, star_escape=False):
        self.t = Tokens(tokenize(text))
        # Read `\\*` in a value as a literal `*` (what pySigma means; SPL has no such escape).
        self.star_escape = star_escape

    def parse(self):
        node = self.and_()
        if not self.t.done():
            raise Unreadable(f"trailing {self.t.peek()[1]!r}")
        return node

    def and_(self):
        items = [self.or_()]
        while not self.t.done() and self.t.peek()[1] != ")":
            if self.t.peek() == ("word", "AND"):
                self.t.next()
            items.append(self.or_())
        return items[0] if len(items) == 1 else ("and", tuple(items))

    def or_(self):
        items = [self.not_()]
        while self.t.peek() == ("word", "OR"):
            self.t.next()
            items.append(self.not_())
        return items[0] if len(items) == 1 else ("or", tuple(items))

    def not_(self):
        if self.t.peek() == ("word", "NOT"):
            self.t.next()
            return ("not", self.not_())
        return self.atom()

    def value(self):
        kind, value = self.t.next()
        if kind == "string":
            # In SPL strings `\\\\` is a backslash and `\\"` a quote; a backslash before
            # anything else stays a backslash.
            return unquote(value, keep_unknown=True), True
        if kind == "word":
            return value, False
        raise Unreadable(f"expected a value, found {value!r}")

    def atom(self):
        kind, value = self.t.peek()
        if value == "(":
            self.t.next()
            node = self.and_()
            self.t.expect(")")
            return node
        if kind == "string" or (kind == "word" and self.t.peek(1)[1] not in ("=", "!=", "<", "<=", ">", ">=")
                                and not (self.t.peek(1)[0] == "word" and self.t.peek(1)[1] == "IN")):
            if kind == "word" and value == "CASE" and self.t.peek(1)[1] == "(":
                self.t.next()
                self.t.expect("(")
                text, _ = self.value()
                self.t.expect(")")
                return glob(None, spl_value(text, self.star_escape), True)
            text, quoted = self.value()
            if text == "*" and not quoted:
                return ("true",)
            # A keyword: found anywhere in the raw event.
            return glob(None, [("*",)] + spl_value(text, self.star_escape) + [("*",)], False)
        kind, field = self.t.next()
        if kind == "quoted":
            field = field[1:-1]
        op = self.t.next()[1]
        if op == "IN":
            self.t.expect("(")
            values = [self.value()[0]]
            while self.t.peek()[1] == ",":
                self.t.next()
                values.append(self.value()[0])
            self.t.expect(")")
            return ("or", tuple(glob(field, spl_value(v, self.star_escape), False) for v in values))
        if op in ("<", "<=", ">", ">="):
            text, _ = self.value()
            return test(field, ("num", op, float(text)))
        if op == "=":
            if self.t.peek() == ("word", "CASE") and self.t.peek(1)[1] == "(":
                self.t.next()
                self.t.expect("(")
                text, _ = self.value()
                self.t.expect(")")
                return glob(field, spl_value(text, self.star_escape), True)
            text, quoted = self.value()
            if text == "*" and not quoted:
                return ("not", test(field, ("null",)))
            if quoted and re.fullmatch(r"[0-9a-fA-F:.]+/\d+", text):
                # The search command matches a value in CIDR form as a network.
                return test(field, ("cidr", text))
            return glob(field, spl_value(text, self.star_escape), False)
        raise Unreadable(f"unknown operator {op!r}")


def regex_to_glob(regex):
    """sigrun's `| where match()` patterns back to globs: `^`/`$` anchors, `.*` and `.`
    wildcards, `\\x` literals, one level of `(?:a|b)` alternation. None if not of that form."""
    cased = True
    if regex.startswith("(?i)"):
        cased = False
        regex = regex[4:]
    start = regex.startswith("^")
    end = regex.endswith("$") and not regex.endswith("\\$")
    body = regex[1 if start else 0: len(regex) - 1 if end else len(regex)]
    alternatives = [body]
    m = re.fullmatch(r"\(\?:(.*)\)", body)
    if m:
        alternatives = split_alternation(m.group(1))
    out = []
    for alt in alternatives:
        parts = [] if start else [("*",)]
        i = 0
        while i < len(alt):
            c = alt[i]
            if c == "\\" and i + 1 < len(alt):
                parts.append(("t", alt[i + 1]))
                i += 2
            elif alt.startswith(".*", i):
                parts.append(("*",))
                i += 2
            elif c == ".":
                parts.append(("?",))
                i += 1
            elif c in "()[]{}|+?*^$":
                return None
            else:
                parts.append(("t", c))
                i += 1
        if not end:
            parts.append(("*",))
        out.append(parts)
    return out, cased


def split_alternation(text):
    out, cur, i = [], "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            cur += text[i:i + 2]
            i += 2
            continue
        if text[i] == "|":
            out.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    out.append(cur)
    return out


class SplEval:
    """The eval expressions of `| where`: sigrun's fallback and pySigma's field references."""

    def __init__(self, text):
        self.t = Tokens(tokenize(text))

    def parse(self):
        node = self.or_()
        if not self.t.done():
            raise Unreadable(f"trailing {self.t.peek()[1]!r}")
        return node

    def or_(self):
        items = [self.and_()]
        while self.t.peek() == ("word", "OR"):
            self.t.next()
            items.append(self.and_())
        return items[0] if len(items) == 1 else ("or", tuple(items))

    def and_(self):
        items = [self.not_()]
        while self.t.peek() == ("word", "AND"):
            self.t.next()
            items.append(self.not_())
        return items[0] if len(items) == 1 else ("and", tuple(items))

    def not_(self):
        if self.t.peek() == ("word", "NOT"):
            self.t.next()
            return ("not", self.not_())
        return self.comparison()

    def subject(self):
        """A field read as text: 'F', coalesce(tostring('F'), ""), lower(...)."""
        kind, value = self.t.next()
        if kind == "quoted":
            return value[1:-1], None
        if kind == "word" and value in ("coalesce", "tostring", "lower", "tonumber") and self.t.peek()[1] == "(":
            self.t.expect("(")
            field, _ = self.subject()
            while self.t.peek()[1] == ",":
                self.t.next()
                self.t.next()
            self.t.expect(")")
            return field, value
        if kind == "string":
            return None, unquote(value)
        if kind == "word":
            return None, value
        raise Unreadable(f"unexpected {value!r}")

    def comparison(self):
        kind, value = self.t.peek()
        if value == "(":
            self.t.next()
            node = self.or_()
            self.t.expect(")")
            return node
        if kind == "word" and value in ("match", "isnull", "isnotnull", "cidrmatch") and self.t.peek(1)[1] == "(":
            self.t.next()
            self.t.expect("(")
            if value == "cidrmatch":
                _, net = self.subject()
                self.t.expect(",")
                field, _ = self.subject()
                self.t.expect(")")
                return test(field, ("cidr", net))
            field, _ = self.subject()
            if value in ("isnull", "isnotnull"):
                self.t.expect(")")
                node = test(field, ("null",))
                return node if value == "isnull" else ("not", node)
            self.t.expect(",")
            _, regex = self.subject()
            self.t.expect(")")
            return pcre_test(field, regex)
        left, left_fn = self.subject()
        op = self.t.next()[1]
        right_field, right_value = self.subject()
        if right_field is not None:
            return test(left, ("ref", right_field, "equals", left_fn != "lower"))
        if op == "=":
            if right_value == "":
                return test(left, ("null",))
            return glob(left, [("t", right_value)], False)
        if op in ("<", "<=", ">", ">="):
            return test(left, ("num", op, float(right_value)))
        raise Unreadable(f"unknown eval operator {op!r}")


def pcre_test(field, pattern):
    """A PCRE test; one that is a plain (possibly anchored, `.*`-joined) literal is written
    as the glob it equals, as sigrun's `| where match()` patterns are read."""
    back = regex_to_glob(pattern)
    if back is None:
        return test(field, ("re", pattern, "pcre"))
    alternatives, cased = back
    return ("or", tuple(glob(field, parts, cased) for parts in alternatives))


def spl(text, star_escape=False):
    """A whole SPL query: the search, then `| regex`, `| where`, and pySigma's regex form
    (`| rex field=F "(?<FMatch>re)" | eval FCondition=if(isnotnull(FMatch), ...) ... | search
    ... FCondition="true"`)."""
    stages = re.split(r"\n\|\s*", text.strip(" "))
    search = stages[0]
    items = []
    search = re.sub(r'^(?:index|sourcetype|source)="[^"]*"\s*', "", search)
    if search.strip() not in ("", "*"):
        items.append(SplSearch(search, star_escape).parse())
    matches, conditions = {}, {}
    for stage in stages[1:]:
        m = re.match(r"regex\s+(?:'([^']*)'|(\S+?))(!?)=(\".*\")\s*$", stage, re.S)
        if m:
            field = m.group(1) or m.group(2)
            node = pcre_test(field, unquote(m.group(4)))
            items.append(("not", node) if m.group(3) else node)
            continue
        m = re.match(r"where\s+(.*)$", stage, re.S)
        if m:
            items.append(SplEval(m.group(1)).parse())
            continue
        m = re.match(r"rex\s+field=(\S+)\s+(\".*\")\s*$", stage, re.S)
        if m:
            body = unquote(m.group(2))
            named = re.fullmatch(r"\(\?<(\w+)>(.*)\)", body, re.S)
            if not named:
                raise Unreadable(f"rex without a named group: {stage[:60]!r}")
            matches[named.group(1)] = pcre_test(m.group(1), named.group(2))
            continue
        m = re.match(r'eval\s+(\w+)=if\(isnotnull\((\w+)\),\s*"true",\s*"false"\)\s*$', stage)
        if m and m.group(2) in matches:
            conditions[m.group(1)] = matches[m.group(2)]
            continue
        m = re.match(r"search\s+(.*)$", stage, re.S)
        if m:
            def substitute(t):
                if t[1] in conditions and t[2] == ("glob", (("t", "true"),), False):
                    return conditions[t[1]]
                return t
            items.append(walk(SplSearch(m.group(1), star_escape).parse(), substitute))
            continue
        raise Unreadable(f"unknown stage {stage[:40]!r}")
    if not items:
        return ("true",)
    return items[0] if len(items) == 1 else ("and", tuple(items))


# ------------------------------------------------------------------------------------------
# Relaxations: each forgets one known way the converters differ. Applied to both trees.
# ------------------------------------------------------------------------------------------


def walk(node, f):
    """Applies f to every test; f returns a node."""
    kind = node[0]
    if kind in ("and", "or"):
        return (kind, tuple(walk(n, f) for n in node[1]))
    if kind == "not":
        return ("not", walk(node[1], f))
    if kind == "test":
        return f(node)
    return node


def relax_case(node):
    """Case handling: sigrun compares strings case-insensitively (TO_LOWER / SPL's default),
    pySigma's ES|QL compares case-sensitively (`==`, `LIKE`, starts_with)."""
    def f(t):
        pred = t[2]
        if pred[0] == "glob":
            tokens = tuple(("t", p[1].lower()) if p[0] == "t" else p for p in pred[1])
            return test(t[1], ("glob", tokens, None))
        if pred[0] == "ref":
            return test(t[1], pred[:3] + (None,))
        return t
    return walk(node, f)


def relax_question_mark(node):
    """Wildcard forms: the `?` wildcard. SPL search has none: pySigma writes it as `*`
    (matching more) or leaves it as a literal `?`; sigrun moves such a test into `| where
    match()` with `.`. Forgets what a `?` stands for."""
    def f(t):
        pred = t[2]
        if pred[0] == "glob":
            tokens = []
            for p in pred[1]:
                if p[0] == "?" or (p[0] == "t" and "?" in p[1]):
                    tokens.append(("*",))
                else:
                    tokens.append(p)
            return test(t[1], ("glob", glob_tokens(tokens), pred[2]))
        return t
    return walk(node, f)


def relax_regex(node):
    """Regex dialects: ES|QL RLIKE takes a Lucene RegExp matching the whole value; sigrun
    translates the Sigma (PCRE) regex into one, pySigma passes the PCRE through. SPL: both
    write PCRE, sigrun with inline flags. Forgets the pattern text."""
    def f(t):
        if t[2][0] == "re":
            return test(t[1], ("re",))
        return t
    return walk(node, f)


def relax_null(node):
    """Null: sigrun's ES|QL/SPL `null` also matches the empty string (Sigma's null is absent,
    JSON null or empty); pySigma writes `IS NULL` / `NOT F=*` only, and writes `F=""` as an
    empty-string test, which sigrun folds into the same test."""
    def f(t):
        pred = t[2]
        if pred[0] == "glob" and pred[1] == ():
            return test(t[1], ("null",))
        return t
    return walk(node, f)


def relax_backslash(node):
    """Escaping next to wildcards: values with a backslash before a wildcard or a literal
    `*` (Sigma `\\\\*`, `\\*`), which each converter escapes its own way (pySigma #431: a
    backslash before a modifier's wildcard). Forgets backslashes and whether a `*` is
    literal."""
    def f(t):
        pred = t[2]
        if pred[0] == "glob":
            tokens = []
            for p in pred[1]:
                if p[0] == "t":
                    for piece in re.split(r"(\*)", p[1].replace("\\", "")):
                        tokens.append(("*",) if piece == "*" else ("t", piece))
                else:
                    tokens.append(p)
            return test(t[1], ("glob", glob_tokens(tokens), pred[2]))
        return t
    return walk(node, f)


def drop_regex(node):
    """pySigma's SPL writes every regex as a `| regex` (or `| rex`) stage after the search,
    even one under NOT or OR, where the stage does not mean the same thing (pySigma bug).
    Forgets regex tests (sigrun writes such rules with `| where match()`)."""
    kind = node[0]
    if kind in ("and", "or"):
        items = tuple(drop_regex(n) for n in node[1] if not (n[0] == "test" and n[2][0] == "re"))
        return (kind, items) if items else ("true",)
    if kind == "not":
        inner = node[1]
        if inner[0] == "test" and inner[2][0] == "re":
            return ("true",)
        return ("not", drop_regex(inner))
    if kind == "test" and node[2][0] == "re":
        return ("true",)
    return node


RELAXATIONS = {
    "case handling": relax_case,
    "wildcard '?'": relax_question_mark,
    "regex dialect: sigrun translates to Lucene RegExp for RLIKE, pySigma passes PCRE": relax_regex,
    "null and empty string": relax_null,
    "escaping: backslash next to a wildcard": relax_backslash,
    "pySigma bug: '| regex' moved out of NOT/OR": drop_regex,
}

# Whole-query categories decided before parsing.


# pySigma writes a value list that an expansion (windash) made under `not` without
# parentheses: `not F like "a" or F like "b"` is `(not a) or b`. Reading it with the
# parentheses pySigma forgot gives what it meant.
_STRING = r'"(?:[^"\\]|\\.)*"'
NOT_LIST = {
    "esql": re.compile(r"(\bnot )((\w+) (?:like|==) " + _STRING + r"(?: or \3 (?:like|==) " + _STRING + r")+)"),
    "splunk": re.compile(r"(\bNOT )((\w+)=" + _STRING + r"(?: OR \3=" + _STRING + r")+)"),
}
PARENS = "pySigma bug: no parentheses around a value list under NOT"


def categorize(target, ours, theirs):
    """The categories explaining one pair, or None when nothing does."""
    if "error" in ours and "error" in theirs:
        return ["both refuse"], None
    if "error" in theirs:
        if "String value expressions are not supported" in theirs["error"]:
            return ["pySigma refuses keyword searches"], None
        if "ORing FieldRef" in theirs["error"]:
            return ["pySigma refuses fieldref under OR"], None
        return None, f"pySigma error: {theirs['error']}"
    if "error" in ours:
        if "no Lucene equivalent" in ours["error"]:
            return ["sigrun refuses regex Lucene cannot express"], None
        return None, f"sigrun error: {ours['error']}"
    if len(ours["queries"]) != 1 or len(theirs["queries"]) != 1:
        return None, "not one query each"
    q_ours, q_theirs = ours["queries"][0], theirs["queries"][0]
    if q_ours == q_theirs:
        return ["identical"], None
    if target == "splunk" and re.search(r"\n\|\s*search\s+OR\b", q_theirs):
        # A condition with a regex under OR: pySigma moves part of the OR into the first
        # search and leaves `| search OR ...`, which SPL cannot parse.
        return ["pySigma bug: OR split across '| rex' stages ('| search OR ...')"], None
    unparenthesized = NOT_LIST[target].sub(lambda m: m.group(1) + "(" + m.group(2) + ")", q_theirs)
    try:
        if target == "esql":
            a = normalize(Esql(q_ours).parse())
            b = normalize(Esql(q_theirs).parse())
            candidates = [(b, [])]
            if unparenthesized != q_theirs:
                candidates.append((normalize(Esql(unparenthesized).parse()), [PARENS]))
            for mode in ("literal", "wildcards"):
                meant = normalize(Esql(q_theirs, like_escapes=mode).parse())
                if meant != b:
                    # ES|QL reads pySigma's unescaped backslash as an escape of the next
                    # character: the query is not what pySigma meant.
                    candidates.append((meant, ["escaping: pySigma leaves '\\' unescaped in LIKE"]))
        else:
            a = normalize(spl(q_ours))
            b = normalize(spl(q_theirs))
            candidates = [(b, [])]
            if unparenthesized != q_theirs:
                candidates.append((normalize(spl(unparenthesized)), [PARENS]))
            meant = normalize(spl(q_theirs, star_escape=True))
            if meant != b:
                # SPL search has no escape for `*`: pySigma's `\*` is a backslash and a
                # wildcard; sigrun writes the test as `| where match()`.
                candidates.append((meant, ["literal '*': pySigma writes '\\*', SPL has no such escape"]))
    except Unreadable as error:
        return None, f"unreadable: {error}"
    names = list(RELAXATIONS)
    for size in range(len(names) + 1):
        for combo in itertools.combinations(names, size):
            for b_variant, extra in candidates:
                x, y = a, b_variant
                for name in combo:
                    x = normalize(RELAXATIONS[name](x))
                    y = normalize(RELAXATIONS[name](y))
                if x == y:
                    found = list(combo) + extra
                    return (found or ["equivalent after normalising"]), None
    return None, "no relaxation reconciles the trees"


SELF_TEST = [
    # (target, sigrun's query, pySigma's query, expected categories or None: unexplained)
    ("esql", 'FROM *\n| WHERE TO_LOWER(A) == "x"', 'from * | where A=="X"', ["case handling"]),
    ("esql", 'FROM *\n| WHERE TO_LOWER(A) == "x"', 'from * | where A=="y"', None),
    ("esql", 'FROM *\n| WHERE A == 1 AND NOT COALESCE(B == 2, false)', "from * | where A==1 and not B==2",
     ["equivalent after normalising"]),
    ("esql", 'FROM *\n| WHERE A == 1 OR B == 2 AND C == 3', "from * | where (A==1 or B==2) and C==3", None),
    # sigrun: `\\\\` in the ES|QL string, an escaped backslash in LIKE; pySigma: `\\`, which
    # ES|QL's LIKE reads as an escape of `x`.
    ("esql", 'FROM *\n| WHERE TO_LOWER(A) LIKE "*\\\\\\\\x.exe"', 'from * | where ends_with(A, "\\\\x.exe")',
     ["case handling"]),
    ("esql", 'FROM *\n| WHERE TO_LOWER(A) LIKE "*\\\\\\\\x.exe"', 'from * | where A like "*\\\\x.exe"',
     ["case handling", "escaping: pySigma leaves '\\' unescaped in LIKE"]),
    ("splunk", 'A IN ("a", "b") C="c"', 'A="a" OR A="b" C="c"', ["equivalent after normalising"]),
    ("splunk", 'A="a" B="b"', 'A="a" OR B="b"', None),
    ("splunk", 'A="x" NOT A IN ("a", "b")', 'A="x" NOT A="a" OR A="b"', [PARENS]),
    ("splunk", '*\n| where match(coalesce(tostring(\'A\'), ""), "(?i)^a.c$")', 'A="a*c"', ["wildcard '?'"]),
    ("splunk", '*\n| where match(coalesce(tostring(\'A\'), ""), "(?i)^a.c$")', 'A="a*d"', None),
]


def self_test():
    """The classifier on pairs whose answer is known, including pairs that must stay
    unexplained: a comparison that explained everything would check nothing."""
    failures = []
    for target, ours, theirs, expected in SELF_TEST:
        got, why = categorize(target, {"queries": [ours]}, {"queries": [theirs]})
        if got != expected:
            failures.append(f"{target}: {ours!r} vs {theirs!r}: {got} ({why}), expected {expected}")
    return failures


def main():
    failures = self_test()
    if failures:
        sys.exit("self-test failed:\n" + "\n".join(failures))
    ours = {}
    for line in sys.stdin.buffer.read().decode("utf-8").split("\n"):
        if line.strip():
            record = json.loads(line)
            ours.setdefault((os.path.normpath(record["path"]), record["target"]), []).append(record)
    summary = {}
    unexplained = []
    compared = {}
    for theirs in pysigma_convert.conversions(sys.argv[1:]):
        if "target" not in theirs:
            continue
        key = (os.path.normpath(theirs["path"]), theirs["target"])
        mine = ours.get(key)
        if not mine:
            unexplained.append({"path": theirs["path"], "target": theirs["target"], "why": "sigrun has no record"})
            continue
        record = mine.pop(0)
        target = theirs["target"]
        compared[target] = compared.get(target, 0) + 1
        categories, why = categorize(target, record, theirs)
        counts = summary.setdefault(target, {})
        if categories is None:
            counts["unexplained"] = counts.get("unexplained", 0) + 1
            unexplained.append({
                "path": theirs["path"], "target": target, "why": why,
                "sigrun": record.get("queries") or record.get("error"),
                "pysigma": theirs.get("queries") or theirs.get("error"),
            })
            continue
        for category in categories:
            counts[category] = counts.get(category, 0) + 1
    for key, rest in ours.items():
        for record in rest:
            unexplained.append({"path": record["path"], "target": record["target"], "why": "pySigma has no record"})
    report = {
        "versions": pysigma_convert.versions(),
        "summary": {t: {"rules compared": compared.get(t, 0), **dict(sorted(c.items()))} for t, c in summary.items()},
        "unexplained": unexplained,
    }
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
