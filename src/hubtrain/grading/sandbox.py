"""Where a learner's kernel runs: inside bubblewrap when it works here, with limits either way.

The kernel is started through a tiny launcher (standard library only, written
next to the kernel's sockets) that sets the memory cap with `resource.setrlimit`
(RLIMIT_DATA: memory really used, see the launcher), asks Linux to kill it when
its parent (the grading worker) dies, forwards the local bucket server into the
sandbox when there is one, and then becomes the kernel: it execs the kernel's
command, or runs a Python kernel of its own interpreter in its own process (one
interpreter start fewer, and no debugpy). With bubblewrap the kernel sees a
read-only Python, its own copy of the submission and the socket folder, and no
network: it talks to the grader over unix sockets (jupyter_client's `ipc` transport).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAUNCHER", "Sandbox", "find_sandbox", "wrapper_command"]

# Runs with the kernel's Python before the kernel, inside the sandbox when there is one.
LAUNCHER = r"""
import ctypes, os, resource, select, signal, socket, sys, threading

def pump(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

def bridge(port, path):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    while True:
        conn, _ = server.accept()
        up = socket.socket(socket.AF_UNIX)
        up.connect(path)
        for a, b in ((conn, up), (up, conn)):
            threading.Thread(target=pump, args=(a, b), daemon=True).start()

args = sys.argv[1:]
memory = int(args.pop(0))
bridges = []
while args[0] != "--":
    port, path = args.pop(0).split("=", 1)
    bridges.append((int(port), path))
args.pop(0)
# PR_SET_PDEATHSIG: if the grading worker dies, so does this kernel.
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
if bridges:
    # The bridge runs in a grandchild, not a child, of the kernel: at shutdown
    # ipykernel waits for its own children to go, and a child it never started
    # stays a zombie it cannot reap (seconds lost per notebook). The grandchild
    # exits when the kernel does, watched through a pidfd (no pid reuse race).
    kernel = os.getpid()
    middle = os.fork()
    if middle == 0:
        if os.fork() == 0:
            # ipykernel interrupts its whole process group; the bridge must survive that.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            watch = os.pidfd_open(kernel)
            for port, path in bridges:
                threading.Thread(target=bridge, args=(port, path), daemon=True).start()
            select.select([watch], [], [])
        os._exit(0)
    os.waitpid(middle, 0)
# ipykernel exits when its parent pid changes; inside the sandbox the parent is
# bwrap's init (pid 1), which ipykernel knows never to poll.
os.environ["JPY_PARENT_PID"] = str(os.getppid())
if memory > 0:
    # RLIMIT_DATA counts the private writable memory a process maps (heap, numpy
    # arrays), not address space merely reserved: glibc reserves 64 MiB per thread
    # arena (up to 8 per core) and each thread a stack, so on a many-core grader an
    # honest numpy notebook reserves gigabytes it never uses, and an RLIMIT_AS of
    # the same size would fail it. RLIMIT_AS stays as a looser backstop for shared
    # anonymous mappings, which RLIMIT_DATA does not count.
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    backstop = memory * 8
    resource.setrlimit(resource.RLIMIT_AS, (backstop, backstop))
if args[0] == sys.executable and args[1:3] == ["-m", "ipykernel_launcher"]:
    # A Python kernel of this same interpreter runs in this process rather than in
    # a second one started by exec, as `python -m` would run it: the working folder
    # first on the path, the module's file as argv[0]. ipykernel imports debugpy at
    # start-up (about 50 ms and a warning on stderr) for a debugger no grading run
    # can use; without it, the kernel only leaves "debugger" out of its features.
    import runpy
    sys.path[0] = os.getcwd()
    sys.argv = [args[0], *args[3:]]
    sys.modules["debugpy"] = None
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    sys.exit(0)
os.execvp(args[0], args)
"""

# "R" and "alternatives": Debian's R reads /etc/R and finds its BLAS through /etc/alternatives.
_ETC = (
    "passwd",
    "group",
    "hosts",
    "localtime",
    "nsswitch.conf",
    "ssl",
    "ca-certificates",
    "R",
    "alternatives",
)


@dataclass(frozen=True)
class Sandbox:
    """A working bubblewrap, or `None` from `find_sandbox` with the reason it is not used."""

    bwrap: str

    def command(
        self,
        workdir: Path,
        *,
        network: bool = False,
        binds: tuple[Path, ...] = (),
        ro_binds: tuple[Path, ...] = (),
        workdir_from: Path | None = None,
    ) -> list[str]:
        """bwrap arguments that let the kernel see only `workdir` and a read-only Python.

        `network=True` keeps the machine's network (the practice hub's servers
        reach the hub, the course service and the buckets on 127.0.0.1); `binds`
        and `ro_binds` add more folders, writable or read-only, at their own paths.
        `workdir_from` shows another folder at `workdir`'s path (the judge's fresh
        copy where the learner's kernel had its files, so paths stay the same).
        """
        if network:
            unshare = ["--unshare-user-try", "--unshare-ipc", "--unshare-pid"]
            unshare += ["--unshare-uts", "--unshare-cgroup-try"]
        else:
            unshare = ["--unshare-all"]
        cmd = [self.bwrap, *unshare, "--die-with-parent", "--new-session"]
        if os.geteuid() == 0:
            # Run by root, bwrap keeps root's capabilities inside (raw sockets on a
            # shared network, ptrace, ...); the code inside needs none of them.
            cmd += ["--cap-drop", "ALL"]
        cmd += ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
        cmd += ["--tmpfs", "/tmp"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64"):
            path = Path("/") / top
            if path.is_symlink():
                cmd += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                cmd += ["--ro-bind", str(path), str(path)]
        for name in _ETC:
            if (Path("/etc") / name).exists():
                cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for prefix in sorted({sys.prefix, sys.base_prefix, sys.exec_prefix}):
            if not prefix.startswith("/usr/"):
                cmd += ["--ro-bind", prefix, prefix]
        # No --chdir: bwrap keeps the working directory jupyter_client gave it.
        cmd += ["--bind", str(workdir_from or workdir), str(workdir)]
        for path in ro_binds:
            cmd += ["--ro-bind", str(path), str(path)]
        for path in binds:
            cmd += ["--bind", str(path), str(path)]
        return [*cmd, "--"]


@functools.cache
def find_sandbox() -> tuple[Sandbox | None, str]:
    """The sandbox to use and "" , or `None` and a one-line reason (checked once per process)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return None, "bubblewrap (bwrap) is not installed"
    probe = Path(os.environ.get("TMPDIR", "/tmp"))
    sandbox = Sandbox(bwrap)
    try:
        result = subprocess.run(
            [*sandbox.command(probe), sys.executable, "-c", "import ipykernel"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"bwrap could not run: {exc}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"bwrap does not work here: {last}"
    return sandbox, ""


def wrapper_command(
    workdir: Path,
    memory_bytes: int,
    bridges: dict[int, Path],
    sandbox: Sandbox | None,
    *,
    control: Path | None = None,
    workdir_from: Path | None = None,
    binds: tuple[Path, ...] = (),
    ro_binds: tuple[Path, ...] = (),
) -> list[str]:
    """The command put in front of the kernel's own: sandbox (if any), then the launcher.

    `control` (the judge's) is a folder of its own for the launcher and the kernel's
    sockets, seen at its own path; `workdir_from`, `binds` and `ro_binds` as for
    `Sandbox.command`.
    """
    launcher = (control or workdir) / ".hubtrain-launch.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    prefix = []
    if sandbox:
        writable = (control, *binds) if control else binds
        prefix = sandbox.command(
            workdir, binds=writable, ro_binds=ro_binds, workdir_from=workdir_from
        )
    links = [f"{port}={path}" for port, path in bridges.items()]
    return [*prefix, sys.executable, str(launcher), str(memory_bytes), *links, "--"]
