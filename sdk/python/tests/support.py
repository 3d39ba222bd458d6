"""What the tests share: the SDK on sys.path, a sandbox (started once per test run unless
HEADWAY_URL and HEADWAY_API_KEY name one), polling a job's snapshot, and a flaky proxy."""
from __future__ import annotations

import atexit
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

SDK_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = SDK_DIR.parent.parent
sys.path.insert(0, str(SDK_DIR))

from headway import Headway, RetryPolicy  # noqa: E402


class Sandbox:
    def __init__(self, url: str, api_key: str, process: Optional[subprocess.Popen] = None, admin_token: Optional[str] = None) -> None:
        self.url = url
        self.api_key = api_key
        self.process = process
        # The admin API's credential, when this run started the sandbox (None against a given HEADWAY_URL).
        self.admin_token = admin_token

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the sandbox stops cleanly on SIGTERM
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_sandbox: Optional[Sandbox] = None
_lock = threading.Lock()


def sandbox() -> Sandbox:
    """The sandbox of this test run: HEADWAY_URL/HEADWAY_API_KEY, or `headway start --json --memory --port 0`."""
    global _sandbox
    with _lock:
        if _sandbox is None:
            _sandbox = _start_sandbox()
        return _sandbox


def _start_sandbox() -> Sandbox:
    if os.environ.get("HEADWAY_URL"):
        return Sandbox(os.environ["HEADWAY_URL"], os.environ["HEADWAY_API_KEY"])
    # The project's own Node 24 (the `node` npm package), whatever node is on PATH.
    node = REPO_DIR / "node_modules" / ".bin" / "node"
    command = [str(node) if node.exists() else "node", str(REPO_DIR / "bin" / "headway.ts"), "start", "--json", "--memory", "--port", "0"]
    process = subprocess.Popen(command, cwd=REPO_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    atexit.register(lambda: Sandbox("", "", process).stop())
    line = process.stdout.readline()  # exactly one JSON line once ready
    if not line:
        raise RuntimeError(f"the sandbox exited before it was ready (exit code {process.wait()}): {' '.join(command)}")
    ready = json.loads(line)
    return Sandbox(ready["http"], ready["api_key"], process, ready.get("admin_token"))


def client(**options: Any) -> Headway:
    box = sandbox()
    return Headway(url=options.pop("url", box.url), api_key=box.api_key, **options)


def unique_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_for(read: Callable[[], Dict[str, Any]], is_done: Callable[[Dict[str, Any]], bool], timeout: float = 20.0) -> Dict[str, Any]:
    """Poll until a snapshot satisfies is_done (the reducer applies events a moment after the 202)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = read()
        if is_done(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"the job did not get there in {timeout} s; last snapshot: {json.dumps(last)}")


class FlakyProxy:
    """A local HTTP server in front of the sandbox that answers the first requests itself.

    ``script`` lists what the next requests get, one entry per request: an HTTP status (answered
    with an error body and, for 429/503, ``Retry-After: 0``), or ``"drop"`` (forward the request,
    then close the connection without an answer: the request arrived, the answer was lost).
    Once the script is used up, requests pass through. ``seen`` records each request's path.
    """

    def __init__(self, target: str, script: List[Any]) -> None:
        self.target = target.rstrip("/")
        self.script = list(script)
        self.seen: List[str] = []
        self.bodies: List[bytes] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy.lock:
                    proxy.seen.append(self.path)
                    proxy.bodies.append(body)
                    step = proxy.script.pop(0) if proxy.script else None
                if isinstance(step, int):
                    payload = json.dumps({"error": {"code": "flaky", "message": f"scripted {step}"}}).encode()
                    self.send_response(step)
                    if step in (429, 503):
                        self.send_header("Retry-After", "0")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status, headers, answer = proxy._forward(self.command, self.path, dict(self.headers), body)
                if step == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _forward(self, method: str, path: str, headers: Dict[str, str], body: bytes):
        keep = {k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type", "accept")}
        request = urllib.request.Request(self.target + path, data=body if method == "POST" else None, method=method, headers=keep)
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:
                return answer.status, list(answer.headers.items()), answer.read()
        except urllib.error.HTTPError as answer:
            return answer.code, list(answer.headers.items()), answer.read()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FAST_RETRY = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05)
