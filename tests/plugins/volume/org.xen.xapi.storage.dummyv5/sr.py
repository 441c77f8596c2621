#!/usr/bin/env python3
"""Dummy SMAPIv3 (v5) volume plugin: SR.* calls (see plugin.py)."""
import json
import os
import sys
import traceback

SUMMARY = "Dummy v5 SR for unit tests."
SR_URI = "file:///tmp/dummy"


def fail(code, params, error):
    tb = traceback.extract_stack()
    print(json.dumps({"code": code, "params": params,
                      "backtrace": {"error": error,
                                    "files": [f.filename for f in tb],
                                    "lines": [f.lineno for f in tb]}}))
    sys.exit(1)


def stat(sr):
    return {"sr": sr, "name": "dummy SR plugin", "description": SUMMARY,
            "total_space": 0, "free_space": 0, "datasources": [], "clustered": False,
            "health": ["Healthy", ""]}


def main():
    name = os.path.basename(sys.argv[0])
    args = json.loads(sys.stdin.readline())
    if name == "SR.attach":
        result = SR_URI
    elif name == "SR.create":
        result = dict(args["configuration"])
        result["uri"] = SR_URI
    elif name == "SR.detach":
        result = None
    elif name == "SR.ls":
        result = [{"name": "dummy SR plugin", "description": SUMMARY, "key": "file1",
                   "uuid": "file1", "read_write": True, "virtual_size": 0,
                   "physical_utilisation": 0, "sharable": False,
                   "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}]
    elif name == "SR.stat":
        result = stat(args["sr"])
    elif name == "SR.probe":
        config = args["configuration"]
        with_uuid = dict(config)
        with_uuid["sr_uuid"] = "myuuid"
        result = [{"configuration": config, "complete": True, "extra_info": {}},
                  {"configuration": with_uuid, "sr": stat(SR_URI), "complete": True,
                   "extra_info": {}}]
    else:
        fail("SR_BACKEND_FAILURE", ["Unimplemented", name], name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
