#!/usr/bin/env python3
"""deploy/systemd/dlrd.service: systemd-analyze verify and security.

- `systemd-analyze verify` on a copy whose /usr/local/bin/dlrd is replaced
  by the real binary ($DLRD_BIN), so that the executable check is real;
- `systemd-analyze security --offline=true` must rate the unit at most
  MAX_EXPOSURE (systemd's scale: 0 best .. 10 worst; <= 2.0 is "OK");
- the unit's command lines match the real CLI, its stop timeout covers the
  daemon's shutdown grace, and the example config's database lies in the
  unit's StateDirectory.

Nothing here starts systemd: the tests run where PID 1 is not systemd.
Run: DLRD_BIN=./build/dlrd python3 tests/deploy_files/test_systemd_unit.py
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
UNIT = os.path.join(ROOT, "deploy", "systemd", "dlrd.service")
TEMPLATE = os.path.join(ROOT, "deploy", "systemd", "dlrd@.service")
SYSUSERS = os.path.join(ROOT, "deploy", "systemd", "dlrd.sysusers")
EXAMPLE_CONFIG = os.path.join(ROOT, "deploy", "dlrd.example.jsonc")
INSTALLED_BIN = "/usr/local/bin/dlrd"
MAX_EXPOSURE = 2.0
# Default of shutdown_grace_ms (docs/configuration.md).
SHUTDOWN_GRACE_S = 10.0


def systemd_analyze():
    p = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
    if not os.access(p, os.X_OK):
        raise AssertionError("systemd-analyze not found (Debian: systemd)")
    return p


def dlrd_bin():
    p = os.environ.get("DLRD_BIN")
    if not p or not os.access(p, os.X_OK):
        raise AssertionError("set DLRD_BIN to the dlrd binary")
    return os.path.abspath(p)


def parse_unit(text):
    """[(section, key, value)] in order; repeated keys are kept."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        k, _, v = line.partition("=")
        out.append((section, k.strip(), v.strip()))
    return out


def seconds(value):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|min)?", value)
    if not m:
        raise ValueError(value)
    return float(m.group(1)) * {"ms": 0.001, None: 1, "s": 1, "min": 60}[m.group(2)]


class SystemdUnitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.analyze = systemd_analyze()
        cls.bin = dlrd_bin()
        with open(UNIT) as f:
            cls.text = f.read()
        cls.entries = parse_unit(cls.text)
        cls.tmp = tempfile.TemporaryDirectory(prefix="dlrd-unit-")
        cls.addClassCleanup(cls.tmp.cleanup)
        # Same file name: systemd derives the unit name from it.
        cls.copy = os.path.join(cls.tmp.name, "dlrd.service")
        with open(cls.copy, "w") as f:
            f.write(cls.text.replace(INSTALLED_BIN, cls.bin))

    def values(self, key, section="Service"):
        return [v for s, k, v in self.entries if s == section and k == key]

    def value(self, key, section="Service"):
        vs = self.values(key, section)
        self.assertEqual(len(vs), 1, "%s= set %d times" % (key, len(vs)))
        return vs[0]

    def test_verify(self):
        r = subprocess.run([self.analyze, "verify", self.copy],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        print(r.stdout)
        # Lines about other units (the host's own) are not ours to judge.
        ours = [l for l in r.stdout.splitlines() if "dlrd" in l]
        self.assertEqual(ours, [], r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_verify_catches_a_broken_unit(self):
        broken = os.path.join(self.tmp.name, "broken", "dlrd.service")
        os.makedirs(os.path.dirname(broken), exist_ok=True)
        with open(broken, "w") as f:
            f.write(self.text.replace(INSTALLED_BIN,
                                      os.path.join(self.tmp.name, "nope")))
        r = subprocess.run([self.analyze, "verify", broken],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("is not executable", r.stdout)

    def test_security_exposure(self):
        r = subprocess.run(
            [self.analyze, "security", "--offline=true",
             "--threshold=%d" % round(MAX_EXPOSURE * 10), self.copy],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=60)
        failing = [l for l in r.stdout.splitlines() if l.startswith("✗")]
        print("\n".join(failing))
        m = re.search(r"Overall exposure level for dlrd\.service: "
                      r"(\d+\.\d+) (\w+)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        exposure = float(m.group(1))
        print("exposure %.1f %s (threshold %.1f)"
              % (exposure, m.group(2), MAX_EXPOSURE))
        self.assertLessEqual(exposure, MAX_EXPOSURE, r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_security_threshold_catches_an_unhardened_unit(self):
        bare = os.path.join(self.tmp.name, "bare", "dlrd.service")
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        with open(bare, "w") as f:
            f.write("[Service]\nExecStart=%s serve --config /x\n" % self.bin)
        r = subprocess.run(
            [self.analyze, "security", "--offline=true",
             "--threshold=%d" % round(MAX_EXPOSURE * 10), bare],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=60)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        m = re.search(r"Overall exposure level for dlrd\.service: "
                      r"(\d+\.\d+)", r.stdout)
        self.assertGreater(float(m.group(1)), MAX_EXPOSURE)

    def test_hardening_settings(self):
        expected = {
            "Type": "simple", "NoNewPrivileges": "yes",
            "CapabilityBoundingSet": "", "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
            "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
            "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
            "RestrictNamespaces": "yes", "ProtectKernelTunables": "yes",
            "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
            "ProtectClock": "yes", "ProtectHostname": "yes",
            "ProtectProc": "invisible", "UMask": "0077",
            "StateDirectory": "dlrd", "ConfigurationDirectory": "dlrd",
            "Restart": "on-failure", "RestartPreventExitStatus": "2",
            "User": "dlrd",
        }
        for k, v in expected.items():
            self.assertEqual(self.value(k), v, k)
        self.assertIn("@system-service", self.values("SystemCallFilter"))
        # process_* metrics read /proc/stat, which ProcSubset=pid hides.
        self.assertEqual(self.values("ProcSubset"), [])
        self.assertTrue(self.values("StartLimitBurst", "Unit"))
        self.assertTrue(int(self.value("LimitNOFILE")) >= 1024)

    def test_commands_match_the_cli(self):
        start = self.value("ExecStart").split()
        self.assertEqual(start, [INSTALLED_BIN, "serve", "--config",
                                 "/etc/dlrd/dlrd.jsonc"])
        reload_ = self.values("ExecReload")
        self.assertEqual(reload_[-1], "/bin/kill -HUP $MAINPID")
        self.assertEqual(reload_[0].split(),
                         [INSTALLED_BIN, "check-config", "--config",
                          "/etc/dlrd/dlrd.jsonc"])
        for sub in ("serve", "check-config"):
            r = subprocess.run([self.bin, sub, "--help"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("--config", r.stdout)
        r = subprocess.run([self.bin, "serve", "--config",
                            os.path.join(self.tmp.name, "missing.jsonc")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30)
        # A config error exits 2, which RestartPreventExitStatus names.
        self.assertEqual(r.returncode, 2, r.stdout)

    def test_stop_timeout_covers_shutdown_grace(self):
        self.assertGreater(seconds(self.value("TimeoutStopSec")),
                           SHUTDOWN_GRACE_S + 5)
        with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
            m = re.search(r"\| `shutdown_grace_ms` \| `(\d+)` \|", f.read())
        self.assertIsNotNone(
            m, "docs/configuration.md no longer lists shutdown_grace_ms")
        self.assertEqual(int(m.group(1)) / 1000, SHUTDOWN_GRACE_S)

    def test_example_config_database_in_state_directory(self):
        with open(EXAMPLE_CONFIG) as f:
            m = re.search(r'"database"\s*:\s*"([^"]+)"', f.read())
        self.assertIsNotNone(m)
        self.assertEqual(os.path.dirname(m.group(1)),
                         "/var/lib/" + self.value("StateDirectory"))

    def test_sysusers_creates_the_unit_user(self):
        with open(SYSUSERS) as f:
            lines = [l.split() for l in f if l.strip() and l[0] != "#"]
        self.assertEqual([l[:2] for l in lines], [["u", self.value("User")]])


class TemplateUnitTest(unittest.TestCase):
    """deploy/systemd/dlrd@.service: several replicas on one host."""

    def setUp(self):
        with open(UNIT) as f:
            self.single = parse_unit(f.read())
        with open(TEMPLATE) as f:
            self.text = f.read()
        self.template = parse_unit(self.text)

    def test_same_unit_but_the_config_path(self):
        # The template is dlrd.service with the instance's config: a
        # hardening line added to one and not the other is drift.
        def norm(entries):
            return [(s, k, v.replace("%i.jsonc", "dlrd.jsonc")
                     .replace(" (replica %i)", "")) for s, k, v in entries]
        self.assertEqual(norm(self.template), self.single)
        starts = [v for s, k, v in self.template if k == "ExecStart"]
        self.assertEqual(starts, [INSTALLED_BIN +
                                  " serve --config /etc/dlrd/%i.jsonc"])

    def test_verify_an_instance(self):
        analyze = systemd_analyze()
        with tempfile.TemporaryDirectory(prefix="dlrd-unit-") as tmp:
            path = os.path.join(tmp, "dlrd@.service")
            with open(path, "w") as f:
                f.write(self.text.replace(INSTALLED_BIN, dlrd_bin()))
            r = subprocess.run([analyze, "verify",
                                os.path.join(tmp, "dlrd@a.service")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=60, cwd=tmp)
            # systemd-analyze loads an instance from its template beside it.
            ours = [l for l in r.stdout.splitlines() if "dlrd" in l]
            self.assertEqual(ours, [], r.stdout)
            self.assertEqual(r.returncode, 0, r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
