#!/usr/bin/env python3
"""deploy/docker/Dockerfile, built and run for real.

No Docker engine and no container registry are needed: rootful podman (with
the runc runtime) builds the Dockerfile from the repository root, and the
`debian:12-slim` it starts FROM is a local stand-in, a
`debootstrap --variant=minbase bookworm` root from the Debian mirror this
machine's apt already uses (read from /etc/apt/sources.list{,.d/*} at run
time), imported with `podman import`.

The test then runs the image with --network host and a config that listens
on free loopback ports (mounted read-only at /etc/dlrd/dlrd.jsonc, the
secret as a file under /run/secrets, a host temp dir as /var/lib/dlrd),
waits for GET /readyz == 200 on the admin port, POSTs one correctly signed
VerifyNow callback (HMAC-SHA256, generated secret) and expects 2xx, stops
the container (SIGTERM, exit status 0) and reads the database: exactly one
row in delivery_events, with the posted verification id. It does so twice:
with the embedded SQLite file in the mounted data dir, and with a fresh
database on the suite's own PostgreSQL (ctest fixture pg), which the
container reaches on the host's loopback through --network host. The container is removed on every
exit path (`podman rm -f`), and stale ones from a killed run on the next.

Podman setup (nothing under /etc is edited):
- CONTAINERS_CONF -> a containers.conf in the test's temp dir:
  cgroup_manager = "cgroupfs" (no systemd in CI) and `default_ulimits = []`.
  Left unset, podman's built-in default is "nproc=<pid_max>" (when it can
  set that on itself), and any ulimit in the list makes `podman run` also
  ask for RLIMIT_NOFILE = 1048576; where root lacks CAP_SYS_RESOURCE (this
  VM: nofile hard limit 20000), runc then fails with "error setting rlimit
  type 7: operation not permitted" (--ulimit host does not help either).
  With an empty list the spec has no rlimits and the container inherits
  the caller's. (A CONTAINERS_CONF file replaces the system-wide
  containers.conf, so nothing from /etc or /usr/share applies.)
  tmp_dir and events_logger = "file": see write_podman_conf();
- CONTAINERS_STORAGE_CONF -> a storage.conf whose graphroot is under the
  cache dir: the test's images, its layer cache and the stand-in
  docker.io/library/debian:12-slim tag live in storage of their own, never
  in the machine's default podman storage, where a fake debian:12-slim
  would surprise whoever uses podman there next. Driver: "overlay" when the
  kernel lists it in /proc/filesystems (native overlay diff works on ext4,
  kernel 6.x, here), else "vfs" (slower and bigger, it copies every layer,
  but needs no kernel support; checked here too: import, a build running
  apt-get, run); DLRD_TEST_STORAGE_DRIVER=vfs forces it. Each driver has
  its own graphroot (storage cannot change driver in place).
- every podman call gets `--runtime runc`; build and run get --network host
  (apt inside the build reaches the same mirror the host uses).

Why a tag rather than --from / --build-arg: the Dockerfile has two
`FROM debian:12-slim` stages and `podman build --from` only replaces the
first; a build ARG would change the file real users build. Tagging the
local base as docker.io/library/debian:12-slim in the test's own storage
(with --pull=never, so no registry is ever asked) builds the Dockerfile
exactly as shipped.

Caching (DLRD_TEST_CACHE, default /var/cache/dlrd-test, outside the repo):
- bookworm-minbase.tar: the debootstrap'ed root, made once; kept as a plain
  tarball so that CI can save/restore the dir and a wiped podman storage is
  re-imported in seconds, without debootstrap. It and the imported image
  record the mirror (bookworm-minbase.tar.mirror, an image label): if the
  host's apt source changes, both are made again;
- storage-<driver>/: podman's storage with localhost/dlrd-test-base:bookworm
  (imported from the tarball only when missing) and the layer cache. The
  build stage is tagged (localhost/dlrd-test-build:latest), so an unchanged
  tree reuses every layer including the compile; a changed src/ reuses the
  install-deps layer and recompiles only. Superseded layers are pruned
  after each build, so the storage does not grow run after run.
- Delete the cache dir to start cold (e.g. to refresh the base image).
A lock file in the cache dir serialises runs (ctest also has RESOURCE_LOCK).

Timings on a 2-core VM shared with other builds (load average 6-9),
kernel 6.18, overlay storage, deb.debian.org:
- cold (empty cache dir): 17 min 54 s = base image 112 s (debootstrap and
  tar ~106 s, import 6 s) + build 959 s (apt in the build stage ~1.5 min,
  the compile ~13 min, the runtime stage ~1 min) + run and checks ~2 s;
  an earlier cold run took 17 min 21 s;
- warm, unchanged tree: 22 s (every layer from the cache, container up and
  checked in ~2 s; through ctest 22.8 s);
- warm, one file under src/ changed: 8 min 11 s (install-deps layer from
  the cache, dlrd recompiled from scratch; the build has no ccache).

Run as root: python3 tests/deploy_files/test_container_image.py
Skips (exit 77) when not root or podman/runc/debootstrap is missing
(deploy/install-deps.sh installs them).
"""

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import dlrd_harness as h  # noqa: E402

