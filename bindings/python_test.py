#!/usr/bin/env python3
"""Tests of the generated Python bindings (build/python), run as real processes.

A volume plugin written in the upstream style -- one script per method, all links to a few
Python files that import xapi.storage.api.v5.*, subclass the skeletons and dispatch on their
own basename -- is installed in a temp dir and run exactly as xapi-storage-script runs it:
`<script> --json` with the arguments on stdin. Its answers are compared with the transcript of
idl.md §4.9 and the failure reports of §4.5. Needs SMAPI_BUILD_DIR (set by ctest).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

BUILD = os.environ.get("SMAPI_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "build"))
PYTHON_DIR = os.path.abspath(os.path.join(BUILD, "python"))
TIMEOUT = 30

# The plugin, in the upstream style. Each file dispatches on basename(argv[0]).
PLUGIN_PY = '''\
#!/usr/bin/env python3
import os
import sys
import xapi
import xapi.storage.api.v5.plugin


class Implementation(xapi.storage.api.v5.plugin.Plugin_skeleton):
    def query(self, dbg):
        return {"plugin": "dummy", "name": "dummy SR plugin",
                "description": "Dummy v5 SR for unit tests.", "vendor": "Citrix Systems Inc",
                "copyright": "(C) 2018 Citrix Inc", "version": "1.0",
                "required_api_version": "5.0",
                "features": ["SR_ATTACH", "SR_DETACH", "SR_CREATE", "SR_PROBE", "VDI_CREATE",
                             "VDI_DESTROY"],
                "configuration": {}, "required_cluster_stack": [],
                "supported_image_formats": []}

    def diagnostics(self, dbg):
        return "Dummy diagnostics"


if __name__ == "__main__":
    cmd = xapi.storage.api.v5.plugin.Plugin_commandline(Implementation())
    base = os.path.basename(sys.argv[0])
    iface, op = base.split(".", 1)
    getattr(cmd, op.lower())()
'''

SR_PY = '''\
#!/usr/bin/env python3
import os
import sys
import xapi
from xapi.storage.api.v5.volume import SR_skeleton, SR_commandline, SR_does_not_exist

STAT = {"sr": "file:///tmp/dummy", "name": "dummy SR plugin",
        "description": "Dummy v5 SR for unit tests.", "total_space": 0, "free_space": 0,
        "datasources": [], "clustered": False, "health": ["Healthy", ""]}


class Implementation(SR_skeleton):
    def create(self, dbg, uuid, configuration, name, description):
        if configuration.get("uri") == "file:///nonexistent":
            raise SR_does_not_exist("/tmp/nonexist")
        return {"uri": "file:///tmp/dummy"}

    def attach(self, dbg, configuration):
        return configuration["uri"]

    def stat(self, dbg, sr):
        return dict(STAT, sr=sr)

    def ls(self, dbg, sr):
        return [{"name": "dummy SR plugin", "description": "Dummy v5 SR for unit tests.",
                 "key": "file1", "uuid": "file1", "read_write": True, "virtual_size": 0,
                 "physical_utilisation": 0, "sharable": False,
                 "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}]

    def probe(self, dbg, configuration):
        return [{"configuration": configuration, "complete": True, "extra_info": {}},
                {"configuration": dict(configuration, sr_uuid="myuuid"), "sr": STAT,
                 "complete": True, "extra_info": {}}]


if __name__ == "__main__":
    cmd = SR_commandline(Implementation())
    base = os.path.basename(sys.argv[0])
    if base == "SR.create":
        cmd.create()
    elif base == "SR.attach":
        cmd.attach()
    elif base == "SR.stat":
        cmd.stat()
    elif base == "SR.ls":
        cmd.ls()
    elif base == "SR.probe":
        cmd.probe()
    else:
        raise xapi.storage.api.v5.volume.Unimplemented(base)
'''

VOLUME_PY = '''\
#!/usr/bin/env python3
import os
import sys
import xapi
import xapi.storage.api.v5.volume
from xapi.storage.api.v5.volume import Volume_does_not_exist


class Implementation(xapi.storage.api.v5.volume.Volume_skeleton):
    def create(self, dbg, sr, name, description, size, sharable):
        if name == "missing-field":
            return {"key": "UUID", "description": description}
        if name == "shrink":
            raise xapi.XenAPIException("SR_BACKEND_FAILURE_79",
                                       ["VDI Invalid size", "shrinking not allowed"])
        if name == "internal":
            raise xapi.InternalError("boom")
        if name == "runtime":
            raise RuntimeError("oops")
        return {"name": name, "description": description, "key": "UUID", "uuid": "UUID",
                "read_write": True, "sharable": sharable, "virtual_size": size,
                "physical_utilisation": 0, "uri": ["raw+file:///tmp/disk.raw"], "keys": {},
                "tags": ["tag1"]}

    def set(self, dbg, sr, key, k, v):
        pass

    def stat(self, dbg, sr, key):
        volume = {"name": "dummy SR plugin", "description": "Dummy v5 SR for unit tests.",
                  "key": key, "uuid": key, "read_write": True, "virtual_size": 0,
                  "physical_utilisation": 0, "sharable": False,
                  "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}
        if key == "typed":
            # The upstream checks rejected both forms below (idl.md §6.1, §6.4).
            volume.update(volume_type=["CBT_Metadata"], cbt_enabled=None)
        return volume

    def destroy(self, dbg, sr, key):
        if key != "UUID":
            raise Volume_does_not_exist(key)

    def compare(self, dbg, sr, key, key2):
        return {"blocksize": 512, "ranges": [[0, 16], (32, 8)]}


if __name__ == "__main__":
    cmd = xapi.storage.api.v5.volume.Volume_commandline(Implementation())
    base = os.path.basename(sys.argv[0])
    iface, op = base.split(".", 1)
    getattr(cmd, op.lower())()
'''

SCRIPTS = {
    "plugin.py": (PLUGIN_PY, ["Plugin.Query", "Plugin.diagnostics"]),
    "sr.py": (SR_PY, ["SR.create", "SR.attach", "SR.stat", "SR.ls", "SR.probe", "SR.detach"]),
    "volume.py": (VOLUME_PY, ["Volume.create", "Volume.set", "Volume.stat", "Volume.destroy",
                              "Volume.clone", "Volume.compare"]),
}

# idl.md §4.9: (script, stdin, the plugin's stdout), from the upstream self-test transcript.
TRANSCRIPT = [
    ("Plugin.Query", '{"dbg":"debug"}',
     '{"plugin": "dummy", "name": "dummy SR plugin", "description": "Dummy v5 SR for unit tests.", "vendor": "Citrix Systems Inc", "copyright": "(C) 2018 Citrix Inc", "version": "1.0", "required_api_version": "5.0", "features": ["SR_ATTACH", "SR_DETACH", "SR_CREATE", "SR_PROBE", "VDI_CREATE", "VDI_DESTROY"], "configuration": {}, "required_cluster_stack": [], "supported_image_formats": []}'),
    ("Plugin.diagnostics", '{"dbg":"debug"}', '"Dummy diagnostics"'),
    ("SR.create",
     '{"description":"dummy description","name":"dummy name","configuration":{"uri":"file:///dev/null"},"uuid":"dummySR","dbg":"debug"}',
     '{"uri": "file:///tmp/dummy"}'),
    ("SR.attach", '{"configuration":{"uri":"file:///tmp/dummy"},"dbg":"debug"}',
     '"file:///tmp/dummy"'),
    ("SR.stat", '{"sr":"file:///tmp/dummy","dbg":"debug"}',
     '{"sr": "file:///tmp/dummy", "name": "dummy SR plugin", "description": "Dummy v5 SR for unit tests.", "total_space": 0, "free_space": 0, "datasources": [], "clustered": false, "health": ["Healthy", ""]}'),
    ("Volume.create",
     '{"sharable":false,"size":0,"description":"vdi description","name":"vdi name","sr":"file:///tmp/dummy","dbg":"debug"}',
     '{"name": "vdi name", "description": "vdi description", "key": "UUID", "uuid": "UUID", "read_write": true, "sharable": false, "virtual_size": 0, "physical_utilisation": 0, "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}'),
    ("Volume.set",
     '{"v":"redolog","k":"vdi-type","key":"UUID","sr":"file:///tmp/dummy","dbg":"debug"}',
     'null'),
    ("Volume.stat", '{"key":"UUID","sr":"file:///tmp/dummy","dbg":"debug"}',
     '{"name": "dummy SR plugin", "description": "Dummy v5 SR for unit tests.", "key": "UUID", "uuid": "UUID", "read_write": true, "virtual_size": 0, "physical_utilisation": 0, "sharable": false, "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}'),
    ("Volume.destroy", '{"key":"UUID","sr":"file:///tmp/dummy","dbg":"debug"}', 'null'),
    ("SR.ls", '{"sr":"file:///tmp/dummy","dbg":"debug"}',
     '[{"name": "dummy SR plugin", "description": "Dummy v5 SR for unit tests.", "key": "file1", "uuid": "file1", "read_write": true, "virtual_size": 0, "physical_utilisation": 0, "sharable": false, "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}]'),
    ("SR.probe", '{"configuration":{"uri":"file:///tmp/dummy"},"dbg":"debug"}',
     '[{"configuration": {"uri": "file:///tmp/dummy"}, "complete": true, "extra_info": {}}, {"configuration": {"uri": "file:///tmp/dummy", "sr_uuid": "myuuid"}, "sr": {"sr": "file:///tmp/dummy", "name": "dummy SR plugin", "description": "Dummy v5 SR for unit tests.", "total_space": 0, "free_space": 0, "datasources": [], "clustered": false, "health": ["Healthy", ""]}, "complete": true, "extra_info": {}}]'),
]

CREATE = {"dbg": "d", "sr": "s", "name": "n", "description": "vd", "size": 10,
          "sharable": False}


class Plugin(object):
    """The plugin installed in a temp dir, run as real processes."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bindings_python_test.")
        for name, (text, links) in SCRIPTS.items():
            path = os.path.join(self.dir, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
            for link in links:
                os.symlink(name, os.path.join(self.dir, link))
        self.env = dict(os.environ, PYTHONPATH=PYTHON_DIR, COLUMNS="200",
                        PYTHONDONTWRITEBYTECODE="1")

    def remove(self):
        shutil.rmtree(self.dir)

    def run(self, script, args, stdin=""):
        """Runs `script args...` with `stdin`; returns (exit status, stdout, stderr)."""
        p = subprocess.run([os.path.join(self.dir, script)] + args, input=stdin,
                           capture_output=True, text=True, env=self.env, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr

    def json(self, script, request):
        return self.run(script, ["--json"],
                        request if isinstance(request, str) else json.dumps(request))

    def report(self, script, request):
        """Runs a call expected to fail; returns the decoded failure report."""
        status, out, err = self.json(script, request)
        if status != 1:
            raise AssertionError("exit %d, stdout %r, stderr %r" % (status, out, err))
        return json.loads(out)


class PluginTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.plugin = Plugin()

    @classmethod
    def tearDownClass(cls):
        cls.plugin.remove()

    def test_transcript_gives_the_same_answers(self):
        for script, stdin, expected in TRANSCRIPT:
            with self.subTest(script=script):
                status, out, err = self.plugin.json(script, stdin)
                self.assertEqual((status, out), (0, expected + "\n"), err)

    def test_idl_error_report(self):
        report = self.plugin.report("Volume.destroy", {"dbg": "d", "sr": "s", "key": "k"})
        self.assertEqual(report["code"], "SR_BACKEND_FAILURE")
        self.assertEqual(report["params"], ["Volume_does_not_exist", "k"])
        self.assertEqual(report["backtrace"]["error"], "k")
        # Outermost frame first: the helpers, the generated module, ..., the plugin's method.
        files = report["backtrace"]["files"]
        self.assertTrue(files[0].endswith("xapi/__init__.py"), files)
        self.assertIn(os.path.join(PYTHON_DIR, "xapi/storage/api/v5/volume.py"), files)
        self.assertEqual(files[-1], os.path.join(self.plugin.dir, "Volume.destroy"))
        self.assertEqual(len(files), len(report["backtrace"]["lines"]))
        self.assertTrue(all(isinstance(n, int) for n in report["backtrace"]["lines"]))

    def test_failure_reports(self):
        cases = [
            ("SR.create", {"dbg": "d", "uuid": "u", "name": "n", "description": "d",
                           "configuration": {"uri": "file:///nonexistent"}},
             "SR_BACKEND_FAILURE", ["SR_does_not_exist", "/tmp/nonexist"], "/tmp/nonexist"),
            ("Volume.clone", {"dbg": "d", "sr": "s", "key": "k"},
             "SR_BACKEND_FAILURE", ["Unimplemented", "Volume.clone"], "Volume.clone"),
            ("Volume.create", dict(CREATE, name="shrink"), "SR_BACKEND_FAILURE_79",
             ["VDI Invalid size", "shrinking not allowed"], ""),
            ("Volume.create", dict(CREATE, name="internal"), "SR_BACKEND_FAILURE",
             ["InternalError", "boom"], "boom"),
            ("Volume.create", dict(CREATE, name="runtime"), "SR_BACKEND_FAILURE",
             ["RuntimeError", "oops"], "oops"),
            ("Volume.create", {"dbg": "d", "sr": "s"}, "SR_BACKEND_FAILURE",
             ["UnmarshalException", "UnmarshalException thing=argument missing ty=name desc="],
             "UnmarshalException thing=argument missing ty=name desc="),
            ("Volume.create", dict(CREATE, size="10"), "SR_BACKEND_FAILURE",
             ["TypeError", "TypeError expected=int64 actual='10'"],
             "TypeError expected=int64 actual='10'"),
            ("Volume.create", dict(CREATE, name="missing-field"), "SR_BACKEND_FAILURE",
             ["KeyError", "'name'"], "'name'"),
        ]
        for script, request, code, params, error in cases:
            with self.subTest(script=script, params=params):
                report = self.plugin.report(script, request)
                self.assertEqual(report["code"], code)
                self.assertEqual(report["params"], params)
                self.assertEqual(report["backtrace"]["error"], error)

    def test_unknown_script_name_is_not_a_report(self):
        # The plugin raises outside the generated command line: a traceback, as upstream.
        status, out, err = self.plugin.json("SR.detach", {"dbg": "d", "sr": "s"})
        self.assertEqual((status, out), (1, ""))
        self.assertIn("Unimplemented", err)

    def test_bad_stdin_gets_a_report(self):
        # Upstream printed a traceback on stderr and nothing on stdout (idl.md §4.5).
        report = self.plugin.report("Volume.stat", "not json")
        self.assertEqual(report["params"][0], "UnmarshalException")
        self.assertIn("stdin is not JSON", report["params"][1])
        report = self.plugin.report("Volume.stat", "[1, 2]")
        self.assertIn("stdin holds [1, 2]", report["params"][1])

    def test_reads_all_of_stdin(self):
        request = json.dumps({"key": "UUID", "sr": "s", "dbg": "d"}, indent=2)
        self.assertIn("\n", request)
        status, out, err = self.plugin.json("Volume.stat", request)
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out)["key"], "UUID")

    def test_json_flag_anywhere_in_argv(self):
        for args in (["-j"], ["extra", "--json"]):
            status, out, err = self.plugin.run("Volume.stat", args,
                                               '{"key":"k","sr":"s","dbg":"d"}')
            self.assertEqual(status, 0, err)
            self.assertEqual(json.loads(out)["key"], "k")

    def test_results_are_normalised_for_xapi(self):
        status, out, err = self.plugin.json("Volume.stat", {"key": "typed", "sr": "s", "dbg": "d"})
        self.assertEqual(status, 0, err)
        volume = json.loads(out)
        self.assertEqual(volume["volume_type"], "CBT_Metadata")
        self.assertNotIn("cbt_enabled", volume)
        status, out, err = self.plugin.json(
            "Volume.compare", {"key": "a", "key2": "b", "sr": "s", "dbg": "d"})
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), {"blocksize": 512, "ranges": [[0, 16], [32, 8]]})

    def test_usage_text(self):
        status, out, err = self.plugin.run("Volume.create", ["--help"])
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith(
            "usage: Volume.create [-h] [-j] dbg sr name description size sharable\n"), out)
        self.assertIn("Read json from stdin, print json to stdout", out)
        status, out, err = self.plugin.run("SR.create", ["-h"])
        self.assertEqual(status, 0, err)
        self.assertTrue(out.startswith(
            "usage: SR.create [-h] [-j] [--configuration CONFIGURATION CONFIGURATION] dbg uuid "
            "name description\n"), out)

    def test_plain_mode(self):
        status, out, err = self.plugin.run(
            "Volume.create", ["d", "s", "n", "desc", "1024", "TRUE"])
        self.assertEqual(status, 0, err)
        volume = json.loads(out)
        self.assertEqual((volume["virtual_size"], volume["sharable"]), (1024, True))
        status, out, err = self.plugin.run(
            "SR.create", ["--configuration", "uri", "file:///x", "--configuration", "a", "b",
                          "d", "u", "n", "desc"])
        self.assertEqual((status, out), (0, '{"uri": "file:///tmp/dummy"}\n'), err)

    def test_plain_mode_errors(self):
        status, out, err = self.plugin.run("Volume.create", ["d", "s"])
        self.assertEqual((status, out), (2, ""))
        self.assertIn("Volume.create: error: the following arguments are required: "
                      "name, description, size, sharable", err)
        status, out, err = self.plugin.run("Volume.create", ["d", "s", "n", "x", "ten", "true"])
        self.assertEqual(status, 2)
        self.assertIn("invalid int value: 'ten'", err)
        # A failure in plain mode is a traceback on stderr and nothing on stdout.
        status, out, err = self.plugin.run("Volume.destroy", ["d", "s", "k"])
        self.assertEqual((status, out), (1, ""))
        self.assertIn("Volume_does_not_exist", err)


