#!/usr/bin/env bash
# Installs everything the course needs, on a fresh Debian or Ubuntu machine:
#  - bubblewrap, which confines every grading kernel (from the system's packages, where missing);
#  - a virtual environment .venv with nbgrader, Jupyter, NumPy, ... and this folder's mnistkit.
# Run it from anywhere; run it again at any time (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v bwrap >/dev/null; then
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    $as_root apt-get install -y -qq bubblewrap
fi
python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
echo "Set up. Activate the environment with: . .venv/bin/activate"
