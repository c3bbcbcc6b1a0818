"""moto's server from the project's .venv, on a port of 127.0.0.1 the kernel picks, for the
deployment checks."""

import pathlib
import re
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]


def start():
    """Starts moto and returns (process, endpoint URL) once it answers. Port 0: the kernel picks
    a free port as moto binds it, and moto says which (a port chosen beforehand could be taken
    in between)."""
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    port = None
    for line in proc.stderr:
        found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", line)
        if found:
            port = found.group(1)
            break
        if time.monotonic() > deadline:
            break
    if port is None:
        proc.kill()
        sys.exit("moto did not say its port within 30 s")
    # moto logs every request there: keep reading, or it blocks once the pipe is full.
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("moto did not start within 30 s")
