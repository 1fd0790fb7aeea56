"""The servers under test, each started as its own subprocess on a free loopback port.

`ServiceProcess` owns one child process group (started in a new session so helpers it forks go with it) and its
log file; `stop` always terminates what it started. The `start_*` functions return ready-to-call services.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status of a GET (None when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URL we built
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return None


class ServiceProcess:
    """A child process group with its output in `log_path`; alive between `start` and `stop`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        """Poll `url` until it answers 200; fail early (with the log tail) if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}:\n{self.log_tail()}")
            if http_status(url) == 200:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready at {url} after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for children: this one, with the repo's `src` importable."""
    env = dict(os.environ)
    source = str(REPO_ROOT / "src")
    env["PYTHONPATH"] = source + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


def start_fake(workdir: Path) -> tuple[ServiceProcess, str]:
    """The fake OpenAI upstream (request log off so memory stays flat under load); returns its `/v1` URL."""
    port = free_port()
    command = [sys.executable, "-m", "homily.fakes.openai_upstream", "--port", str(port), "--max-recorded", "0"]
    service = ServiceProcess("fake-upstream", command, python_env(), workdir / "fake.log").start()
    base_url = f"http://127.0.0.1:{port}/v1"
    service.wait_ready(f"{base_url}/models")
    return service, base_url


def start_bare_proxy(workdir: Path, upstream_base_url: str) -> tuple[ServiceProcess, str]:
    """The calibration proxy (`bench.bare_proxy`); returns its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "bench.bare_proxy", "--port", str(port), "--upstream", upstream_base_url]
    service = ServiceProcess("bare-proxy", command, python_env(), workdir / "bare.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        service.wait_ready(f"{url}/ready")
    except BaseException:
        service.stop()
        raise
    return service, url


@dataclass(frozen=True, slots=True)
class HomilyService:
    process: ServiceProcess
    url: str
    token: str


def start_homily(workdir: Path, upstream_base_url: str, extra_env: dict[str, str]) -> HomilyService:
    """`homily init --json` then `homily serve` against the fake, and a bearer token from `/oauth2/token`."""
    port = free_port()
    env = python_env(
        {
            "HOMILY_DATA_DIR": str(workdir / "homily-data"),
            "OPENAI_API_KEY": "x",
            "OPENAI_BASE_URL": upstream_base_url,
            **extra_env,
        }
    )
    initialised = subprocess.run(
        [sys.executable, "-m", "homily", "init", "--json"], env=env, cwd=REPO_ROOT, capture_output=True, check=True
    )
    credential = json.loads(initialised.stdout)
    command = [sys.executable, "-m", "homily", "serve", "--host", "127.0.0.1", "--port", str(port)]
    service = ServiceProcess("homily", command, env, workdir / "homily.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        service.wait_ready(f"{url}/readyz")
        token = fetch_token(url, credential["client_id"], credential["client_secret"])
    except BaseException:
        service.stop()
        raise
    return HomilyService(service, url, token)


def fetch_token(url: str, client_id: str, client_secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - loopback URL we built
        f"{url}/oauth2/token",
        data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return str(json.loads(response.read())["access_token"])


def litellm_python(explicit: str | None) -> str | None:
    """The interpreter that can import litellm: `explicit` if given, else this one when litellm is installed."""
    if explicit:
        return explicit
    return sys.executable if importlib.util.find_spec("litellm") is not None else None


LITELLM_CONFIG = """model_list:
  - model_name: {model}
    litellm_params:
      model: openai/{model}
      api_base: {api_base}
      api_key: x
litellm_settings:
  drop_params: true
general_settings:
  master_key: {master_key}
"""


@dataclass(frozen=True, slots=True)
class LitellmService:
    process: ServiceProcess
    url: str
    master_key: str


def start_litellm(python: str, workdir: Path, upstream_base_url: str, model: str) -> LitellmService:
    """LiteLLM's proxy with one worker, its one model pointing at the fake, guarded by a fresh master key."""
    port = free_port()
    master_key = "sk-" + secrets.token_hex(16)
    config = workdir / "litellm.yaml"
    config.write_text(LITELLM_CONFIG.format(model=model, api_base=upstream_base_url, master_key=master_key))
    script = Path(python).parent / "litellm"
    launcher = [str(script)] if script.exists() else [python, "-m", "litellm.proxy.proxy_cli"]
    command = [*launcher, "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "NO_DOCS": "True"}
    service = ServiceProcess("litellm", command, env, workdir / "litellm.log").start()
    url = f"http://127.0.0.1:{port}"
    try:
        service.wait_ready(f"{url}/health/liveliness", timeout=180)
    except BaseException:
        service.stop()
        raise
    return LitellmService(service, url, master_key)
