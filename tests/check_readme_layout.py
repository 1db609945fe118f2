#!/usr/bin/env python3
"""Fails unless README.md's Layout table names every top-level folder,
every library folder under src/ and include/dlrd/, and every test folder,
and names nothing that does not exist.

Usage: check_readme_layout.py [ROOT]
"""
import os
import re
import sys


def main(root):
    text = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    m = re.search(r"^## Layout\n(.*?)^## ", text, re.S | re.M)
    if not m:
        print("README.md has no '## Layout' section")
        return 1
    section = m.group(1)
    named = set(re.findall(r"`([A-Za-z0-9_./-]+/)`", section))
    errors = []
    tops = {d + "/" for d in os.listdir(root)
            if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
            and not d.startswith("build")}
    tops.discard("src/")  # named through its folders
    for d in sorted(tops):
        if not any(n.startswith(d) for n in named):
            errors.append(f"top-level folder {d} is not in the Layout")
    for base in ("src", "tests"):
        for d in sorted(os.listdir(os.path.join(root, base))):
            if not os.path.isdir(os.path.join(root, base, d)):
                continue
            full, short = f"{base}/{d}/", f"{d}/"
            if full not in named and not (base == "tests" and short in named):
                errors.append(f"{full} is not in the Layout")
    for p in sorted(named):
        candidates = [p, os.path.join("tests", p)]
        if not any(os.path.isdir(os.path.join(root, c)) for c in candidates):
            errors.append(f"the Layout names {p}, which does not exist")
    if errors:
        print("\n".join(errors))
        return 1
    print(f"README Layout: {len(named)} folders, all present")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
