"""The real SageMaker PyTorch serving stack on this machine, without Docker: the toolkit of the
PyTorch 2.6 inference image (sagemaker-pytorch-inference 2.0.25, requirements-toolkits.txt)
starts TorchServe 0.12.0 (Java 17) on a model.tar.gz exactly as the image's `serve` does
(sagemaker_pytorch_serving_container.serving.main), and the model's own code/inference.py
answers.

What the container would provide is supplied in a temporary folder:

    /opt/ml/model                  SAGEMAKER_BASE_DIR=<tmp>/opt/ml; the archive is unpacked into
                                   its model/, as SageMaker unpacks ModelDataUrl
    port 8080 on every address     SAGEMAKER_BIND_TO_PORT; TorchServe's own TS_INFERENCE_ADDRESS and
                                   TS_MANAGEMENT_ADDRESS (read because the toolkit's configuration
                                   sets enable_envvars_config) keep it on 127.0.0.1, and
                                   TS_METRICS_ADDRESS moves the metrics port off 8082
    /etc/sagemaker-ts.properties   the one path the toolkit reads from a constant rather than the
                                   environment: the launcher points the constant into <tmp>
    model store, logs, pid file    the working directory, LOG_LOCATION, TMPDIR and TEMP, all <tmp>

TorchServe answers /ping before its worker has loaded the model, so start() waits for a
prediction instead.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess  # nosec B404 - starts the toolkit's `serve` with this interpreter, fixed arguments
import sys
import tarfile
import tempfile
from pathlib import Path

from sentiment.local.servers import LOCALHOST, free_port, wait_for_http

CONFIG_FILE_VARIABLE = "SENTIMENT_TS_CONFIG_FILE"
STARTUP_TIMEOUT_S = 180
READY_REVIEW = b"A quick review to check that the model answers."


class ToolkitUnavailable(RuntimeError):
    """Java or the toolkit packages are missing; the message says how to install them."""


def missing_requirements() -> list[str]:
    """What this machine lacks to run the real serving stack (empty when nothing)."""
    missing = []
    if shutil.which("java") is None:
        missing.append("Java 17 (apt-get install openjdk-17-jre-headless)")
    for module in ("sagemaker_pytorch_serving_container", "ts"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the {module} package (make toolkits)")
            break
    return missing


def serve() -> None:
    """The container's `serve`, in this process; run by ToolkitServer with the environment set."""
    from sagemaker_pytorch_serving_container import serving, torchserve

    torchserve.TS_CONFIG_FILE = os.environ[CONFIG_FILE_VARIABLE]
    serving.main()


class ToolkitServer:
    """start() returns once a prediction is answered; stop() ends TorchServe and its workers and
    removes the temporary folder. .url is where /ping and /invocations answer."""

    def __init__(self, model_archive: Path, port: int = 0, workers: int = 1):
        self.model_archive = Path(model_archive)
        self.port = port or free_port()
        self.workers = workers
        self.url = f"http://{LOCALHOST}:{self.port}"
        self.process: subprocess.Popen | None = None
        self._folder: tempfile.TemporaryDirectory | None = None

    @property
    def root(self) -> Path:
        return Path(self._folder.name)

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def _environment(self) -> dict[str, str]:
        address = f"http://{LOCALHOST}:{self.port}"
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "SAGEMAKER_BASE_DIR": str(self.root / "opt" / "ml"),
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers),
            "TS_INFERENCE_ADDRESS": address,
            "TS_MANAGEMENT_ADDRESS": address,
            "TS_METRICS_ADDRESS": f"http://{LOCALHOST}:{free_port()}",
            CONFIG_FILE_VARIABLE: str(self.root / "sagemaker-ts.properties"),
            "LOG_LOCATION": str(self.root / "logs"),
            "METRICS_LOCATION": str(self.root / "logs"),
            "TMPDIR": str(self.root),
            "TEMP": str(self.root),
        }

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> ToolkitServer:
        missing = missing_requirements()
        if missing:
            raise ToolkitUnavailable("the real serving stack needs " + " and ".join(missing))
        self._folder = tempfile.TemporaryDirectory(prefix="sentiment-toolkit-")
        model_dir = self.root / "opt" / "ml" / "model"
        model_dir.mkdir(parents=True)
        with tarfile.open(self.model_archive, "r:gz") as archive:
            archive.extractall(model_dir, filter="data")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(  # nosec B603 - fixed command line
                [sys.executable, "-c", "from sentiment.local.toolkit_server import serve; serve()"],
                cwd=self.root, env=self._environment(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            wait_for_http(f"{self.url}/invocations", timeout, self.process, name="the real serving stack",
                          body=READY_REVIEW, headers={"Content-Type": "text/plain"})
        except RuntimeError as error:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"{error}\n--- its log, last lines ---\n{tail}") from None
        return self

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _own_processes(self) -> list:
        """TorchServe's Java frontend and Python workers started for this server: the Java
        process outlives the launcher's child (`torchserve --start` exits at once), and every one
        of them names the temporary folder on its command line."""
        import psutil

        found = []
        for process in psutil.process_iter(["cmdline"]):
            try:
                if any(self._folder.name in part for part in process.info["cmdline"] or ()):
                    found.append(process)
            except psutil.Error:
                continue
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The launcher forwards SIGTERM to TorchServe and returns when it has stopped.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._folder is not None:
            import psutil  # a dependency of the toolkit, so present whenever a server was started

            leftovers = self._own_processes()
            for process in leftovers:
                process.terminate()
            _, alive = psutil.wait_procs(leftovers, timeout=10)
            for process in alive:
                process.kill()
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> ToolkitServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
