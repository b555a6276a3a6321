"""The call-rate benchmark's parts (bench/cps.py is the entry point).

processes: the processes a trial starts and how they are stopped (by pid), free ports,
CPU time and Kamailio log diagnostics; sippstats: SIPp's statistics file; machine: the
machine line; model: the routing model of the project configs (built, compiled,
applied); trial: the settings, configs and processes of one trial; search: the rate
search per config; report: text and JSON output. Method: bench/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = BENCH_DIR.parent
if str(PROJECT_ROOT) not in sys.path:  # running from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))
