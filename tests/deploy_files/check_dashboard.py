#!/usr/bin/env python3
"""Lints a Grafana dashboard (classic JSON model) against dlrd's metrics.

Python 3 standard library + promtool. Checks (docs/metrics.md §7.2):
  1. required top-level, panel and target keys; uid length and characters;
  2. unique panel ids; gridPos inside the 24-column grid; no overlaps;
  3. a `datasource` variable of type datasource (query prometheus), and every
     panel, target and query variable uses {"type":"prometheus",
     "uid":"${datasource}"}; every $variable used is defined;
  4. every range selector is [$__rate_interval];
  5. histogram_quantile keeps `le` in every aggregation inside it;
  6. every dlrd_*/process_* metric referenced (after stripping
     _bucket/_count/_sum, which must then belong to a histogram) has a
     `# TYPE` line in a real /metrics exposition (--metrics FILE);
  7. every panel and variable expression parses as PromQL: Grafana variables
     are substituted, the expressions written to a temporary rules file and
     `promtool check rules` run on it;
  8. a metric read from the shared database (DATABASE_METRICS, docs/metrics.md
     §8) is never added up across replicas: the first aggregation around each
     of its selectors must be max or min (a sum of that is fine).

Usage: check_dashboard.py DASHBOARD.json --metrics METRICS.txt [--promtool PATH]
Exit 0 when clean, 1 with one line per problem on stderr, 2 on usage errors.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

GRID_COLUMNS = 24
MAX_UID_LEN = 40
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TOP_KEYS = ("uid", "title", "tags", "timezone", "schemaVersion", "version",
            "editable", "graphTooltip", "time", "refresh", "templating",
            "annotations", "panels")
PANEL_KEYS = ("id", "type", "title", "gridPos", "datasource")
QUERY_PANEL_KEYS = ("targets", "fieldConfig")
TARGET_KEYS = ("refId", "expr", "legendFormat", "datasource")
BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "__interval_ms",
                "__range_s", "__range_ms", "__dashboard", "__from", "__to"}
# What each Grafana variable becomes before promtool parses the expression.
SUBSTITUTE = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
METRIC_RE = re.compile(r"\b((?:dlrd|process)_[A-Za-z0-9_:]*)")
# 8: metrics every replica exports with the same value, read from the shared
# database (docs/metrics.md §8). A value is a set of `result` label values
# that make a selector database-derived (None: any selector of the metric).
DATABASE_METRICS = {
    "dlrd_outbox_jobs": None,
    "dlrd_outbox_oldest_pending_age_seconds": None,
    "dlrd_quarantine_rows": None,
    "dlrd_quarantine_bytes": None,
    "dlrd_fallback_decisions_total": None,
    "dlrd_fallback_wasted_total": None,
    # sent and failed are counted by the replica that sent; skipped comes from
    # the decision rows.
    "dlrd_fallback_sends_total": {"skipped"},
}
DEDUP_AGGREGATIONS = ("max", "min")
AGGREGATIONS = ("sum", "avg", "min", "max", "count", "group", "stddev",
                "stdvar", "topk", "bottomk", "quantile", "count_values")
AGG_BEFORE_PAREN_RE = re.compile(
    r"\b(%s)\s*(?:(?:by|without)\s*\([^()]*\)\s*)?$" % "|".join(AGGREGATIONS))
SELECTOR_RE = re.compile(r"(?<![\w:])((?:dlrd|process)_[A-Za-z0-9_:]*)\s*"
                         r"(\{[^}]*\})?")
LABEL_MATCHER_RE = re.compile(
    r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
VAR_RE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
AGG_RE = re.compile(r"\b(sum|avg|min|max|count|group|stddev|stdvar)\s*(?=\(|by\b|without\b)")


def strip_strings(expr):
    """Replaces string literals by "" so that label values do not match."""
    return STRING_RE.sub('""', expr)


def blank_strings(expr):
    """Fills string literals with 'x', keeping every position in place."""
    return STRING_RE.sub(
        lambda m: m.group(0)[0] + "x" * (len(m.group(0)) - 2) + m.group(0)[-1],
        expr)


def selector_may_match(matchers, label, value):
    """Whether a series whose `label` is `value` can pass the selector's
    matchers. A matcher holding a Grafana variable may match anything."""
    for name, op, want in LABEL_MATCHER_RE.findall(matchers or ""):
        if name != label or "$" in want:
            continue
        if op == "=" and value != want:
            return False
        if op == "!=" and value == want:
            return False
        if op in ("=~", "!~"):
            try:
                hit = re.fullmatch(want, value) is not None
            except re.error:
                continue
            if hit != (op == "=~"):
                return False
    return True


def database_selectors(expr):
    """(position, metric) of each selector of a database-derived metric."""
    bare = blank_strings(expr)
    out = []
    for m in SELECTOR_RE.finditer(bare):
        name = m.group(1)
        if name not in DATABASE_METRICS:
            continue
        values = DATABASE_METRICS[name]
        # Matchers are read from the original text (bare has the values blanked).
        matchers = expr[m.start(2):m.end(2)] if m.group(2) else ""
        if values is None:
            out.append((m.start(1), name))
        else:
            hit = sorted(v for v in values
                         if selector_may_match(matchers, "result", v))
            if hit:
                out.append((m.start(1), '%s{result="%s"}'
                            % (name, "|".join(hit))))
    return out


def first_aggregation(expr, pos):
    """Name of the innermost aggregation whose argument contains pos, or
    None when the selector at pos is not aggregated."""
    bare = blank_strings(expr)
    opens = []
    for i, c in enumerate(bare[:pos]):
        if c == "(":
            opens.append(i)
        elif c == ")" and opens:
            opens.pop()
    for i in reversed(opens):
        m = AGG_BEFORE_PAREN_RE.search(bare[:i])
        if m:
            return m.group(1)
    return None


def matching_paren(s, i):
    """Index of the ')' closing the '(' at s[i], or -1."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1


