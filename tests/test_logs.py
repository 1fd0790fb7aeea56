"""The JSON log configuration `homily serve` installs (run in a subprocess: it replaces the root handlers)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging
from homily.logs import configure_logging
configure_logging("info")
logging.getLogger("python_multipart.multipart").warning("Did not find boundary character")
logging.getLogger("homily.content").warning("ingestion is behind")
"""


def test_client_made_multipart_warnings_stay_out_of_the_log_and_homilys_own_go_in() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60)
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [(entry["logger"], entry["message"]) for entry in entries] == [("homily.content", "ingestion is behind")]
    assert entries[0]["level"] == "warning"
