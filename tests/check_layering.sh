#!/bin/sh
# Checks every #include against the layer table in check_layering.py
# (one folder per library; docs/design.md). Usage:
#   tests/check_layering.sh [ROOT]              check the tree
#   tests/check_layering.sh --self-test ROOT    also plant violations and
#                                               check that each is caught
exec python3 "$(dirname "$0")/check_layering.py" "$@"
