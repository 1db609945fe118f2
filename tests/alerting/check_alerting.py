#!/usr/bin/env python3
"""Checks for dlrd's alerting files (Python 3 standard library only).

    check_alerting.py CHECK [--repo DIR]

CHECK is one of:
  promtool-check-rules   promtool check rules --lint-fatal deploy/prometheus/dlrd.rules.yml
  promtool-test-rules    promtool test rules deploy/prometheus/dlrd.rules.test.yml
  promtool-check-config  promtool check config deploy/prometheus/prometheus.yml
  amtool-check-config    amtool check-config deploy/alertmanager/alertmanager.yml
  amtool-routes          amtool config routes test --verify.receivers=... per case,
                         and amtool template render of every dlrd.tmpl template
  lint                   every alert: severity page|warning, summary, description,
                         runbook_url whose anchor is a heading of deploy/RUNBOOK.md;
                         every alert has a firing and a non-firing test case
  metrics                starts the real dlrd ($DLRD_BIN) and checks that every
                         dlrd_*/process_* metric, label value and grouping label
                         used in the rules is on its /metrics
  all                    all of the above

promtool is $PROMTOOL or /usr/bin/promtool, amtool is $AMTOOL or /usr/bin/amtool
(then PATH). A missing tool is a failure, never a skip. Exit code 0 = pass.

The rules and test files are read with a small line-based parser (PyYAML is not
a dependency). It relies on the regular layout of those files, and fails loudly
when it meets something it does not understand; its rule count is cross-checked
against promtool's.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

RUNBOOK_BASE = "https://github.com/your-org/dlrd/blob/main/deploy/RUNBOOK.md"
SEVERITIES = {"page", "warning"}
# Labels Prometheus adds at scrape time (not on dlrd's /metrics).
TARGET_LABELS = {"job", "instance"}


class CheckError(Exception):
    pass


# --------------------------------------------------------------------------
# Paths and tools


class Paths:
    def __init__(self, repo):
        self.repo = repo
        self.rules = os.path.join(repo, "deploy", "prometheus", "dlrd.rules.yml")
        self.tests = os.path.join(repo, "deploy", "prometheus", "dlrd.rules.test.yml")
        self.prom_config = os.path.join(repo, "deploy", "prometheus", "prometheus.yml")
        self.am_config = os.path.join(repo, "deploy", "alertmanager", "alertmanager.yml")
        self.am_template = os.path.join(repo, "deploy", "alertmanager", "dlrd.tmpl")
        self.runbook = os.path.join(repo, "deploy", "RUNBOOK.md")
        self.harness_dir = os.path.join(repo, "tests", "integration")


def find_tool(name, env):
    candidates = []
    if os.environ.get(env):
        candidates.append(os.environ[env])
    candidates.append("/usr/bin/" + name)
    found = shutil.which(name)
    if found:
        candidates.append(found)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise CheckError("%s not found (set $%s or install it); this is a failure, "
                     "not a skip" % (name, env))


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def run_ok(cmd, what, cwd=None):
    rc, out = run(cmd, cwd=cwd)
    print("$ " + " ".join(cmd))
    print(out.rstrip())
    if rc != 0:
        raise CheckError("%s failed (exit %d)" % (what, rc))
    return out


# --------------------------------------------------------------------------
# Line-based readers for the two YAML files


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _scalar(raw, where):
    """A YAML scalar as written on one line: plain, '...' or "..."."""
    v = raw.strip()
    if not v:
        return ""
    if v.startswith('"'):
        if not v.endswith('"') or len(v) < 2:
            raise CheckError("%s: unterminated double-quoted value %r" % (where, v))
        try:
            return json.loads(v)  # YAML's simple escapes are JSON's
        except ValueError as e:
            raise CheckError("%s: cannot read %r: %s" % (where, v, e))
    if v.startswith("'"):
        if not v.endswith("'") or len(v) < 2:
            raise CheckError("%s: unterminated single-quoted value %r" % (where, v))
        return v[1:-1].replace("''", "'")
    if v.startswith(("|", ">")):
        raise CheckError("%s: block scalars are not supported here" % where)
    return v.split(" #", 1)[0].strip()


def parse_rules(path):
    """[{kind, name, line, labels, annotations, expr}] from a rules file."""
    with open(path) as f:
        lines = f.read().split("\n")
    rules = []
    cur = None
    section = None  # None | "labels" | "annotations" | "expr"
    section_indent = 0
    rule_indent = 0
    start = re.compile(r"^(\s*)- (alert|record):\s*(\S+)\s*$")
    for no, line in enumerate(lines, 1):
        where = "%s:%d" % (os.path.basename(path), no)
        stripped = line.strip()
        m = start.match(line)
        if m:
            cur = {"kind": m.group(2), "name": m.group(3), "line": no,
                   "labels": {}, "annotations": {}, "expr": ""}
            rules.append(cur)
            rule_indent = len(m.group(1)) + 2  # keys of the rule item
            section = None
            continue
        if cur is None or not stripped or stripped.startswith("#"):
            continue
        ind = _indent(line)
        if ind < rule_indent:
            cur = None  # the rule block ended (next group, next list)
            section = None
            continue
        if section and ind > section_indent:
            if section == "expr":
                cur["expr"] += " " + stripped
                continue
            km = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):\s?(.*)$", stripped)
            if not km:
                raise CheckError("%s: cannot read %s entry %r" % (where, section, stripped))
            cur[section][km.group(1)] = _scalar(km.group(2), where)
            continue
        section = None
        km = re.match(r"^([A-Za-z_]+):\s?(.*)$", stripped)
        if not km or ind != rule_indent:
            raise CheckError("%s: unexpected line in rule %s: %r" % (where, cur["name"], stripped))
        key, val = km.group(1), km.group(2).strip()
        if key in ("labels", "annotations"):
            if val:
                raise CheckError("%s: write %s as a block mapping" % (where, key))
            section, section_indent = key, ind
        elif key == "expr":
            if val in ("|", "|-", ">", ">-"):
                section, section_indent = "expr", ind
            else:
                cur["expr"] = _scalar(val, where)
        elif key in ("for", "keep_firing_for"):
            pass
        else:
            raise CheckError("%s: unknown rule key %r" % (where, key))
    return rules


def parse_tests(path):
    """[(alertname, firing: bool, line)] from the alert_rule_test items."""
    with open(path) as f:
        lines = f.read().split("\n")
    cases = []
    pending = None  # (alertname, line) waiting for its exp_alerts
    for no, line in enumerate(lines, 1):
        where = "%s:%d" % (os.path.basename(path), no)
        s = line.strip()
        if s.startswith("#") or not s:
            continue
        if re.match(r"^- eval_time:", s) or s.startswith("- name:"):
            if pending:
                raise CheckError("%s:%d: alert_rule_test for %s has no exp_alerts "
                                 "(write 'exp_alerts: []' for a must-not-fire case)"
                                 % (os.path.basename(path), pending[1], pending[0]))
            continue
        m = re.match(r"^alertname:\s*(\S+)$", s)
        if m:
            if pending:
                raise CheckError("%s: two alertnames in one item" % where)
            pending = (m.group(1), no)
            continue
        m = re.match(r"^exp_alerts:\s*(.*)$", s)
        if m:
            if not pending:
                raise CheckError("%s: exp_alerts without alertname" % where)
            rest = m.group(1).strip()
            if rest == "[]":
                cases.append((pending[0], False, pending[1]))
                pending = None
                continue
            if rest:
                raise CheckError("%s: write exp_alerts as [] or a block list" % where)
            # the next non-comment line must open an expected alert
            for nxt in lines[no:]:
                t = nxt.strip()
                if not t or t.startswith("#"):
                    continue
                if not t.startswith("- exp_labels:"):
                    raise CheckError("%s: exp_alerts must be [] or start with "
                                     "'- exp_labels:'" % where)
                break
            cases.append((pending[0], True, pending[1]))
            pending = None
    if pending:
        raise CheckError("%s: alert_rule_test for %s has no exp_alerts" % (path, pending[0]))
    return cases


# --------------------------------------------------------------------------
# Runbook anchors (GitHub rules)


def github_anchors(path):
    anchors = set()
    seen = {}
    fence = False
    with open(path) as f:
        for line in f:
            if line.lstrip().startswith(("```", "~~~")):
                fence = not fence
                continue
            if fence:
                continue
            m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line.rstrip("\n"))
            if not m:
                continue
            text = m.group(2)
            text = re.sub(r"`([^`]*)`", r"\1", text)         # code spans
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links
            slug = text.strip().lower()
            slug = re.sub(r"[^\w\- ]", "", slug)  # punctuation dropped
            slug = slug.replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchors.add(slug if n == 0 else "%s-%d" % (slug, n))
    return anchors


# --------------------------------------------------------------------------
# Checks


def check_promtool_rules(p):
    promtool = find_tool("promtool", "PROMTOOL")
    out = run_ok([promtool, "check", "rules", "--lint-fatal", p.rules],
                 "promtool check rules")
    m = re.search(r"SUCCESS: (\d+) rules found", out)
    if not m:
        raise CheckError("promtool check rules printed no rule count")
    rules = parse_rules(p.rules)
    if int(m.group(1)) != len(rules):
        raise CheckError("promtool found %s rules, the line parser %d: the rules "
                         "file layout is not what check_alerting.py expects"
                         % (m.group(1), len(rules)))
    if len(rules) == 0:
        raise CheckError("no rules")


def check_promtool_test(p):
    promtool = find_tool("promtool", "PROMTOOL")
    # From another directory: rule_files must resolve relative to the test file.
    with tempfile.TemporaryDirectory(prefix="dlrd-alerting-") as cwd:
        out = run_ok([promtool, "test", "rules", p.tests], "promtool test rules", cwd=cwd)
    if "SUCCESS" not in out or "FAILED" in out:
        raise CheckError("promtool test rules did not report SUCCESS")


def check_promtool_config(p):
    promtool = find_tool("promtool", "PROMTOOL")
    with tempfile.TemporaryDirectory(prefix="dlrd-alerting-") as cwd:
        out = run_ok([promtool, "check", "config", p.prom_config],
                     "promtool check config", cwd=cwd)
    if "dlrd.rules.yml" not in out:
        raise CheckError("prometheus.yml does not load dlrd.rules.yml")
    with open(p.prom_config) as f:
        text = f.read()
    for needle, why in [
            (r"job_name:\s*dlrd\b", "a scrape job named dlrd"),
            (r"127\.0\.0\.1:9464", "the default admin_listen target"),
            (r"metrics_path:\s*/metrics", "metrics_path /metrics"),
            (r"scrape_interval:\s*15s", "scrape_interval 15s"),
            (r"127\.0\.0\.1:9093", "the Alertmanager on 127.0.0.1:9093")]:
        if not re.search(needle, text):
            raise CheckError("prometheus.yml lacks %s" % why)


def check_amtool_config(p):
    amtool = find_tool("amtool", "AMTOOL")
    with tempfile.TemporaryDirectory(prefix="dlrd-alerting-") as cwd:
        out = run_ok([amtool, "check-config", p.am_config], "amtool check-config", cwd=cwd)
    if "1 templates" not in out:
        raise CheckError("alertmanager.yml should load its template (dlrd.tmpl)")
    with open(p.am_config) as f:
        text = f.read()
    # Secret files: absolute paths (Alertmanager does not resolve them
    # relative to the config), and no inline secrets.
    for key in ("routing_key_file", "api_url_file"):
        vals = re.findall(r"^[\s-]*%s:\s*(\S+)" % key, text, re.M)
        if not vals:
            raise CheckError("alertmanager.yml has no %s" % key)
        for v in vals:
            if not v.startswith("/"):
                raise CheckError("%s %r is not an absolute path" % (key, v))
    for key in ("routing_key", "service_key", "api_url", "slack_api_url"):
        if re.search(r"^[\s-]*%s:" % key, text, re.M):
            raise CheckError("alertmanager.yml has an inline secret (%s)" % key)


ROUTE_CASES = [
    # (labels, receivers expected, in order)
    (["severity=page", "alertname=OTPDeliveryFailureBurnRate", "channel=sms"],
     "pagerduty-otp,slack-otp"),
    (["severity=page", "alertname=OTPDaemonDown"], "pagerduty-otp,slack-otp"),
    (["severity=warning", "alertname=OTPDeliveryFailureBurnRate", "channel=sms"],
     "slack-otp"),
    (["severity=warning", "alertname=OTPStoreErrors"], "slack-otp"),
    # No severity label at all: still reaches a human, but never PagerDuty.
    (["alertname=SomethingElse"], "slack-otp"),
]


def check_amtool_routes(p):
    amtool = find_tool("amtool", "AMTOOL")
    for labels, want in ROUTE_CASES:
        run_ok([amtool, "config", "routes", "test", "--config.file=" + p.am_config,
                "--verify.receivers=" + want] + labels,
               "routing of %s (want %s)" % (" ".join(labels), want))
    # A negative control: the verifier must reject a wrong expectation,
    # otherwise the cases above prove nothing.
    rc, out = run([amtool, "config", "routes", "test", "--config.file=" + p.am_config,
                   "--verify.receivers=slack-otp", "severity=page"])
    if rc == 0:
        raise CheckError("amtool accepted a wrong receiver list for severity=page:\n" + out)
    # Every template in dlrd.tmpl renders with amtool's example data.
    with open(p.am_template) as f:
        names = re.findall(r'\{\{-?\s*define\s+"([^"]+)"', f.read())
    if not names:
        raise CheckError("dlrd.tmpl defines no templates")
    for name in names:
        out = run_ok([amtool, "template", "render", "--template.glob=" + p.am_template,
                      "--template.text={{ template \"%s\" . }}" % name],
                     "amtool template render %s" % name)
        if not out.strip():
            raise CheckError("template %s renders empty" % name)
    with open(p.am_config) as f:
        used = set(re.findall(r'template\s+"([^"]+)"', f.read()))
    missing = used - set(names)
    if missing:
        raise CheckError("alertmanager.yml uses undefined templates: %s" % sorted(missing))


def check_lint(p):
    rules = parse_rules(p.rules)
    alerts = [r for r in rules if r["kind"] == "alert"]
    if not alerts:
        raise CheckError("no alerts in %s" % p.rules)
    anchors = github_anchors(p.runbook)
    errors = []
    for a in alerts:
        where = "%s (dlrd.rules.yml:%d)" % (a["name"], a["line"])
        if not re.match(r"^[A-Z][A-Za-z0-9]+$", a["name"]):
            errors.append("%s: alert names are CamelCase" % where)
        sev = a["labels"].get("severity")
        if sev not in SEVERITIES:
            errors.append("%s: labels.severity is %r, want one of %s"
                          % (where, sev, sorted(SEVERITIES)))
        for k in ("summary", "description", "runbook_url"):
            if not a["annotations"].get(k, "").strip():
                errors.append("%s: annotation %s missing or empty" % (where, k))
        url = a["annotations"].get("runbook_url", "")
        if url:
            base, _, anchor = url.partition("#")
            if base != RUNBOOK_BASE:
                errors.append("%s: runbook_url base %r, want %r" % (where, base, RUNBOOK_BASE))
            if not anchor:
                errors.append("%s: runbook_url has no #anchor" % where)
            elif anchor not in anchors:
                errors.append("%s: runbook_url anchor #%s is not a heading of deploy/RUNBOOK.md"
                              % (where, anchor))
    names = sorted({a["name"] for a in alerts})
    # Alerts sharing an alertname must agree on the runbook.
    for n in names:
        urls = {a["annotations"].get("runbook_url") for a in alerts if a["name"] == n}
        if len(urls) > 1:
            errors.append("%s: rules disagree on runbook_url: %s" % (n, sorted(urls)))

    cases = parse_tests(p.tests)
    for name, _, line in cases:
        if name not in names:
            errors.append("dlrd.rules.test.yml:%d: test for unknown alert %s "
                          "(an exp_alerts: [] case would pass vacuously)" % (line, name))
    for n in names:
        firing = [c for c in cases if c[0] == n and c[1]]
        quiet = [c for c in cases if c[0] == n and not c[1]]
        if not firing:
            errors.append("%s: no promtool test case where it fires" % n)
        if not quiet:
            errors.append("%s: no promtool test case where it does not fire" % n)
    if errors:
        raise CheckError("\n".join(errors))
    print("%d alert rules (%d alert names), %d test cases, %d runbook anchors: OK"
          % (len(alerts), len(names), len(cases), len(anchors)))


# -- metrics ----------------------------------------------------------------

_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_][a-zA-Z0-9_]*)(?![\w:(])")
_SELECTOR = re.compile(r"(?<![\w:])((?:dlrd|process)_[a-zA-Z0-9_]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)\s*\(")


def used_metrics(rules):
    """{metric name: [rule names]} for dlrd_*/process_* names in exprs."""
    out = {}
    for r in rules:
        for m in _IDENT.finditer(r["expr"]):
            name = m.group(1)
            if name.startswith(("dlrd_", "process_")):
                out.setdefault(name, []).append(r["name"])
    return out


def _balanced(text, open_at):
    """The text inside the parenthesis that opens at text[open_at]."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i]
    raise CheckError("unbalanced parentheses in %r" % text)


