"""A real single-node Apache Kafka broker (KRaft) on loopback, for tests, benchmarks and CI.

The jars come from Maven Central (`org.apache.kafka:kafka_2.13`) through Maven and are cached under
~/.cache/squall, so only the first run on a machine downloads them. Usable as a module (the pytest
fixture uses `KafkaBroker`) and as a command: `python3 scripts/kafka_broker.py fetch|run`.
"""

from __future__ import annotations

import base64
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

KAFKA_VERSION = "3.9.1"
CACHE = Path(os.environ.get("SQUALL_CACHE", Path.home() / ".cache" / "squall")) / f"kafka-{KAFKA_VERSION}"

POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.squall</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version></dependency>
  </dependencies>
</project>
"""

LOG4J = """log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


def fetch() -> Path:
    """The broker's jars, downloaded once through Maven and kept in the cache."""
    libs = CACHE / "libs"
    if (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        return libs
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch Kafka's jars from Maven Central")
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="squall-kafka-fetch-"))
    try:
        (work / "pom.xml").write_text(POM)
        partial = CACHE / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        print(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central", file=sys.stderr, flush=True)
        subprocess.run(["mvn", "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={partial}"],
                       cwd=work, check=True)
        partial.replace(libs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return libs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _own_session_dying_with_parent() -> None:
    """In the broker's child before exec: out of the terminal's Ctrl+C, but killed with whoever
    started it, so a killed test run never leaves a JVM behind."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class KafkaBroker:
    """One KRaft broker+controller in a temporary directory; `stop` and `start` keep its data."""

    def __init__(self, port: int | None = None, directory: Path | None = None) -> None:
        self.libs = fetch()
        self.port = port or free_port()
        self.controller_port = free_port()
        self.dir = directory or Path(tempfile.mkdtemp(prefix="squall-kafka-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._formatted = False

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, *args: str) -> list[str]:
        return ["java", "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                f"-Dlog4j.configuration=file:{self.dir / 'log4j.properties'}",
                "-cp", str(self.libs / "*"), *args]

    def _configure(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "log4j.properties").write_text(LOG4J.format(log=self.dir / "broker.log"))
        (self.dir / "server.properties").write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={self.dir / 'data'}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "",
        ]))
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # `=`: an id may begin with "-", which would read as an option
        subprocess.run(self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cluster}",
                                  "-c", str(self.dir / "server.properties")),
                       check=True, stdout=subprocess.DEVNULL)
        self._formatted = True

    def start(self, timeout: float = 60.0) -> "KafkaBroker":
        if not self._formatted:
            self._configure()
        out = open(self.dir / "stdout.log", "ab")
        self.process = subprocess.Popen(self._java("kafka.Kafka", str(self.dir / "server.properties")),
                                        stdout=out, stderr=subprocess.STDOUT, preexec_fn=_own_session_dying_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Kafka broker exited with {self.process.returncode}; see {self.dir}")
            if self._serves():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"the Kafka broker did not serve within {timeout}s; see {self.dir}")

    def _serves(self) -> bool:
        """True once the broker answers a metadata request (not just an open port)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                # ApiVersions request v0: size, api_key 18, version 0, correlation id 1, client id ""
                s.sendall(b"\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\x00\x00")
                header = s.recv(4)
                return len(header) == 4
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    if command == "fetch":
        print(fetch())
        return 0
    if command == "run":
        broker = KafkaBroker(port=int(argv[1]) if len(argv) > 1 else 9092).start()
        print(f"Kafka {KAFKA_VERSION} serving on {broker.bootstrap} (data in {broker.dir}); Ctrl+C stops it",
              flush=True)
        try:
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            broker.close()
        return 0
    print("usage: kafka_broker.py fetch | run [PORT]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