class StorageScriptTest(unittest.TestCase):
    """The plugin under the real daemon: xapi-storage-script's self-test drives it through
    Query, SR.create/attach/stat/scan/probe and VDI.create/stat/destroy."""

    def test_daemon_self_test_passes(self):
        daemon = os.path.join(BUILD, "bin", "xapi-storage-script")
        if not os.path.exists(daemon):
            self.skipTest("xapi-storage-script is not built in " + BUILD)
        plugin = Plugin()
        root = tempfile.mkdtemp(prefix="bindings_selftest.")
        try:
            os.makedirs(os.path.join(root, "datapath"))
            shutil.copytree(plugin.dir, os.path.join(root, "volume",
                                                     "org.xen.xapi.storage.dummyv5"),
                            symlinks=True)
            p = subprocess.run([daemon, "--root=" + root, "--self-test-only=true"],
                               capture_output=True, text=True, env=plugin.env,
                               timeout=120)
            # Exit status 0 is the self-test's documented success (docs/storage-script.md).
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        finally:
            plugin.remove()
            shutil.rmtree(root)


class InProcessTest(unittest.TestCase):
    """The classes of the generated modules, used directly."""

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, PYTHON_DIR)
        import xapi.storage.api.v5.datapath
        import xapi.storage.api.v5.task
        import xapi.storage.api.v5.volume
        cls.volume = xapi.storage.api.v5.volume
        cls.datapath = xapi.storage.api.v5.datapath
        cls.task = xapi.storage.api.v5.task

    def test_every_generated_module_imports(self):
        import importlib
        names = []
        for root, dirs, files in os.walk(os.path.join(PYTHON_DIR, "xapi")):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(".py"):
                    rel = os.path.relpath(os.path.join(root, f), PYTHON_DIR)[:-3]
                    names.append(rel.replace(os.sep, ".").replace(".__init__", ""))
        self.assertIn("xapi.storage.api.v5.volume", names)
        self.assertIn("xapi.storage.smapiv2.vdi", names)
        for name in names:
            with self.subTest(module=name):
                importlib.import_module(name)

    def test_group_dispatcher_routes_and_accepts_none(self):
        impl = self.volume.Volume_server_dispatcher(self.volume.Volume_test())
        group = self.volume.volume_server_dispatcher(Volume=impl)
        answer = group._dispatch("Volume.destroy", [{"dbg": "d", "sr": "s", "key": "k"}])
        self.assertEqual(answer, {"Status": "Success", "Value": None})
        with self.assertRaises(self.volume.UnknownMethod):
            group._dispatch("SR.stat", [{"dbg": "d", "sr": "s"}])

    def test_test_classes_omit_absent_optionals(self):
        test = self.volume.volume_server_test()
        for method, args in [("Volume.stat", {"dbg": "d", "sr": "s", "key": "k"}),
                             ("SR.stat", {"dbg": "d", "sr": "s"})]:
            answer = test._dispatch(method, [args])
            self.assertEqual(answer["Status"], "Success")
            self.assertNotIn(None, answer["Value"].values(), answer)
        answer = self.task.task_server_test()._dispatch("Task.stat", [{"dbg": "d", "id": "t"}])
        self.assertEqual(answer["Status"], "Success")

    def test_error_failure_value(self):
        e = self.volume.Volume_does_not_exist("k")
        self.assertEqual(e.failure(),
                         {"Status": "Failure", "ErrorDescription": ["Volume_does_not_exist", "k"]})

    def test_data_copy_accepts_json_tuples(self):
        # Upstream required Python tuples, which json.loads never produces (idl.md §6.2).
        class Impl(self.datapath.Data_skeleton):
            def copy(self, dbg, uri, domain, remote, blocklist):
                return ["CopyV1", "op-%d" % len(blocklist["ranges"])]
        d = self.datapath.Data_server_dispatcher(Impl())
        result = d.copy({"dbg": "d", "uri": "u", "domain": "0", "remote": "nbd://h/e",
                         "blocklist": {"blocksize": 512, "ranges": [[0, 16], [32, 8]]}})
        self.assertEqual(result, ["CopyV1", "op-2"])

    def test_floats_accept_integers(self):
        class Impl(self.datapath.Data_skeleton):
            def stat(self, dbg, operation):
                return {"failed": False, "complete": True, "progress": 1}
        d = self.datapath.Data_server_dispatcher(Impl())
        self.assertEqual(d.stat({"dbg": "d", "operation": ["CopyV1", "k"]})["progress"], 1)

    def test_type_errors_name_the_type(self):
        class Impl(self.volume.SR_skeleton):
            def attach(self, dbg, configuration):
                return 42
        d = self.volume.SR_server_dispatcher(Impl())
        with self.assertRaises(TypeError) as caught:
            d.attach({"dbg": "d", "configuration": {}})
        self.assertEqual(str(caught.exception), "TypeError expected=string actual=42")
        with self.assertRaises(TypeError) as caught:
            d.attach({"dbg": "d", "configuration": {"a": 1}})
        self.assertEqual(str(caught.exception), "TypeError expected=string actual=1")


