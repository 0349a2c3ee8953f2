"""`hubtrain grade` against a hostile room, graded in one batch with honest learners.

Hostile learners print the environment, read every notebook they can reach,
wipe and reset the bucket server, ignore SIGINT, get stuck in C code, and
re-submit an edited notebook of the same size. The grader's shell holds secrets
(a GitHub token, a password, a database URL). Honest learners must score exactly
as stock `nbgrader autograde` scores them, in parallel, and (one of each kind) in
one Dask worker process; no secret and no hidden test may appear in anything written.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.notebooknode import NotebookNode
from test_exercises_grading import cell_scores
from test_grading import hidden_lines, page_text, read_csv

from hubtrain.course.release import nbgrader_env
from hubtrain.grading.course import prepare_course
from hubtrain.grading.execute import Limits
from hubtrain.grading.runner import SANDBOX_ON, BatchResult, Row, grade_batch
from hubtrain.grading.samples import answered
from hubtrain.hubfile.config import HubConfig

# One worker grades the room once (a module fixture of about two minutes) for every test.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile-room")]

EXERCISES = Path(__file__).parent / "files" / "grading" / "exercises"
LIMITS = Limits(cell_seconds=5, notebook_seconds=60)
SECRETS = {
    "GITHUB_TOKEN": "ghp_hostileRoomToken0123456789abcdef",
    "HUBTRAIN_PASSWORD": "pw-hostile-room-5678",
    "DATABASE_URL": "postgres://ta:hunter2-db-secret@db.example/grades",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-of-the-ta-9876",
}
# The hidden tests' own messages, which a failed hidden test raises.
HIDDEN_MESSAGES = (
    "hidden-answer-check",
    "hidden-square-check",
    "hidden-bucket-check",
    "hidden-letters-check",
    "hidden-letters-r-check",
)

# Cells a hostile learner adds after its answers (any cell may hold any code).
PRINT_ENV = """
import os
print(dict(os.environ))
for pid in ("self", "1", str(os.getppid())):
    try:
        print(open(f"/proc/{pid}/environ", "rb").read())
    except OSError as exc:
        print(pid, exc)
"""
READ_NOTEBOOKS = """
import os, sys
skip = {"/proc", "/sys", "/dev", "/usr", sys.prefix, sys.base_prefix}
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
    for name in files:
        if name.endswith(".ipynb"):
            try:
                print(os.path.join(top, name), open(os.path.join(top, name)).read())
            except OSError as exc:
                print(name, exc)
"""
WIPE_BUCKETS = """
import os, urllib.request
import fsspec
fs = fsspec.filesystem("s3")
for bucket in fs.ls(""):
    fs.rm(bucket, recursive=True)
    print("deleted", bucket)
for path in ("/moto-api/reset", "/moto-api/reset-auth"):
    try:
        request = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + path, method="POST")
        print(path, urllib.request.urlopen(request, timeout=10).status)
    except Exception as exc:
        print(path, "refused:", exc)
"""
IGNORE_SIGINT = """
import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    pass
"""
# Honest, but many threads: glibc gives each its own malloc arena (up to 8 per core,
# 64 MiB of address space each), as numpy and zarr code does on a many-core grader.
MANY_THREADS = """
import ctypes, concurrent.futures
import numpy as np
ctypes.CDLL(None).mallopt(-8, 1024)  # M_ARENA_MAX, as on a 128-core machine
def work(i):
    return [np.arange(100) * j for j in range(2000)]
with concurrent.futures.ThreadPoolExecutor(96) as pool:
    sizes = [len(held) for held in pool.map(work, range(384))]
print(len(sizes), "threads' work done")
"""
# Answers that fake the verdict: under stock nbgrader both get full marks.
PATCH_HUBCHECK = """
import contextlib
import hubcheck
hubcheck.task = lambda *args, **kwargs: contextlib.nullcontext()
hubcheck.expect = lambda *args, **kwargs: None
hubcheck.digest = lambda value: "d4727fda2085abf0"
"""
ALWAYS_EQUAL = """
class Yes:
    def __eq__(self, other):
        return True


def answer():
    return Yes()


def square(x):
    return Yes()
"""
PATCH_HUBCHECK_R = """
hubcheck$task <- function(...) invisible(NULL)
hubcheck$expect <- function(...) invisible(NULL)
"""
# Reads every cell the kernel runs, the hidden tests too if they ran here.
HOOK = """
def spy(info):
    print("CAPTURED", info.raw_cell)


