"""The qcow2 plugin behind the real stack: a message-switch on a Unix socket in a temp dir,
xapi-storage-script with the plugin directory linked under its root, and SMAPIv2 calls sent
to the plugin's queue with message-cli, as xapi would. Skipped when those binaries are not
built (SMAPI_BIN_DIR, default <source>/build/bin).
"""

import base64
import json
import os
import subprocess
import time
import unittest

from test_qcow2_plugin import (BLOCK, CALL_TIMEOUT, Harness, MiB, PLUGIN_DIR, SOURCE,
                               qemu_io)

BIN = os.environ.get("SMAPI_BIN_DIR", os.path.join(SOURCE, "build", "bin"))
QUEUE = "org.xen.xapi.storage.qcow2"
NEEDED = ("message-switch", "xapi-storage-script", "message-cli")
HAVE_STACK = all(os.access(os.path.join(BIN, b), os.X_OK) for b in NEEDED)
# The qdisk datapath plugin directory of the same build (plugins/qdisk/CMakeLists.txt).
QDISK_DIR = os.path.join(os.path.dirname(BIN), "plugins", "datapath", "qdisk")
HAVE_QDISK = os.access(os.path.join(QDISK_DIR, "Datapath.attach"), os.X_OK)


@unittest.skipUnless(HAVE_STACK, "message-switch, xapi-storage-script or message-cli not built")
class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.h = Harness()
        t = self.h.tmp
        self.sock = os.path.join(t, "switch.sock")
        root = os.path.join(t, "root")
        os.makedirs(os.path.join(root, "volume"))
        os.makedirs(os.path.join(root, "datapath"))
        os.symlink(PLUGIN_DIR, os.path.join(root, "volume", QUEUE))
        if HAVE_QDISK:
            os.symlink(QDISK_DIR, os.path.join(root, "datapath", "qdisk"))
        with open(os.path.join(t, "xss.conf"), "w") as f:
            f.write("script-timeout = 60\n")
        self.procs = []
        self.start([os.path.join(BIN, "message-switch"), "--path", self.sock], "switch.log")
        self.wait(lambda: os.path.exists(self.sock), "the switch socket")
        self.start([os.path.join(BIN, "xapi-storage-script"), "--root=" + root,
                    "--state=" + os.path.join(t, "state.db"), "--switch-path=" + self.sock,
                    "--config=" + os.path.join(t, "xss.conf"),
                    "--config-dir=" + os.path.join(t, "none")], "daemon.log")
        self.wait(lambda: self.rpc_raw("SR.list", {}, timeout=5) is not None,
                  "the daemon serving " + QUEUE)
        self.path = os.path.join(t, "sr")

    def tearDown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(CALL_TIMEOUT)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(CALL_TIMEOUT)
        self.h.cleanup()

    def start(self, argv, log):
        out = open(os.path.join(self.h.tmp, log), "wb")
        self.procs.append(subprocess.Popen(argv, env=self.h.env, stdin=subprocess.DEVNULL,
                                           stdout=out, stderr=subprocess.STDOUT))
        out.close()

    def wait(self, ready, what, deadline=30):
        end = time.monotonic() + deadline
        while not ready():
            if time.monotonic() > end:
                logs = ""
                for name in ("switch.log", "daemon.log"):
                    p = os.path.join(self.h.tmp, name)
                    if os.path.exists(p):
                        logs += "\n--- %s\n%s" % (name, open(p).read()[-3000:])
                self.fail("gave up waiting for %s%s" % (what, logs))
            time.sleep(0.05)

    def rpc_raw(self, method, params, timeout=CALL_TIMEOUT):
        """The decoded JSON-RPC reply, or None if the call did not complete."""
        body = json.dumps({"method": method, "params": [dict(params, dbg="daemon-test")],
                           "id": 1})
        try:
            done = subprocess.run([os.path.join(BIN, "message-cli"), "call", QUEUE, "--body",
                                   body, "--path", self.sock], env=self.h.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if done.returncode != 0:
            return None
        try:
            return json.loads(done.stdout)
        except ValueError:
            return None

    def rpc(self, method, **params):
        reply = self.rpc_raw(method, params)
        self.assertIsNotNone(reply, method)
        self.assertIsNone(reply.get("error"), (method, reply))
        return reply["result"]

    def rpc_error(self, method, **params):
        reply = self.rpc_raw(method, params)
        self.assertIsNotNone(reply, method)
        self.assertIsNotNone(reply.get("error"), (method, reply))
        return reply["error"]

    def test_xapi_sequence(self):
        q = self.rpc("Query.query")
        self.assertEqual("qcow2", q["driver"])
        self.assertEqual("SMAPIv3", q["smapi_version"])
        for f in ("VDI_SNAPSHOT", "VDI_CLONE", "VDI_CONFIG_CBT", "VDI_RESET_ON_BOOT/2",
                  "SR_PROBE"):
            self.assertIn(f, q["features"])
        config = self.rpc("SR.create", sr="sr-uuid", name_label="n", name_description="d",
                          device_config={"path": self.path}, physical_size=0)
        self.assertEqual(self.path, config["path"])
        self.rpc("SR.attach", sr="sr-uuid", device_config=config)
        vdi = self.rpc("VDI.create", sr="sr-uuid",
                       vdi_info={"vdi": "", "name_label": "disk", "name_description": "a disk",
                                 "virtual_size": 4 * MiB, "ty": "user"})
        key = vdi["vdi"]
        self.assertEqual("user", vdi["ty"])
        self.assertEqual(4 * MiB, vdi["virtual_size"])
        current = os.path.join(self.path, key + ".current")
        ok, text = qemu_io(current, "write -P 1 0 %d" % BLOCK)
        self.assertTrue(ok, text)
        self.rpc("VDI.enable_cbt", sr="sr-uuid", vdi=key)
        snap = self.rpc("VDI.snapshot", sr="sr-uuid", vdi_info=dict(vdi, tags=[]))
        self.assertTrue(snap["is_a_snapshot"])
        self.assertEqual(key, snap["snapshot_of"])
        self.assertTrue(snap["read_only"])
        ok, text = qemu_io(current, "write -P 2 %d %d" % (2 * BLOCK, BLOCK))
        self.assertTrue(ok, text)
        bitmap = self.rpc("VDI.list_changed_blocks", sr="sr-uuid", vdi_from=snap["vdi"],
                          vdi_tp=key)
        self.assertEqual(b"\x20" + b"\x00" * 7, base64.b64decode(bitmap))
        scan = self.rpc("SR.scan", sr="sr-uuid")
        self.assertEqual(sorted([key, snap["vdi"]]), sorted(v["vdi"] for v in scan))
        self.rpc("VDI.revert", sr="sr-uuid", snapshot_info=snap)
        ok, text = qemu_io(current, "read -P 1 0 %d" % BLOCK, "read -P 0 %d %d"
                           % (2 * BLOCK, BLOCK))
        self.assertTrue(ok, text)
        err = self.rpc_error("VDI.stat", sr="sr-uuid", vdi="no-such-key")
        self.assertIn("Volume_does_not_exist", json.dumps(err))
        self.rpc("VDI.destroy", sr="sr-uuid", vdi=snap["vdi"])
        self.rpc("VDI.destroy", sr="sr-uuid", vdi=key)
        self.assertEqual([], self.rpc("SR.scan", sr="sr-uuid"))
        stat = self.rpc("SR.stat", sr="sr-uuid")
        self.assertEqual("Healthy", stat["health"] if isinstance(stat["health"], str)
                         else stat["health"][0])
        self.rpc("SR.detach", sr="sr-uuid")
        self.assertEqual([], [n for n in os.listdir(self.path) if n.endswith(".qcow2")])

    @unittest.skipUnless(HAVE_QDISK, "the qdisk datapath plugin is not built")
    def test_live_volume_through_qdisk(self):
        """Both sides of the datapath contract: qdisk serves the volume, the qcow2 plugin
        snapshots, tracks and reverts it while it is attached and active."""
        config = self.rpc("SR.create", sr="sr-uuid", name_label="n", name_description="d",
                          device_config={"path": self.path}, physical_size=0)
        self.rpc("SR.attach", sr="sr-uuid", device_config=config)
        vdi = self.rpc("VDI.create", sr="sr-uuid",
                       vdi_info={"vdi": "", "name_label": "disk", "virtual_size": 4 * MiB})
        key = vdi["vdi"]
        self.rpc("VDI.epoch_begin", sr="sr-uuid", vdi=key, vm="0", persistent=True)
        backend = self.rpc("VDI.attach3", dp="dp1", sr="sr-uuid", vdi=key, vm="5",
                           read_write=True)
        nbd = [i[1]["uri"] for i in backend["implementations"] if i[0] == "Nbd"][0]
        _, _, sock, export = nbd.split(":", 3)
        target = "nbd+unix:///%s?socket=%s" % (export[len("exportname="):], sock)
        self.rpc("VDI.activate3", dp="dp1", sr="sr-uuid", vdi=key, vm="5")

        def io(*commands):
            argv = ["qemu-io", "-f", "raw"]
            for c in commands:
                argv += ["-c", c]
            done = subprocess.run(argv + [target], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=CALL_TIMEOUT)
            text = done.stdout.decode()
            self.assertTrue(done.returncode == 0 and "verification failed" not in text, text)

        io("write -P 1 0 %d" % BLOCK)
        self.rpc("VDI.enable_cbt", sr="sr-uuid", vdi=key)
        snap = self.rpc("VDI.snapshot", sr="sr-uuid", vdi_info=vdi)
        io("write -P 2 %d %d" % (3 * BLOCK, BLOCK))
        bitmap = self.rpc("VDI.list_changed_blocks", sr="sr-uuid", vdi_from=snap["vdi"],
                          vdi_tp=key)
        self.assertEqual(b"\x10" + b"\x00" * 7, base64.b64decode(bitmap))
        self.rpc("VDI.revert", sr="sr-uuid", snapshot_info=snap)
        io("read -P 1 0 %d" % BLOCK, "read -P 0 %d %d" % (3 * BLOCK, BLOCK))
        io("write -P 3 %d 1" % (5 * BLOCK))
        bitmap = self.rpc("VDI.list_changed_blocks", sr="sr-uuid", vdi_from=snap["vdi"],
                          vdi_tp=key)
        self.assertEqual(b"\x04" + b"\x00" * 7, base64.b64decode(bitmap))
        self.rpc("VDI.deactivate", dp="dp1", sr="sr-uuid", vdi=key, vm="5")
        self.rpc("VDI.detach", dp="dp1", sr="sr-uuid", vdi=key, vm="5")
        self.rpc("VDI.epoch_end", sr="sr-uuid", vdi=key, vm="0")
        # Detached: the data is in the files, readable offline.
        ok, text = qemu_io(os.path.join(self.path, key + ".current"),
                           "read -P 1 0 %d" % BLOCK, "read -P 3 %d 1" % (5 * BLOCK))
        self.assertTrue(ok, text)
        self.rpc("VDI.destroy", sr="sr-uuid", vdi=snap["vdi"])
        self.rpc("VDI.destroy", sr="sr-uuid", vdi=key)
        self.rpc("SR.detach", sr="sr-uuid")


if __name__ == "__main__":
    unittest.main()
