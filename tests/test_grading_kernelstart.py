"""A grading kernel started the quick way runs learner code as a stock kernel does.

The launcher runs a Python kernel in its own process (no second interpreter, no
debugpy) and `QuickStartClient` skips jupyter_client's wait for a quiet IOPub.
Neither may change what learner code sees or what a cell outputs.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from traitlets.config import Config

from hubtrain.grading.environment import system_env
from hubtrain.grading.kernels import GradingKernelManager
from hubtrain.grading.kernelstart import QuickStartClient, quick_kernel_config
from hubtrain.grading.sandbox import find_sandbox, wrapper_command

# What learner code can observe of how its kernel was started.
PROBE = """
import json, os, sys
import helper
print(json.dumps({
    "argv0": sys.argv[0],
    "path": [p.replace(os.getcwd(), "<cwd>") for p in sys.path],
    "helper": helper.VALUE,
    "main": sys.modules["__main__"].__name__,
    "debugpy": sys.modules.get("debugpy") is not None,
}))
"""


async def _run(km: GradingKernelManager, folder: Path) -> tuple[list[dict], dict]:
    await km.start_kernel(cwd=str(folder))
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        outputs: list[dict] = []
        reply = await kc.execute_interactive(
            PROBE, timeout=60, output_hook=lambda msg: outputs.append(msg)
        )
        return outputs, reply
    finally:
        kc.stop_channels()
        await km.shutdown_kernel()


def _streams(outputs: list[dict], parent: str) -> list[tuple[str, str]]:
    return [
        (m["content"]["name"], m["content"]["text"])
        for m in outputs
        if m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == parent
    ]


def test_quick_grading_kernel_looks_like_a_stock_kernel(tmp_path: Path) -> None:
    """Same sandbox both times: the stock way execs `python -m ipykernel_launcher` in it."""
    sandbox = find_sandbox()[0]
    seen = {}
    for kind in ("stock", "quick"):
        work = tmp_path / kind
        folder = work / "ps1"
        folder.mkdir(parents=True)
        (folder / "helper.py").write_text("VALUE = 'found next to the notebook'\n")
        if kind == "stock":
            # No launcher: the kernel command itself, exec'd (pid 1 is never polled).
            prefix = sandbox.command(work) if sandbox else []
            config = Config()
            config.GradingKernelManager.wrapper = [*prefix, "/usr/bin/env", "JPY_PARENT_PID=1"]
        else:
            config = quick_kernel_config(Config())
            config.GradingKernelManager.wrapper = wrapper_command(work, 2 * 1024**3, {}, sandbox)
        config.GradingKernelManager.kernel_env = {**system_env(), "HOME": str(work)}
        config.GradingKernelManager.transport = "ipc"
        config.GradingKernelManager.ip = str(work / ".kernel")
        # Inside the sandbox the kernel sees only `work`: its connection file goes there.
        config.GradingKernelManager.connection_file = str(work / ".kernel.json")
        km = GradingKernelManager(config=config, kernel_name="python3")
        assert (km.client_factory is QuickStartClient) == (kind == "quick")
        outputs, reply = asyncio.run(_run(km, folder))
        assert reply["content"]["status"] == "ok", reply["content"]
        # Exactly the cell's own output: no start-up message taken for it, nothing on stderr.
        streams = _streams(outputs, reply["parent_header"]["msg_id"])
        assert [name for name, _ in streams] == ["stdout"], streams
        seen[kind] = json.loads(streams[0][1])
    # The one difference: ipykernel's debugger (debugpy) is not loaded.
    assert (seen["stock"].pop("debugpy"), seen["quick"].pop("debugpy")) == (True, False)
    assert seen["quick"] == seen["stock"]
    assert seen["quick"]["helper"] == "found next to the notebook"
