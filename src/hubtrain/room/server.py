"""The room's local web page, on 127.0.0.1 only.

Pages are static files (`static/`) whose script asks for the room as JSON every
few seconds and redraws it, so the TA never reloads. The projector page asks a
different address, which answers counts only: names never reach that screen.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from hubtrain.room.grid import counts_only, csv_text

__all__ = ["RoomServer"]

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {
    "/": ("room.html", "text/html; charset=utf-8"),
    "/projector": ("projector.html", "text/html; charset=utf-8"),
    "/room.js": ("room.js", "text/javascript; charset=utf-8"),
    "/room.css": ("room.css", "text/css; charset=utf-8"),
}


class RoomServer:
    """Serve `room()` (a function returning the latest room) on 127.0.0.1:`port`."""

    def __init__(self, room: Callable[[], dict[str, Any]], port: int = 0) -> None:
        handler = type("RoomHandler", (_Handler,), {"room": staticmethod(room)})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    room: Callable[[], dict[str, Any]]
    server_version = "hubtrain-room"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the terminal shows the room's summary, not every page request

    def _send(self, body: bytes, kind: str, status: int = 200, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # Nothing of the page may load from elsewhere, or be framed by another site.
        self.send_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost"):
            # Another name for this address (DNS rebinding) gets nothing.
            self._send(b"not here\n", "text/plain", 421)
            return
        path = self.path.split("?", 1)[0]
        if path in PAGES:
            name, kind = PAGES[path]
            self._send((STATIC / name).read_bytes(), kind)
        elif path == "/api/room":
            self._send(json.dumps(self.room()).encode(), "application/json")
        elif path == "/api/counts":
            room = self.room()
            self._send(json.dumps(counts_only(room)).encode(), "application/json")
        elif path == "/room.csv":
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self._send(
                csv_text(self.room()).encode(),
                "text/csv; charset=utf-8",
                extra={"Content-Disposition": f'attachment; filename="room-{stamp}.csv"'},
            )
        else:
            self._send(b"not found\n", "text/plain", 404)
