"""Run code on a learner's kernel the way JupyterLab does: a session, then messages
over the kernel's websocket (`/api/kernels/<id>/channels`).

Only the standard library and `websocket-client` (which jupyter_server already
depends on) are used, so under Locust's gevent each learner's socket waits
without blocking the others.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websocket

__all__ = ["CellRun", "KernelDied", "KernelSocket"]


class KernelDied(RuntimeError):
    """The kernel went away (died, restarted, or its socket closed) while running code."""


@dataclass
class CellRun:
    """What one cell printed, and whether it ended in an error."""

    text: str = ""
    error: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)


class KernelSocket:
    """One open websocket to one kernel; `run(code)` executes and collects output."""

    def __init__(self, ws_url: str, headers: dict[str, str], timeout: float) -> None:
        self.session = uuid.uuid4().hex
        self.timeout = timeout
        url = f"{ws_url}?session_id={self.session}"
        try:
            self.ws = websocket.create_connection(
                url, header=[f"{k}: {v}" for k, v in headers.items()], timeout=timeout
            )
        except (OSError, websocket.WebSocketException) as exc:
            raise KernelDied(f"could not open the kernel's socket: {exc}") from None
        # As JupyterLab does: code is sent only once the kernel has answered kernel_info.
        self._until("kernel_info_request", {}, "kernel_info_reply")

    def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        msg_id = uuid.uuid4().hex
        message = {
            "header": {
                "msg_id": msg_id,
                "username": "hubtrain-rehearsal",
                "session": self.session,
                "date": datetime.now(UTC).isoformat(),
                "msg_type": msg_type,
                "version": "5.3",
            },
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
        try:
            self.ws.send(json.dumps(message))
        except (OSError, websocket.WebSocketException) as exc:
            raise KernelDied(f"the kernel's socket closed: {exc}") from None
        return msg_id

    def _until(self, msg_type: str, content: dict[str, Any], reply_type: str) -> None:
        """Send a request and wait for its reply, within the timeout."""
        msg_id = self._send(msg_type, content)
        deadline = time.monotonic() + self.timeout
        while True:
            kind, reply = self._receive(deadline)
            if reply.get("parent_header", {}).get("msg_id") == msg_id and kind == reply_type:
                return

    def _receive(self, deadline: float) -> tuple[str, dict[str, Any]]:
        """The next message from the kernel and its type; raises if the kernel died or
        the time is up."""
        if time.monotonic() > deadline:
            raise TimeoutError(f"a cell ran longer than {self.timeout:.0f} s")
        try:
            raw = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            raise TimeoutError(f"the kernel said nothing for {self.timeout:.0f} s") from None
        except (OSError, websocket.WebSocketException) as exc:
            raise KernelDied(f"the kernel's socket closed: {exc}") from None
        if not raw:
            raise KernelDied("the kernel's socket closed")
        reply = json.loads(raw)
        kind = reply.get("msg_type") or reply["header"]["msg_type"]
        content = reply.get("content", {})
        if kind == "status" and content.get("execution_state") in ("dead", "restarting"):
            raise KernelDied(f"the kernel is {content['execution_state']}")
        return kind, reply

    def run(self, code: str) -> CellRun:
        """Execute `code`; return once the kernel is idle again after it."""
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        msg_id = self._send("execute_request", content)
        result = CellRun()
        replied = idle = False
        deadline = time.monotonic() + self.timeout
        while not (replied and idle):
            kind, reply = self._receive(deadline)
            content = reply.get("content", {})
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if kind == "execute_reply":
                replied = True
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "stream":
                result.text += content.get("text", "")
            elif kind in ("display_data", "execute_result"):
                result.text += content.get("data", {}).get("text/plain", "") + "\n"
            elif kind == "error":
                result.error = f"{content.get('ename')}: {content.get('evalue')}"
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError, websocket.WebSocketException):
            self.ws.close()