def check_exported(rules, samples):
    """Errors for names, label values and grouping labels not on /metrics."""
    labels_of = {}   # metric -> {label: set(values)}
    for (name, labels) in samples:
        d = labels_of.setdefault(name, {})
        for k, v in labels:
            d.setdefault(k, set()).add(v)
    errors = []
    for name, where in sorted(used_metrics(rules).items()):
        if name not in labels_of:
            errors.append("%s (used by %s) is not exported by dlrd"
                          % (name, ", ".join(sorted(set(where)))))
    for r in rules:
        expr = r["expr"]
        for m in _SELECTOR.finditer(expr):
            name, body = m.group(1), m.group(2)
            if name not in labels_of:
                continue  # reported above
            for lm in _MATCHER.finditer(body):
                label, op, value = lm.groups()
                if label in TARGET_LABELS:
                    continue
                have = labels_of[name].get(label)
                if have is None:
                    errors.append("%s: %s has no label %r" % (r["name"], name, label))
                    continue
                if op in ("=", "!="):
                    wanted = [value]
                elif re.match(r"^[\w]+(\|[\w]+)*$", value):
                    wanted = value.split("|")
                else:
                    continue  # a real regex: not checked value by value
                for w in wanted:
                    if w not in have:
                        errors.append("%s: %s{%s%s\"%s\"}: dlrd exports no %s=%r (has %s)"
                                      % (r["name"], name, label, op, value, label, w,
                                         sorted(have)))
        for bm in _BY.finditer(expr):
            grouping = [g.strip() for g in bm.group(1).split(",") if g.strip()]
            inner = _balanced(expr, bm.end() - 1)
            metrics = [n.group(1) for n in _IDENT.finditer(inner)
                       if n.group(1).startswith(("dlrd_", "process_"))]
            for n in metrics:
                if n not in labels_of:
                    continue
                for g in grouping:
                    if g in TARGET_LABELS:
                        continue
                    if g not in labels_of[n]:
                        errors.append("%s: groups %s by %r, which it does not have"
                                      % (r["name"], n, g))
    return errors


