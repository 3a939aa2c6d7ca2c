"""Running the bot and waiting on it:

- ``run_cli`` (``bot ARGS`` in this process, what the ``run_bot`` fixture calls) and its ``Run``;
- ``bot_process`` (``bot ARGS`` as a real process);
- ``kill_poll_when`` (a real ``bot poll`` process killed mid-send) and ``crash_after_answering`` (killed after
  the service posted, before its answer came back);
- ``wait_for`` and ``free_port``, for tests that start the daemon as a process.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli import main
from bot.clock import ManualClock

from .paths import ROOT
from .servers import Answer, FakeServer, Request


@dataclass
class Run:
    code: int
    out: str


def run_cli(clock: ManualClock, *args: str) -> Run:
    """Run ``bot ARGS`` in this process with ``clock``; the exit code and what it printed."""
    stream = io.StringIO()
    code = main(list(args), clock=clock, stream=stream)
    return Run(code, stream.getvalue())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "it") -> Any:
    """Wait for something another process or thread does; returns what ``check`` returned once it held.
    Generous, so a slow machine never fails it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def bot_process(*args: str, stderr: Any = subprocess.DEVNULL, **env: str) -> subprocess.Popen[bytes]:
    """``bot ARGS`` as a real process in the project folder, as a deployment runs it: its output discarded,
    its log to ``stderr``, with ``env`` over this process's environment."""
    return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
                            env={**os.environ, **env})


def kill_poll_when(config: Path, condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Run `bot poll` as a real process and SIGKILL it as soon as ``condition()`` holds (a crash mid-send)."""
    proc = bot_process("poll", "--config", str(config))
    try:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("the process never reached the moment to kill it")
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def crash_after_answering(config: Path, fake: FakeServer, slow: Callable[[Request], bool],
                          condition: Callable[[], object]) -> None:
    """``kill_poll_when(config, condition)`` while ``fake``, once it has answered a request ``slow`` picks
    (the post is stored), waits 30 s before sending that answer: the bot dies never having heard back."""
    real = fake.answer

    def slow_after_answering(request: Request) -> Answer:
        answer = real(request)
        if slow(request):
            time.sleep(30)
        return answer

    fake.answer = slow_after_answering  # type: ignore[method-assign]
    try:
        kill_poll_when(config, condition)
    finally:
        fake.answer = real  # type: ignore[method-assign]


def paused_scheduler() -> Any:
    """A real APScheduler scheduler that runs no job: a test gives it to a Daemon and runs the jobs by hand."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()
    scheduler.start(paused=True)
    return scheduler