get_ipython().events.register("pre_run_cell", spy)
"""
STUCK_IN_C = """
import re
re.match(r"(a+)+$", "a" * 64 + "b")
"""
# The memory this kernel already uses, as RLIMIT_DATA counts it (VmData, in KiB).
_USED_PY = """
used = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
            if line.startswith("VmData:"))
"""
_USED_R = """
status <- grep("^VmData:", readLines("/proc/self/status"), value = TRUE)
used <- as.numeric(gsub("[^0-9]", "", status)) * 1024
"""
# Runaway kernels name themselves with this (PR_SET_NAME, 15 bytes at most).
RUNAWAY = f"hr{secrets.token_hex(3)}"
# Every process this kernel can see: without PID isolation, the grader's own.
PROC_WALK = """
import os
seen = []
for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    for part in ("environ", "cmdline"):
        try:
            print(pid, part, open(f"/proc/{pid}/{part}", "rb").read())
            seen.append(pid)
        except OSError as exc:
            print(pid, part, exc)
print("PROCESSES SEEN", len(set(seen)))
"""
# A runaway kernel names itself (PR_SET_NAME) so the test can look for it afterwards.
NAME_SELF = """
import ctypes
ctypes.CDLL(None).prctl(15, {name!r}.encode(), 0, 0, 0)
"""
# Wrong answers, and a fake hubcheck left on disk where a kernel started later might load it.
FAKE_HUBCHECK = """
import contextlib, sys, types
fake = types.ModuleType("hubcheck")
fake.task = lambda *args, **kwargs: contextlib.nullcontext()
fake.expect = lambda *args, **kwargs: None
fake.digest = lambda value: "d4727fda2085abf0"
sys.modules["hubcheck"] = fake
"""
_WRITE_PY = f"""
import os, site, sys
fake = {FAKE_HUBCHECK!r}
def put(folder, name, text):
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "w") as fh:
            fh.write(text)
        print("wrote", os.path.join(folder, name))
    except OSError as exc:
        print("could not write", folder, name, exc)
def sites():
    # The interpreter's own folders are only checked, never written: if the sandbox
    # lost its read-only Python, the test says so without poisoning the developer's.
    for folder in sys.path:
        if folder.startswith((sys.prefix, sys.base_prefix)):
            if os.access(folder, os.W_OK):
                print("WRITABLE PYTHON FOLDER", folder)
        elif folder:
            yield folder
"""
DISK_PATCHES = {
    "rewritecheck": _WRITE_PY
    + """
import hubcheck
for folder in {os.getcwd(), os.path.dirname(hubcheck.__file__)}:
    put(folder, "hubcheck.py", fake)
""",
    "startup": _WRITE_PY
    + """
put(get_ipython().profile_dir.startup_dir, "00-hubcheck.py", fake)
put(os.path.expanduser("~/.ipython/profile_default/startup"), "00-hubcheck.py", fake)
""",
    "sitecustomize": _WRITE_PY
    + """
for folder in {os.getcwd(), site.getusersitepackages(), *sites()}:
    for name in ("sitecustomize.py", "usercustomize.py"):
        put(folder, name, fake)
""",
    "pth": _WRITE_PY
    + """
for folder in {os.getcwd(), site.getusersitepackages(), *sites()}:
    put(folder, "fakehubcheck.py", fake)
    put(folder, "00-fakehubcheck.pth", "import fakehubcheck\\n")
""",
}
# The same in R: a `source` that patches hubcheck after loading it, put where R looks at start.
FAKE_HUBCHECK_R = """
fake <- new.env()
fake$source <- function(file, ...) {
  base::source(file, ...)
  hubcheck$task <<- function(...) invisible(NULL)
  hubcheck$expect <<- function(...) invisible(NULL)
}
attach(fake, name = "fake-hubcheck")
"""
FAKE_HUBCHECK_R_FILE = """
hubcheck <- list(
  task = function(...) invisible(NULL),
  expect = function(...) invisible(NULL),
  digest = function(x) "eae2c8908a8e335c"
)
"""
_WRITE_R = """
put <- function(path, text) {
  ok <- tryCatch({
    dir.create(dirname(path), recursive = TRUE, showWarnings = FALSE)
    writeLines(text, path)
    TRUE
  }, error = function(e) FALSE)
  cat(if (ok) "wrote" else "could not write", path, "\\n")
}
"""
DISK_PATCHES_R = {
    "rewritecheck": _WRITE_R
    + f"put(file.path(getwd(), 'hubcheck.R'), {json.dumps(FAKE_HUBCHECK_R_FILE)})",
    "rprofile": _WRITE_R
    + f"""
