"""Real-process tests of the qcow2 volume plugin (plugins/qcow2).

Every call runs a method script exactly as xapi-storage-script does: `<dir>/<Method> --json`
with the params object on stdin, stdout parsed as the result (exit 0) or as the failure report
of idl.md §4.4 (exit 1). Data is written and read with qemu-io through the `<key>.current` link
that the datapath uses. Needs the generated Python bindings on PYTHONPATH (<build>/python).
"""

import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("SMAPI_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
PLUGIN_DIR = os.path.join(SOURCE, "plugins", "qcow2", "org.xen.xapi.storage.qcow2")
sys.path.insert(0, os.path.join(SOURCE, "plugins", "qcow2"))

from qcow2sr import engine  # noqa: E402

MiB = 1 << 20
BLOCK = 65536
CALL_TIMEOUT = 60


class Harness(object):
    """A temporary directory with an SR root, the plugin's run dir and an empty qdisk run dir."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="qcow2-test-")
        self.env = dict(os.environ)
        self.env["QCOW2_RUN_DIR"] = os.path.join(self.tmp, "run")
        self.env["QDISK_RUN_DIR"] = os.path.join(self.tmp, "qdisk")
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def popen(self, method, params):
        p = subprocess.Popen([os.path.join(PLUGIN_DIR, method), "--json"], env=self.env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdin.write(json.dumps(dict(params, dbg="test")).encode())
        p.stdin.close()
        return p

    def call(self, method, **params):
        """(exit status, decoded stdout, stderr)."""
        p = self.popen(method, params)
        try:
            out = p.stdout.read()
            err = p.stderr.read()
            rc = p.wait(timeout=CALL_TIMEOUT)
        finally:
            p.stdout.close()
            p.stderr.close()
        try:
            value = json.loads(out)
        except ValueError:
            value = out
        return rc, value, err.decode("utf-8", "replace")

    def ok(self, method, **params):
        rc, value, err = self.call(method, **params)
        if rc != 0:
            raise AssertionError("%s failed (exit %d): %r %s" % (method, rc, value, err))
        return value

    def fail(self, method, **params):
        """The failure report; asserts its idl.md §4.4 shape."""
        rc, value, err = self.call(method, **params)
        if rc == 0:
            raise AssertionError("%s unexpectedly succeeded: %r" % (method, value))
        assert rc == 1, (rc, value, err)
        assert isinstance(value, dict), (value, err)
        assert isinstance(value["code"], str) and isinstance(value["params"], list), value
        bt = value["backtrace"]
        assert isinstance(bt["error"], str) and isinstance(bt["files"], list), value
        assert all(isinstance(x, int) for x in bt["lines"]), value
        return value


def qemu_io(path, *commands):
    argv = ["qemu-io", "-f", "qcow2"]
    for c in commands:
        argv += ["-c", c]
    done = subprocess.run(argv + [path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=CALL_TIMEOUT)
    text = done.stdout.decode()
    return done.returncode == 0 and "verification failed" not in text, text


class Qcow2Test(unittest.TestCase):
    def setUp(self):
        self.h = Harness()
        self.path = os.path.join(self.h.tmp, "sr")
        self.h.ok("SR.create", uuid="sr-uuid-1", configuration={"path": self.path},
                  name="test SR", description="an SR for tests")
        self.sr = self.h.ok("SR.attach", configuration={"path": self.path})

    def tearDown(self):
        self.h.cleanup()

    # --- helpers ------------------------------------------------------------------------

    def create(self, size=4 * MiB, name="vol"):
        return self.h.ok("Volume.create", sr=self.sr, name=name, description="d", size=size,
                         sharable=False)

    def current(self, key):
        return os.path.join(self.path, key + ".current")

    def write(self, key, pattern, offset, length):
        ok, text = qemu_io(self.current(key), "write -P %d %d %d" % (pattern, offset, length))
        self.assertTrue(ok, text)

    def assert_reads(self, key, pattern, offset, length):
        ok, text = qemu_io(self.current(key), "read -P %d %d %d" % (pattern, offset, length))
        self.assertTrue(ok, "volume %s at %d+%d is not pattern %d: %s"
                        % (key, offset, length, pattern, text))

    def assert_consistent(self):
        s = engine.Sr(self.path, must_be_attached=False)
        try:
            self.assertEqual([], s.check())
        finally:
            s.close()

    def image_files(self):
        return sorted(n for n in os.listdir(self.path) if n.endswith(".qcow2"))

    def changed(self, key, key2, offset=0, length=-1):
        r = self.h.ok("Volume.list_changed_blocks", sr=self.sr, key=key, key2=key2,
                      offset=offset, length=length)
        self.assertEqual(BLOCK, r["granularity"])
        bits = base64.b64decode(r["bitmap"])
        return [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]


class PluginAndSrTest(Qcow2Test):
    def test_query_is_honest(self):
        q = self.h.ok("Plugin.query")
        self.assertEqual("qcow2", q["plugin"])
        self.assertEqual("5.0", q["required_api_version"])
        for f in ("VDI_SNAPSHOT", "VDI_CLONE", "VDI_REVERT", "VDI_CONFIG_CBT", "VDI_RESIZE"):
            self.assertIn(f, q["features"])
        # Features that need a method we do not have must not be claimed.
        for f in ("VDI_MIRROR", "VDI_RESIZE_ONLINE", "SR_STATS", "VDI_ACTIVATE_READONLY"):
            self.assertNotIn(f, q["features"])
        self.assertIn("path", q["configuration"])

    def test_diagnostics_and_plugin_ls(self):
        self.assertIn(self.sr, self.h.ok("Plugin.diagnostics"))
        self.assertEqual([self.sr], self.h.ok("Plugin.ls"))
        self.h.ok("SR.detach", sr=self.sr)
        self.assertEqual([], self.h.ok("Plugin.ls"))
        self.h.ok("SR.detach", sr=self.sr)  # idempotent

    def test_stat_reports_real_space_and_names(self):
        st = self.h.ok("SR.stat", sr=self.sr)
        vfs = os.statvfs(self.path)
        self.assertEqual(vfs.f_blocks * vfs.f_frsize, st["total_space"])
        self.assertGreater(st["free_space"], 0)
        self.assertLessEqual(st["free_space"], st["total_space"])
        self.assertEqual(["Healthy", ""], st["health"])
        self.assertEqual("sr-uuid-1", st["uuid"])
        self.h.ok("SR.set_name", sr=self.sr, new_name="renamed")
        self.h.ok("SR.set_description", sr=self.sr, new_description="new words")
        st = self.h.ok("SR.stat", sr=self.sr)
        self.assertEqual(("renamed", "new words"), (st["name"], st["description"]))

    def test_probe(self):
        # An existing SR, found directly and under its parent directory.
        r = self.h.ok("SR.probe", configuration={"path": self.path})
        self.assertEqual(1, len(r))
        self.assertTrue(r[0]["complete"])
        self.assertEqual("sr-uuid-1", r[0]["configuration"]["sr_uuid"])
        self.assertEqual("sr-uuid-1", r[0]["sr"]["uuid"])
        r = self.h.ok("SR.probe", configuration={"path": self.h.tmp})
        found = [x for x in r if "sr" in x]
        self.assertEqual([self.path], [x["configuration"]["path"] for x in found])
        # The daemon's checks (idl.md §2.2): an sr needs sr_uuid; sr_uuid needs complete.
        for x in r:
            if "sr" in x:
                self.assertIn("sr_uuid", x["configuration"])
            if "sr_uuid" in x["configuration"]:
                self.assertTrue(x["complete"])
        # Nothing given: one incomplete candidate asking for the path.
        r = self.h.ok("SR.probe", configuration={})
        self.assertEqual([False], [x["complete"] for x in r])
        # A path whose parent is missing: nothing can be made there.
        self.assertEqual([], self.h.ok("SR.probe", configuration={"path": "/nonexistent/x/y"}))

    def test_bad_device_config(self):
        e = self.h.fail("SR.create", uuid="u", configuration={}, name="n", description="d")
        self.assertEqual(["Invalid_configuration"], e["params"][:1])
        self.assertIn("path", e["params"][1])
        e = self.h.fail("SR.attach", configuration={"path": "relative/dir"})
        self.assertIn("absolute", e["params"][1])
        e = self.h.fail("SR.attach", configuration={"path": os.path.join(self.h.tmp, "none")})
        self.assertEqual("SR_does_not_exist", e["params"][0])
        e = self.h.fail("SR.create", uuid="u", configuration={"path": "/nonexistent/a/b"},
                        name="n", description="d")
        self.assertEqual("SR_does_not_exist", e["params"][0])
        e = self.h.fail("SR.create", uuid="u", configuration={"path": self.path}, name="n",
                        description="d")
        self.assertEqual("SR_exists", e["params"][0])
        # Wrong type: the bindings' own report.
        e = self.h.fail("SR.attach", configuration="nope")
        self.assertEqual("TypeError", e["params"][0])

    def test_not_attached(self):
        self.h.ok("SR.detach", sr=self.sr)
        e = self.h.fail("SR.destroy", sr=self.sr)
        self.assertEqual(["Sr_not_attached", self.sr], e["params"])
        e = self.h.fail("Volume.create", sr=self.sr, name="v", description="d", size=MiB,
                        sharable=False)
        self.assertEqual("Sr_not_attached", e["params"][0])
        e = self.h.fail("SR.stat", sr=os.path.join(self.h.tmp, "missing"))
        self.assertEqual("SR_does_not_exist", e["params"][0])

    def test_destroy_removes_everything(self):
        v = self.create()
        self.h.ok("Volume.snapshot", sr=self.sr, key=v["key"])
        self.h.ok("SR.destroy", sr=self.sr)
        self.assertFalse(os.path.exists(self.path))
        self.assertEqual([], self.h.ok("Plugin.ls"))

    def test_missing_bindings_give_a_clear_report(self):
        env = dict(self.h.env)
        env.pop("PYTHONPATH", None)
        done = subprocess.run([os.path.join(PLUGIN_DIR, "Plugin.query"), "--json"],
                              input=b'{"dbg":"x"}', env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=CALL_TIMEOUT, cwd="/")
        self.assertEqual(1, done.returncode)
        report = json.loads(done.stdout)
        self.assertEqual("MissingDependency", report["params"][0])
        self.assertIn("PYTHONPATH", report["params"][1])

    def test_missing_script_names_are_listed(self):
        out = subprocess.run([os.path.join(SOURCE, "plugins", "qcow2", "main.py")],
                             env=self.h.env, stdout=subprocess.PIPE, timeout=CALL_TIMEOUT)
        names = out.stdout.decode().split()
        self.assertIn("Volume.list_changed_blocks", names)
        for n in names:
            self.assertTrue(os.path.exists(os.path.join(PLUGIN_DIR, n)), n)


class VolumeTest(Qcow2Test):
    def test_create_stat_ls_and_metadata(self):
        v = self.create(size=MiB + 1, name="first")
        self.assertEqual(MiB + 512, v["virtual_size"])
        self.assertTrue(v["read_write"])
        self.assertEqual(["qdisk://%s/%s" % (self.path, v["key"])], v["uri"])
        self.assertEqual(v["key"], v["uuid"])
        self.assertEqual("Data", v["volume_type"])
        self.assertFalse(v["cbt_enabled"])
        key = v["key"]
        self.assertTrue(os.path.islink(self.current(key)))
        self.h.ok("Volume.set_name", sr=self.sr, key=key, new_name="n2")
        self.h.ok("Volume.set_description", sr=self.sr, key=key, new_description="d2")
        self.assertIsNone(self.h.ok("Volume.set", sr=self.sr, key=key, k="vdi-type", v="user"))
        self.h.ok("Volume.set", sr=self.sr, key=key, k="a", v="b")
        self.h.ok("Volume.unset", sr=self.sr, key=key, k="a")
        self.h.ok("Volume.unset", sr=self.sr, key=key, k="never-set")
        st = self.h.ok("Volume.stat", sr=self.sr, key=key)
        self.assertEqual(("n2", "d2", {"vdi-type": "user"}),
                         (st["name"], st["description"], st["keys"]))
        self.assertEqual([key], [x["key"] for x in self.h.ok("SR.ls", sr=self.sr)])
        e = self.h.fail("Volume.create", sr=self.sr, name="v", description="d", size=-1,
                        sharable=False)
        self.assertEqual("Invalid_argument", e["params"][0])
        self.assert_consistent()

    def test_missing_volumes(self):
        for method, extra in (("Volume.stat", {}), ("Volume.snapshot", {}),
                              ("Volume.clone", {}), ("Volume.set_name", {"new_name": "x"}),
                              ("Volume.set", {"k": "a", "v": "b"}),
                              ("Volume.resize", {"new_size": MiB}),
                              ("Volume.enable_cbt", {}), ("Volume.data_destroy", {})):
            e = self.h.fail(method, sr=self.sr, key="no-such-key", **extra)
            self.assertEqual(["Volume_does_not_exist", "no-such-key"], e["params"], method)
        v = self.create()
        e = self.h.fail("Volume.revert", sr=self.sr, snapshot="no-such-key", key=v["key"])
        self.assertEqual("Volume_does_not_exist", e["params"][0])
        # Destroy is idempotent.
        self.assertIsNone(self.h.ok("Volume.destroy", sr=self.sr, key="no-such-key"))

    def test_resize_grows_and_refuses_to_shrink(self):
        v = self.create(size=MiB)
        self.write(v["key"], 7, 0, 4096)
        self.h.ok("Volume.resize", sr=self.sr, key=v["key"], new_size=3 * MiB)
        self.assertEqual(3 * MiB, self.h.ok("Volume.stat", sr=self.sr,
                                            key=v["key"])["virtual_size"])
        self.write(v["key"], 8, 3 * MiB - 4096, 4096)
        self.assert_reads(v["key"], 7, 0, 4096)
        e = self.h.fail("Volume.resize", sr=self.sr, key=v["key"], new_size=MiB)
        self.assertEqual("SR_BACKEND_FAILURE_79", e["code"])
        self.assertIn("shrinking not allowed", e["params"][1])
        self.assert_consistent()

    def test_snapshot_keeps_key_and_data(self):
        v = self.create()
        key = v["key"]
        self.write(key, 1, 0, 64 * 1024)
        self.h.ok("Volume.set", sr=self.sr, key=key, k="vdi-type", v="user")
        s = self.h.ok("Volume.snapshot", sr=self.sr, key=key)
        self.assertNotEqual(key, s["key"])
        self.assertFalse(s["read_write"])
        self.assertEqual((v["name"], v["description"], {}), (s["name"], s["description"],
                                                            s["keys"]))
        self.write(key, 2, 0, 4096)
        self.assert_reads(key, 2, 0, 4096)
        self.assert_reads(s["key"], 1, 0, 64 * 1024)
        self.assertEqual({"vdi-type": "user"},
                         self.h.ok("Volume.stat", sr=self.sr, key=key)["keys"])
        self.assert_consistent()

    def test_chain_several_deep_and_destroy_in_every_order(self):
        import itertools
        orders = list(itertools.permutations(range(4)))
        # Every order of destroying the volume and its three snapshots is run on its own SR
        # would be slow; a sample of orders, always including the extremes, is enough.
        rnd = random.Random(7)
        sample = [orders[0], orders[-1]] + rnd.sample(orders[1:-1], 2)
        for order in sample:
            v = self.create(size=MiB)
            key = v["key"]
            snaps = []
            for i in range(3):
                self.write(key, 10 + i, i * BLOCK, BLOCK)
                snaps.append(self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"])
            self.write(key, 20, 3 * BLOCK, BLOCK)
            vols = snaps + [key]
            # Snapshot i has blocks 0..i written with 10..10+i.
            alive = set(range(4))
            for idx in order:
                self.h.ok("Volume.destroy", sr=self.sr, key=vols[idx])
                alive.discard(idx)
                for j in alive:
                    reads = ["read -P %d %d %d" % (10 + b if b < 3 else 20, b * BLOCK, BLOCK)
                             for b in range(j + 1)]
                    ok, text = qemu_io(self.current(vols[j]), *reads)
                    self.assertTrue(ok, "order %s, volume %d: %s" % (order, j, text))
                self.assert_consistent()
            self.assertEqual([], self.image_files(), order)

    def test_clone_of_volume_and_of_snapshot(self):
        v = self.create()
        key = v["key"]
        self.write(key, 3, 0, 4096)
        c = self.h.ok("Volume.clone", sr=self.sr, key=key)
        self.assertTrue(c["read_write"])
        self.write(c["key"], 4, 0, 4096)
        self.write(key, 5, 4096, 4096)
        self.assert_reads(key, 3, 0, 4096)
        self.assert_reads(c["key"], 4, 0, 4096)
        s = self.h.ok("Volume.snapshot", sr=self.sr, key=key)
        c2 = self.h.ok("Volume.clone", sr=self.sr, key=s["key"])
        self.assert_reads(c2["key"], 5, 4096, 4096)
        self.assertEqual(sorted([c["key"], s["key"], c2["key"]]),
                         sorted(self.h.ok("Volume.similar_content", sr=self.sr, key=key)))
        # Destroy the original first: the clones keep their data.
        for k in (key, s["key"]):
            self.h.ok("Volume.destroy", sr=self.sr, key=k)
        self.assert_reads(c["key"], 4, 0, 4096)
        self.assert_reads(c2["key"], 3, 0, 4096)
        self.assert_reads(c2["key"], 5, 4096, 4096)
        self.assert_consistent()

    def test_revert(self):
        v = self.create()
        key = v["key"]
        self.write(key, 1, 0, 4096)
        s = self.h.ok("Volume.snapshot", sr=self.sr, key=key)
        self.write(key, 2, 0, 4096)
        self.h.ok("Volume.resize", sr=self.sr, key=key, new_size=8 * MiB)
        self.assertIsNone(self.h.ok("Volume.revert", sr=self.sr, snapshot=s["key"], key=key))
        st = self.h.ok("Volume.stat", sr=self.sr, key=key)
        self.assertEqual(key, st["key"])
        self.assertEqual(v["uri"], st["uri"])
        self.assertEqual(4 * MiB, st["virtual_size"])
        self.assert_reads(key, 1, 0, 4096)
        # The snapshot is unchanged and the volume is writable again.
        self.write(key, 3, 0, 4096)
        self.assert_reads(s["key"], 1, 0, 4096)
        e = self.h.fail("Volume.revert", sr=self.sr, snapshot=key, key=s["key"])
        self.assertEqual("Invalid_argument", e["params"][0])
        self.assert_consistent()

    def test_copy_and_compare(self):
        v = self.create(size=MiB)
        key = v["key"]
        self.write(key, 9, 2 * BLOCK, 100)
        c = self.h.ok("Volume.copy", sr=self.sr, key=key, dest_sr=self.sr)
        self.assert_reads(c["key"], 9, 2 * BLOCK, 100)
        self.write(c["key"], 1, 0, 10)
        self.assert_reads(key, 0, 0, 10)
        # Unrelated: the non-empty blocks of key.
        r = self.h.ok("Volume.compare", sr=self.sr, key=key, key2=c["key"])
        self.assertEqual({"blocksize": BLOCK, "ranges": [[2, 1]]}, r)
        # Related: the blocks written on either side since the shared layer.
        s = self.h.ok("Volume.snapshot", sr=self.sr, key=key)
        self.write(key, 2, 5 * BLOCK, BLOCK)
        r = self.h.ok("Volume.compare", sr=self.sr, key=key, key2=s["key"])
        self.assertEqual([[5, 1]], r["ranges"])
        e = self.h.fail("Volume.copy", sr=self.sr, key=key, dest_sr="/elsewhere")
        self.assertEqual("Unimplemented", e["params"][0])

    def test_compose(self):
        parent = self.create(size=MiB)
        self.write(parent["key"], 1, 0, BLOCK)
        self.write(parent["key"], 1, BLOCK, BLOCK)
        base = self.create(size=MiB)
        self.write(base["key"], 5, 0, 2 * BLOCK)
        child = self.h.ok("Volume.clone", sr=self.sr, key=base["key"])
        self.write(child["key"], 2, BLOCK, BLOCK)  # the child's delta
        self.h.ok("Volume.compose", sr=self.sr, key=child["key"], key2=parent["key"])
        self.assert_reads(child["key"], 1, 0, BLOCK)   # from the parent
        self.assert_reads(child["key"], 2, BLOCK, BLOCK)  # the delta
        self.assert_consistent()

    def test_data_destroy(self):
        v = self.create()
        e = self.h.fail("Volume.data_destroy", sr=self.sr, key=v["key"])
        self.assertEqual("Invalid_argument", e["params"][0])
        s = self.h.ok("Volume.snapshot", sr=self.sr, key=v["key"])
        self.h.ok("Volume.data_destroy", sr=self.sr, key=s["key"])
        st = self.h.ok("Volume.stat", sr=self.sr, key=s["key"])
        self.assertEqual(("CBT_Metadata", []), (st["volume_type"], st["uri"]))
        self.h.fail("Volume.clone", sr=self.sr, key=s["key"])


class CbtTest(Qcow2Test):
    def test_changed_blocks_between_snapshots_and_live(self):
        v = self.create(size=2 * MiB)
        key = v["key"]
        self.write(key, 1, 0, MiB)  # before CBT: not reported
        self.h.ok("Volume.enable_cbt", sr=self.sr, key=key)
        self.h.ok("Volume.enable_cbt", sr=self.sr, key=key)  # idempotent
        self.assertTrue(self.h.ok("Volume.stat", sr=self.sr, key=key)["cbt_enabled"])
        s1 = self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"]
        self.write(key, 2, 3 * BLOCK, 10)
        self.write(key, 2, 20 * BLOCK + 5, BLOCK)  # spans blocks 20 and 21
        s2 = self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"]
        self.write(key, 3, 31 * BLOCK, 1)
        self.assertEqual([3, 20, 21], self.changed(s1, s2))
        self.assertEqual([31], self.changed(s2, key))
        self.assertEqual([3, 20, 21, 31], self.changed(s1, key))
        # A window: blocks 16..23 only, renumbered from the window's start.
        self.assertEqual([4, 5], self.changed(s1, key, 16 * BLOCK, 8 * BLOCK))
        # An unaligned window is widened to block boundaries.
        self.assertEqual([0, 1], self.changed(s1, key, 20 * BLOCK + 100, BLOCK))
        # The bitmap covers the whole disk: 32 blocks, 4 bytes.
        r = self.h.ok("Volume.list_changed_blocks", sr=self.sr, key=s1, key2=key, offset=0,
                      length=-1)
        self.assertEqual(4, len(base64.b64decode(r["bitmap"])))

    def test_revert_then_cbt(self):
        v = self.create(size=MiB)
        key = v["key"]
        self.h.ok("Volume.enable_cbt", sr=self.sr, key=key)
        s1 = self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"]
        self.write(key, 1, 2 * BLOCK, BLOCK)
        self.h.ok("Volume.revert", sr=self.sr, snapshot=s1, key=key)
        self.assertEqual([], self.changed(s1, key))
        self.write(key, 2, 5 * BLOCK, BLOCK)
        self.assertEqual([5], self.changed(s1, key))
        s2 = self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"]
        self.write(key, 3, 7 * BLOCK, 1)
        self.assertEqual([5, 7], self.changed(s1, key))
        self.assertEqual([7], self.changed(s2, key))
        self.assertTrue(self.h.ok("Volume.stat", sr=self.sr, key=key)["cbt_enabled"])

    def test_merging_a_layer_keeps_its_changes(self):
        v = self.create(size=MiB)
        key = v["key"]
        self.h.ok("Volume.enable_cbt", sr=self.sr, key=key)
        s1 = self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"]
        self.write(key, 1, 2 * BLOCK, 10)
        s2 = self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"]
        self.write(key, 2, 6 * BLOCK, 10)
        # Destroying s2 merges its layer into the volume's top (3 images -> 2); the writes
        # made while that layer was the top must still be reported.
        self.h.ok("Volume.destroy", sr=self.sr, key=s2)
        self.assertEqual(2, len(self.image_files()))
        self.assertEqual([2, 6], self.changed(s1, key))
        self.assert_reads(key, 1, 2 * BLOCK, 10)

    def test_cbt_must_cover_the_interval(self):
        v = self.create(size=MiB)
        key = v["key"]
        s0 = self.h.ok("Volume.snapshot", sr=self.sr, key=key)["key"]
        self.h.ok("Volume.enable_cbt", sr=self.sr, key=key)
        e = self.h.fail("Volume.list_changed_blocks", sr=self.sr, key=s0, key2=key, offset=0,
                        length=-1)
        self.assertEqual("CBT_not_enabled", e["params"][0])
        self.h.ok("Volume.disable_cbt", sr=self.sr, key=key)
        self.assertFalse(self.h.ok("Volume.stat", sr=self.sr, key=key)["cbt_enabled"])
        other = self.create(size=MiB)["key"]
        e = self.h.fail("Volume.list_changed_blocks", sr=self.sr, key=s0, key2=other,
                        offset=0, length=-1)
        self.assertEqual("Invalid_argument", e["params"][0])


class RobustnessTest(Qcow2Test):
    def test_concurrent_creates_and_snapshots(self):
        base = [self.create(size=MiB)["key"] for _ in range(2)]
        results = []
        errors = []

        def worker(i):
            try:
                if i % 2:
                    results.append(self.create(size=MiB, name="c%d" % i)["key"])
                else:
                    results.append(self.h.ok("Volume.snapshot", sr=self.sr,
                                             key=base[i % 4 // 2])["key"])
            except Exception as e:  # reported below, on the main thread
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(CALL_TIMEOUT)
        self.assertEqual([], errors)
        self.assertEqual(8, len(set(results)))
        keys = set(x["key"] for x in self.h.ok("SR.ls", sr=self.sr))
        self.assertEqual(set(results) | set(base), keys)
        self.assert_consistent()

    def test_killed_mid_snapshot(self):
        v = self.create(size=MiB)
        key = v["key"]
        self.write(key, 1, 0, BLOCK)
        rnd = random.Random(int(os.environ.get("QCOW2_TEST_SEED", "1")))
        for attempt in range(4):
            p = self.h.popen("Volume.snapshot", {"sr": self.sr, "key": key})
            time.sleep(rnd.uniform(0.0, 0.25))
            p.send_signal(signal.SIGKILL)
            p.wait(CALL_TIMEOUT)
            p.stdout.close()
            p.stderr.close()
            # The next call succeeds and repairs whatever the kill left behind.
            self.h.ok("Volume.set", sr=self.sr, key=key, k="attempt", v=str(attempt))
            self.assert_consistent()
            self.assert_reads(key, 1, 0, BLOCK)
            for s in self.h.ok("SR.ls", sr=self.sr):
                self.assert_reads(s["key"], 1, 0, BLOCK)
        # Nothing leaked: once every snapshot is gone, one image is left.
        for s in self.h.ok("SR.ls", sr=self.sr):
            if s["key"] != key:
                self.h.ok("Volume.destroy", sr=self.sr, key=s["key"])
        self.assertEqual(1, len(self.image_files()))
        self.assertEqual([key + ".current"],
                         [n for n in os.listdir(self.path) if n.endswith(".current")])

    def test_orphans_are_collected_on_attach(self):
        stray = os.path.join(self.path, "0" * 32 + ".qcow2")
        open(stray, "w").close()
        link = os.path.join(self.path, "gone.current")
        os.symlink("x.qcow2", link)
        self.h.ok("SR.attach", configuration={"path": self.path})
        self.assertFalse(os.path.exists(stray))
        self.assertFalse(os.path.lexists(link))

    def test_full_disk(self):
        # A real full file system: a 4 MiB tmpfs (the tests run as root). Where mounting is
        # not allowed the test is skipped rather than faked.
        small = os.path.join(self.h.tmp, "small")
        os.mkdir(small)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 timeout=CALL_TIMEOUT).returncode == 0
        try:
            if not mounted:
                self.skipTest("cannot mount a small tmpfs here")
            path = os.path.join(small, "sr")
            self.h.ok("SR.create", uuid="u2", configuration={"path": path}, name="n",
                      description="d")
            sr = self.h.ok("SR.attach", configuration={"path": path})
            v = self.h.ok("Volume.create", sr=sr, name="v", description="d", size=64 * MiB,
                          sharable=False)
            current = os.path.join(path, v["key"] + ".current")
            ok, text = qemu_io(current, "write -P 1 0 %d" % MiB)
            self.assertTrue(ok, text)
            # Fill the rest so that even metadata cannot grow; every call must fail cleanly.
            fd = os.open(os.path.join(small, "filler"), os.O_WRONLY | os.O_CREAT)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError:
                pass
            finally:
                os.close(fd)
            self.assertLess(self.h.ok("SR.stat", sr=sr)["free_space"], 64 * 1024)
            rc, value, err = self.h.call("Volume.snapshot", sr=sr, key=v["key"])
            self.assertEqual(1, rc, value)
            self.assertIsInstance(value, dict, err)
            self.assertEqual(["SR_full"], value["params"][:1], value)
            self.assertIn("No space left", value["params"][1])
            os.unlink(os.path.join(small, "filler"))
            s = engine.Sr(path, must_be_attached=False)
            try:
                self.assertEqual([], s.check())
            finally:
                s.close()
            snap = self.h.ok("Volume.snapshot", sr=sr, key=v["key"])
            for k in (v["key"], snap["key"]):
                ok, text = qemu_io(os.path.join(path, k + ".current"), "read -P 1 0 %d" % MiB)
                self.assertTrue(ok, text)
        finally:
            if mounted:
                subprocess.run(["umount", "-l", small], timeout=CALL_TIMEOUT)


if __name__ == "__main__":
    unittest.main()
