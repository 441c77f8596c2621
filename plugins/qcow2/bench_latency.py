#!/usr/bin/env python3
"""Latency of the qcow2 plugin's method scripts, each run as xapi-storage-script runs it (a new
process, `--json`, the params object on stdin), in a temporary SR.

Usage: PYTHONPATH=<build>/python python3 plugins/qcow2/bench_latency.py [N]
Prints, per method, the p50/p90 wall time and the mean CPU time (user+sys of the child, which
does not depend on how loaded the host is). Asserts nothing.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

PLUGIN = os.path.join(os.path.dirname(os.path.realpath(__file__)), "org.xen.xapi.storage.qcow2")
GiB = 1 << 30


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    tmp = tempfile.mkdtemp(prefix="qcow2-bench-")
    env = dict(os.environ, QCOW2_RUN_DIR=tmp + "/run", QDISK_RUN_DIR=tmp + "/qdisk",
               PYTHONDONTWRITEBYTECODE="1")

    def call(method, **params):
        done = subprocess.run([os.path.join(PLUGIN, method), "--json"],
                              input=json.dumps(dict(params, dbg="bench")).encode(),
                              stdout=subprocess.PIPE, env=env, check=True, timeout=120)
        return json.loads(done.stdout)

    def bench(name, fn):
        walls = []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(n):
            start = time.monotonic()
            fn()
            walls.append((time.monotonic() - start) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = ((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)) * 1000 / n
        walls.sort()
        print("%-24s wall p50 %7.1f ms  p90 %7.1f ms  cpu %6.1f ms  (n=%d)"
              % (name, walls[n // 2], walls[int(n * 0.9)], cpu, n))

    try:
        call("SR.create", uuid="u", configuration={"path": tmp + "/sr"}, name="n",
             description="d")
        sr = call("SR.attach", configuration={"path": tmp + "/sr"})
        key = call("Volume.create", sr=sr, name="v", description="d", size=GiB,
                   sharable=False)["key"]
        bench("Plugin.query", lambda: call("Plugin.query"))
        bench("Volume.stat", lambda: call("Volume.stat", sr=sr, key=key))
        bench("Volume.create (1 GiB)", lambda: call("Volume.create", sr=sr, name="v",
                                                    description="d", size=GiB,
                                                    sharable=False))
        bench("Volume.snapshot", lambda: call("Volume.snapshot", sr=sr, key=key))
        call("Volume.enable_cbt", sr=sr, key=key)
        snap = call("Volume.snapshot", sr=sr, key=key)["key"]
        bench("Volume.list_changed_blocks", lambda: call(
            "Volume.list_changed_blocks", sr=sr, key=snap, key2=key, offset=0, length=-1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