for (path in c(file.path(getwd(), ".Rprofile"), path.expand("~/.Rprofile"))) {{
  put(path, {json.dumps(FAKE_HUBCHECK_R)})
}}
""",
    "renviron": _WRITE_R
    + f"""
put(path.expand("~/fake.R"), {json.dumps(FAKE_HUBCHECK_R)})
for (path in c(file.path(getwd(), ".Renviron"), path.expand("~/.Renviron"))) {{
  put(path, paste0("R_PROFILE_USER=", path.expand("~/fake.R")))
}}
""",
}


def _course_notebooks(
    course: Path, assignment: str, name: str = ""
) -> tuple[NotebookNode, NotebookNode]:
    name = name or assignment
    release = nbformat.read(course / "release" / assignment / f"{name}.ipynb", 4)
    source = nbformat.read(course / "source" / assignment / f"{name}.ipynb", 4)
    return release, source


def _with_cell(nb: NotebookNode, after: str, code: str) -> NotebookNode:
    """`nb` with a plain (non-nbgrader) code cell after the cell `after`."""
    index = next(
        i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after
    )
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code.strip()))
    return nb


def _with_first_cell(nb: NotebookNode, code: str) -> NotebookNode:
    """`nb` with a plain code cell before every other cell."""
    nb.cells.insert(0, nbformat.v4.new_code_cell(code.strip()))
    return nb


def _with_answers(nb: NotebookNode, code: dict[str, str]) -> NotebookNode:
    """`nb` with the source of the cells whose grade_id is a key of `code` replaced."""
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in code:
            cell.source = code[grade_id]
    return nb


def _honest(course: Path) -> dict[tuple[str, str], NotebookNode]:
    ps1, ps1_source = _course_notebooks(course, "ps1")
    ps3, ps3_source = _course_notebooks(course, "ps3")
    ps4, ps4_source = _course_notebooks(course, "ps4")
    ps5, ps5_source = _course_notebooks(course, "ps5-r", "ps5_r")
    # Passes the visible test (square(2) == 4) and fails the hidden one.
    hidden_fail = _with_answers(
        answered(ps1, ps1_source, "correct"), {"square": "def square(x):\n    return x * abs(x)"}
    )
    # Right only where nbgrader autogrades: it must score as stock nbgrader.
    branches = _with_answers(
        answered(ps1, ps1_source, "blank"),
        {
            "answer": "import os\n\n\ndef answer():\n"
            '    return 42 if os.environ.get("NBGRADER_EXECUTION") == "autograde" else 0'
        },
    )
    return {
        ("h-branches", "ps1"): branches,
        ("h-threads", "ps1"): _with_cell(
            answered(ps1, ps1_source, "correct"), "square", MANY_THREADS
        ),
        ("h-correct", "ps1"): answered(ps1, ps1_source, "correct"),
        ("h-partial", "ps1"): answered(ps1, ps1_source, "partial"),
        ("h-blank", "ps1"): answered(ps1, ps1_source, "blank"),
        ("h-hiddenfail", "ps1"): hidden_fail,
        ("h-correct", "ps3"): answered(ps3, ps3_source, "correct"),
        ("h-blank", "ps3"): answered(ps3, ps3_source, "blank"),
        ("h-late", "ps3"): answered(ps3, ps3_source, "correct"),
        ("h-correct", "ps4"): answered(ps4, ps4_source, "correct"),
        ("h-blank", "ps4"): answered(ps4, ps4_source, "blank"),
        ("h-correct", "ps5-r"): answered(ps5, ps5_source, "correct"),
        ("h-blank", "ps5-r"): answered(ps5, ps5_source, "blank"),
    }


def _hostile(course: Path) -> dict[tuple[str, str], NotebookNode]:
    ps1, ps1_source = _course_notebooks(course, "ps1")
    ps3, ps3_source = _course_notebooks(course, "ps3")

    def correct1() -> NotebookNode:
        return answered(ps1, ps1_source, "correct")

    ps4, ps4_source = _course_notebooks(course, "ps4")
    wrong_letters = _with_answers(
        answered(ps4, ps4_source, "blank"), {"letters": 'letters = {"z"}'}
    )
    ps5, ps5_source = _course_notebooks(course, "ps5-r", "ps5_r")
    wrong_letters_r = _with_answers(
        answered(ps5, ps5_source, "blank"), {"letters": 'letters_r <- c("z")'}
    )
    always_equal = _with_answers(
        answered(ps1, ps1_source, "blank"), {"answer": ALWAYS_EQUAL, "square": ALWAYS_EQUAL}
    )

    # The files are written first, before any locked cell: a checks' kernel started
    # for this notebook would start after them.
    patched = {
        (f"d-{how}", "ps4"): _with_first_cell(
            _with_answers(answered(ps4, ps4_source, "blank"), {"letters": 'letters = {"z"}'}),
            code,
        )
        for how, code in DISK_PATCHES.items()
    }
    patched_r = {
        (f"d-{how}", "ps5-r"): _with_first_cell(
            _with_answers(answered(ps5, ps5_source, "blank"), {"letters": 'letters_r <- c("z")'}),
            code,
        )
        for how, code in DISK_PATCHES_R.items()
    }
    # The judge calls square() with the hidden test's arguments; a later cell shows them.
    record_args = _with_cell(
        _with_answers(
            correct1(),
            {"square": "seen = []\n\n\ndef square(x):\n    seen.append(x)\n    return x * x"},
        ),
        "test_square",
        'print("ARGUMENTS SEEN", seen)',
    )
    hog = "import numpy as np\n" + _USED_PY + "hog = np.zeros(CAP - used {} 64 * 1024**2, np.uint8)"
    # readBin asks R for the whole vector at once and writes nothing into it (raw()
    # would write 2 GB of zeros, seconds on a busy machine): the cap is met at the ask.
    hog_r = _USED_R + (
        'zero <- file("/dev/null", "rb")\n'
        'hog <- readBin(zero, "raw", CAP - used {} 64 * 1024^2)\n'
        "close(zero)"
    )
    cap = str(LIMITS.memory_bytes)
    memory = {
        (f"m-{side}", "ps1"): _with_answers(
            correct1(),
            {"answer": hog.replace("CAP", cap).format(sign) + "\n\n\ndef answer():\n    return 42"},
        )
        for side, sign in (("under", "-"), ("over", "+"))
    }
    memory_r = {
        (f"m-{side}", "ps5-r"): _with_answers(
            answered(ps5, ps5_source, "blank"),
            {"letters": hog_r.replace("CAP", cap).format(sign) + '\nletters_r <- c("a", "e")'},
        )
        for side, sign in (("under", "-"), ("over", "+"))
    }

    # Named to sort first: the bucket wiper is graded before the honest bucket users.
    return {
        **patched,
        **patched_r,
        **memory,
        **memory_r,
        ("x-recordargs", "ps1"): record_args,
        ("x-procwalk", "ps1"): _with_cell(correct1(), "square", PROC_WALK),
        ("f-patchcheck", "ps4"): _with_cell(wrong_letters, "letters", PATCH_HUBCHECK),
        ("f-alwaysequal", "ps1"): always_equal,
        ("f-patchcheck", "ps5-r"): _with_cell(wrong_letters_r, "letters", PATCH_HUBCHECK_R),
        ("x-hook", "ps1"): _with_cell(correct1(), "setup", HOOK),
        ("a-wipebuckets", "ps3"): _with_cell(
            answered(ps3, ps3_source, "correct"), "setup", WIPE_BUCKETS
        ),
        ("x-printenv", "ps1"): _with_cell(correct1(), "square", PRINT_ENV),
        ("x-readall", "ps1"): _with_cell(correct1(), "square", READ_NOTEBOOKS),
        ("x-nosigint", "ps1"): _with_cell(
            correct1(), "answer", NAME_SELF.format(name=RUNAWAY + "-n") + IGNORE_SIGINT
        ),
        ("x-stuckinc", "ps1"): _with_cell(
            correct1(), "answer", NAME_SELF.format(name=RUNAWAY + "-c") + STUCK_IN_C
        ),
    }


def _name(assignment: str) -> str:
    """The notebook's name in `assignment` (an R assignment's is `<name>_r`)."""
    return assignment.replace("-r", "_r")


def _write_zip(path: Path, notebooks: dict[tuple[str, str], NotebookNode]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for (student, assignment), nb in sorted(notebooks.items()):
            zf.writestr(f"{student}/{_name(assignment)}.ipynb", nbformat.writes(nb))


def _all_text(root: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in sorted(root.rglob("*")) if p.is_file()
    )


# What the Dask batch grades: the verdict fakers, these hostile learners, and one honest
# learner of each kind stock nbgrader must agree with: every assignment answered (Python,
# the buckets and R), partly answered, and right only where nbgrader autogrades. The
# other honest rows repeat those kinds; grading them again on Dask tests nothing new.
ON_DASK = {"a-wipebuckets", "x-printenv", "x-procwalk", "x-nosigint", "x-stuckinc"}
HONEST_ON_DASK = {"h-correct", "h-partial", "h-branches"}


def _runaways_left(grace: float = 10) -> list[str]:
    """The runaway kernels (named `RUNAWAY-*`) still alive once their batch has returned.

    A SIGKILL sent to a sandbox reaches the kernel inside through bubblewrap and
    PR_SET_DEATHSIG, a moment later: `grace` seconds is a deadline, not a timing.
    """
    deadline = time.monotonic() + grace
    while True:
        alive = []
        for task in Path("/proc").glob("[0-9]*/task/*/comm"):
            with contextlib.suppress(OSError):
                if task.read_text().startswith(RUNAWAY) and _state(task.parent) != "Z":
                    alive.append(f"{task.parent.parent.parent.name}: {task.read_text().strip()}")
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _state(task: Path) -> str:
    return (task / "stat").read_text().rsplit(")", 1)[-1].split()[0]


class Room:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.log: list[str] = []
        self.honest: dict[tuple[str, str], NotebookNode] = {}
        self.hostile: dict[tuple[str, str], NotebookNode] = {}
        self.local: BatchResult
        self.dask: BatchResult
        self.stock: dict[tuple[str, str, str, str], float] = {}
        self.stock_fakers: dict[tuple[str, str, str, str], float] = {}
        self.local_runaways: list[str] = []
        self.dask_runaways: list[str] = []


@pytest.fixture(scope="module")
def room(practice_hub: HubConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    from distributed import LocalCluster

    root = tmp_path_factory.mktemp("room")
    room = Room(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_CONFIG_DIR", str(root / "jupyter-config"))
        mp.setenv("JUPYTER_RUNTIME_DIR", str(root / "jupyter-runtime"))
        for name, value in SECRETS.items():
            mp.setenv(name, value)
        course = prepare_course(practice_hub, EXERCISES, root / "local" / "course").root
        # The same course for the Dask batch: nbgrader does not have to make it again.
        shutil.copytree(course, root / "dask" / "course")
        room.honest, room.hostile = _honest(course), _hostile(course)
        _write_zip(root / "room.zip", {**room.honest, **room.hostile})

        # Stock nbgrader grades the honest learners in a copy of the same course.
        stock = root / "stock"
        shutil.copytree(course, stock)
        fakers = {k: v for k, v in room.hostile.items() if k[0].startswith("f-")}
        for (student, assignment), nb in {**room.honest, **fakers}.items():
            target = stock / "submitted" / student / assignment / f"{_name(assignment)}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
        hub_file = Path(__file__).parent.parent / "hubs" / "practice.yml"
        command = [sys.executable, "-m", "hubtrain.cli", "grading-env", "--hub", str(hub_file)]
        command += ["--", sys.executable, "-m", "nbgrader", "autograde", "*"]
        done = subprocess.run(
            [*command, f"--CourseDirectory.root={stock}"],
            cwd=stock,
            env=nbgrader_env(),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        scores = cell_scores(stock)
        room.stock = {k: v for k, v in scores.items() if not k[0].startswith("f-")}
        room.stock_fakers = {k: v for k, v in scores.items() if k[0].startswith("f-")}

        # The whole room at once, two local workers in parallel.
        room.local = grade_batch(
            practice_hub,
            EXERCISES,
            root / "room.zip",
            root / "local",
            workers=2,
            limits=LIMITS,
            say=room.log.append,
            progress_stream=sys.stderr,
        )
        room.local_runaways = _runaways_left()
        # Honest learners of each kind, the bucket wiper, the secret seekers, the verdict
        # fakers and the runaways one at a time, in a Dask worker process.
        dask_in = root / "dask-in" / "submitted"
        for (student, assignment), nb in {**room.honest, **room.hostile}.items():
            if student.startswith("f-") or student in ON_DASK | HONEST_ON_DASK:
                target = dask_in / student / assignment / f"{_name(assignment)}.ipynb"
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target)
        with LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster:
            room.dask = grade_batch(
                practice_hub,
                EXERCISES,
                dask_in.parent,
                root / "dask",
                dask=cluster.scheduler_address,
                limits=LIMITS,
                say=room.log.append,
            )
            room.dask_runaways = _runaways_left()
        yield room


def _our_scores(out: Path, students: set[str]) -> dict[tuple[str, str, str, str], float]:
    return {k: v for k, v in cell_scores(out / "course").items() if k[0] in students}


@pytest.mark.slow
def test_honest_learners_score_as_stock_nbgrader_in_a_hostile_room(room: Room) -> None:
    honest = {student for student, _ in room.honest}
    assert len(room.stock) > len(room.honest), "stock nbgrader graded nothing"
    assert _our_scores(room.root / "local", honest) == room.stock
    on_dask = {k: v for k, v in room.stock.items() if k[0] in HONEST_ON_DASK}
    assert {(k[0], k[1]) for k in on_dask} == {k for k in room.honest if k[0] in HONEST_ON_DASK}
    assert _our_scores(room.root / "dask", HONEST_ON_DASK) == on_dask
    # The hidden-test failure and the bucket users score as the exercises intend.
    rows = {(r.student, r.assignment): r for r in room.local.rows}
    assert rows["h-hiddenfail", "ps1"].score == 2.0
    assert rows["h-branches", "ps1"].score == 2.0
    # The memory cap counts memory used, not address space reserved by threads.
    assert (rows["h-threads", "ps1"].status, rows["h-threads", "ps1"].score) == ("graded", 3.0)
    assert rows["h-correct", "ps3"].score == rows["h-late", "ps3"].score == 1.0
    assert (rows["h-correct", "ps4"].score, rows["h-blank", "ps4"].score) == (2.0, 0.0)
    assert (rows["h-correct", "ps5-r"].score, rows["h-blank", "ps5-r"].score) == (2.0, 0.0)


def _rows(result: BatchResult) -> dict[tuple[str, str], Row]:
    return {(r.student, r.assignment): r for r in result.rows}


def _feedback(out: Path, student: str, assignment: str) -> str:
    return page_text(out / "feedback" / student / assignment / f"{_name(assignment)}.html")


def _printed(out: Path, student: str, assignment: str) -> str:
    """Everything the learner's cells printed, as recorded in the autograded notebook."""
    graded = out / "course" / "autograded" / student / assignment / f"{_name(assignment)}.ipynb"
    return "".join(
        o.get("text", "") for c in nbformat.read(graded, 4).cells for o in c.get("outputs", [])
    )


