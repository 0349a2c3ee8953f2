"""The course service: the student release, served as a git repository.

Learners pull with nbgitpuller, which makes a shallow clone (`--depth 1`).
Git's "dumb" HTTP protocol cannot serve shallow clones, so this service runs
git's own smart-HTTP server, `git http-backend`, as a CGI program behind a small
HTTP server. It is read-only: `http-backend` refuses pushes from anonymous users.
A browser opening a repository's own address (git never asks for it) gets a page
saying what it is (`coursepage`).

Run by the hub as a JupyterHub service (`python -m hubtrain.practice.course ROOT`):
the proxy sends `/services/course/...` here, and `/services/course/<name>` is the
bare repository `ROOT/<name>`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from hubtrain.practice.coursepage import course_page, index_page

__all__ = ["http_backend", "main", "make_handler"]


def http_backend() -> str:
    """The path of `git http-backend` (it lives in git's exec path, not on PATH)."""
    exec_path = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    path = Path(exec_path) / "git-http-backend"
    if not path.exists():
        raise RuntimeError(f"git http-backend not found in {exec_path}")
    return str(path)


def make_handler(root: Path, prefix: str, hub_base: str = "/") -> type[BaseHTTPRequestHandler]:
    """A request handler that serves the bare repositories under `root` at `prefix`
    (`hub_base`: the hub's base URL, for the pull link on a repository's page)."""
    backend = http_backend()
    prefix = "/" + prefix.strip("/")

    class Handler(BaseHTTPRequestHandler):
        server_version = "hubtrain-course"

        def log_message(self, format: str, *args: object) -> None:
            # Quiet: the hub's own log already records each request through the proxy.
            pass

        def do_GET(self) -> None:
            if not self._page():
                self._cgi()

        def _page(self) -> bool:
            """Answer a browser at a repository's address, or at the service's; True if done."""
            url = urlsplit(self.path)
            if not (url.path + "/").startswith(prefix + "/"):
                return False
            name = url.path[len(prefix) :].strip("/")
            repos = sorted(p.name for p in root.glob("*") if (p / "HEAD").is_file())
            if name and (name not in repos or "/" in name):
                return False
            # The proxy passes the address the browser used (configurable-http-proxy
            # keeps Host and adds X-Forwarded-Proto), so links name the hub as seen.
            scheme = self.headers.get("X-Forwarded-Proto", "http").split(",")[0].strip()
            host = self.headers.get("Host", "127.0.0.1")
            hub_url = f"{scheme}://{host}{hub_base.rstrip('/')}"
            if name:
                page = course_page(root / name, f"{scheme}://{host}{prefix}/{name}", hub_url)
            else:
                page = index_page(repos, prefix + "/")
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True

        def do_POST(self) -> None:
            self._cgi()

        def _cgi(self) -> None:
            url = urlsplit(self.path)
            if not (url.path + "/").startswith(prefix + "/"):
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", ""),
                "GIT_PROJECT_ROOT": str(root),
                # Serve every repository under root without a git-daemon-export-ok file.
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": url.path[len(prefix) :] or "/",
                "QUERY_STRING": url.query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": self.client_address[0],
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.1",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            result = subprocess.run([backend], input=body, env=env, capture_output=True)
            head, _, payload = result.stdout.partition(b"\r\n\r\n")
            if not _:
                self.send_error(500, "git http-backend gave no response")
                return
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve `ROOT` at the address and prefix JupyterHub gives its service."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hubtrain.practice.course ROOT", file=sys.stderr)
        return 2
    if shutil.which("git") is None:
        print("hubtrain course service: git is not installed", file=sys.stderr)
        return 1
    root = Path(args[0]).resolve()
    service = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/course/")
    server = ThreadingHTTPServer(
        (service.hostname or "127.0.0.1", service.port or 80),
        make_handler(root, prefix, os.environ.get("JUPYTERHUB_BASE_URL", "/")),
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
