#!/usr/bin/env python3
"""Dummy SMAPIv3 (v5) volume plugin used by `xapi-storage-script --self-test-only=true`.

Plugin.* calls. Every script of the plugin is a symlink to plugin.py, sr.py or volume.py; the
file dispatches on the name it was run as. Input: the named-parameter object on stdin (--json).
Output: the result as JSON on stdout, or an error report and exit status 1.
"""
import json
import os
import sys
import traceback

SUMMARY = "Dummy v5 SR for unit tests."


def fail(code, params, error):
    tb = traceback.extract_stack()
    print(json.dumps({"code": code, "params": params,
                      "backtrace": {"error": error,
                                    "files": [f.filename for f in tb],
                                    "lines": [f.lineno for f in tb]}}))
    sys.exit(1)


def main():
    name = os.path.basename(sys.argv[0])
    args = json.loads(sys.stdin.readline())
    if name.lower() == "plugin.query":
        result = {"plugin": "dummy", "name": "dummy SR plugin", "description": SUMMARY,
                  "vendor": "Citrix Systems Inc", "copyright": "(C) 2018 Citrix Inc",
                  "version": "1.0", "required_api_version": "5.0",
                  "features": ["SR_ATTACH", "SR_DETACH", "SR_CREATE", "SR_PROBE",
                               "VDI_CREATE", "VDI_DESTROY"],
                  "configuration": {}, "required_cluster_stack": [],
                  "supported_image_formats": []}
    elif name == "Plugin.diagnostics":
        result = "Dummy diagnostics"
    else:
        fail("SR_BACKEND_FAILURE", ["Unimplemented", name], name)
    del args
    print(json.dumps(result))


if __name__ == "__main__":
    main()
