"""`python -m hubtrain.practice`: the hub process behind `hubtrain hub`."""

import sys

from hubtrain.practice.run import main

sys.exit(main())
