"""Volumes served by a running qemu-storage-daemon (qsd): the volume plugin's side of the
contract with the qdisk datapath plugin (docs/qcow2-plugin.md, "Datapath contract").

While a volume `qdisk://<sr>/<key>` is attached, its qsd has the runtime directory
  ${QDISK_RUN_DIR:-/run/qdisk}/<first 16 hex digits of sha256(uri)>/
holding qmp.sock, nbd.sock (export name = <key>), state.json (pid, domains, persistent, top_node,
top_image) and `lock`. Whoever changes the state holds flock(LOCK_EX) on `lock`. An image open in
a qsd must not be changed by qemu-img, so snapshot, CBT and revert of such a volume are done
through QMP here, and state.json is rewritten (atomically) to name the new top node and image.

A Session is used by one thread, inside `with session:` (which holds the lock and the QMP
connection).
"""

import fcntl
import hashlib
import json
import os
import socket
import subprocess
import time
import uuid as uuidlib

from . import bitmap as bitmap_mod
from . import qemu

LOCK_TIMEOUT = 30
QMP_TIMEOUT = 30


class LiveError(Exception):
    """A QMP exchange or a step around it failed; the message says which."""


def run_dir():
    return os.environ.get("QDISK_RUN_DIR", "/run/qdisk")


def runtime_dir(uri):
    return os.path.join(run_dir(), hashlib.sha256(uri.encode()).hexdigest()[:16])


def find(sr_path, key):
    """The Session of the qsd serving volume `key` of the SR at `sr_path`, or None when no
    live qsd serves it (no runtime directory, no state, or its pid is gone)."""
    d = runtime_dir("qdisk://%s/%s" % (sr_path, key))
    state = _read_state(d)
    if state is None or not os.path.exists(os.path.join(d, "qmp.sock")):
        return None
    pid = state.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return Session(d, key)


def _read_state(d):
    try:
        with open(os.path.join(d, "state.json")) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


