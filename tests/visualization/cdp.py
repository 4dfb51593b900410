"""A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`.

Chromium reads commands from file descriptor 3 and writes replies and events to 4, each a
JSON message ended by a NUL byte. A pipe needs no port, no websocket library and no
network, so the test cannot collide with another browser or be refused by a proxy.
"""

import base64
import fcntl
import json
import os
import select
import subprocess
import time

FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)


class Browser:
    """A headless Chromium driven over a pipe; use as a context manager."""

    def __init__(self, executable, user_data_dir, timeout=60.0):
        self.timeout = timeout
        self.events = []
        self._next_id = 0
        self._buffer = b""
        commands_read, commands_write = os.pipe()
        replies_read, replies_write = os.pipe()
        # Lift the child's ends above 9 so that moving them to 3 and 4 cannot clobber them.
        child_in = fcntl.fcntl(commands_read, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(replies_write, fcntl.F_DUPFD, 10)
        os.close(commands_read)
        os.close(replies_write)
        # bash, not sh: dash only redirects descriptors 0-9.
        shell = f'exec "$0" "$@" 3<&{child_in} 4>&{child_out} {child_in}<&- {child_out}>&-'
        self.log_path = os.path.join(user_data_dir, "chromium.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", shell, executable, *FLAGS, f"--user-data-dir={user_data_dir}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(child_in, child_out),
            )
        os.close(child_in)
        os.close(child_out)
        self._commands = commands_write
        self._replies = replies_read

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self.process.poll() is None:
            try:
                self.send("Browser.close", timeout=10)
            except (OSError, RuntimeError, TimeoutError):
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for descriptor in (self._commands, self._replies):
            try:
                os.close(descriptor)
            except OSError:
                pass

    def log(self):
        with open(self.log_path, errors="replace") as file:
            return file.read()[-4000:]

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply from Chromium in time; its log:\n{self.log()}")
            ready, _, _ = select.select([self._replies], [], [], remaining)
            if ready:
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe; its log:\n{self.log()}")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=None):
        """Sends a command and returns its result; events met meanwhile go to `events`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self._commands, data) :]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") != self._next_id:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError(f"{method} failed: {reply['error']}")
            return reply.get("result", {})

    def new_page(self, width=1000, height=800):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"])
        for domain in ("Page", "Runtime", "Network"):
            page.send(f"{domain}.enable")
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page


class Page:
    """One tab: navigate, evaluate JavaScript, move the mouse, take a screenshot."""

    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def send(self, method, params=None):
        return self.browser.send(method, params, session=self.session)

    def events(self, method):
        return [
            event["params"]
            for event in self.browser.events
            if event.get("sessionId") == self.session and event.get("method") == method
        ]

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url, ready_expression="document.readyState === 'complete'"):
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + self.browser.timeout
        while not self.evaluate(f"Boolean({ready_expression})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not become ready: {ready_expression}")
            time.sleep(0.05)

    def hover(self, selector):
        """Moves the mouse (a real input event) to the centre of the first match."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(path, "wb") as file:
            file.write(base64.b64decode(data["data"]))
        return path