def _wrong_and_told(row: Row, page: str) -> None:
    """A wrong answer whose verdict was faked: 0, graded normally, the real check's message."""
    assert (row.status, row.score, row.reason) == ("graded", 0.0, ""), row
    assert "those are not the letters" in page
    assert not [m for m in HIDDEN_MESSAGES if m in page]


@pytest.mark.slow
def test_a_faked_verdict_gets_no_marks(room: Room) -> None:
    """Patching hubcheck or answering with an always-equal object fools stock nbgrader only."""
    stock = {}
    for (student, assignment, _, _), score in room.stock_fakers.items():
        stock[student, assignment] = stock.get((student, assignment), 0) + score
    assert stock == {
        ("f-patchcheck", "ps4"): 2.0,
        ("f-patchcheck", "ps5-r"): 2.0,
        ("f-alwaysequal", "ps1"): 3.0,
    }
    for out, result in ((room.root / "local", room.local), (room.root / "dask", room.dask)):
        rows = _rows(result)
        for assignment in ("ps4", "ps5-r"):
            page = _feedback(out, "f-patchcheck", assignment)
            _wrong_and_told(rows["f-patchcheck", assignment], page)
        equal = rows["f-alwaysequal", "ps1"]
        assert (equal.status, equal.score) == ("flagged", 0.0)
        assert "Yes, which the grader cannot receive" in equal.reason