DOCKERFILE = os.path.join(ROOT, "deploy", "docker", "Dockerfile")
IGNOREFILE = DOCKERFILE + ".dockerignore"
SUITE = "bookworm"
DEFAULT_CACHE_DIR = "/var/cache/dlrd-test"
CACHE_DIR = os.path.abspath(os.environ.get("DLRD_TEST_CACHE",
                                           DEFAULT_CACHE_DIR))
# Run-time state of the storage in CACHE_DIR (see write_podman_conf); one
# per cache dir, so that two caches never share locks.
RUN_DIR = ("/run/dlrd-test" if CACHE_DIR == DEFAULT_CACHE_DIR else
           "/run/dlrd-test-" + hashlib.sha256(CACHE_DIR.encode()).hexdigest()[:12])
BASE_TARBALL = os.path.join(CACHE_DIR, "%s-minbase.tar" % SUITE)
BASE_TAG = "localhost/dlrd-test-base:%s" % SUITE
MIRROR_LABEL = "dlrd-test.mirror"
# What the Dockerfile's FROM lines resolve to.
DOCKERFILE_BASE = "docker.io/library/debian:12-slim"
BUILD_STAGE_TAG = "localhost/dlrd-test-build:latest"
IMAGE_TAG = "localhost/dlrd-test:latest"
SOURCE = "verifynow"
SECRET_FILE_IN_CONTAINER = "/run/secrets/verifynow_webhook_secret"
DLRD_UID = 10001  # the Dockerfile's USER

DEBOOTSTRAP_TIMEOUT_S = 1200
BUILD_TIMEOUT_S = 2400
READY_TIMEOUT_S = 60.0


def log(msg):
    sys.stderr.write("[container-image %s] %s\n"
                     % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------
# The host's Debian mirror


def _deb822_stanzas(text):
    stanza = {}
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza = {}
            continue
        if line[0] in " \t":
            continue  # continuation (e.g. an inline key), not needed here
        k, _, v = line.partition(":")
        stanza[k.strip().lower()] = v.strip()


def apt_mirrors(suite=SUITE):
    """URIs of the host's apt sources that carry `suite` itself (not
    -security/-updates), in file order: /etc/apt/sources.list (one-line
    format), then /etc/apt/sources.list.d/*.list and *.sources (deb822)."""
    out = []
    files = ["/etc/apt/sources.list"]
    d = "/etc/apt/sources.list.d"
    if os.path.isdir(d):
        files += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    for path in files:
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            for st in _deb822_stanzas(text):
                if (st.get("enabled", "yes").lower() != "no"
                        and "deb" in st.get("types", "").split()
                        and suite in st.get("suites", "").split()):
                    out += st.get("uris", "").split()
        elif path.endswith(".list") or path == "/etc/apt/sources.list":
            for line in text.splitlines():
                line = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0])
                w = line.split()
                if len(w) >= 3 and w[0] == "deb" and w[2] == suite:
                    out.append(w[1])
    return [u for u in out if u.startswith(("http://", "https://"))]


# --------------------------------------------------------------------------
# Podman


def storage_driver():
    env = os.environ.get("DLRD_TEST_STORAGE_DRIVER")
    if env:
        return env
    try:
        with open("/proc/filesystems") as f:
            if re.search(r"\boverlay\b", f.read()):
                return "overlay"
    except OSError:
        pass
    return "vfs"


