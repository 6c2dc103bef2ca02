"""Build and run the test engine: real OpenSearch nodes in one JVM (``tests/engine/``, a Maven module).

    python tests/engine/launcher.py [--nodes 3] [--data DIR] [-E thread_pool.write.queue_size=1]

starts the nodes, prints their URLs and keeps them up until Ctrl-C. The tests use ``Engine``
through the fixtures in ``tests/engine_fixtures.py``. ``build()`` runs Maven once (offline when
the dependencies are already in the local repository) and is skipped while the build is current.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "target"
SOURCES = [HERE / "pom.xml", *sorted((HERE / "src").rglob("*"))]


class EngineError(RuntimeError):
    """The engine could not be built or started; the message says why."""


def missing() -> str | None:
    """Why the engine cannot run here (no Java, no Maven and no build), or None."""
    if not shutil.which("java"):
        return "java is not installed (the test engine is OpenSearch in a JVM)"
    if not built() and not shutil.which("mvn"):
        return "Maven is not installed and tests/engine is not built (run: mvn -q -B package -f tests/engine/pom.xml)"
    return None


def built() -> bool:
    """Compiled after the last change to the sources, with the dependencies copied (``mvn package``)."""
    compiled = TARGET / "classes" / "onionwatch" / "engine" / "Engine.class"
    if not compiled.exists() or not any((TARGET / "lib").glob("opensearch-*.jar")):
        return False
    return compiled.stat().st_mtime >= max(path.stat().st_mtime for path in SOURCES if path.is_file())


def build() -> None:
    """``mvn package`` unless the build is current; offline first, then online for missing artifacts."""
    if built():
        return
    base = ["mvn", "-q", "-B", "package", "-f", str(HERE / "pom.xml")]
    for command in (base + ["-o"], base):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0:
            if not built():  # Maven found nothing to recompile after a change elsewhere in the sources
                (TARGET / "classes" / "onionwatch" / "engine" / "Engine.class").touch()
            return
    raise EngineError(f"building the test engine failed: {(result.stdout + result.stderr).strip()[-2000:]}")


class Engine:
    """N OpenSearch nodes on 127.0.0.1, each with its own data folder; stop and start them one by one."""

    def __init__(self, nodes: int = 1, data: Path | None = None, settings: dict | None = None,
                 heap: str | None = None, startup_timeout_s: float = 180):
        build()
        self.data = Path(data) if data else Path(tempfile.mkdtemp(prefix="onionwatch-engine-"))
        self.data.mkdir(parents=True, exist_ok=True)
        self.nodes = nodes
        heap = heap or f"{256 + 256 * nodes}m"
        command = ["java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseSerialGC", "-Xss1m",
                   "-Dlog4j2.disable.jmx=true", "-Dio.netty.allocator.type=unpooled",
                   "-cp", f"{TARGET / 'classes'}{os.pathsep}{TARGET / 'lib' / '*'}",
                   "onionwatch.engine.Engine", "--data", str(self.data), "--nodes", str(nodes)]
        for key, value in (settings or {}).items():
            command += ["-E", f"{key}={value}"]
        self._log = open(self.data / "engine.log", "ab")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                        text=True, bufsize=1)
        self._lines: list[str] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._wait_for("ready", startup_timeout_s)
        except EngineError:
            self.close()
            raise
        ports = json.loads((self.data / "ports.json").read_text())
        self.http_ports: list[int] = ports["http"]
        self.alive = [True] * nodes

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.http_ports]

    @property
    def url(self) -> str:
        return self.urls[0]

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._arrived:
                self._lines.append(line.strip())
                self._arrived.notify_all()
        with self._arrived:
            self._lines.append("exited")
            self._arrived.notify_all()

    def _wait_for(self, prefix: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while True:
                for index, line in enumerate(self._lines):
                    if line.startswith((prefix, "error", "exited")):
                        del self._lines[: index + 1]
                        if not line.startswith(prefix):
                            raise EngineError(f"engine: {line} (log: {self.data / 'engine.log'})")
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise EngineError(f"engine: no {prefix!r} within {timeout_s:.0f}s (log: {self.data / 'engine.log'})")
                self._arrived.wait(left)

    def command(self, line: str, timeout_s: float = 180) -> str:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._wait_for("ok", timeout_s)

    def stop_node(self, index: int) -> None:
        """Close one node, as if its machine went down (its data stays)."""
        self.command(f"stop {index}")
        self.alive[index] = False

    def start_node(self, index: int) -> None:
        """Start a stopped node again on the same ports and data; returns once the cluster is healthy."""
        self.command(f"start {index}")
        self.alive[index] = True

    def close(self) -> None:
        """Stop every node: stdin closed, then SIGTERM, then SIGKILL."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self._log.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start real OpenSearch nodes on 127.0.0.1 for onionwatch.",
                                     epilog="example: python tests/engine/launcher.py --nodes 3")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--data", type=Path)
    parser.add_argument("-E", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    reason = missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    settings = dict(item.split("=", 1) for item in args.settings)
    with Engine(args.nodes, args.data, settings) as engine:
        print("engine up:", ",".join(engine.urls), "(Ctrl-C stops it)", flush=True)
        try:
            engine.process.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
