#!/usr/bin/env python3
"""Checks every #include in src/, include/ and tests/ against the layers.

Each library is one folder: src/<lib>/ (sources and private headers,
included as "<lib>/...") and include/dlrd/<lib>/ (public headers, included
as "dlrd/<lib>/..."). A file may include its own library's headers, the
public headers of the libraries below it, and the system headers its
layer is allowed. The table below is the architecture (docs/design.md):

  core   pure: no Beast/Asio, SQLite, prometheus-cpp or libpq
  app    core;                     prometheus-cpp, no Beast/Asio or SQLite
  sqlite core, app;                SQLite
  postgres core, app;              libpq (the only libpq user)
  http   core, app;                Asio and Beast (the only Beast user
                                   besides https)
  https  core;                     Asio, Beast, OpenSSL
  cli    every public header;      Asio, no Beast

Inside core, a provider (src/core/providers/<p>/) includes no other
provider, and only the registry includes a provider.

Every folder under src/ and include/dlrd/ must be in the table: a new
folder fails the check until it is given a layer.

Usage: check_layering.py [ROOT]     check the tree at ROOT (default: .)
       check_layering.py --self-test ROOT
                                    plant violations in copies of ROOT and
                                    check that each one is caught
"""
import os
import re
import shutil
import sys
import tempfile

BEAST = r"boost/beast"
ASIO = r"boost/asio"
SQLITE = r"sqlite3\.h"
PROM = r"prometheus/"
PQ = r"libpq-fe\.h"
OPENSSL = r"openssl/"

# layer -> (libraries whose public headers it may include, forbidden system
# header patterns)
LAYERS = {
    "core": ([], [BEAST, ASIO, SQLITE, PROM, PQ]),
    "app": (["core"], [BEAST, ASIO, SQLITE, PQ]),
    "sqlite": (["core", "app"], [BEAST, ASIO, PROM, PQ]),
    "http": (["core", "app"], [SQLITE, PQ]),
    "https": (["core"], [SQLITE, PROM, PQ]),
    "postgres": (["core", "app"], [BEAST, ASIO, SQLITE, PROM]),
    "cli": (["core", "app", "sqlite", "postgres", "http", "https"],
            [BEAST, SQLITE, PQ]),
}
# Headers generated into the build tree, by spelling.
GENERATED = {"dlrd/build_info.h": "cli", "core/model/phone_tables.h": "core"}
# Test folders and the library each one tests (it may also use that
# library's private headers and tests/testutil).
TEST_DIRS = {"core": "core", "app": "app", "sqlite": "sqlite", "postgres": "postgres", "http": "http",
             "https": "https", "cli": "cli", "testutil": "sqlite",
             "integration": None, "alerting": None, "deploy_files": None,
             "mock_provider": None, "data": None}
SOURCE_EXT = (".h", ".cc", ".in")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]', re.M)


def layer_of(rel):
    """(kind, layer) of a repo-relative path, kind in src/include/test."""
    parts = rel.split("/")
    if parts[0] == "src" and len(parts) > 2:
        return "src", parts[1]
    if parts[:2] == ["include", "dlrd"] and len(parts) > 3:
        return "include", parts[2]
    if parts[0] == "tests" and len(parts) > 2:
        return "test", parts[1]
    return None, None


def below(layer):
    allowed, _ = LAYERS[layer]
    out = set(allowed)
    for a in allowed:
        out |= below(a)
    return out


