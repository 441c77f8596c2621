#!/usr/bin/env python3
"""Dummy SMAPIv3 (v5) volume plugin: Volume.* calls (see plugin.py)."""
import json
import os
import sys
import traceback
import uuid

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
    if name == "Volume.create":
        key = str(uuid.uuid4())
        result = {"name": args["name"], "description": args["description"], "key": key,
                  "uuid": key, "read_write": True, "sharable": args["sharable"],
                  "virtual_size": args["size"], "physical_utilisation": 0,
                  "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}
    elif name == "Volume.stat":
        result = {"name": "dummy SR plugin", "description": SUMMARY, "key": args["key"],
                  "uuid": args["key"], "read_write": True, "virtual_size": 0,
                  "physical_utilisation": 0, "sharable": False,
                  "uri": ["raw+file:///tmp/disk.raw"], "keys": {}, "tags": ["tag1"]}
    elif name in ("Volume.destroy", "Volume.set", "Volume.unset"):
        result = None
    else:
        fail("SR_BACKEND_FAILURE", ["Unimplemented", name], name)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