class PipInstallTest(unittest.TestCase):
    def test_offline_install(self):
        # pip needs setuptools and wheel to build without fetching anything: use the first
        # interpreter that has them (the Debian one has python3-setuptools/-wheel/-pip).
        python = None
        for candidate in (sys.executable, "/usr/bin/python3"):
            if not os.path.exists(candidate):
                continue
            probe = subprocess.run([candidate, "-c", "import setuptools, wheel, pip"],
                                   capture_output=True, text=True, timeout=TIMEOUT)
            if probe.returncode == 0:
                python = candidate
                break
        if python is None:
            self.skipTest("no interpreter here has setuptools, wheel and pip")
        work = tempfile.mkdtemp(prefix="bindings_pip_test.")
        try:
            source = os.path.join(work, "src")
            shutil.copytree(PYTHON_DIR, source)
            target = os.path.join(work, "site")
            env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
            p = subprocess.run([python, "-m", "pip", "install", "--quiet",
                                "--no-build-isolation", "--target", target, source],
                               capture_output=True, text=True, env=env, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            p = subprocess.run([python, "-c",
                                "import xapi.storage.api.v5.volume as v; print(v.__file__)"],
                               capture_output=True, text=True, timeout=TIMEOUT,
                               env=dict(os.environ, PYTHONPATH=target), cwd=work)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(p.stdout.startswith(target), p.stdout)
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    unittest.main()
