"""The qcow2 plugin against a live qemu-storage-daemon (the "Datapath contract" of
docs/qcow2-plugin.md): this test plays the qdisk datapath's side of the contract (a qsd serving
`.current` with QMP, an NBD export named after the key and state.json in the runtime
directory) and checks that snapshot, CBT and list_changed_blocks work while the volume is
served, with the data written through the export.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from test_qcow2_plugin import BLOCK, CALL_TIMEOUT, MiB, Qcow2Test

HAVE_QSD = shutil.which("qemu-storage-daemon") is not None


class Qsd(object):
    """A qemu-storage-daemon serving one volume, set up as the contract says."""

    def __init__(self, test, key):
        self.key = key
        uri = "qdisk://%s/%s" % (test.path, key)
        self.dir = os.path.join(test.h.env["QDISK_RUN_DIR"],
                                hashlib.sha256(uri.encode()).hexdigest()[:16])
        os.makedirs(self.dir)
        image = os.path.realpath(test.current(key))
        self.nbd = os.path.join(self.dir, "nbd.sock")
        qmp = os.path.join(self.dir, "qmp.sock")
        self.proc = subprocess.Popen([
            "qemu-storage-daemon",
            "--blockdev", "driver=file,node-name=file0,filename=" + image,
            "--blockdev", "driver=qcow2,node-name=top0,file=file0",
            "--nbd-server", "addr.type=unix,addr.path=" + self.nbd,
            "--export", "type=nbd,id=export0,node-name=top0,name=%s,writable=on" % key,
            "--chardev", "socket,id=qmp,path=%s,server=on,wait=off" % qmp,
            "--monitor", "chardev=qmp"], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + CALL_TIMEOUT
        while not (os.path.exists(qmp) and os.path.exists(self.nbd)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("qemu-storage-daemon did not start")
            time.sleep(0.01)
        open(os.path.join(self.dir, "lock"), "w").close()
        with open(os.path.join(self.dir, "state.json"), "w") as f:
            json.dump({"pid": self.proc.pid, "domains": ["1"], "persistent": True,
                       "top_node": "top0", "top_image": image}, f)

    def state(self):
        with open(os.path.join(self.dir, "state.json")) as f:
            return json.load(f)

    def io(self, *commands):
        argv = ["qemu-io", "-f", "raw"]
        for c in commands:
            argv += ["-c", c]
        argv.append("nbd+unix:///%s?socket=%s" % (self.key, self.nbd))
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=CALL_TIMEOUT)
        text = done.stdout.decode()
        return done.returncode == 0 and "verification failed" not in text, text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(CALL_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(CALL_TIMEOUT)
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(HAVE_QSD, "qemu-storage-daemon is not installed")
class LiveTest(Qcow2Test):
    def setUp(self):
        Qcow2Test.setUp(self)
        self.key = self.create(size=2 * MiB)["key"]
        self.qsd = Qsd(self, self.key)

    def tearDown(self):
        self.qsd.stop()
        Qcow2Test.tearDown(self)

    def io_ok(self, *commands):
        ok, text = self.qsd.io(*commands)
        self.assertTrue(ok, text)

    def test_snapshot_cbt_and_changed_blocks_while_served(self):
        self.io_ok("write -P 1 0 %d" % BLOCK)
        self.h.ok("Volume.enable_cbt", sr=self.sr, key=self.key)
        s1 = self.h.ok("Volume.snapshot", sr=self.sr, key=self.key)["key"]
        # The qsd now writes to the new top, which state.json and .current name.
        top = self.qsd.state()["top_image"]
        self.assertEqual(top, os.path.realpath(self.current(self.key)))
        self.assertNotEqual(top, os.path.realpath(self.current(s1)))
        self.io_ok("write -P 2 %d %d" % (3 * BLOCK, BLOCK), "write -P 2 %d 1" % (9 * BLOCK))
        self.assertEqual([3, 9], self.changed(s1, self.key))
        s2 = self.h.ok("Volume.snapshot", sr=self.sr, key=self.key)["key"]
        self.io_ok("write -P 3 %d 1" % (12 * BLOCK))
        self.assertEqual([3, 9], self.changed(s1, s2))
        self.assertEqual([12], self.changed(s2, self.key))
        self.assertEqual([3, 9, 12], self.changed(s1, self.key))
        # Data: the export reads the latest writes; the snapshots what they had.
        self.io_ok("read -P 1 0 %d" % BLOCK, "read -P 2 %d %d" % (3 * BLOCK, BLOCK),
                   "read -P 3 %d 1" % (12 * BLOCK))
        ok, text = self.qsd.io("read -P 2 %d 1" % (12 * BLOCK))
        self.assertFalse(ok)
        # A volume served by a qsd cannot be destroyed; its snapshots can.
        e = self.h.fail("Volume.destroy", sr=self.sr, key=self.key)
        self.assertEqual("Volume_in_use", e["params"][0])
        self.h.ok("Volume.destroy", sr=self.sr, key=s2)
        self.io_ok("read -P 2 %d 1" % (9 * BLOCK))
        self.h.ok("Volume.disable_cbt", sr=self.sr, key=self.key)

    def test_revert_while_served_then_cbt(self):
        self.io_ok("write -P 1 0 %d" % BLOCK)
        self.h.ok("Volume.enable_cbt", sr=self.sr, key=self.key)
        s1 = self.h.ok("Volume.snapshot", sr=self.sr, key=self.key)["key"]
        self.io_ok("write -P 2 0 %d" % BLOCK, "write -P 2 %d 1" % (5 * BLOCK))
        before = self.qsd.state()["top_node"]
        self.assertIsNone(self.h.ok("Volume.revert", sr=self.sr, snapshot=s1, key=self.key))
        state = self.qsd.state()
        self.assertNotEqual(before, state["top_node"])
        self.assertEqual(state["top_image"], os.path.realpath(self.current(self.key)))
        # The export (same name) now serves the snapshot's content, and is writable.
        self.io_ok("read -P 1 0 %d" % BLOCK, "read -P 0 %d 1" % (5 * BLOCK))
        self.assertEqual([], self.changed(s1, self.key))
        self.io_ok("write -P 3 %d 1" % (7 * BLOCK))
        self.assertEqual([7], self.changed(s1, self.key))
        self.h.ok("Volume.snapshot", sr=self.sr, key=self.key)
        self.io_ok("read -P 3 %d 1" % (7 * BLOCK), "read -P 1 0 %d" % BLOCK)
        # With the qsd gone, every layer checks clean and matches the metadata.
        self.qsd.stop()
        self.assert_consistent()

    def test_gone_qsd_falls_back_to_qemu_img(self):
        self.io_ok("write -P 4 0 %d" % BLOCK)
        self.qsd.proc.send_signal(signal.SIGKILL)
        self.qsd.proc.wait(CALL_TIMEOUT)
        # The runtime directory is still there, but its pid is gone: not live any more.
        s = self.h.ok("Volume.snapshot", sr=self.sr, key=self.key)
        self.assert_reads(s["key"], 4, 0, BLOCK)
        self.assert_consistent()


if __name__ == "__main__":
    unittest.main()