def check_latency_bucket(rules, samples):
    """The p95 alert threshold must be a bucket bound (exact comparisons)."""
    errors = []
    bounds = {dict(l).get("le") for (n, l) in samples
              if n == "dlrd_delivery_latency_seconds_bucket"}
    for r in rules:
        if r["name"] == "OTPDeliveryLatencyHigh":
            m = re.search(r"p95_rate10m\s*>\s*([0-9.]+)", r["expr"])
            if not m:
                errors.append("OTPDeliveryLatencyHigh: threshold not found")
            elif m.group(1) not in bounds:
                errors.append("OTPDeliveryLatencyHigh: threshold %s is not a bucket bound %s"
                              % (m.group(1), sorted(bounds)))
    return errors


def scrape_real_dlrd(p):
    sys.path.insert(0, p.harness_dir)
    import dlrd_harness as h  # noqa: E402  (tests/integration)

    binary = os.environ.get("DLRD_BIN")
    if not binary:
        raise CheckError("set DLRD_BIN to the dlrd binary")
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise CheckError("dlrd binary %r not found or not executable (build the "
                         "dlrd target first)" % binary)
    # A source with fallback, so the fallback engine's metrics exist too, and
    # a provider for it (never contacted: nothing is sent in this test).
    sources = {
        "vn": {"format": "verifynow",
               "signature": h.hmac_signature_config(["DLRD_AT_SECRET"]),
               "fallback": {"provider": "twilio"}},
        "vonage-dlr": {"format": "vonage-sms-dlr",
                       "signature": {"scheme": "vonage-sig", "algorithm": "md5hash",
                                     "secrets": ["env:DLRD_AT_SECRET"]}},
    }
    extra = {
        "admin_token": "env:DLRD_AT_ADMIN",
        "rate_limit": {"per_ip_per_s": 100, "burst": 500},
        "providers": {"twilio": {
            "base_url": "https://127.0.0.1:9",
            "account_sid": "AC00000000000000000000000000000000",
            "auth_token": "env:DLRD_AT_TWILIO",
            "service_sid": "VA00000000000000000000000000000000"}},
    }
    secrets = {"DLRD_AT_SECRET": "alerting-test-secret-0123456789",
               "DLRD_AT_ADMIN": "alerting-admin-token-0123456789",
               "DLRD_AT_TWILIO": "alerting-twilio-token"}
    d = h.Dlrd(sources, secrets, extra_config=extra)
    try:
        d.start()
        text = d.metrics()
        d.stop()
    finally:
        d.cleanup()
    samples, families = h.parse_metrics(text)
    return set(samples.keys()), families


