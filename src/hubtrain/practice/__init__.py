"""The local practice hub: a real JupyterHub that behaves like a managed one."""

from hubtrain.practice.run import PracticeHub, PracticeHubError, add_commands, served_hub

__all__ = ["PracticeHub", "PracticeHubError", "add_commands", "served_hub"]