class Qmp(object):
    """A minimal QMP client: one command at a time, events skipped."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(QMP_TIMEOUT)
        try:
            self.sock.connect(path)
        except OSError as e:
            self.sock.close()
            raise LiveError("cannot connect to QMP socket %s: %s" % (path, e))
        self.buf = b""
        self.path = path
        greeting = self._read()
        if "QMP" not in greeting:
            raise LiveError("%s: not a QMP greeting: %r" % (path, greeting))
        self.command("qmp_capabilities")

    def close(self):
        self.sock.close()

    def _read(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise LiveError("%s: no answer within %d s" % (self.path, QMP_TIMEOUT))
            if not chunk:
                raise LiveError("%s: connection closed by qemu-storage-daemon" % self.path)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def command(self, command_name, **args):
        msg = {"execute": command_name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise LiveError("%s: %s" % (command_name,
                                            reply["error"].get("desc", reply["error"])))
            return reply.get("return")


class Session(object):
    def __init__(self, d, key):
        self.dir = d
        self.key = key
        self.lock_fd = None
        self.qmp = None
        self.state = None

    def __enter__(self):
        self.lock_fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                               0o600)
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.lock_fd)
                    raise LiveError("%s/lock still held after %d s" % (self.dir, LOCK_TIMEOUT))
                time.sleep(0.01)
        try:
            self.state = _read_state(self.dir)
            if self.state is None or "top_node" not in self.state:
                raise LiveError("%s/state.json is missing or has no top_node" % self.dir)
            self.qmp = Qmp(os.path.join(self.dir, "qmp.sock"))
        except BaseException:
            os.close(self.lock_fd)
            raise
        return self

    def __exit__(self, *exc):
        if self.qmp is not None:
            self.qmp.close()
        os.close(self.lock_fd)
        return False

    def _write_state(self):
        path = os.path.join(self.dir, "state.json")
        tmp = path + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            json.dump(self.state, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)

    def _require_persistent(self, what):
        if self.state.get("persistent") is False:
            raise LiveError("%s: the volume is attached non-persistently (its qsd serves a "
                            "throw-away overlay); detach it first" % what)

    def _open_overlay(self, new_path, backing_file, size, bitmap, backing_node=False):
        """Creates image `new_path` over `backing_file` (a name relative to the SR) and opens
        it in the qsd; returns its node name. backing_node=False opens it without a backing
        (blockdev-snapshot attaches one), None lets QEMU open the backing named in the file,
        a string uses that existing node as the backing."""
        try:
            qemu.create(new_path, size, backing=backing_file, bitmap=bitmap)
        except qemu.QemuError as e:
            raise LiveError(str(e))
        node = "qcow2-" + uuidlib.uuid4().hex[:12]
        args = {"node-name": node, "file": {"driver": "file", "filename": new_path}}
        if backing_node is False:
            args["backing"] = None
        elif backing_node is not None:
            args["backing"] = backing_node
        self.qmp.command("blockdev-add", driver="qcow2", **args)
        return node

    def snapshot(self, old_path, new_path, old_file, size, bitmap):
        """The top image becomes `old_path`'s read-only layer under the new top `new_path`;
        the export follows the new top (QEMU moves the parents of the old node to the overlay).
        The old top's bitmaps are stored in its file when QEMU reopens it read-only."""
        self._require_persistent("snapshot")
        if self.state.get("top_image") not in (None, old_path):
            raise LiveError("state.json names top image %s, metadata says %s"
                            % (self.state.get("top_image"), old_path))
        node = self._open_overlay(new_path, old_file, size, bitmap)
        try:
            self.qmp.command("blockdev-snapshot", node=self.state["top_node"], overlay=node)
        except LiveError:
            self._delete_node(node)
            raise
        self.state["top_node"] = node
        self.state["top_image"] = new_path
        self._write_state()

    def _delete_node(self, node):
        try:
            self.qmp.command("blockdev-del", **{"node-name": node})
            return True
        except LiveError:
            return False

    def _node_of_file(self, path):
        for b in self.qmp.command("query-named-block-nodes", flat=True) or []:
            if b.get("drv") == "qcow2" and os.path.realpath(b.get("file", "")) == path:
                return b.get("node-name")
        return None

    def _exports_of(self, node):
        return [e["id"] for e in self.qmp.command("query-block-exports") or []
                if e.get("node-name") == node]

    def _del_export(self, export_id):
        self.qmp.command("block-export-del", id=export_id, mode="hard")
        deadline = time.monotonic() + QMP_TIMEOUT
        while any(e.get("id") == export_id for e in self.qmp.command("query-block-exports")):
            if time.monotonic() > deadline:
                raise LiveError("export %s still listed %d s after block-export-del"
                                % (export_id, QMP_TIMEOUT))
            time.sleep(0.01)

    def _add_export(self, export_id, node):
        self.qmp.command("block-export-add", type="nbd", id=export_id, name=self.key,
                         writable=bool(self.state.get("export_writable", True)),
                         **{"node-name": node})

    def revert(self, base_path, new_path, base_file, size, bitmap):
        """The volume gets the new top `new_path` over the snapshot's image `base_path`: the
        new node is opened (sharing the snapshot's node when the chain already has it), the
        NBD export is moved to it (block-export-del, then block-export-add with the same id,
        name and mode, so NBD clients are disconnected and must reconnect) and the old top
        node is closed."""
        self._require_persistent("revert")
        old = self.state["top_node"]
        node = self._open_overlay(new_path, base_file, size, bitmap,
                                  backing_node=self._node_of_file(base_path))
        exports = self._exports_of(old)
        moved = []
        try:
            for export_id in exports:
                self._del_export(export_id)
                moved.append(export_id)
                self._add_export(export_id, node)
        except LiveError:
            # Put the exports back on the old top: the volume keeps its old content.
            for export_id in moved:
                try:
                    if not self._exports_of(old) and export_id not in self._exports_of(node):
                        self._add_export(export_id, old)
                    elif export_id in self._exports_of(node):
                        self._del_export(export_id)
                        self._add_export(export_id, old)
                except LiveError:
                    pass
            self._delete_node(node)
            raise
        self.state["top_node"] = node
        self.state["top_image"] = new_path
        self._write_state()
        # The old top is unused now; its file is removed by the SR's collection afterwards.
        self._delete_node(old)

    def bitmap(self, name, enable):
        node = self.state["top_node"]
        if enable:
            self.qmp.command("block-dirty-bitmap-add", node=node, name=name, persistent=True)
        else:
            self.qmp.command("block-dirty-bitmap-remove", node=node, name=name)

    def resize(self, size):
        self.qmp.command("block_resize", **{"node-name": self.state["top_node"], "size": size})

    def read_bitmap(self, name, size):
        """The live bits of bitmap `name` of the top node. QEMU exports only disabled bitmaps,
        so a disabled, non-persistent copy is made (added and merged in one transaction, so no
        write falls between) and read through a temporary read-only NBD export on the qsd's
        NBD server with the qemu:dirty-bitmap:<copy> meta context; both are removed after."""
        node = self.state["top_node"]
        tag = uuidlib.uuid4().hex[:12]
        copy = "%s-read-%s" % (name, tag)
        export = "cbt-read-" + tag
        self.qmp.command("transaction", actions=[
            {"type": "block-dirty-bitmap-add",
             "data": {"node": node, "name": copy, "persistent": False, "disabled": True}},
            {"type": "block-dirty-bitmap-merge",
             "data": {"node": node, "target": copy, "bitmaps": [name]}}])
        try:
            self.qmp.command("block-export-add", type="nbd", id=export, name=export,
                             writable=False, bitmaps=[copy], **{"node-name": node})
            try:
                uri = "nbd+unix:///%s?socket=%s" % (export, os.path.join(self.dir, "nbd.sock"))
                try:
                    done = subprocess.run(["nbdinfo", "--json", "--map=qemu:dirty-bitmap:" + copy,
                                           uri], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          stdin=subprocess.DEVNULL, timeout=QMP_TIMEOUT)
                except (OSError, subprocess.TimeoutExpired) as e:
                    raise LiveError("nbdinfo --map on %s: %s" % (uri, e))
                if done.returncode != 0:
                    raise LiveError("nbdinfo --map on %s failed: %s"
                                    % (uri, done.stderr.decode("utf-8", "replace").strip()))
                extents = json.loads(done.stdout)
            finally:
                try:
                    self.qmp.command("block-export-del", id=export, mode="hard")
                except LiveError:
                    pass
        finally:
            self._remove_bitmap_when_free(node, copy)
        granularity = 65536
        for b in self.qmp.command("query-named-block-nodes", flat=True) or []:
            if b.get("node-name") == self.state["top_node"]:
                for d in b.get("dirty-bitmaps", []):
                    if d.get("name") == name:
                        granularity = d.get("granularity", granularity)
        nbits = (size + granularity - 1) // granularity
        bits = bytearray((nbits + 7) // 8)
        for ext in extents:
            # Type bit 0 of the dirty-bitmap context: the range is dirty.
            if ext.get("type", 0) & 1:
                start = ext["offset"] // granularity
                end = min(nbits, (ext["offset"] + ext["length"] + granularity - 1) // granularity)
                for i in range(start, end):
                    bits[i // 8] |= 1 << (i % 8)
        return bitmap_mod.Bitmap(granularity, nbits, bits)

    def _remove_bitmap_when_free(self, node, name):
        """Removes a bitmap; an export being torn down may still hold it busy for a moment."""
        deadline = time.monotonic() + QMP_TIMEOUT
        while True:
            try:
                self.qmp.command("block-dirty-bitmap-remove", node=node, name=name)
                return
            except LiveError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
