"""The local practice hub: a real JupyterHub on loopback that behaves like a managed
one (profiles, buckets, nbgitpuller, the course published for it), for learners to
practise on, for the tests and rehearsals, and for the book's screenshots.

Owns starting and stopping it (`run`, `hubtrain hub`), its JupyterHub configuration
(`hubconfig`, `spawner`, `auth`), the published course (`course`), saved bucket
contents (`storage`), Chromium on it (`browser`) and the book's screenshots
(`screenshots`).

May import: `hubtrain.hubfile`, `hubtrain.localcloud`, `hubtrain.course` (it
publishes the release) and `hubtrain.grading.sandbox` (the same confinement for
learners' servers). Never `rehearse` or `cli`.
"""

from hubtrain.practice.run import PracticeHub, PracticeHubError, add_commands, served_hub

__all__ = ["PracticeHub", "PracticeHubError", "add_commands", "served_hub"]