def check_metrics(p):
    rules = parse_rules(p.rules)
    used = used_metrics(rules)
    if not used:
        raise CheckError("the rules use no dlrd_* metric: the parser is broken")
    samples, families = scrape_real_dlrd(p)
    if not families:
        raise CheckError("dlrd's /metrics declared no metric families")
    errors = check_exported(rules, samples) + check_latency_bucket(rules, samples)
    if errors:
        raise CheckError("\n".join(errors))
    print("%d metric names used by the rules, all exported by %s with the label "
          "values the rules match on" % (len(used), os.environ["DLRD_BIN"]))


CHECKS = {
    "promtool-check-rules": check_promtool_rules,
    "promtool-test-rules": check_promtool_test,
    "promtool-check-config": check_promtool_config,
    "amtool-check-config": check_amtool_config,
    "amtool-routes": check_amtool_routes,
    "lint": check_lint,
    "metrics": check_metrics,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("check", choices=sorted(CHECKS) + ["all"])
    ap.add_argument("--repo", default=DEFAULT_REPO)
    args = ap.parse_args()
    p = Paths(os.path.abspath(args.repo))
    names = sorted(CHECKS) if args.check == "all" else [args.check]
    failed = []
    for n in names:
        print("== %s" % n)
        try:
            CHECKS[n](p)
            print("PASS %s" % n)
        except CheckError as e:
            print("FAIL %s:\n%s" % (n, e))
            failed.append(n)
        except Exception:  # a crash is a failure too, with its traceback
            traceback.print_exc()
            print("FAIL %s: unexpected error (above)" % n)
            failed.append(n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