@pytest.mark.slow
@pytest.mark.parametrize(
    "student, assignment",
    [(f"d-{how}", "ps4") for how in DISK_PATCHES]
    + [(f"d-{how}", "ps5-r") for how in DISK_PATCHES_R],
)
def test_a_verdict_faked_on_disk_gets_no_marks(room: Room, student: str, assignment: str) -> None:
    """A fake hubcheck left where a kernel looks at start (folder, home, site) changes nothing."""
    out = room.root / "local"
    _wrong_and_told(_rows(room.local)[student, assignment], _feedback(out, student, assignment))
    printed = _printed(out, student, assignment)
    assert "wrote " in printed, "the row wrote no file at all"
    assert "WRITABLE PYTHON FOLDER" not in printed


@pytest.mark.slow
def test_no_secret_reaches_any_output(room: Room) -> None:
    for out in (room.root / "local", room.root / "dask"):
        written = _all_text(out) + "\n".join(room.log)
        leaked = [name for name, value in SECRETS.items() if value in written]
        assert not leaked, f"{out.name}: {leaked}"
        # The learner did print its environment: the hub's variables are there.
        page = _feedback(out, "x-printenv", "ps1")
        assert "JUPYTERHUB_USER" in page and "NBGRADER_EXECUTION" in page
        # The walker read every process it could see: its own sandbox's, not the grader
        # (whose environment it could not read anyway: the sandbox drops every capability).
        walked = _printed(out, "x-procwalk", "ps1")
        assert "PROCESSES SEEN" in walked and "environ b'" in walked
        assert repr(Path("/proc/self/cmdline").read_bytes())[2:-1] not in walked
        assert (
            _rows(room.local if out.name == "local" else room.dask)["x-procwalk", "ps1"].score
            == 3.0
        )


