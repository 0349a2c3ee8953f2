"""Starting a grading kernel without the idle waits jupyter_client and zmq add.

Measured on one Python kernel (2 cores, sandboxed), launch to ready took ~0.5 s,
of which ~0.3 s was no work at all:

- after the kernel has answered `kernel_info` and IOPub has proven connected,
  jupyter_client's `wait_for_ready` keeps reading IOPub until it has been silent
  for 0.2 s. Nothing is gained by that wait: nbclient matches every output to
  the request that caused it, so a start-up message still queued is skipped,
  never taken for a cell's output;
- the client connects before the kernel listens, and zmq tries again only
  every 100 ms (RECONNECT_IVL).

It changes nothing of what runs or what a cell outputs: the kernel, its
arguments and its environment are those of nbgrader's Execute.
"""

from __future__ import annotations

import copy
from typing import Any

import zmq
from traitlets.config import Config

from hubtrain.localcloud.kernelclient import WakefulKernelClient

__all__ = ["QuickStartClient", "quick_kernel_config"]

# How soon a client socket retries a kernel that is not listening yet (zmq: 100 ms).
RECONNECT_MS = 10


class QuickStartClient(WakefulKernelClient):
    """A kernel client whose `wait_for_ready` returns once the kernel has proven ready.

    Its channels are `WakefulChannel`s: a reply whose wake-up zmq misses is read
    within half a second, not when the cell's time limit runs out.

    jupyter_client's handshake is kept as is (kernel_info reply on shell, then a
    message on IOPub, retried until both come); only its last step, reading IOPub
    until 0.2 s pass without a message, takes just what is already queued.
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        channel = self.iopub_channel
        receive = channel.get_msg
        connected = False

        async def get_msg(timeout: float | None = None) -> dict[str, Any]:
            nonlocal connected
            # Once IOPub has delivered a message the handshake is over: what follows
            # is the flush, which needs no wait for quiet.
            msg = await receive(timeout=0 if connected else timeout)
            connected = True
            return msg

        channel.get_msg = get_msg  # type: ignore[method-assign]
        try:
            await super()._async_wait_for_ready(timeout)
        finally:
            del channel.get_msg

    wait_for_ready = _async_wait_for_ready

    def start_channels(self, *args: Any, **kwargs: Any) -> None:
        # The client connects before the kernel listens; zmq then tries again after
        # RECONNECT_IVL (100 ms by default). Sockets made from here on retry sooner.
        self.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        super().start_channels(*args, **kwargs)


def quick_kernel_config(config: Config) -> Config:
    """A copy of `config` in which every async kernel manager uses `QuickStartClient`.

    The setting is on `AsyncKernelManager`, which the grading kernel manager
    inherits, and not on that class's own section: `execute.py` sets per-notebook
    values there on a shallow copy, which must not reach a section shared by jobs.
    """
    quick = copy.deepcopy(config)
    quick.AsyncKernelManager.client_factory = f"{QuickStartClient.__module__}.QuickStartClient"
    return quick
