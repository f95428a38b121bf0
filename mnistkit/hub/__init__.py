"""The course on a JupyterHub, as a class uses it: every person their own Unix account.

``python -m mnistkit hub`` (as root) prepares the machine from ``hub.toml`` and runs the real
JupyterHub with its real proxy (configurable-http-proxy):

- `roster`: the courses and their instructors, teaching assistants and students;
- `machine`: the accounts, the exchange, each course's directory (owned by ``grader-<course>``)
  and Jupyter's settings for students and staff, under the hub root;
- ``jupyterhub_config.py``: JupyterHub's settings (groups, roles, each course's Formgrader as a
  service, each person's server spawned as that person);
- `running`: starts and stops the hub (the command and the tests both use it).
"""
