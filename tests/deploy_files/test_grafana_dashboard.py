#!/usr/bin/env python3
"""deploy/grafana/dlrd-dashboard.json against the real daemon's /metrics.

Starts the real dlrd (with a provider and a fallback chain, so that the
fallback engine's metrics are exported too), captures /metrics, and runs
check_dashboard.py on the shipped dashboard: it must pass. Then runs the
checker on deliberately broken copies: each must fail, naming the fault, so
a checker that silently stopped checking is caught too.

Run: DLRD_BIN=./build/dlrd python3 tests/deploy_files/test_grafana_dashboard.py
"""

import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)
import dlrd_harness as h  # noqa: E402
import check_dashboard  # noqa: E402

DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "dlrd-dashboard.json")
CHECKER = os.path.join(HERE, "check_dashboard.py")
PROVISIONING = os.path.join(ROOT, "deploy", "grafana", "provisioning",
                            "dashboards", "dlrd.yaml")
STABLE_UID = "dlrd-overview"  # links and provisioning depend on it


def capture_metrics():
    """/metrics of a real dlrd whose config enables the fallback engine. The
    provider's base_url is never called: no OTP is registered."""
    sources = {
        "tw": {"format": "twilio-messaging",
               "signature": {"scheme": "twilio",
                             "public_url": "https://hooks.example.com/webhooks/tw",
                             "secrets": ["env:DLRD_DT_TWILIO"]},
               "fallback": {"provider": "twilio",
                            "chain": ["sms", "whatsapp", "voice"],
                            "deadline_s": {"sms": 30, "whatsapp": 30,
                                           "voice": 60},
                            "max_steps": 3}},
        "vn": h.verifynow_source(["DLRD_DT_VN"]),
    }
    extra = {
        "admin_token": "env:DLRD_DT_ADMIN",
        "providers": {"twilio": {
            "base_url": "https://127.0.0.1:9",
            "account_sid": "AC" + "0" * 32,
            "auth_token": "env:DLRD_DT_SEND",
            "service_sid": "VA" + "0" * 32}},
    }
    secrets = {"DLRD_DT_TWILIO": "deploy-test-twilio-token",
               "DLRD_DT_VN": "deploy-test-verifynow-secret",
               "DLRD_DT_ADMIN": "deploy-test-admin-token-0123",
               "DLRD_DT_SEND": "deploy-test-send-token"}
    d = h.Dlrd(sources, secrets, extra_config=extra)
    try:
        d.start()
        text = d.metrics()
        d.stop()
    finally:
        d.cleanup()
    return text


def panel(d, title):
    for p in d["panels"]:
        if p["title"] == title:
            return p
    raise KeyError(title)


def first_query_panel(d):
    return next(p for p in d["panels"] if p["type"] != "row")


# Each fault: (name, mutation of a deep copy, text expected in the output).
def f_range(d):
    t = panel(d, "Webhooks by provider and outcome")["targets"][0]
    t["expr"] = t["expr"].replace("[$__rate_interval]", "[1m]")


def f_typo(d):
    t = panel(d, "Events dropped by reason")["targets"][0]
    t["expr"] = t["expr"].replace("dlrd_events_dropped_total",
                                  "dlrd_event_dropped_total")


def f_panel_ds(d):
    first_query_panel(d)["datasource"] = {"type": "prometheus",
                                          "uid": "P1809F7CD0C75ACF3"}


def f_target_ds(d):
    first_query_panel(d)["targets"][0]["datasource"] = "Prometheus"


def f_overlap(d):
    a, b = [p for p in d["panels"] if p["type"] != "row"][:2]
    b["gridPos"] = dict(a["gridPos"])


def f_too_wide(d):
    p = panel(d, "Delivery failure ratio by channel")
    p["gridPos"]["x"], p["gridPos"]["w"] = 20, 12


def f_dup_id(d):
    qs = [p for p in d["panels"] if p["type"] != "row"]
    qs[3]["id"] = qs[2]["id"]


def f_paren(d):
    t = panel(d, "HTTP 503s by handler")["targets"][0]
    t["expr"] = t["expr"][:-1]


def f_no_ds_var(d):
    d["templating"]["list"] = [v for v in d["templating"]["list"]
                               if v["type"] != "datasource"]


def f_long_uid(d):
    d["uid"] = "x" * 41


def f_no_key(d):
    del d["schemaVersion"]


def f_drop_le(d):
    t = panel(d, "Delivery latency p50 / p95 by channel")["targets"][1]
    t["expr"] = t["expr"].replace("by (channel, le)", "by (channel)")


def f_undefined_var(d):
    t = panel(d, "Events dropped by reason")["targets"][0]
    t["expr"] = t["expr"].replace('instance=~"$instance"',
                                  'instance=~"$host"')


def f_var_ds(d):
    v = next(v for v in d["templating"]["list"] if v["name"] == "job")
    v["datasource"] = {"type": "prometheus", "uid": "prom-main"}


def f_bad_bucket(d):
    t = panel(d, "Store queue depth")["targets"][0]
    t["expr"] = t["expr"].replace("dlrd_store_queue_depth",
                                  "dlrd_store_queue_depth_bucket")


def f_sum_database_gauge(d):
    t = panel(d, "Outbox jobs by state")["targets"][0]
    t["expr"] = t["expr"].replace("max without (instance) (", "sum by (state) (")


def f_sum_database_counter(d):
    t = panel(d, "Fallback skips by reason")["targets"][0]
    t["expr"] = t["expr"].replace("max without (instance) (rate(", "(rate(")


def f_sum_skipped_sends(d):
    t = panel(d, "Fallback sends by from → to and result")["targets"][0]
    t["expr"] = t["expr"].replace(',result=~"sent|failed"', "")


FAULTS = [
    ("range_1m", f_range, "range [1m] is not [$__rate_interval]"),
    ("metric_typo", f_typo, "dlrd_event_dropped_total has no '# TYPE' line"),
    ("panel_datasource", f_panel_ds, "P1809F7CD0C75ACF3"),
    ("target_datasource", f_target_ds, '"Prometheus", expected'),
    ("overlap", f_overlap, "gridPos overlaps"),
    ("too_wide", f_too_wide, "outside the 24-column grid"),
    ("duplicate_id", f_dup_id, "duplicate panel id"),
    ("unclosed_paren", f_paren, "promtool check rules"),
    ("no_datasource_variable", f_no_ds_var, "no variable named 'datasource'"),
    ("long_uid", f_long_uid, "longer than 40"),
    ("missing_key", f_no_key, "missing key 'schemaVersion'"),
    ("quantile_drops_le", f_drop_le, "drops the 'le' label"),
    ("undefined_variable", f_undefined_var, "undefined variable $host"),
    ("variable_datasource", f_var_ds, "prom-main"),
    ("bucket_of_gauge", f_bad_bucket,
     "dlrd_store_queue_depth_bucket has no '# TYPE' line"),
    ("sum_of_database_gauge", f_sum_database_gauge,
     "dlrd_outbox_jobs is read from the shared database"),
    ("sum_of_database_counter", f_sum_database_counter,
     "dlrd_fallback_decisions_total is read from the shared database"),
    ("sum_of_skipped_sends", f_sum_skipped_sends,
     'dlrd_fallback_sends_total{result="skipped"} is read from the shared '
     'database'),
]


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="dlrd-dash-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.metrics_path = os.path.join(cls.tmp.name, "metrics.txt")
        with open(cls.metrics_path, "w") as f:
            f.write(capture_metrics())
        with open(DASHBOARD) as f:
            cls.dashboard = json.load(f)
        cls.promtool = check_dashboard.find_promtool()
        if not cls.promtool:
            raise AssertionError("promtool not found (apt-get install "
                                 "prometheus, or set $PROMTOOL)")

    def run_checker(self, path):
        return subprocess.run(
            [sys.executable, CHECKER, path, "--metrics", self.metrics_path,
             "--promtool", self.promtool],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=120)

    def test_00_metrics_include_fallback_families(self):
        with open(self.metrics_path) as f:
            types = check_dashboard.metric_types(f.read())
        for name in ("dlrd_webhook_requests_total",
                     "dlrd_fallback_decisions_total",
                     "dlrd_provider_circuit_state", "process_cpu_seconds_total"):
            self.assertIn(name, types)

    def test_01_shipped_dashboard_passes(self):
        r = self.run_checker(DASHBOARD)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(" 0 problems", r.stdout)

    def test_02_stable_uid_and_variables(self):
        self.assertEqual(self.dashboard["uid"], STABLE_UID)
        names = [v["name"] for v in self.dashboard["templating"]["list"]]
        self.assertEqual(names[:5], ["datasource", "job", "instance",
                                     "provider", "channel"])
        # Grafana's built-in annotation is the only non-${datasource} one.
        self.assertEqual(self.dashboard["annotations"]["list"][0]
                         ["datasource"]["uid"], "-- Grafana --")

    def test_03_every_dlrd_metric_is_on_the_dashboard(self):
        with open(self.metrics_path) as f:
            text = f.read()
        errors, unused = check_dashboard.check(self.dashboard, text,
                                               self.promtool)
        self.assertEqual(errors, [])
        self.assertEqual(unused, [], "metrics exported by dlrd but shown on "
                         "no panel; add a panel (or accept it here)")

    def test_04_checker_catches_each_fault(self):
        for name, mutate, expected in FAULTS:
            with self.subTest(fault=name):
                d = copy.deepcopy(self.dashboard)
                mutate(d)
                path = os.path.join(self.tmp.name, "broken-%s.json" % name)
                with open(path, "w") as f:
                    json.dump(d, f)
                r = self.run_checker(path)
                self.assertEqual(r.returncode, 1, "%s not caught:\n%s"
                                 % (name, r.stdout))
                self.assertIn(expected, r.stdout)

    def test_05_all_faults_at_once(self):
        d = copy.deepcopy(self.dashboard)
        for _, mutate, _ in FAULTS:
            if mutate is not f_no_ds_var:  # keep the rest checkable
                mutate(d)
        path = os.path.join(self.tmp.name, "broken-all.json")
        with open(path, "w") as f:
            json.dump(d, f)
        r = self.run_checker(path)
        self.assertEqual(r.returncode, 1)
        for name, mutate, expected in FAULTS:
            if mutate is not f_no_ds_var:
                self.assertIn(expected, r.stdout, name)

    def test_05b_failure_ratio_matches_the_alert_rules(self):
        """The failure-ratio panels use the SLI of the alert rules."""
        import re
        rules = os.path.join(ROOT, "deploy", "prometheus", "dlrd.rules.yml")
        if not os.path.exists(rules):
            self.skipTest("no deploy/prometheus/dlrd.rules.yml")
        with open(rules) as f:
            want = set(re.findall(r'dlrd_delivery_events_total\{status=~"([^"]+)"',
                                  f.read()))
        self.assertTrue(want)
        got = set()
        for p in self.dashboard["panels"]:
            if "failure ratio" in p["title"].lower():
                for t in p["targets"]:
                    got |= set(re.findall(r'status=~"([^"]+)"', t["expr"]))
        self.assertEqual(got, want)

    def test_06_provisioning_points_at_the_dashboard(self):
        with open(PROVISIONING) as f:
            text = f.read()
        self.assertIn("apiVersion: 1", text)
        self.assertIn("type: file", text)
        self.assertIn("path: /var/lib/grafana/dashboards/dlrd", text)