def write_podman_conf(tmp):
    """CONTAINERS_CONF and CONTAINERS_STORAGE_CONF files in `tmp`; returns
    the environment for podman."""
    driver = storage_driver()
    # Run-time state (mounts, locks) on /run, one dir per storage: libpod
    # records runroot and tmp_dir in its database under graphroot and
    # refuses to start if a later run names other ones, so they are fixed
    # paths, not the temp dir; and not /run/libpod, the system podman's.
    run = os.path.join(RUN_DIR, driver)
    conf = os.path.join(tmp, "containers.conf")
    with open(conf, "w") as f:
        f.write('[containers]\n'
                # Empty, not absent: see the header.
                'default_ulimits = []\n\n'
                '[engine]\n'
                'cgroup_manager = "cgroupfs"\n'
                'tmp_dir = "%s"\n'
                # No journald needed (CI containers often have none).
                'events_logger = "file"\n' % os.path.join(run, "libpod"))
    storage = os.path.join(tmp, "storage.conf")
    with open(storage, "w") as f:
        f.write('[storage]\ndriver = "%s"\ngraphroot = "%s"\nrunroot = "%s"\n'
                % (driver, os.path.join(CACHE_DIR, "storage-" + driver),
                   os.path.join(run, "storage")))
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = conf
    env["CONTAINERS_STORAGE_CONF"] = storage
    return env, driver


class Podman:
    def __init__(self, env, logdir):
        self.env = env
        self.logdir = logdir
        self.n = 0

    def run(self, *args, timeout=300, check=True, stdin=None):
        """podman --runtime runc ARGS; output to a log file, whose tail is
        in the exception when it fails."""
        self.n += 1
        path = os.path.join(self.logdir, "podman.%02d.%s.log"
                            % (self.n, args[0]))
        cmd = ["podman", "--runtime", "runc"] + list(args)
        with open(path, "w+") as out:
            r = subprocess.run(cmd, stdin=stdin or subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT,
                               env=self.env, timeout=timeout, cwd=ROOT)
            out.seek(0)
            text = out.read()
        if check and r.returncode != 0:
            raise AssertionError("%s exited with %d:\n%s"
                                 % (" ".join(cmd), r.returncode, text[-6000:]))
        return r.returncode, text

    def out(self, *args, **kw):
        return self.run(*args, **kw)[1].strip()

    def exists(self, image):
        return self.run("image", "exists", image, check=False)[0] == 0


