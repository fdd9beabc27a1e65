"""Start, kill and restart the real receiver process (``receiver.py``) from a test or the benchmark."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

RECEIVER = Path(__file__).with_name("receiver.py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver:
    """One receiver process on a fixed loopback port; ``log`` holds the webhook-ids it recorded."""

    def __init__(self, directory: Path, *, secret: str = "", port: int | None = None) -> None:
        self.port = port or free_port()
        self.secret = secret
        self.log = directory / f"received-{self.port}.log"
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self, *, crash_after_record: bool = False) -> Receiver:
        command = [sys.executable, str(RECEIVER), "--port", str(self.port), "--log", str(self.log)]
        command += ["--secret", self.secret] if self.secret else []
        command += ["--crash-after-record"] if crash_after_record else []
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("ready"), line
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
        self.process = None

    def wait_exit(self, timeout: float = 10) -> int:
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None
        return code

    def _lines(self, suffix: str = "") -> list[str]:
        path = self.log.with_name(self.log.name + suffix)
        return path.read_text().split("\n")[:-1] if path.exists() else []

    def ids(self) -> list[str]:
        """The webhook-ids recorded, in order (each once: the receiver drops duplicates)."""
        return self._lines()

    def bodies(self) -> list[str]:
        return self._lines(".bodies")

    def rejected(self) -> list[str]:
        return self._lines(".rejected")

    def requests(self) -> int:
        """How many requests reached the process, duplicates and rejected ones included."""
        return len(self._lines(".requests"))


REPO = Path(__file__).resolve().parents[4]
LOCAL_HOSTS = ["127.0.0.1", "localhost", "hooks.test"]


def local_policy(settings, tmp_path: Path, *, recipients: tuple[str, ...] = ("stripe", "tidio")) -> Path:
    """Run the test under plusuite's policy with the loopback hosts added to ``recipients``' hosts."""
    text = (REPO / "policies" / "plusuite.toml").read_text()
    for rid in recipients:
        head = f"[recipients.{rid}]\n"
        start = text.index(head)
        line_start = text.index("\nhosts = [", start) + len("\nhosts = [")
        text = text[:line_start] + "".join(f'"{h}", ' for h in LOCAL_HOSTS) + text[line_start:]
    path = tmp_path / "policy.toml"
    path.write_text(text)
    settings.PACTE_POLICY_FILE = str(path)
    return path
