#!/usr/bin/env python3
"""The qcow2 volume plugin (org.xen.xapi.storage.qcow2): one executable per method.

Each method script in org.xen.xapi.storage.qcow2/ is a symlink to this file; it dispatches on
the name it was run as (`Volume.snapshot`, `Plugin.Query`, ...), decodes the call with the
generated bindings (found through PYTHONPATH, e.g. PYTHONPATH=<build>/python) and runs the
logic in the qcow2sr package next to this file. Run under any other name it prints the
method names it serves.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

try:
    import xapi
    import xapi.storage.api.v5.plugin as plugin_api
    import xapi.storage.api.v5.volume as volume_api
except ImportError as missing:
    # Without the bindings there is no handle_exception: print the idl.md §4.4 report here so
    # that the daemon shows the reason instead of "bad json on stdout".
    import json
    message = ("the generated Python bindings (xapi.storage.api.v5) cannot be imported (%s); "
               "run with PYTHONPATH=<build>/python" % missing)
    if "--json" in sys.argv or "-j" in sys.argv:
        print(json.dumps({"code": "SR_BACKEND_FAILURE", "params": ["MissingDependency", message],
                          "backtrace": {"error": message, "files": [], "lines": []}}))
    else:
        sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), message))
    sys.exit(1)

from qcow2sr import engine, errors  # noqa: E402

VERSION = "1.0"

# Features we really implement (idl.md §4.6). The daemon adds the ones implied by scripts.
FEATURES = [
    "SR_ATTACH", "SR_CREATE", "SR_DELETE", "SR_DETACH", "SR_SCAN", "SR_PROBE", "SR_UPDATE",
    "VDI_CREATE", "VDI_DELETE", "VDI_ATTACH", "VDI_DETACH", "VDI_ACTIVATE", "VDI_DEACTIVATE",
    "VDI_UPDATE", "VDI_RESIZE", "VDI_CLONE", "VDI_SNAPSHOT", "VDI_REVERT", "VDI_CONFIG_CBT",
    "VDI_COMPOSE", "THIN_PROVISIONING",
]


def _translate(e):
    """The generated exception (or XenAPIException) for a library failure."""
    if isinstance(e, errors.NoSuchVolume):
        return volume_api.Volume_does_not_exist(e.key)
    if isinstance(e, errors.NoSuchSR):
        return volume_api.SR_does_not_exist(e.what)
    if isinstance(e, errors.NotAttached):
        return volume_api.Sr_not_attached(e.sr)
    return xapi.XenAPIException(e.code, [str(p) for p in e.params])


def _call(fn, *args):
    try:
        return fn(*args)
    except errors.PluginError as e:
        raise _translate(e)


def _with_sr(sr, fn, must_be_attached=True):
    def run():
        s = engine.Sr(sr, must_be_attached=must_be_attached)
        try:
            return fn(s)
        finally:
            s.close()
    return _call(run)


class Plugin(plugin_api.Plugin_skeleton):
    def query(self, dbg):
        return {
            "plugin": "qcow2",
            "name": "qcow2 volume plugin",
            "description": "Local directory of thin qcow2 images with snapshots, clones, "
                           "revert and changed-block tracking",
            "vendor": "smapiv3 project",
            "copyright": "(C) the smapiv3 project",
            "version": VERSION,
            "required_api_version": "5.0",
            "features": FEATURES,
            "configuration": {"path": "absolute path of the SR directory (created by "
                                      "SR.create if missing; its parent must exist)"},
            "required_cluster_stack": [],
        }

    def diagnostics(self, dbg):
        return _call(engine.diagnostics)

    def ls(self, dbg):
        return engine.attached_srs()


class SR(volume_api.SR_skeleton):
    def probe(self, dbg, configuration):
        return _call(engine.probe, configuration)

    def create(self, dbg, uuid, configuration, name, description):
        def run():
            path = engine.config_path(configuration)
            engine.Sr.create(path, uuid, name, description)
            out = dict(configuration)
            out["path"] = path
            return out
        return _call(run)

    def attach(self, dbg, configuration):
        def run():
            path = engine.config_path(configuration)
            s = engine.Sr(path, must_be_attached=False)
            try:
                s.attach()
            finally:
                s.close()
            return path
        return _call(run)

    def detach(self, dbg, sr):
        # Idempotent: detaching an SR that is not attached (or gone) succeeds.
        def run():
            if engine.is_sr(sr):
                engine.Sr(sr, must_be_attached=False).detach()
        return _call(run)

    def destroy(self, dbg, sr):
        return _with_sr(sr, lambda s: s.destroy())

    def stat(self, dbg, sr):
        return _with_sr(sr, lambda s: s.stat())

    def set_name(self, dbg, sr, new_name):
        return _with_sr(sr, lambda s: s.set_meta("name", new_name))

    def set_description(self, dbg, sr, new_description):
        return _with_sr(sr, lambda s: s.set_meta("description", new_description))

    def ls(self, dbg, sr):
        return _with_sr(sr, lambda s: s.ls())


class Volume(volume_api.Volume_skeleton):
    def create(self, dbg, sr, name, description, size, sharable):
        return _with_sr(sr, lambda s: s.volume_create(name, description, size, sharable))

    def snapshot(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_snapshot(key))

    def clone(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_clone(key))

    def copy(self, dbg, sr, key, dest_sr):
        return _with_sr(sr, lambda s: s.volume_copy(key, dest_sr))

    def destroy(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_destroy(key))

    def revert(self, dbg, sr, snapshot, key):
        return _with_sr(sr, lambda s: s.volume_revert(snapshot, key))

    def set_name(self, dbg, sr, key, new_name):
        return _with_sr(sr, lambda s: s.volume_update(key, name=new_name))

    def set_description(self, dbg, sr, key, new_description):
        return _with_sr(sr, lambda s: s.volume_update(key, description=new_description))

    def set(self, dbg, sr, key, k, v):
        return _with_sr(sr, lambda s: s.volume_set_key(key, k, v))

    def unset(self, dbg, sr, key, k):
        return _with_sr(sr, lambda s: s.volume_set_key(key, k, None))

    def resize(self, dbg, sr, key, new_size):
        return _with_sr(sr, lambda s: s.volume_resize(key, new_size))

    def stat(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_stat(key))

    def compare(self, dbg, sr, key, key2):
        return _with_sr(sr, lambda s: s.volume_compare(key, key2))

    def similar_content(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_similar_content(key))

    def enable_cbt(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_enable_cbt(key, True))

    def disable_cbt(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_enable_cbt(key, False))

    def data_destroy(self, dbg, sr, key):
        return _with_sr(sr, lambda s: s.volume_data_destroy(key))

    def list_changed_blocks(self, dbg, sr, key, key2, offset, length):
        return _with_sr(sr, lambda s: s.volume_list_changed_blocks(key, key2, offset, length))

    def compose(self, dbg, sr, key, key2):
        return _with_sr(sr, lambda s: s.volume_compose(key, key2))


COMMANDS = {
    "Plugin": (plugin_api.Plugin_commandline, Plugin,
               ["query", "diagnostics", "ls"]),
    "SR": (volume_api.SR_commandline, SR,
           ["probe", "create", "attach", "detach", "destroy", "stat", "set_name",
            "set_description", "ls"]),
    "Volume": (volume_api.Volume_commandline, Volume,
               ["create", "snapshot", "clone", "copy", "destroy", "revert", "set_name",
                "set_description", "set", "unset", "resize", "stat", "compare",
                "similar_content", "enable_cbt", "disable_cbt", "data_destroy",
                "list_changed_blocks", "compose"]),
}


def main():
    base = os.path.basename(sys.argv[0])
    iface, _, method = base.partition(".")
    if iface in COMMANDS and method.lower() in [m.lower() for m in COMMANDS[iface][2]]:
        commandline, impl, methods = COMMANDS[iface]
        name = [m for m in methods if m.lower() == method.lower()][0]
        getattr(commandline(impl()), name)()
        return
    if base in ("-h", "--help") or "--help" in sys.argv[1:] or "-h" in sys.argv[1:]:
        print("usage: <Interface>.<method> [--json] ...  (run through one of the method links)")
    for iface, (_, _, methods) in sorted(COMMANDS.items()):
        for m in methods:
            print("%s.%s" % (iface, m))


if __name__ == "__main__":
    main()
