"""``python -m phone_agent``: see phone_agent/cli.py."""

import os

# Many DTMF detectors share the machine's cores; threaded BLAS on products this
# small only contends for them (phone_agent/audio/dtmf.py). Before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

raise SystemExit(main())
