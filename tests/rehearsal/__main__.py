"""``python tests/rehearsal`` (what ``make rehearse`` runs): the deploy rehearsal's command line.

The driver is the ``rehearse`` package beside this file: run like this, this folder is the first entry of
``sys.path`` (pytest puts it there too, for the tests beside it). Run by path, not as ``-m tests.rehearsal``:
a development dependency (smdebug-rulesconfig, through sagemaker-core) installs a top-level ``tests`` package,
which wins over this repository's ``tests`` folder (it has no ``__init__.py``).
"""

import sys
from pathlib import Path

# The tests' shared helpers (the wake's local server, tests/function_url_server.py), as pytest's pythonpath has them.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from rehearse.driver import main

sys.exit(main())