def label_values_selector(query):
    """label_values(sel, label) -> sel; label_values(label) -> None."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query, re.S)
    return m.group(1) if m else None


def variable_query(var):
    q = var.get("query", "")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q


class Checker:
    def __init__(self, dashboard, metric_types, promtool):
        self.d = dashboard
        self.types = metric_types  # family name -> type
        self.promtool = promtool
        self.errors = []
        self.referenced = set()

    def err(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))

    # -- 1 ----------------------------------------------------------------
    def check_top(self):
        for k in TOP_KEYS:
            if k not in self.d:
                self.err("dashboard", "missing key %r" % k)
        uid = self.d.get("uid")
        if not isinstance(uid, str) or not uid:
            self.err("dashboard", "uid must be a non-empty string")
        elif len(uid) > MAX_UID_LEN:
            self.err("dashboard", "uid %r is longer than %d characters"
                     % (uid, MAX_UID_LEN))
        elif not re.fullmatch(r"[A-Za-z0-9_-]+", uid):
            self.err("dashboard", "uid %r has characters other than "
                     "A-Z a-z 0-9 _ -" % uid)
        if not isinstance(self.d.get("templating", {}).get("list"), list):
            self.err("dashboard", "templating.list is missing")
        if not isinstance(self.d.get("annotations", {}).get("list"), list):
            self.err("dashboard", "annotations.list is missing")

    def panels(self):
        """All panels, including those nested in collapsed rows."""
        out = []
        for p in self.d.get("panels", []):
            out.append(p)
            out.extend(p.get("panels", []) or [])
        return out

    def where(self, p):
        return "panel %s %r" % (p.get("id"), p.get("title"))

    # -- 1, 2, 3 ----------------------------------------------------------
    def check_panels(self):
        seen = {}
        boxes = []
        for p in self.panels():
            w = self.where(p)
            for k in PANEL_KEYS:
                if k not in p:
                    self.err(w, "missing key %r" % k)
            if p.get("type") != "row":
                for k in QUERY_PANEL_KEYS:
                    if k not in p:
                        self.err(w, "missing key %r" % k)
                if not p.get("targets"):
                    self.err(w, "has no targets")
                unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
                if not unit:
                    self.err(w, "fieldConfig.defaults.unit is not set")
            pid = p.get("id")
            if pid in seen:
                self.err(w, "duplicate panel id %r (also %r)" % (pid, seen[pid]))
            seen[pid] = p.get("title")
            if "datasource" in p and p["datasource"] != DATASOURCE:
                self.err(w, "datasource is %s, expected %s"
                         % (json.dumps(p["datasource"]), json.dumps(DATASOURCE)))
            refids = set()
            for t in p.get("targets", []) or []:
                tw = "%s target %s" % (w, t.get("refId"))
                for k in TARGET_KEYS:
                    if k not in t:
                        self.err(tw, "missing key %r" % k)
                if t.get("refId") in refids:
                    self.err(tw, "duplicate refId")
                refids.add(t.get("refId"))
                if "datasource" in t and t["datasource"] != DATASOURCE:
                    self.err(tw, "datasource is %s, expected %s"
                             % (json.dumps(t["datasource"]),
                                json.dumps(DATASOURCE)))
            g = p.get("gridPos")
            if not isinstance(g, dict):
                continue
            try:
                x, y, gw, gh = (int(g[k]) for k in ("x", "y", "w", "h"))
            except (KeyError, TypeError, ValueError):
                self.err(w, "gridPos needs integer x, y, w, h: %r" % g)
                continue
            if x < 0 or y < 0 or gw < 1 or gh < 1 or x + gw > GRID_COLUMNS:
                self.err(w, "gridPos %r is outside the %d-column grid"
                         % (g, GRID_COLUMNS))
            if p in self.d.get("panels", []):  # nested row panels may stack
                boxes.append((x, y, gw, gh, w))
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                if (a[0] < b[0] + b[2] and b[0] < a[0] + a[2]
                        and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]):
                    self.err(a[4], "gridPos overlaps %s" % b[4])

    def check_variables(self):
        vars_ = self.d.get("templating", {}).get("list", []) or []
        ds = [v for v in vars_ if v.get("type") == "datasource"]
        if not any(v.get("name") == "datasource"
                   and v.get("query") == "prometheus" for v in ds):
            self.err("templating", "no variable named 'datasource' of type "
                     "datasource with query 'prometheus'")
        for v in vars_:
            if v.get("type") == "query" and v.get("datasource") != DATASOURCE:
                self.err("variable %r" % v.get("name"),
                         "datasource is %s, expected %s"
                         % (json.dumps(v.get("datasource")),
                            json.dumps(DATASOURCE)))
        return {v.get("name") for v in vars_}

    # -- expressions --------------------------------------------------------
    def expressions(self):
        """(where, expr) for every target and query-variable selector."""
        out = []
        for p in self.panels():
            for t in p.get("targets", []) or []:
                if "expr" in t:
                    out.append(("%s target %s" % (self.where(p), t.get("refId")),
                                t["expr"]))
        for v in self.d.get("templating", {}).get("list", []) or []:
            if v.get("type") != "query":
                continue
            q = variable_query(v)
            sel = label_values_selector(q)
            w = "variable %r" % v.get("name")
            if sel is not None:
                out.append((w, sel))
            elif not re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", q):
                out.append((w, q))  # a plain PromQL query variable
        return out

    def check_expr(self, where, expr, names):
        bare = strip_strings(expr)
        for m in VAR_RE.finditer(expr):
            name = m.group(1) or m.group(2)
            if name not in names and name not in BUILTIN_VARS:
                self.err(where, "undefined variable $%s" % name)
        # 4: every range selector (and subquery) is $__rate_interval.
        for m in re.finditer(r"\[([^\]]*)\]", bare):
            if m.group(1).strip() != "$__rate_interval":
                self.err(where, "range [%s] is not [$__rate_interval]"
                         % m.group(1))
        for fn in re.finditer(r"\b(rate|irate|increase)\s*\(", bare):
            end = matching_paren(bare, fn.end() - 1)
            if end > 0 and "[$__rate_interval]" not in bare[fn.end():end]:
                self.err(where, "%s() without [$__rate_interval]" % fn.group(1))
        # 5: histogram_quantile keeps `le`.
        for hq in re.finditer(r"\bhistogram_quantile\s*\(", bare):
            end = matching_paren(bare, hq.end() - 1)
            if end > 0:
                self.check_le(where, bare[hq.end():end])
        # 8: database-derived metrics are not added up across replicas.
        for pos, name in database_selectors(expr):
            agg = first_aggregation(expr, pos)
            if agg is not None and agg not in DEDUP_AGGREGATIONS:
                self.err(where, "%s is read from the shared database (the "
                         "same on every replica) but is inside %s(); take "
                         "max without (instance) first (docs/metrics.md §8)"
                         % (name, agg))
        # 6: metric names exist in the daemon's exposition.
        for m in METRIC_RE.finditer(bare):
            name = m.group(1)
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            if base != name and self.types.get(base) in ("histogram",
                                                         "summary"):
                if name.endswith("_bucket") and self.types[base] != "histogram":
                    self.err(where, "%s: %s is a %s, not a histogram"
                             % (name, base, self.types[base]))
                self.referenced.add(base)
            elif name in self.types:
                self.referenced.add(name)
            else:
                self.err(where, "metric %s has no '# TYPE' line in the "
                         "daemon's /metrics" % name)

    def check_le(self, where, arg):
        for m in AGG_RE.finditer(arg):
            rest = arg[m.end():]
            clause = re.match(r"\s*(by|without)\s*\(([^)]*)\)", rest)
            if not clause:
                open_at = m.end() + rest.index("(")
                close = matching_paren(arg, open_at)
                clause = re.match(r"\s*(by|without)\s*\(([^)]*)\)",
                                  arg[close + 1:]) if close > 0 else None
            labels = ([x.strip() for x in clause.group(2).split(",")]
                      if clause else [])
            if not clause or (clause.group(1) == "by") != ("le" in labels):
                self.err(where, "histogram_quantile: %s() drops the 'le' "
                         "label" % m.group(1))

    def check_promql(self, exprs):
        """7: promtool check rules on all expressions; on failure, again one
        by one to say which."""
        if not self.promtool:
            self.err("promql", "promtool not found (set --promtool or "
                     "$PROMTOOL); expressions were not parsed")
            return

        def subst(e):
            return VAR_RE.sub(lambda m: SUBSTITUTE.get(
                m.group(1) or m.group(2), m.group(1) or m.group(2)), e)

        def run(items):
            with tempfile.NamedTemporaryFile("w", suffix=".rules.yml",
                                             delete=False) as f:
                f.write("groups:\n- name: dashboard\n  rules:\n")
                for i, (_, e) in enumerate(items):
                    f.write("  - record: dashboard:expr_%d\n    expr: %s\n"
                            % (i, json.dumps(subst(e))))
                path = f.name
            try:
                r = subprocess.run([self.promtool, "check", "rules", path],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True,
                                   timeout=60)
                return r.returncode, r.stdout
            finally:
                os.unlink(path)

        rc, _ = run(exprs)
        if rc == 0:
            return
        for w, e in exprs:
            rc, out = run([(w, e)])
            if rc != 0:
                lines = [l.strip() for l in out.splitlines()
                         if "parse error" in l or "error" in l.lower()]
                self.err(w, "promtool check rules: %s (expr: %s)"
                         % (lines[-1] if lines else out.strip(), e))

    def run(self):
        self.check_top()
        self.check_panels()
        names = self.check_variables()
        exprs = self.expressions()
        for w, e in exprs:
            self.check_expr(w, e, names)
        self.check_promql(exprs)
        return self.errors


def metric_types(text):
    """family -> type from the `# TYPE` lines of an exposition."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[:2] == ["#", "TYPE"]:
            out[parts[2]] = parts[3]
    return out