def check(root):
    errors = []
    # Every folder has a layer.
    for top, prefix in (("src", "src"), ("include/dlrd", "include/dlrd")):
        base = os.path.join(root, top)
        for name in sorted(os.listdir(base)):
            if os.path.isdir(os.path.join(base, name)) and name not in LAYERS:
                errors.append(f"{prefix}/{name}/: folder has no layer in "
                              "tests/check_layering.py")
    tests = os.path.join(root, "tests")
    for name in sorted(os.listdir(tests)):
        if os.path.isdir(os.path.join(tests, name)) and name not in TEST_DIRS:
            errors.append(f"tests/{name}/: folder mirrors no library")
    files = 0
    for top in ("src", "include", "tests"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if not n.endswith(SOURCE_EXT):
                    continue
                path = os.path.join(dirpath, n)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                files += 1
                errors += check_file(root, rel)
    return files, errors


def check_file(root, rel):
    kind, layer = layer_of(rel)
    if kind is None:
        return []
    if kind == "test":
        tested = TEST_DIRS.get(layer)
        if tested is None:
            return []
        layer = tested
    if layer not in LAYERS:
        return []  # reported as a folder without a layer
    # Tests compose libraries: any public header, but only the private
    # headers of the library they test.
    may_use = set(LAYERS) if kind == "test" else below(layer) | {layer}
    _, forbidden = LAYERS[layer]
    text = open(os.path.join(root, rel), encoding="utf-8",
                errors="replace").read()
    errs = []
    provider = None
    m = re.match(r"src/core/providers/([^/]+)/", rel)
    if m:
        provider = m.group(1)
    for quote, target in INCLUDE.findall(text):
        close = ">" if quote == "<" else '"'
        where = f"{rel}: #include {quote}{target}{close}"
        if quote == "<":
            if kind != "test":
                for pat in forbidden:
                    if re.match(pat, target):
                        errs.append(f"{where}: the {layer} layer may not "
                                    f"use <{target}>")
            continue
        if target in GENERATED:
            if GENERATED[target] != layer:
                errs.append(f"{where}: generated for {GENERATED[target]}")
            continue
        parts = target.split("/")
        if parts[0] == "dlrd" and len(parts) > 2:
            lib = parts[1]
            if lib not in may_use:
                errs.append(f"{where}: {layer} may not include the "
                            f"{lib} library")
        elif parts[0] in LAYERS:
            lib = parts[0]
            if kind == "include":
                errs.append(f"{where}: a public header includes a private "
                            "one")
            elif lib != layer:
                errs.append(f"{where}: private header of {lib}, "
                            f"included from {layer}")
        elif parts[0] == "testutil":
            if kind != "test" and not rel.endswith("_test.cc"):
                errs.append(f"{where}: test helper in product code")
        else:
            if "/" in target:
                errs.append(f"{where}: spell includes from include/ or "
                            "src/")
        # Providers: only the registry includes one; a provider includes
        # no other provider.
        pm = re.match(r"core/providers/([^/]+)/", target)
        if pm:
            if provider is None and rel not in (
                    "src/core/providers/registry.cc",) and kind != "test":
                errs.append(f"{where}: only the registry includes a "
                            "provider")
            if provider is not None and pm.group(1) != provider:
                errs.append(f"{where}: provider {provider} includes "
                            f"provider {pm.group(1)}")
    return errs


PLANTS = [
    # (file, line added, what must be reported)
    ("src/core/model/delivery.cc", '#include <boost/beast/http.hpp>\n',
     "may not use"),
    ("src/core/stats/stats.cc", '#include "dlrd/sqlite/sqlite_handle.h"\n',
     "may not include the sqlite library"),
    ("src/app/ingest/ingest_queue.cc", '#include <sqlite3.h>\n',
     "may not use"),
    ("src/cli/main.cc", '#include "sqlite/sqlite_db.h"\n',
     "private header of sqlite"),
    ("src/cli/main.cc", '#include <boost/beast/core.hpp>\n', "may not use"),
    ("src/core/providers/twilio/twilio.cc",
     '#include "core/providers/sinch/sinch_send.h"\n',
     "includes provider sinch"),
    ("src/core/config/config.cc",
     '#include "core/providers/twilio/twilio_send.h"\n',
     "only the registry includes a provider"),
    ("include/dlrd/sqlite/sqlite_outbox.h", '#include "sqlite/sqlite_db.h"\n',
     "a public header includes a private one"),
    ("src/sqlite/sqlite_outbox.cc", '#include "dlrd/http/http_types.h"\n',
     "may not include the http library"),
    ("src/core/stats/stats.cc", '#include "testutil/temp_dir.h"\n',
     "test helper in product code"),
]


def self_test(root):
    failures = 0
    for i, (rel, line, expect) in enumerate(PLANTS):
        tmp = tempfile.mkdtemp(prefix="layering-")
        try:
            for top in ("src", "include", "tests"):
                shutil.copytree(os.path.join(root, top), os.path.join(tmp, top),
                                ignore=shutil.ignore_patterns("testdata",
                                                              "data"))
            path = os.path.join(tmp, rel)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(line + text)
            _, errors = check(tmp)
            hit = [e for e in errors if e.startswith(rel) and expect in e]
            if not hit:
                failures += 1
                print(f"NOT CAUGHT: {line.strip()} in {rel} (errors: {errors})")
            else:
                print(f"caught: {hit[0]}")
        finally:
            shutil.rmtree(tmp)
    # A folder without a layer.
    tmp = tempfile.mkdtemp(prefix="layering-")
    try:
        for top in ("src", "include", "tests"):
            shutil.copytree(os.path.join(root, top), os.path.join(tmp, top),
                            ignore=shutil.ignore_patterns("testdata", "data"))
        os.makedirs(os.path.join(tmp, "src", "redis"))
        _, errors = check(tmp)
        if not any("src/redis/" in e for e in errors):
            failures += 1
            print("NOT CAUGHT: src/redis/ without a layer")
        else:
            print("caught: src/redis/ without a layer")
    finally:
        shutil.rmtree(tmp)
    return failures


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        root = argv[2] if len(argv) > 2 else "."
        files, errors = check(root)
        if errors:
            print("\n".join(errors))
            return 1
        failures = self_test(root)
        print(f"self-test: {len(PLANTS) + 1 - failures} of {len(PLANTS) + 1}"
              " planted violations caught")
        return 1 if failures else 0
    root = argv[1] if len(argv) > 1 else "."
    files, errors = check(root)
    if errors:
        print("\n".join(errors))
        print(f"layering: {len(errors)} violation(s) in {files} files")
        return 1
    print(f"layering: {files} files follow the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
