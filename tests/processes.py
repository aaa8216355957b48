"""`pam-proactive` as a real subprocess, for the tests of long-running commands."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

EXE = Path(sys.executable).parent / "pam-proactive"


@contextmanager
def cli_process(args: list[str], env: Mapping[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``pam-proactive ARGS`` running, stdout and stderr merged as text; killed (and reaped)
    if it still runs when the block ends, so a failed assertion leaves no process behind."""
    proc = subprocess.Popen([str(EXE), *args], env=dict(env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def terminate(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """Send SIGTERM, wait for the exit (at most ``timeout`` seconds), return the output."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=timeout)[0]
