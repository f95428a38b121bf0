"""JupyterHub's settings for the course's hub, read by ``jupyterhub -f`` as `python -m mnistkit hub` starts it.

What it sets up (see ``mnistkit/hub/__init__.py`` for the whole layout):

- every person of ``hub.toml`` logs in with their account name; each server runs as that Unix
  account (JupyterHub's local process spawner) with a thread count that fits the machine;
- each course is a JupyterHub service, ``/services/<course>/``: a Jupyter server run as the
  course's account in the course directory, with Formgrader; only the groups
  ``formgrade-<course>`` (its instructors and teaching assistants) may open it;
- ``nbgrader-<course>`` (its students and instructors) see the course in the Assignments list.

It reads its inputs from the environment the command sets: ``MNISTKIT_HUB_ROOT``,
``MNISTKIT_HUB_ROSTER``, ``MNISTKIT_HUB_IP``, ``MNISTKIT_HUB_PORT``.
"""

import os
import sys
from pathlib import Path

from mnistkit.hub import machine
from mnistkit.hub.roster import load_roster
from mnistkit.local_servers import free_port
from mnistkit.sandbox.box import THREAD_VARIABLES

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

root = Path(os.environ["MNISTKIT_HUB_ROOT"])
roster = load_roster(os.environ["MNISTKIT_HUB_ROSTER"])
state, settings = root / "state", root / "config"
python = [sys.executable, "-m", "jupyterhub.singleuser"]

# Where the hub listens (its proxy), and its own files.
c.JupyterHub.ip = os.environ.get("MNISTKIT_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("MNISTKIT_HUB_PORT", "8000"))
c.JupyterHub.hub_port = free_port()
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
# Debian's configurable-http-proxy finds its modules there; Debian's own Node.js looks there anyway.
os.environ["NODE_PATH"] = os.pathsep.join(filter(None, ["/usr/share/nodejs", os.environ.get("NODE_PATH")]))

# Who may log in: the roster's people, with one shared password, for trying the hub. In production use
# the institution's login instead (for example oauthenticator's GenericOAuthenticator, or ltiauthenticator
# from the LMS), keeping the same account names.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = machine.shared_password(state)
c.Authenticator.allowed_users = set(roster.people())
c.JupyterHub.load_groups = {name: {"users": users} for name, users in roster.groups().items()}

# Each person's own server, as their own account.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = python
c.Spawner.default_url = "/lab"
staff = set(roster.staff())
threads = {name: os.environ.get("MNISTKIT_HUB_THREADS", "1") for name in THREAD_VARIABLES}


def pre_spawn_hook(spawner):
    """Every kernel of the hub shares its cores: one BLAS thread each (a loaded machine's training ran 19 times
    slower with NumPy's default threads). Students' servers leave out Formgrader."""
    spawner.environment.update(threads)
    spawner.environment["MNIST_DATA"] = str(root / "data" / "mnist.npz")
    kind = "staff" if spawner.user.name in staff else "students"
    spawner.environment["JUPYTER_CONFIG_PATH"] = machine.settings_path(settings, kind)


c.Spawner.pre_spawn_hook = pre_spawn_hook

# Each course's Formgrader, as a service run by the course's account in its course directory.
services, roles = [], [
    # A person's server may ask the hub which groups (courses) its person is in, as nbgrader does.
    {"name": "server", "scopes": ["inherit"]},
]
for course in roster.courses:
    services.append({
        "name": course.course_id,
        "url": f"http://127.0.0.1:{free_port()}",
        "command": python,
        "user": course.grader,
        "cwd": str(machine.course_directory(course)),
        "api_token": machine.service_token(state, course.course_id),
        "oauth_no_confirm": True,  # the course's own server: its staff are not asked to let it know who they are
        "environment": {**threads, "JUPYTERHUB_DEFAULT_URL": "/lab",
                        "JUPYTER_CONFIG_PATH": machine.settings_path(settings, "course"),
                        "MNIST_DATA": str(root / "data" / "mnist.npz")},
    })
    roles += [
        {"name": f"formgrade-{course.course_id}", "groups": [f"formgrade-{course.course_id}"],
         "scopes": [f"access:services!service={course.course_id}", "list:services",
                    f"read:services!service={course.course_id}"]},
        {"name": f"nbgrader-{course.course_id}", "groups": [f"nbgrader-{course.course_id}"],
         "scopes": ["list:services", f"read:services!service={course.course_id}"]},
        # The course's own server looks up its students' groups, as nbgrader's JupyterHub plugin does.
        {"name": f"service-{course.course_id}", "services": [course.course_id],
         "scopes": ["list:users", "read:users", "read:users:groups", "list:groups", "read:groups"]},
    ]
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles
