#!/usr/bin/env bash
# Set up what the build and tests need, from nothing: Debian packages (when root; otherwise say which are
# missing and how to install them), then a virtual environment in .venv with requirements.txt's exact pins.
# Called by the Makefile; safe to run again (it does only what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^\s*#' debian-packages.txt | grep -v '^\s*$')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# Notebooks execute inside bubblewrap (tools/sandbox.py); say now, not halfway through a build, when this host
# forbids the user namespaces it needs (the build stops with the same news and the ways to fix it).
if ! bwrap --unshare-all --die-with-parent --ro-bind / / true 2>/dev/null; then
  echo "setup: warning: bubblewrap cannot create a sandbox on this host; \`make build\` will say how to fix it" >&2
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
# requirements.txt is the lock (`make lock`): every package at one version, with the sha256 of each file it may
# come as. --require-hashes makes pip refuse any file whose hash is not listed, and any package the lock does not
# pin: a changed upload, a mirror's different build, or PyPI's CUDA torch (the lock holds torch==2.13.0+cpu, the
# CPU wheel: /opt/wheels on these machines through pip's own configuration, download.pytorch.org/whl/cpu in
# GitHub Actions through PIP_EXTRA_INDEX_URL). `pip check` then confirms the set is consistent.
echo "setup: installing Python packages (requirements.txt, each file checked against its locked sha256)"
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.txt
.venv/bin/python -m pip check >/dev/null || { .venv/bin/python -m pip check >&2; exit 1; }
touch .venv/.installed
