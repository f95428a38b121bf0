#!/usr/bin/env bash
# Installs everything the course needs, on a fresh Debian or Ubuntu machine:
#  - from the system's packages, where missing: bubblewrap, which confines every grading kernel,
#    PostgreSQL's server, for large courses' gradebooks (the tests start a throwaway server),
#    and chromium, the browser the tests drive (Formgrader, JupyterLab, the class report);
#  - a virtual environment .venv with nbgrader, Jupyter, NumPy, Dask, ... and this folder's mnistkit.
# Run it from anywhere; run it again at any time (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "${missing[@]}"
fi
python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
echo "Set up. Activate the environment with: . .venv/bin/activate"
