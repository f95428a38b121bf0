"""Throwaway servers on this machine: a PostgreSQL server, a Dask cluster and a Jupyter server.

For the tests and benchmarks, and for trying the large-course setup on one machine before a
real one. Both listen on localhost only, on free ports, and leave nothing behind when stopped.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from mnistkit.leftovers import die_with_parent, new_folder

POSTGRES_INSTALL = "/usr/lib/postgresql"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin():
    """The folder of the newest PostgreSQL server installed from Debian's packages."""
    found = sorted(Path(POSTGRES_INSTALL).glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise FileNotFoundError(f"PostgreSQL's server is not installed (no {POSTGRES_INSTALL}/<version>/bin/initdb): "
                                "run ./setup.sh, or 'apt-get install postgresql'.")
    return found[-1].parent


class PostgresServer:
    """A PostgreSQL server in a temporary folder, on a free port of 127.0.0.1, with one database.

    PostgreSQL refuses to run as root; as root, the server runs as the ``postgres`` user that
    Debian's package creates (else ``nobody``). Use it as a context manager; ``url`` is the
    SQLAlchemy URL of its database (user ``grader``, password ``grader``).
    """

    def __init__(self, database="gradebook"):
        self.database, self.port, self.bin = database, free_port(), postgres_bin()
        self.folder = new_folder("mnistkit-postgres-")  # a killed run's is removed by the next server's start
        self.user = None  # run as whoever runs this, unless that is root
        if os.geteuid() == 0:
            known = {entry.pw_name: entry for entry in pwd.getpwall()}
            self.user = known.get("postgres") or known["nobody"]
        self.url = f"postgresql+psycopg://grader:grader@127.0.0.1:{self.port}/{database}"

    def _prefix(self, death_signal=None):
        """What runs a command as the server's user (as root: dropping to it, keeping nothing of root's); with
        ``death_signal``, the command gets that signal when the process that started it dies, even by SIGKILL."""
        if not self.user:
            return ["setpriv", f"--pdeathsig={death_signal}"] if death_signal else []
        return ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups",
                *([f"--pdeathsig={death_signal}"] if death_signal else [])]

    def _environment(self):
        return {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "PGPASSWORD": "grader"}

    def _run(self, *command):
        return subprocess.run([*self._prefix(), *map(str, command)], check=True, text=True, cwd=self.folder,
                              env=self._environment(), stdin=subprocess.DEVNULL, capture_output=True)

    def start(self):
        if self.user:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        password = self.folder / "password"
        password.write_text("grader\n")
        if self.user:
            os.chown(password, self.user.pw_uid, self.user.pw_gid)
        data = self.folder / "data"
        self._run(self.bin / "initdb", "-D", data, "-U", "grader", "--auth=scram-sha-256", f"--pwfile={password}",
                  "-E", "UTF8", "--no-instructions")
        # The server is this process's child, not a daemon (as pg_ctl would make it): it stops (a fast shutdown)
        # when whoever started it dies, so a test run that is killed leaves no server behind.
        self._log = open(self.folder / "server.log", "w")
        self._server = subprocess.Popen(
            [*self._prefix(death_signal="INT"), str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port),
             "-k", str(self.folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            cwd=self.folder, env=self._environment(), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT)
        import time

        deadline = time.monotonic() + 120
        while subprocess.run([self.bin / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"]).returncode:
            if self._server.poll() is not None or time.monotonic() > deadline:
                raise subprocess.CalledProcessError(1, "postgres", stderr=(self.folder / "server.log").read_text()[-2000:])
            time.sleep(0.1)
        self.new_database(self.database)
        return self

    def new_database(self, name):
        """Create another database on this server; return its SQLAlchemy URL."""
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "grader", name)
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self):
        server = getattr(self, "_server", None)
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)  # a fast shutdown
            try:
                server.wait(60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if getattr(self, "_log", None) is not None:
            self._log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except subprocess.CalledProcessError as error:
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {error.stderr or error.stdout}") from None

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def local_dask_cluster(workers=2):
    """A Dask scheduler and ``workers`` worker processes (one grading thread each) over TCP on 127.0.0.1.

    Yields the scheduler's address. Each worker runs under a nanny process, which restarts it
    if it dies, as on a real cluster.
    """
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=50)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@contextlib.contextmanager
def jupyter_lab_server(root, timeout=180):
    """A JupyterLab server (with nbgrader's Formgrader) serving ``root``, on a free port of 127.0.0.1, with a token.

    ``root`` is a course directory: Formgrader reads its nbgrader_config.py. Yields the server's
    address and token, ``("http://127.0.0.1:PORT", TOKEN)``. It runs with a throwaway home, so
    no one's JupyterLab settings or workspaces change what it shows, and it looks for no updates
    or news online. Raises RuntimeError, with the server's log, if it does not answer within ``timeout`` s.
    """
    import secrets
    import sys
    import time

    import requests

    port, token = free_port(), secrets.token_hex(16)
    home = new_folder("mnistkit-jupyter-home-")
    try:
        environment = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": f"{home}/.jupyter",
                       "JUPYTERLAB_WORKSPACES_DIR": f"{home}/workspaces", "JUPYTER_RUNTIME_DIR": f"{home}/runtime"}
        log = open(Path(home) / "server.log", "w+")
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent)
        address = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if requests.get(f"{address}/api/status", params={"token": token}, timeout=5).ok:
                        break
                except requests.ConnectionError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"The Jupyter server did not start:\n{log.read()[-3000:]}")
                time.sleep(0.3)
            yield address, token
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, 9)
                server.wait()
            log.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