@pytest.mark.slow
def test_no_hidden_test_is_readable_or_shown(room: Room) -> None:
    secrets = hidden_lines(EXERCISES) | set(HIDDEN_MESSAGES)
    for out in (room.root / "local", room.root / "dask"):
        pages = sorted((out / "feedback").rglob("*.html"))
        assert pages
        for page in pages:
            text = page_text(page)
            assert not [s for s in secrets if s in text], page
    # What the notebook reader found: its own notebook as released, no hidden test.
    reader = _rows(room.local)["x-readall", "ps1"]
    assert (reader.status, reader.score, reader.reason) == ("graded", 3.0, "")
    printed = _printed(room.root / "local", "x-readall", "ps1")
    assert "assert square(2) == 4" in printed, "the reader found no notebook at all"
    assert not [s for s in secrets if s in printed]
    page = _feedback(room.root / "local", "h-hiddenfail", "ps1")
    assert "a hidden test failed" in page
    # A hook on every cell the learner's kernel runs saw the learner's cells, no test.
    spied = room.root / "local" / "course" / "autograded" / "x-hook" / "ps1" / "ps1.ipynb"
    seen = json.dumps([c.get("outputs", []) for c in nbformat.read(spied, 4).cells])
    assert "CAPTURED" in seen and "def square" in seen
    assert "assert square(2)" not in seen
    assert not [s for s in secrets if s in seen]