def debootstrap_base(mirror):
    """The minbase root as a tarball in the cache (atomically renamed into
    place, so an interrupted run leaves nothing half made)."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    root = tempfile.mkdtemp(prefix="debootstrap-", dir=CACHE_DIR)
    try:
        cmd = ["debootstrap", "--variant=minbase"]
        if mirror.startswith("https://"):
            cmd.append("--include=ca-certificates")
        cmd += [SUITE, root, mirror]
        log("debootstrap from %s" % mirror)
        r = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           timeout=DEBOOTSTRAP_TIMEOUT_S)
        if r.returncode != 0:
            raise AssertionError("debootstrap failed:\n" + r.stdout[-6000:])
        # The downloaded .debs and the host's name are not part of an image.
        for d in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for n in os.listdir(os.path.join(root, d)):
                p = os.path.join(root, d, n)
                if os.path.isfile(p):
                    os.unlink(p)
        for n in ("etc/hostname", "etc/resolv.conf"):
            p = os.path.join(root, n)
            if os.path.lexists(p):
                os.unlink(p)
        tmp_tar = BASE_TARBALL + ".tmp"
        subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", root,
                        "-cf", tmp_tar, "."], check=True, timeout=600)
        os.replace(tmp_tar, BASE_TARBALL)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure_base(podman):
    """localhost/dlrd-test-base:bookworm in the test's storage, from the
    cached tarball (made with debootstrap when missing), tagged as the
    Dockerfile's debian:12-slim. Both record the mirror they were made
    from (the root's sources.list names it, and apt in the build uses it):
    when the host's apt moves to another mirror, they are made again."""
    mirrors = apt_mirrors()
    if not mirrors:
        raise AssertionError(
            "no apt source for %s in /etc/apt/sources.list{,.d}" % SUITE)
    mirror = mirrors[0]
    if not (podman.exists(BASE_TAG) and podman.out(
            "image", "inspect", "-f",
            '{{index .Labels "%s"}}' % MIRROR_LABEL, BASE_TAG) == mirror):
        try:
            with open(BASE_TARBALL + ".mirror") as f:
                tar_mirror = f.read().strip()
        except OSError:
            tar_mirror = None
        if not os.path.isfile(BASE_TARBALL) or tar_mirror != mirror:
            debootstrap_base(mirror)
            with open(BASE_TARBALL + ".mirror", "w") as f:
                f.write(mirror + "\n")
        log("podman import %s" % BASE_TARBALL)
        podman.run("import", "--change",
                   "LABEL %s=%s" % (MIRROR_LABEL, mirror),
                   BASE_TARBALL, BASE_TAG, timeout=600)
    podman.run("tag", BASE_TAG, DOCKERFILE_BASE)


def build_image(podman):
    """Builds the Dockerfile from the repo root: the build stage first,
    tagged so that its layers (compile included) survive the prune, then
    the whole file, which reuses them."""
    common = ["--network", "host", "--pull=never", "--layers",
              "-f", DOCKERFILE, "--ignorefile", IGNOREFILE]
    podman.run("build", *common, "--target", "build",
               "-t", BUILD_STAGE_TAG, ROOT, timeout=BUILD_TIMEOUT_S)
    podman.run("build", *common, "-t", IMAGE_TAG, ROOT,
               timeout=BUILD_TIMEOUT_S)
    # Untagged leaf images are what earlier builds left behind (a changed
    # tree's old compile, old runtime image); removing one can make its
    # parent a leaf, hence the loop. Cached layers of the current images
    # have children or tags and stay.
    for _ in range(50):
        if not podman.out("image", "prune", "-f"):
            break


# --------------------------------------------------------------------------
# The database the container writes. The seam for PostgreSQL: make
# event_store() return an object with the same two members, whose
# config_value is a postgresql:// URI of the suite's server (with
# --network host the container reaches a server on the host's loopback)
# and whose delivery_events() runs the same SELECT there (psql -Atc).


class SqliteStore:
    """The embedded default: a file in the data dir mounted at /var/lib/dlrd,
    read from the host once the container has stopped."""

    def __init__(self, data_dir):
        self.host_path = os.path.join(data_dir, "dlrd.db")
        self.config_value = "/var/lib/dlrd/dlrd.db"

    def delivery_events(self):
        """[(source, verification_id, status)] of every stored event."""
        c = sqlite3.connect("file:%s?mode=ro" % self.host_path, uri=True,
                            timeout=10)
        try:
            return c.execute("SELECT source, verification_id, status "
                             "FROM delivery_events ORDER BY id").fetchall()
        finally:
            c.close()


class PostgresStore:
    """A fresh database on the suite's own PostgreSQL (ctest fixture pg);
    with --network host the container reaches it on the host's loopback."""

    def __init__(self):
        self.db = h.PgDatabase()
        self.config_value = self.db.uri

    def delivery_events(self):
        return [tuple(row) for row in self.db.query(
            "SELECT source, verification_id, status FROM delivery_events"
            " ORDER BY id")]

    def cleanup(self):
        self.db.cleanup()


def event_store(kind, data_dir):
    return SqliteStore(data_dir) if kind == "sqlite" else PostgresStore()


# --------------------------------------------------------------------------


def missing_prerequisites():
    if os.geteuid() != 0:
        return "needs root (rootful podman, debootstrap)"
    for tool in ("podman", "runc", "debootstrap", "tar"):
        if not shutil.which(tool):
            return "%s not installed (deploy/install-deps.sh)" % tool
    return None


class ContainerImageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        why = missing_prerequisites()
        if why:
            raise unittest.SkipTest(why)
        os.makedirs(CACHE_DIR, exist_ok=True)
        # Held for the whole run: one user of the cache/storage at a time.
        cls.lock = open(os.path.join(CACHE_DIR, "lock"), "w")
        fcntl.flock(cls.lock, fcntl.LOCK_EX)
        cls.tmp = h.make_tempdir(prefix="dlrd-container-")
        env, cls.driver = write_podman_conf(cls.tmp.name)
        cls.podman = Podman(env, cls.tmp.name)
        # The storage is this test's alone and the lock is held: any
        # container in it is left over from a killed run.
        cls.podman.run("rm", "-a", "-f", "-t", "0", check=False)
        t0 = time.monotonic()
        ensure_base(cls.podman)
        t1 = time.monotonic()
        log("base image ready in %.0fs (%s storage)" % (t1 - t0, cls.driver))
        build_image(cls.podman)
        log("image built in %.0fs" % (time.monotonic() - t1))

    @classmethod
    def tearDownClass(cls):
        lock = getattr(cls, "lock", None)
        if lock:
            lock.close()

    def setUp(self):
        self.name = "dlrd-test-%d-%s" % (os.getpid(), secrets.token_hex(4))
        self.addCleanup(self.podman.run, "rm", "-f", "-t", "0", self.name,
                        check=False)

    def write_files(self, store, port, admin_port, secret, data):
        d = self.tmp.name
        os.mkdir(data, 0o700)
        os.chown(data, DLRD_UID, DLRD_UID)
        secret_path = os.path.join(data + ".secret")
        with open(secret_path, "w") as f:
            f.write(secret)
        os.chown(secret_path, DLRD_UID, DLRD_UID)
        os.chmod(secret_path, 0o400)
        sig = h.hmac_signature_config([])
        sig["secrets"] = ["file:" + SECRET_FILE_IN_CONTAINER]
        cfg = {
            "listen": "%s:%d" % (h.LOOPBACK, port),
            "admin_listen": "%s:%d" % (h.LOOPBACK, admin_port),
            "database": store.config_value,
            "sources": {SOURCE: {"format": "verifynow", "signature": sig}},
        }
        config_path = data + ".jsonc"
        with open(config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        os.chmod(config_path, 0o644)
        return config_path, secret_path, data

    def logs(self):
        return self.podman.run("logs", self.name, check=False)[1][-6000:]

    def state(self, field):
        return self.podman.out("inspect", "-f", "{{.State.%s}}" % field,
                               self.name)

    def wait_ready(self, admin_port):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.state("Running") != "true":
                self.fail("container exited (%s) before ready; logs:\n%s"
                          % (self.state("ExitCode"), self.logs()))
            try:
                if h.http_get(admin_port, "/readyz", timeout=1.0).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.fail("not ready within %.0fs; logs:\n%s"
                  % (READY_TIMEOUT_S, self.logs()))

    def test_image_serves_and_stores_a_signed_callback_in_sqlite(self):
        self.serve_and_store("sqlite")

    def test_image_serves_and_stores_a_signed_callback_in_postgres(self):
        self.serve_and_store("postgres")

    def serve_and_store(self, kind):
        port, admin_port = h.free_port(), h.free_port()
        while admin_port == port:
            admin_port = h.free_port()
        secret = secrets.token_hex(32)
        data = os.path.join(self.tmp.name, "data-" + kind)
        store = event_store(kind, data)
        if hasattr(store, "cleanup"):
            self.addCleanup(store.cleanup)
        config_path, secret_path, data = self.write_files(
            store, port, admin_port, secret, data)

        self.podman.run(
            "run", "-d", "--name", self.name, "--network", "host",
            "-v", "%s:/etc/dlrd/dlrd.jsonc:ro" % config_path,
            "-v", "%s:%s:ro" % (secret_path, SECRET_FILE_IN_CONTAINER),
            "-v", "%s:/var/lib/dlrd" % data,
            IMAGE_TAG)
        self.wait_ready(admin_port)

        vid = h.unique_id("ctr")
        r = h.post_signed(port, SOURCE, secret, h.verifynow_body(vid))
        self.assertTrue(200 <= r.status < 300,
                        "POST /webhooks/%s -> %d %r; logs:\n%s"
                        % (SOURCE, r.status, r.body, self.logs()))
        # A wrongly signed one is refused (the secret file was really read).
        r = h.post_signed(port, SOURCE, "not-the-secret",
                          h.verifynow_body(h.unique_id("bad")))
        self.assertEqual(r.status // 100, 4, r.body)

        # SIGTERM (the image's STOPSIGNAL) drains and exits cleanly; the
        # event must then be in the database on the host side.
        self.podman.run("stop", "-t", "20", self.name, timeout=60)
        self.assertEqual(self.state("ExitCode"), "0", self.logs())
        self.assertEqual(store.delivery_events(),
                         [(SOURCE, vid, "delivered")])


def _on_signal(signum, _frame):
    # ctest's timeout or ^C: end the test so its cleanups (podman rm -f)
    # run; unittest records SystemExit as an error and carries on.
    signal.signal(signum, signal.SIG_DFL)
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    prog = unittest.main(verbosity=2, exit=False)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    # A skip in setUpClass counts no test as run.
    if res.skipped and len(res.skipped) >= res.testsRun:
        sys.exit(h.SKIP_EXIT_CODE)
    if not res.testsRun:
        sys.exit(5)  # nothing ran: a failure, as unittest does from 3.12
    sys.exit(0)