class DatabaseMetricsTest(unittest.TestCase):
    """Check 8 on single expressions, and its list against docs/metrics.md."""

    def problems(self, expr):
        return [(name, check_dashboard.first_aggregation(expr, pos))
                for pos, name in check_dashboard.database_selectors(expr)
                if check_dashboard.first_aggregation(expr, pos)
                not in (None,) + check_dashboard.DEDUP_AGGREGATIONS]

    def test_sums_are_caught(self):
        for expr in (
                'sum(dlrd_outbox_jobs{job="dlrd"})',
                'sum(dlrd_outbox_jobs) by (state)',
                'sum by (state) (dlrd_outbox_jobs)',
                'avg without (instance) (dlrd_quarantine_rows)',
                'count(dlrd_outbox_oldest_pending_age_seconds > 600)',
                'sum(rate(dlrd_fallback_wasted_total[5m]))',
                'max(dlrd_quarantine_rows) + sum(dlrd_quarantine_bytes)',
                'sum(rate(dlrd_fallback_sends_total{result=~"s.*"}[5m]))',
                'sum(rate(dlrd_fallback_sends_total{result!="sent"}[5m]))',
                'sum by (reason) (rate(dlrd_fallback_decisions_total'
                '{instance=~"(a|b)"}[5m]))'):
            with self.subTest(expr=expr):
                self.assertTrue(self.problems(expr))

    def test_max_first_and_process_metrics_pass(self):
        for expr in (
                'max without (instance) (dlrd_outbox_jobs)',
                'max(dlrd_outbox_oldest_pending_age_seconds)',
                'max by (job) (dlrd_quarantine_bytes) / 1048576',
                'sum by (reason) (max without (instance) '
                '(rate(dlrd_fallback_decisions_total{result="skip"}[5m])))',
                'dlrd_outbox_jobs',
                'sum(rate(dlrd_fallback_sends_total{result=~"sent|failed"}[5m]))',
                'sum(rate(dlrd_fallback_sends_total{result="sent"}[5m]))',
                'sum(rate(dlrd_webhook_requests_total[5m]))',
                'sum(dlrd_store_queue_depth)'):
            with self.subTest(expr=expr):
                self.assertEqual(self.problems(expr), [])

    def test_list_matches_the_docs(self):
        """DATABASE_METRICS names the metrics of the "Read from the database"
        table of docs/metrics.md §8, and no other."""
        import re
        with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
            text = f.read()
        section = text[text.index("## 8. Several replicas"):]
        table = section[section.index("| metric |"):]
        table = table[:table.index("\n\n")]
        documented = set()
        for row in table.splitlines()[2:]:
            first_cell = row.split("|")[1]
            documented |= set(re.findall(r"`(dlrd_\w+)", first_cell))
        self.assertEqual(documented, set(check_dashboard.DATABASE_METRICS))


if __name__ == "__main__":
    h.main()
