#!/usr/bin/env python3
"""deploy/docker/Dockerfile invariants, without building the image.

- every stage is Debian 12 (debian:12* / bookworm*); the build stage runs
  deploy/install-deps.sh --runtime and a Release CMake build;
- every path the Dockerfile COPYs from the context exists;
- the runtime stage installs a package for every shared library that
  `ldd $DLRD_BIN` lists (mapped with dpkg -S), runs as a non-root USER,
  exposes 8080 and 9464, declares VOLUME /var/lib/dlrd and starts
  `dlrd serve --config /etc/dlrd/dlrd.jsonc`;
- no secret is baked in (no secret-like ENV/ARG, no key or env file COPYed);
- the HEALTHCHECK command, run as written against a real dlrd's admin port,
  succeeds, and fails against a closed port;
- deploy/docker/dlrd.container.jsonc passes `dlrd check-config`.

Run: DLRD_BIN=./build/dlrd python3 tests/deploy_files/test_dockerfile.py
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import dlrd_harness as h  # noqa: E402

DOCKER_DIR = os.path.join(ROOT, "deploy", "docker")
DOCKERFILE = os.path.join(DOCKER_DIR, "Dockerfile")
DOCKERIGNORE = DOCKERFILE + ".dockerignore"
CONTAINER_CONFIG = os.path.join(DOCKER_DIR, "dlrd.container.jsonc")
ADMIN_PORT = 9464
# In every debian:12-slim image already (apt depends on them), and only
# present in sanitizer builds, respectively.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
SANITIZER_LIBS = re.compile(r"^lib(asan|ubsan|lsan|tsan)\d*$")
SECRET_NAME = re.compile(r"(?i)secret|token|passw|api_?key|private|credential")


def instructions(text):
    """[(INSTRUCTION, args)] with continuation lines joined."""
    out, buf = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if buf and s.startswith("#"):
            continue  # a comment inside a continued RUN
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def stages(instrs):
    out = []
    for ins, args in instrs:
        if ins == "FROM":
            out.append([])
        if out:
            out[-1].append((ins, args))
    return out


def direct_needs(binary):
    """The sonames the binary itself links (DT_NEEDED): apt installs what
    those libraries need in turn (libpq5 pulls Kerberos, LDAP, GnuTLS)."""
    r = subprocess.run(["readelf", "-d", binary], stdout=subprocess.PIPE,
                       text=True, check=True, timeout=30)
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                          r.stdout))


def runtime_packages_of(binary):
    """Debian packages that own the shared libraries the binary links
    directly, resolved to paths by `ldd`."""
    needs = direct_needs(binary)
    r = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, text=True,
                       check=True, timeout=30)
    pkgs = {}
    for line in r.stdout.splitlines():
        m = re.search(r"^\s*(\S+)\s+=>\s+(/\S+)", line)
        if not m or m.group(1) not in needs:
            continue
        m = re.search(r"=>\s+(/\S+)", line)
        path = os.path.realpath(m.group(1))
        d = subprocess.run(["dpkg", "-S", path], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, timeout=30)
        if d.returncode != 0:
            # usrmerge: dpkg may know the /usr/lib spelling only.
            alt = path.replace("/lib/", "/usr/lib/", 1) \
                if path.startswith("/lib/") else path.replace("/usr/lib/", "/lib/", 1)
            d = subprocess.run(["dpkg", "-S", alt], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               timeout=30)
        if d.returncode != 0:
            raise AssertionError("no package owns %s (from ldd %s)"
                                 % (path, binary))
        pkg = d.stdout.split(":", 1)[0].strip()
        pkgs[pkg] = path
    return pkgs


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DOCKERFILE) as f:
            cls.text = f.read()
        cls.instrs = instructions(cls.text)
        cls.stages = stages(cls.instrs)
        cls.build, cls.runtime = cls.stages[0], cls.stages[-1]
        cls.bin = os.path.abspath(os.environ.get("DLRD_BIN") or h.dlrd_bin())

    def args(self, stage, ins):
        return [a for i, a in stage if i == ins]

    def test_debian12_multistage(self):
        self.assertEqual(len(self.stages), 2)
        for s in self.stages:
            image = s[0][1].split()[0]
            self.assertRegex(image, r"^debian:(12|bookworm)(\b|-|$)", image)
        self.assertIn("AS build", self.stages[0][0][1])
        runs = " ".join(self.args(self.build, "RUN"))
        self.assertIn("deploy/install-deps.sh --runtime", runs)
        self.assertIn("-DCMAKE_BUILD_TYPE=Release", runs)
        self.assertIn("--target dlrd", runs)

    def test_copied_paths_exist(self):
        for stage in self.stages:
            for a in self.args(stage, "COPY"):
                if a.startswith("--from="):
                    continue
                for src in a.split()[:-1]:
                    self.assertTrue(os.path.exists(os.path.join(ROOT, src)),
                                    "COPY %s: not in the repository" % src)

    def test_runtime_packages_cover_ldd(self):
        runs = " ".join(self.args(self.runtime, "RUN"))
        m = re.search(r"apt-get install ([^&]*)", runs)
        self.assertIsNotNone(m, "runtime stage installs no packages")
        installed = {w for w in m.group(1).split() if not w.startswith("-")}
        needed = runtime_packages_of(self.bin)
        print("ldd -> packages: %s" % ", ".join(sorted(needed)))
        missing = sorted(p for p in needed
                         if p not in installed and p not in BASE_PACKAGES
                         and not SANITIZER_LIBS.match(p))
        self.assertEqual(missing, [], "runtime stage lacks packages for "
                         + ", ".join("%s (%s)" % (p, needed[p])
                                     for p in missing))
        # No compilers or -dev packages in the runtime image.
        self.assertEqual([p for p in installed if p.endswith("-dev")
                          or p in ("build-essential", "cmake")], [])

    def test_runtime_user_is_not_root(self):
        users = self.args(self.runtime, "USER")
        self.assertTrue(users, "runtime stage has no USER")
        user = users[-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        # The USER comes after the last RUN, so the process starts as it.
        names = [i for i, _ in self.runtime]
        last_user = len(names) - 1 - names[::-1].index("USER")
        self.assertNotIn("RUN", names[last_user:])

    def test_ports_volume_entrypoint(self):
        exposed = " ".join(self.args(self.runtime, "EXPOSE")).split()
        self.assertEqual(sorted(exposed), ["8080", "9464"])
        self.assertIn("/var/lib/dlrd", " ".join(self.args(self.runtime,
                                                           "VOLUME")))
        ep = json.loads(self.args(self.runtime, "ENTRYPOINT")[-1])
        self.assertEqual(os.path.basename(ep[0]), "dlrd")
        self.assertEqual(ep[1:], ["serve", "--config", "/etc/dlrd/dlrd.jsonc"])

    def test_no_secrets_baked_in(self):
        for stage in self.stages:
            for ins in ("ENV", "ARG", "LABEL"):
                for a in self.args(stage, ins):
                    name = re.split(r"[=\s]", a, 1)[0]
                    self.assertNotRegex(name, SECRET_NAME, "%s %s" % (ins, a))
            for ins in ("COPY", "ADD"):
                for a in self.args(stage, ins):
                    self.assertNotRegex(
                        a, r"(?i)secret|\.env\b|\.pem\b|\.key\b|credential",
                        "%s %s" % (ins, a))
        self.assertNotIn("whsec_", self.text)
        self.assertNotRegex(self.text, r'"demo"\s*:\s*true')

    def test_dockerignore_keeps_build_trees_out(self):
        with open(DOCKERIGNORE) as f:
            pats = {l.strip() for l in f if l.strip() and l[0] != "#"}
        for p in (".git", "build", "build-*", "var"):
            self.assertIn(p, pats)

    def healthcheck_cmd(self):
        hc = self.args(self.runtime, "HEALTHCHECK")
        self.assertEqual(len(hc), 1)
        cmd = json.loads(hc[0][hc[0].index("CMD") + 3:].strip())
        self.assertIn("/dev/tcp/127.0.0.1/%d" % ADMIN_PORT, cmd[-1])
        self.assertIn("/healthz", cmd[-1])
        return cmd

    def run_healthcheck(self, port):
        cmd = self.healthcheck_cmd()
        cmd[-1] = cmd[-1].replace("/%d" % ADMIN_PORT, "/%d" % port)
        return subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=10)

    def test_healthcheck_against_real_dlrd(self):
        d = h.Dlrd({"vn": h.verifynow_source(["DLRD_DF_VN"])},
                   {"DLRD_DF_VN": "dockerfile-test-secret"})
        self.addCleanup(d.cleanup)
        d.start()
        r = self.run_healthcheck(d.admin_port)
        self.assertEqual(r.returncode, 0, r.stdout)
        d.stop()
        r = self.run_healthcheck(d.admin_port)
        self.assertNotEqual(r.returncode, 0, "healthcheck passed with dlrd "
                            "stopped")

    def test_container_config_is_valid(self):
        with open(CONTAINER_CONFIG) as f:
            text = f.read()
        self.assertIn('"listen": "0.0.0.0:8080"', text)
        self.assertIn('"admin_listen": "0.0.0.0:%d"' % ADMIN_PORT, text)
        self.assertIn('"database": "/var/lib/dlrd/', text)
        with tempfile.TemporaryDirectory(prefix="dlrd-docker-") as tmp:
            secrets = set(re.findall(r'"file:(/run/secrets/[^"]+)"', text))
            self.assertTrue(secrets)
            for s in secrets:
                local = os.path.join(tmp, os.path.basename(s))
                with open(local, "w") as f:
                    f.write("container-config-test-secret\n")
                text = text.replace(s, local)
            path = os.path.join(tmp, "dlrd.jsonc")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([self.bin, "check-config", "--config", path],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout)


if __name__ == "__main__":
    h.main()
