"""Starts the course's JupyterHub and stops it with everything it spawned."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from mnistkit.hub import machine
from mnistkit.hub.roster import load_roster
from mnistkit.leftovers import die_with_parent

CONFIG = Path(__file__).with_name("jupyterhub_config.py")
START_SECONDS = 120  # a bound on a broken start, not a speed requirement


class HubError(RuntimeError):
    """The hub did not start; the message quotes its log."""


def hub_command(root, roster_path, ip, port):
    """``(command, environment)`` that run JupyterHub for ``roster_path`` under ``root``."""
    environment = {**os.environ, "MNISTKIT_HUB_ROOT": str(root), "MNISTKIT_HUB_ROSTER": str(Path(roster_path).resolve()),
                   "MNISTKIT_HUB_IP": ip, "MNISTKIT_HUB_PORT": str(port)}
    environment.pop("JUPYTER_CONFIG_DIR", None)
    return [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], environment


@contextlib.contextmanager
def running_hub(roster_path, root=machine.DEFAULT_ROOT, ip="127.0.0.1", port=8000, log=None):
    """Prepare the machine and run the hub until the block ends; yields its address (``http://ip:port``).

    The hub, its proxy, every server and every course's service are stopped when the block ends,
    also when it ends by an error or an interrupt. ``log`` is a path for the hub's output.
    """
    root = Path(root)
    folders = machine.prepare(load_roster(roster_path), root)
    command, environment = hub_command(root, roster_path, ip, port)
    log_path = Path(log) if log else folders["state"] / "jupyterhub.log"
    with open(log_path, "ab") as output:
        hub = subprocess.Popen(command, cwd=folders["state"], env=environment, stdout=output, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent)
    address = f"http://{ip}:{port}"
    try:
        _wait_until_up(hub, address, log_path)
        yield address
    finally:
        _stop(hub)


def _wait_until_up(hub, address, log_path):
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise HubError(f"JupyterHub stopped as it started (exit {hub.returncode}):\n{_tail(log_path)}")
        try:
            if requests.get(f"{address}/hub/api/", timeout=5).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise HubError(f"JupyterHub did not answer at {address} within {START_SECONDS} s:\n{_tail(log_path)}")


def _stop(hub):
    """SIGTERM lets JupyterHub stop the servers, services and proxy it started; whatever is left is killed."""
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(60)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(hub.pid, signal.SIGKILL)
    hub.wait()


def _tail(path, size=4000):
    text = Path(path).read_text(errors="replace") if Path(path).exists() else ""
    return text[-size:]


def serve(roster_path, root, ip, port):
    """Run the hub until Ctrl-C (the ``python -m mnistkit hub`` command); its exit status."""
    from mnistkit.hub.roster import RosterError

    try:
        roster = load_roster(roster_path)
        with running_hub(roster_path, root, ip, port) as address:
            password = machine.shared_password(Path(root) / "state")
            print(f"The course's hub is at {address}/ (its log: {Path(root) / 'state' / 'jupyterhub.log'}).\n"
                  f"Log in as any person of {roster_path} with the password {password} (kept in "
                  f"{Path(root) / 'state' / 'password'}, readable by root only).")
            for course in roster.courses:
                print(f"  {course.course_id}: instructors {', '.join(course.instructors)}; "
                      f"Formgrader at {address}/services/{course.course_id}/lab?formgrader=true; "
                      f"course directory {machine.course_directory(course)}")
            print("Ctrl-C stops the hub and every server it started.", flush=True)
            signal.pause()
    except (RosterError, machine.HubSetupError, HubError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nThe hub and its servers are stopped.")
    return 0
