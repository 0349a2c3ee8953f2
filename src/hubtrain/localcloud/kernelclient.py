"""A kernel client that cannot sleep through a message that has already arrived.

Found by timing the suite: now and then one cell of a notebook run by nbclient
took exactly its time limit (120 s) although the kernel's own time stamps show
it answered in 60 ms, and the run then went on as if nothing had happened. The
reply sat unread on its socket. jupyter_client waits for a message with pyzmq's
asyncio poller, which learns that a socket is readable from a file descriptor
that zmq signals on edges; when that wake-up is missed, the poller only looks
again when its timeout ends (a final `poll(0)` finds the message, so nothing
fails, it is only late). Which side misses the edge is not known (ipykernel 7
had a bug of this kind, ipython/ipykernel#1554).

`WakefulChannel` waits in slices of at most `WAKE_EVERY` seconds, so a missed
wake-up costs at most that; a wait with no time limit still waits for ever.
Nothing else changes: the same messages arrive in the same order.

For grading the stall was worse than slow: a check that ran in 60 ms was
flagged "ran past its time limit" when the limit was shorter than the stall.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

__all__ = ["WAKE_EVERY", "WakefulChannel", "WakefulKernelClient"]

# Seconds between looks at a socket while waiting for a message.
WAKE_EVERY = 0.5


class WakefulChannel(AsyncZMQSocketChannel):
    """A channel whose `get_msg` looks at its socket again at least every `WAKE_EVERY` s."""

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = WAKE_EVERY if left is None else min(WAKE_EVERY, left)
            try:
                return await super().get_msg(timeout=wait)
            except Empty:
                if left is not None and left <= wait:
                    raise


class WakefulKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous client with `WakefulChannel` for every zmq channel."""

    shell_channel_class = Type(WakefulChannel)  # type: ignore[assignment]
    iopub_channel_class = Type(WakefulChannel)  # type: ignore[assignment]
    stdin_channel_class = Type(WakefulChannel)  # type: ignore[assignment]
    control_channel_class = Type(WakefulChannel)  # type: ignore[assignment]
