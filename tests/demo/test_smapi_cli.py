"""End-to-end tests of `smapi` (docs/smapi-cli.md): help from the IDL, argument errors, a plugin
script run directly, and calls through a real message-switch to a real xapi-storage-script
serving the test plugins (tests/plugins).

Environment: SMAPI_BIN_DIR, SMAPI_SOURCE_DIR (set by ctest).
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("SMAPI_BIN_DIR", "build/bin")
SOURCE = os.environ.get("SMAPI_SOURCE_DIR", ".")
SMAPI = os.path.join(BIN, "smapi")
DUMMY_QUEUE = "org.xen.xapi.storage.dummyv5"
DUMMY_DIR = os.path.join(SOURCE, "tests", "plugins", "volume", DUMMY_QUEUE)


def read(path):
    with open(path) as f:
        return f.read()


def smapi(*args, timeout=60):
    return subprocess.run([SMAPI] + list(args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class HelpTest(unittest.TestCase):
    def test_usage(self):
        r = smapi("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: smapi [--switch SOCK] --queue QUEUE", r.stdout)

    def test_list_has_both_levels_from_the_idl(self):
        r = smapi("help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("SMAPIv2 methods", r.stdout)
        self.assertIn("SMAPIv3 methods", r.stdout)
        for method in ["VDI.attach3", "VDI.list_changed_blocks", "Volume.create",
                       "Datapath.activate", "Plugin.query"]:
            self.assertRegex(r.stdout, r"\n  %s " % method.replace(".", r"\."))

    def test_method_help(self):
        r = smapi("help", "Volume.create")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: smapi --plugin DIR Volume.create [--dbg dbg] --sr sr --name name",
                      r.stdout)
        self.assertIn("  --size : int64", r.stdout)
        self.assertIn("result: ", r.stdout)

    def test_name_at_both_levels_shows_both(self):
        r = smapi("help", "SR.attach")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("== SMAPIv2 (through the switch) ==", r.stdout)
        self.assertIn("--device-config : ", r.stdout)
        self.assertIn("== SMAPIv3 (plugin script) ==", r.stdout)
        self.assertIn("--configuration : ", r.stdout)

    def test_method_help_flag(self):
        r = smapi("--queue", "q", "VDI.attach3", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage: smapi --queue QUEUE VDI.attach3", r.stdout)

    def test_unknown_method(self):
        r = smapi("help", "VDI.nope")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no method named 'VDI.nope'", r.stderr)
        r = smapi("--queue", "q", "Volume.create")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no SMAPIv2 method named 'Volume.create'", r.stderr)


class UsageErrorTest(unittest.TestCase):
    def check(self, args, message):
        r = smapi(*args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(message, r.stderr)
        self.assertIn("Run 'smapi --help'", r.stderr)

    def test_errors_name_what_was_wrong(self):
        self.check(["SR.attach", "--sr", "x"], "--queue QUEUE (or --plugin DIR) is required")
        self.check(["--queue", "q", "SR.attach", "--sr", "x"],
                   "SR.attach: missing --device-config")
        self.check(["--queue", "q", "SR.attach", "--sr", "x", "--device-config", "p=1",
                    "--bogus", "1"], "unknown flag --bogus for SR.attach")
        self.check(["--queue", "q", "VDI.resize", "--sr", "s", "--vdi", "v", "--new-size",
                    "big"], "--new-size: 'big' is not an integer")
        self.check(["--queue", "q", "SR.attach", "positional"], "unexpected argument")
        self.check(["--timeout", "-1", "Query.query"], "--timeout: '-1' is not a positive")
        self.check(["--frobnicate"], "unknown option --frobnicate")
        self.check([], "no method given")


class PluginModeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smapi-cli-test.")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def script(self, name, body):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(path, 0o755)

    def test_runs_the_script_as_the_daemon_does(self):
        # The script echoes its argv and stdin, so we see what it was given.
        self.script("SR.stat", 'read -r input; printf \'%s\' "$input" > "$0.in"; '
                    'echo "$@" > "$0.args"; echo \'{"sr":"s","name":"n","description":"d",'
                    '"total_space":10,"free_space":4,"datasources":[],"clustered":false,'
                    '"health":["Healthy",""]}\'')
        r = smapi("--plugin", self.tmp, "--json", "SR.stat", "--sr", "sr-handle")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["free_space"], 4)
        self.assertEqual(read(os.path.join(self.tmp, "SR.stat.args")), "--json\n")
        self.assertEqual(json.loads(read(os.path.join(self.tmp, "SR.stat.in"))),
                         {"dbg": "smapi", "sr": "sr-handle"})
        text = smapi("--plugin", self.tmp, "SR.stat", "--sr", "x")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("free_space: 4\n", text.stdout)
        self.assertIn("health:\n  - Healthy\n", text.stdout)

    def test_ill_typed_answer_is_reported(self):
        # The answer is read with the IDL's result type; a wrong type names the method.
        self.script("SR.stat", "echo '{\"sr\": 1}'")
        r = smapi("--plugin", self.tmp, "SR.stat", "--sr", "x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("smapi: SR.stat: the script's answer is not a valid SR.stat result: "
                      "Expected string, got 'I(1)'\n", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_malformed_volume_names_the_missing_field(self):
        self.script("Volume.stat", "echo '{\"key\":\"k\",\"description\":\"d\"}'")
        r = smapi("--plugin", self.tmp, "Volume.stat", "--sr", "s", "--key", "k")
        self.assertEqual(r.returncode, 1)
        self.assertIn("smapi: Volume.stat: the script's answer is not a valid Volume.stat "
                      "result: No value found for key: 'name' when unmarshalling 'volume'\n",
                      r.stderr)
        self.assertEqual(r.stdout, "")

    def volume_answer(self, virtual_size):
        return ("echo '{\"key\":\"k\",\"name\":\"n\",\"description\":\"d\","
                "\"read_write\":true,\"sharable\":false,\"virtual_size\":" + virtual_size +
                ",\"physical_utilisation\":3,\"uri\":[],\"keys\":{},\"extra\":1}'")

    def test_answer_printed_as_decoded(self):
        # What is printed is the decoded value, as a client of the method sees it: the unknown
        # key is dropped.
        self.script("Volume.stat", self.volume_answer("7"))
        r = smapi("--plugin", self.tmp, "--json", "Volume.stat", "--sr", "s", "--key", "k")
        self.assertEqual(r.returncode, 0, r.stderr)
        v = json.loads(r.stdout)
        self.assertEqual(v["key"], "k")
        self.assertEqual(v["virtual_size"], 7)
        self.assertNotIn("extra", v)

    def test_daemon_shape_check_still_applies(self):
        # The IDL reads "7" as an int64, but the daemon's own check refuses it, as the daemon
        # would: the answer is reported as its SCRIPT_FAILED error.
        self.script("Volume.stat", self.volume_answer('\"7\"'))
        r = smapi("--plugin", self.tmp, "Volume.stat", "--sr", "s", "--key", "k")
        self.assertEqual(r.returncode, 1)
        self.assertIn("SCRIPT_FAILED", r.stderr)
        self.assertIn('field \\"virtual_size\\": expected an integer', r.stderr)

    def test_error_report_code_and_params(self):
        self.script("Volume.destroy", 'echo \'{"code":"Volume_does_not_exist","params":["k1"],'
                    '"backtrace":{"error":"","files":[],"lines":[]}}\'; exit 1')
        r = smapi("--plugin", self.tmp, "Volume.destroy", "--sr", "s", "--key", "k1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("smapi: Volume.destroy failed\n  code: Backend_error_with_backtrace\n",
                      r.stderr)
        self.assertIn('"Volume_does_not_exist"', r.stderr)
        self.assertIn('"k1"', r.stderr)

    def test_missing_script(self):
        r = smapi("--plugin", self.tmp, "SR.ls", "--sr", "s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("SCRIPT_MISSING", r.stderr)

    def test_timeout_kills_the_script(self):
        self.script("SR.ls", "sleep 30")
        started = time.monotonic()
        r = smapi("--plugin", self.tmp, "--timeout", "0.5", "SR.ls", "--sr", "s")
        self.assertEqual(r.returncode, 1)
        self.assertIn("SCRIPT_TIMEOUT", r.stderr)
        self.assertLess(time.monotonic() - started, 20)

    def test_real_plugin(self):
        r = smapi("--plugin", DUMMY_DIR, "--json", "Plugin.query")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["plugin"], "dummy")


class SwitchModeTest(unittest.TestCase):
    """A real switch and a real xapi-storage-script serving tests/plugins."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="smapi-cli-e2e.")
        cls.sock = os.path.join(cls.tmp, "sock")
        cls.procs = []
        conf = os.path.join(cls.tmp, "empty.conf")
        open(conf, "w").close()
        os.makedirs(os.path.join(cls.tmp, "conf.d"))
        log = open(os.path.join(cls.tmp, "log"), "wb")
        try:
            cls.procs.append(subprocess.Popen(
                [os.path.join(BIN, "message-switch"), "--path", cls.sock],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL))
            cls.wait(lambda: os.path.exists(cls.sock), "the switch socket")
            cls.procs.append(subprocess.Popen(
                [os.path.join(BIN, "xapi-storage-script"),
                 "--root=" + os.path.join(SOURCE, "tests", "plugins"),
                 "--state=" + os.path.join(cls.tmp, "state.db"), "--switch-path=" + cls.sock,
                 "--config=" + conf, "--config-dir=" + os.path.join(cls.tmp, "conf.d")],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL))
            cls.wait(cls.served, "the dummyv5 queue")
        except Exception:
            cls.tearDownClass()
            raise
        finally:
            log.close()

    @classmethod
    def served(cls):
        r = subprocess.run([os.path.join(BIN, "message-cli"), "list", "--path", cls.sock],
                           capture_output=True, text=True, timeout=30)
        return DUMMY_QUEUE in r.stdout.split()

    @classmethod
    def wait(cls, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not predicate():
            for p in cls.procs:
                if p.poll() is not None:
                    raise RuntimeError("%s exited while waiting for %s" % (p.args[0], what))
            if time.monotonic() > deadline:
                raise RuntimeError("timed out waiting for " + what)
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        for p in reversed(cls.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def call(self, *args, queue=DUMMY_QUEUE):
        return smapi("--switch", self.sock, "--queue", queue, "--timeout", "30", *args)

    def test_query(self):
        r = self.call("--json", "Query.query")
        self.assertEqual(r.returncode, 0, r.stderr)
        q = json.loads(r.stdout)
        self.assertEqual(q["driver"], "dummy")
        self.assertEqual(q["smapi_version"], "SMAPIv3")
        text = self.call("Query.query")
        self.assertIn("smapi_version: SMAPIv3\n", text.stdout)

    def test_attach_create_and_errors(self):
        sr_dir = os.path.join(self.tmp, "sr")
        os.makedirs(sr_dir)
        r = self.call("SR.attach", "--sr", "sr-uuid-1", "--device-config",
                      "uri=file://" + sr_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.call("--json", "VDI.create", "--sr", "sr-uuid-1", "--vdi-info", "vdi=",
                      "--vdi-info", "name_label=disk", "--vdi-info", "virtual_size=1048576")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["name_label"], "disk")
        r = self.call("SR.detach", "--sr", "sr-uuid-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The SR is no longer attached: the daemon answers with a typed error.
        r = self.call("VDI.stat", "--sr", "sr-uuid-1", "--vdi", "v")
        self.assertEqual(r.returncode, 1)
        self.assertIn("smapi: VDI.stat failed\n  code: Sr_not_attached\n  params: \"sr-uuid-1\"",
                      r.stderr)
        r = self.call("--json", "VDI.stat", "--sr", "sr-uuid-1", "--vdi", "v")
        self.assertEqual(json.loads(r.stdout), {"error": ["Sr_not_attached", "sr-uuid-1"]})

    def test_no_server_times_out(self):
        r = smapi("--switch", self.sock, "--queue", "nobody.serves.this", "--timeout", "1",
                  "Query.query")
        self.assertEqual(r.returncode, 3)
        self.assertIn("no answer from queue nobody.serves.this within 1 s", r.stderr)

    def test_no_switch(self):
        r = smapi("--switch", os.path.join(self.tmp, "absent"), "--queue", "q", "--timeout",
                  "0.5", "Query.query")
        self.assertEqual(r.returncode, 3)
        self.assertIn("message-switch at", r.stderr)


if __name__ == "__main__":
    unittest.main()
