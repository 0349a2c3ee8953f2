"""Run a rehearsal: `python -m hubtrain.rehearse` (what `hubtrain rehearse` execs)."""

# Locust patches sockets, threads and SSL for gevent when it is imported; that
# must come before any other import that uses them.
import locust  # noqa: F401, I001  (import order matters)

import sys

from hubtrain.rehearse.run import main

sys.exit(main())