@pytest.mark.slow
def test_a_learner_function_sees_the_hidden_tests_arguments_only(room: Room) -> None:
    """As the instructors' page says: arguments reach the learner's function, nothing else."""
    row = _rows(room.local)["x-recordargs", "ps1"]
    assert (row.status, row.score, row.reason) == ("graded", 3.0, "")
    page = _feedback(room.root / "local", "x-recordargs", "ps1")
    # square(2) from the visible test, square(-3) from the hidden one, in the learner's page.
    assert "ARGUMENTS SEEN [2, -3]" in page
    assert not [s for s in hidden_lines(EXERCISES) | set(HIDDEN_MESSAGES) if s in page]


@pytest.mark.slow
def test_the_memory_cap_holds_at_its_value_in_python_and_r(room: Room) -> None:
    """64 MiB under the cap (after what the kernel already uses) passes; 64 MiB over is flagged."""
    rows = _rows(room.local)
    under, over = rows["m-under", "ps1"], rows["m-over", "ps1"]
    assert (under.status, under.score, under.reason) == ("graded", 3.0, "")
    assert (over.status, over.score) == ("flagged", 1.0)
    assert "ps1: cell 3 ran out of memory" in over.reason
    under_r, over_r = rows["m-under", "ps5-r"], rows["m-over", "ps5-r"]
    assert (under_r.status, under_r.score, under_r.reason) == ("graded", 2.0, "")
    assert (over_r.status, over_r.score) == ("flagged", 0.0)
    assert "ps5_r: cell 3 ran out of memory" in over_r.reason


@pytest.mark.slow
def test_every_hostile_row_is_contained_and_recorded(room: Room) -> None:
    assert {r.sandbox for r in room.local.rows} == {SANDBOX_ON}
    csv_rows = read_csv(room.root / "local" / "grades.csv")
    assert {r["sandbox"] for r in csv_rows} == {SANDBOX_ON}
    for result in (room.local, room.dask):
        rows = _rows(result)
        for student in ("x-nosigint", "x-stuckinc"):
            row = rows[student, "ps1"]
            assert (row.status, row.score) == ("flagged", 0.0), row
            assert "time limit" in row.reason
    # Both runaway kernels are gone once their batch has returned, on both paths.
    assert room.local_runaways == [] and room.dask_runaways == []
    rows = _rows(room.local)
    for student in ("x-printenv", "x-readall", "x-hook"):
        row = rows[student, "ps1"]
        assert (row.status, row.score, row.reason) == ("graded", 3.0, ""), row
    # The wiper emptied only its own buckets; the admin API was not there.
    said = _printed(room.root / "local", "a-wipebuckets", "ps3")
    assert "deleted hubtrain-scratch" in said
    assert "/moto-api/reset refused" in said


