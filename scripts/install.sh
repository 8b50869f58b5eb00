#!/usr/bin/env bash
# Install rmeval into ./.venv (fresh machine: ~1-2 minutes, ~2 GB).
# torch==2.13.0 is pinned in the same pip command as lm-eval[hf]: it is the CPU build; without
# the pin pip resolves a multi-GB CUDA build. --browser also installs Debian's chromium for the
# leaderboard's browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0" -e ".[demo,test]"
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi
fi