def find_promtool(explicit=None):
    for p in (explicit, os.environ.get("PROMTOOL"), shutil.which("promtool"),
              "/usr/bin/promtool"):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def check(dashboard, metrics_text, promtool):
    """Returns (errors, unreferenced dlrd_* families)."""
    types = metric_types(metrics_text)
    c = Checker(dashboard, types, promtool)
    errors = c.run()
    unused = sorted(n for n in types
                    if n.startswith("dlrd_") and n not in c.referenced)
    return errors, unused


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dashboard")
    ap.add_argument("--metrics", required=True,
                    help="a /metrics exposition captured from the daemon")
    ap.add_argument("--promtool")
    a = ap.parse_args(argv)
    try:
        with open(a.dashboard) as f:
            dashboard = json.load(f)
        with open(a.metrics) as f:
            metrics_text = f.read()
    except (OSError, ValueError) as e:
        print("check_dashboard: %s" % e, file=sys.stderr)
        return 2
    if not metric_types(metrics_text):
        print("check_dashboard: %s has no '# TYPE' lines" % a.metrics,
              file=sys.stderr)
        return 2
    errors, unused = check(dashboard, metrics_text, find_promtool(a.promtool))
    for e in errors:
        print("FAIL " + e, file=sys.stderr)
    if unused:
        print("note: not on the dashboard: " + ", ".join(unused))
    n_panels = len(Checker(dashboard, {}, None).panels())
    print("%s: %d panels, %d problems" % (a.dashboard, n_panels, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
