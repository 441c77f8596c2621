#!/usr/bin/env python3
"""Datapath plugin for `raw+file://<path>` URIs, paired with the dummy v5 volume plugin.

Datapath.attach offers the file itself; the other calls succeed without doing anything.
Every script is a symlink to this file; it dispatches on the name it was run as.
"""
import json
import os
import sys
import traceback


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
        result = {"plugin": "raw+file", "name": "raw file datapath",
                  "description": "Connects a raw file to a domain", "vendor": "smapiv3 tests",
                  "copyright": "", "version": "1.0", "required_api_version": "5.0",
                  "features": [], "configuration": {}, "required_cluster_stack": []}
    elif name == "Datapath.attach":
        path = args["uri"][len("raw+file://"):]
        result = {"implementations": [["File", {"path": path}]]}
    elif name in ("Datapath.activate", "Datapath.deactivate", "Datapath.detach",
                  "Datapath.open", "Datapath.close"):
        result = None
    else:
        fail("SR_BACKEND_FAILURE", ["Unimplemented", name], name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
