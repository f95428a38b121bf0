#!/usr/bin/env bash
# Installs everything the course needs, on a fresh Debian or Ubuntu machine:
#  - from the system's packages, where missing: bubblewrap, which confines every grading kernel,
#    PostgreSQL's server, for large courses' gradebooks (the tests start a throwaway server),
#    chromium, the browser the tests drive (Formgrader, JupyterLab, the class report), and
#    configurable-http-proxy, the proxy of the course's JupyterHub;
#  - a virtual environment .venv with nbgrader, Jupyter, JupyterHub, NumPy, Dask, ... and this
#    folder's mnistkit, made from a Python every account can run (on a hub, every student's
#    server runs from it).
# Run it from anywhere; run it again at any time (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")"

# Whether every account may run the Python $1 (3.11 or later): no folder above it is closed to others.
others_can_run() {
    "$1" -c 'import stat, sys
from pathlib import Path
paths = {Path(sys.executable).resolve(), Path(sys.base_prefix).resolve()}
closed = any(not folder.stat().st_mode & stat.S_IXOTH for path in paths for folder in path.parents)
sys.exit(1 if closed or sys.version_info < (3, 11) else 0)' 2>/dev/null
}
python=python3
if ! others_can_run python3 && [ -x /usr/bin/python3 ]; then
    python=/usr/bin/python3
fi

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
[ -e /usr/share/nodejs/configurable-http-proxy ] || command -v configurable-http-proxy >/dev/null \
    || missing+=(node-configurable-http-proxy)
[ "$python" = python3 ] || "$python" -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq "${missing[@]}"
fi
if [ -x .venv/bin/python ] && ! others_can_run .venv/bin/python && others_can_run "$python"; then
    rm -rf .venv  # made from a Python other accounts cannot run: made again
fi
"$python" -m venv .venv
.venv/bin/pip install -q -r requirements.txt
echo "Set up. Activate the environment with: . .venv/bin/activate"