@pytest.mark.slow
def test_a_redownloaded_zip_with_a_same_size_edit_is_graded_again(
    room: Room, practice_hub: HubConfig, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(room.root / "local", out)
    edited = dict(room.honest)
    nb = nbformat.from_dict(edited["h-correct", "ps1"])
    for cell in nb.cells:
        cell.source = cell.source.replace("return 42", "return 41")
    before, after = nbformat.writes(edited["h-correct", "ps1"]), nbformat.writes(nb)
    assert before != after and len(before) == len(after)
    edited["h-correct", "ps1"] = nb
    _write_zip(tmp_path / "again.zip", {**edited, **room.hostile})
    again = grade_batch(
        practice_hub, EXERCISES, tmp_path / "again.zip", out, limits=LIMITS, say=lambda _: None
    )
    assert again.graded_now == 1
    rows = {(r.student, r.assignment): r for r in again.rows}
    assert rows["h-correct", "ps1"].score == 1.0


@pytest.mark.slow
def test_exclude_overwriting_keeps_the_learners_own_file(room: Room, tmp_path: Path) -> None:
    from hubtrain.grading.collect import Submission
    from hubtrain.grading.course import Course, _read_gradebook, load_config
    from hubtrain.grading.steps import open_submission

    course_dir = tmp_path / "course"
    shutil.copytree(room.root / "local" / "course", course_dir)
    mine = tmp_path / "notes.txt"
    mine.write_text("my own notes")
    notebook = tmp_path / "ps3.ipynb"
    nbformat.write(room.honest["h-correct", "ps3"], notebook)
    sub = Submission("erin", "ps3", {"ps3": notebook}, extra_files={"notes.txt": mine})
    config = load_config(course_dir)
    course = Course(course_dir, config, _read_gradebook(course_dir, ["ps1", "ps2", "ps3"]))
    # Stock nbgrader's default: the course's own file replaces the learner's.
    assert open_submission(sub, course).files["notes.txt"].startswith(b"The course's notes")
    config.Autograde.exclude_overwriting = {"ps3": ["notes.txt"]}
    assert open_submission(sub, course).files["notes.txt"] == b"my own notes"


def test_grading_refuses_without_a_sandbox_unless_told(tmp_path: Path) -> None:
    """No bubblewrap on PATH: exit 2 with one line; --no-sandbox grades and says so per row."""
    submitted = tmp_path / "in" / "ann_ps2.ipynb"
    submitted.parent.mkdir()
    shutil.copy(EXERCISES / "ps2" / "ps2.ipynb", submitted)
    venv_bin = str(Path(sys.executable).parent)
    command = [sys.executable, "-m", "hubtrain.cli", "grade", str(submitted.parent)]
    command += ["--exercises", str(EXERCISES), "--assignment", "ps2", "--workers", "1"]
    env = {**nbgrader_env(), "PATH": venv_bin, "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    cwd = Path(__file__).parent.parent
    refused = subprocess.run(
        [*command, "--out", str(tmp_path / "a")], env=env, cwd=cwd, capture_output=True, text=True
    )
    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "no working sandbox" in line and "--no-sandbox" in line
    assert not (tmp_path / "a" / "grades.csv").exists()
    told = subprocess.run(
        [*command, "--out", str(tmp_path / "b"), "--no-sandbox"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert told.returncode == 0, told.stderr[-2000:]
    [row] = read_csv(tmp_path / "b" / "grades.csv")
    assert (row["student"], row["score"], row["sandbox"]) == ("ann", "1.0", "off (--no-sandbox)")


def test_a_dask_worker_without_a_sandbox_refuses_each_job(
    practice_hub: HubConfig, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    submitted = tmp_path / "in" / "ann_ps2.ipynb"
    submitted.parent.mkdir()
    shutil.copy(EXERCISES / "ps2" / "ps2.ipynb", submitted)
    # The worker process finds no bwrap on its PATH; the grading process has one.
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env={"PATH": str(Path(sys.executable).parent)},
    ) as cluster:
        result = grade_batch(
            practice_hub,
            EXERCISES,
            submitted.parent,
            tmp_path / "out",
            assignment="ps2",
            dask=cluster.scheduler_address,
            limits=LIMITS,
            say=lambda _: None,
        )
    [row] = result.rows
    assert (row.status, row.score, row.sandbox) == ("failed", 0.0, "not run")
    assert "no working sandbox" in row.reason and "--no-sandbox" in row.reason
    assert result.sandboxed is None
