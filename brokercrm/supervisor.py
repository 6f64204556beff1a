"""Run several processes in the foreground as one: prefixed output, and when one stops (or
Ctrl-C / SIGTERM arrives) the others are stopped too, gracefully first. A one-shot process
(a script run once beside the servers) may end without stopping the others."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    one_shot: bool = False


def _pump(name: str, stream: object, width: int) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sys.stdout.write(f"{name:<{width}} | {line}")
        sys.stdout.flush()


def supervise(specs: Sequence[ProcessSpec], *, grace_seconds: float = 15.0) -> int:
    width = max(len(spec.name) for spec in specs)
    stopping = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes: list[tuple[ProcessSpec, subprocess.Popen[str]]] = []
    try:
        for spec in specs:
            process = subprocess.Popen(  # noqa: S603 - our own commands
                list(spec.argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                # Own session: the terminal's Ctrl-C reaches us once, and we stop them in order.
                start_new_session=True,
            )
            threading.Thread(
                target=_pump, args=(spec.name, process.stdout, width), daemon=True
            ).start()
            processes.append((spec, process))
        exit_code = 0
        finished: set[str] = set()
        while not stopping.is_set():
            for spec, process in processes:
                if spec.one_shot:
                    if process.poll() is not None and spec.name not in finished:
                        finished.add(spec.name)
                        print(f"{spec.name} finished with status {process.returncode}")
                    continue
                if process.poll() is not None:
                    print(f"{spec.name} exited with status {process.returncode}; stopping the rest")
                    exit_code = process.returncode or 1
                    stopping.set()
            time.sleep(0.2)
        return exit_code
    finally:
        for _spec, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for _spec, process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
