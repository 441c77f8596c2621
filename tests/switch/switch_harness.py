"""Helpers for the message-switch end-to-end tests: start the real daemon on a socket in a
temporary directory, talk raw HTTP/1.1 to it, and stop it by PID. Every wait has a deadline."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN_DIR = os.environ.get("SMAPI_BIN_DIR", os.path.join(os.getcwd(), "build", "bin"))
SWITCH = os.path.join(BIN_DIR, "message-switch")


def wait_until(predicate, timeout=10.0, what="condition"):
    """Polls `predicate` until it returns a true value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


class Switch:
    """One message-switch process on a socket in its own temporary directory."""

    def __init__(self, *args, tmpdir=None, statedir=False):
        self.dir = tmpdir or tempfile.mkdtemp(prefix="switch-test.")
        self.own_dir = tmpdir is None
        self.path = os.path.join(self.dir, "sock")
        self.statedir = None
        if statedir:
            self.statedir = os.path.join(self.dir, "state")
            os.makedirs(self.statedir, exist_ok=True)
        self.args = list(args)
        self.proc = None
        self.log = os.path.join(self.dir, "switch.log")
        self.conns = []

    def start(self):
        cmd = [SWITCH, "--path", self.path] + self.args
        if self.statedir:
            cmd += ["--statedir", self.statedir]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=self.logf)
        wait_until(self._ready, what="the switch to listen on " + self.path)
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("switch exited with %s: %s" % (self.proc.returncode, self.logtext()))
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(self.path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def logtext(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def connect(self, login=None):
        c = Conn(self.path)
        self.conns.append(c)
        if login is not None:
            status, body = c.request("GET", "/login/" + login)
            assert status == 200, (status, body)
        return c

    def stop(self, timeout=10.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        self._close()
        return self.proc.returncode

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def _close(self):
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None

    def cleanup(self):
        for c in self.conns:
            c.close()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class Conn:
    """One raw HTTP/1.1 connection."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    @staticmethod
    def frame(method, target, body=b""):
        if isinstance(body, str):
            body = body.encode()
        return ("%s %s HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (method, target, len(body))).encode() + body

    def send(self, method, target, body=b""):
        self.sock.sendall(self.frame(method, target, body))

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_response(self, timeout=10.0):
        """Returns (status, headers dict, body bytes, raw bytes) of the next response."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers["content-length"])
        while len(rest) < n:
            self._fill()
            head, rest = self.buf.split(b"\r\n\r\n", 1)
        body = rest[:n]
        raw = head + b"\r\n\r\n" + body
        self.buf = rest[n:]
        return status, headers, body, raw

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("connection closed by the switch")
        self.buf += data

    def request(self, method, target, body=b"", timeout=10.0):
        self.send(method, target, body)
        status, _, body, _ = self.read_response(timeout)
        return status, body.decode(errors="replace")

    def closed_by_peer(self, timeout=5.0):
        """True if the switch closes the connection (after any pending data) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
