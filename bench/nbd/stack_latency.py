#!/usr/bin/env python3
"""Whole-stack latency of VDI.activate3 / VDI.deactivate, and where the time goes.

    bench/nbd/stack_latency.py BUILD_DIR [--cycles N]

In a fresh temporary directory it starts a message-switch and xapi-storage-script serving the
qcow2 volume plugin and the qdisk datapath plugin (the set-up of scripts/demo), creates and
attaches an SR and a 64 MiB VDI, attaches the VDI (VDI.attach3), then N times sends
VDI.activate3 and VDI.deactivate as xapi does (a JSON-RPC request on the plugin's queue, here
sent by BUILD_DIR/bin/smapi) and prints p50/p99 of each.

For each of those calls the daemon runs two scripts (storage-script.md §3.4.3): the volume
plugin's Volume.stat (Python) and the datapath's Datapath.activate / Datapath.deactivate
(native). The breakdown times, in the same cycles, each of those scripts run directly with the
same parameters, the Python interpreter start alone, the volume plugin's start-up alone (its
imports, no work), a call through the switch and the daemon that runs no script
(VDI.similar_content), and the start of the smapi client itself, which xapi does not pay.

It prints figures and asserts no speed. Every process it starts is stopped by its PID, also on
failure; the temporary directory is removed. Only the Python standard library is used.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

QUEUE = "org.xen.xapi.storage.qcow2"
TIMEOUT = 60  # seconds any one command may take


class BenchFailure(Exception):
    """A step failed; the message says which and why."""


class Stack:
    def __init__(self, build, source, work):
        self.build, self.source, self.work = build, source, work
        self.bin = os.path.join(build, "bin")
        self.sock = os.path.join(work, "switch.sock")
        self.volume_dir = os.path.join(work, "plugins", "volume", QUEUE)
        self.datapath_dir = os.path.join(work, "plugins", "datapath", "qdisk")
        self.children = []  # (name, Popen) in start order
        self.env = dict(os.environ)
        self.env.update({
            "PYTHONPATH": os.path.join(build, "python"),
            "QCOW2_RUN_DIR": os.path.join(work, "run", "qcow2"),
            "QDISK_RUN_DIR": os.path.join(work, "run", "qdisk"),
        })

    def run(self, argv, stdin_text=None):
        try:
            r = subprocess.run(argv, input=stdin_text if stdin_text is not None else "",
                               capture_output=True, text=True, env=self.env, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BenchFailure("%s did not finish within %d s" % (" ".join(argv), TIMEOUT))
        if r.returncode != 0:
            raise BenchFailure("%s exited %d\n%s%s" % (" ".join(argv), r.returncode, r.stdout,
                                                      r.stderr))
        return r.stdout

    def smapi(self, method, **args):
        argv = [os.path.join(self.bin, "smapi"), "--switch", self.sock, "--queue", QUEUE,
                "--json", "--timeout", str(TIMEOUT), method]
        for name, value in args.items():
            argv += ["--" + name.replace("_", "-"),
                     value if isinstance(value, str) else json.dumps(value)]
        return json.loads(self.run(argv))

    def script(self, directory, method, params):
        """Runs one SMAPIv3 script as the daemon does: the call's parameters as JSON on stdin."""
        return self.run([os.path.join(directory, method), "--json"], json.dumps(params))

    def start(self, name, argv):
        log = open(os.path.join(self.work, name + ".log"), "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=self.env, start_new_session=True)
        log.close()
        self.children.append((name, proc))

    def wait_for(self, what, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while not predicate():
            for name, proc in self.children:
                if proc.poll() is not None:
                    raise BenchFailure("%s exited (status %s) while waiting for %s"
                                       % (name, proc.returncode, what))
            if time.monotonic() > deadline:
                raise BenchFailure("timed out after %d s waiting for %s" % (timeout, what))
            time.sleep(0.05)

    def queue_served(self):
        try:
            out = self.run([os.path.join(self.bin, "message-cli"), "list", "--path", self.sock,
                            "--timeout", "5"])
        except BenchFailure:
            return False
        return QUEUE in out.split()

    def setup(self):
        os.makedirs(os.path.dirname(self.volume_dir))
        os.makedirs(os.path.dirname(self.datapath_dir))
        os.symlink(os.path.join(self.source, "plugins", "qcow2", QUEUE), self.volume_dir)
        os.symlink(os.path.join(self.build, "plugins", "datapath", "qdisk"), self.datapath_dir)
        os.makedirs(self.env["QCOW2_RUN_DIR"])
        os.makedirs(self.env["QDISK_RUN_DIR"])
        os.makedirs(os.path.join(self.work, "conf.d"))
        conf = os.path.join(self.work, "xapi-storage-script.conf")
        open(conf, "w").close()
        self.start("message-switch", [os.path.join(self.bin, "message-switch"),
                                      "--path", self.sock])
        self.wait_for("the switch socket", lambda: os.path.exists(self.sock))
        self.start("xapi-storage-script", [
            os.path.join(self.bin, "xapi-storage-script"),
            "--root=" + os.path.join(self.work, "plugins"),
            "--state=" + os.path.join(self.work, "state.db"), "--switch-path=" + self.sock,
            "--config=" + conf, "--config-dir=" + os.path.join(self.work, "conf.d")])
        self.wait_for("queue %s to be served" % QUEUE, self.queue_served)

    def stop_all(self):
        """Stops what we started, newest first: SIGTERM, then SIGKILL after a deadline."""
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.children = []

    def stop_leftover_daemons(self):
        """Stops qemu-storage-daemons of this run that a failed detach left behind."""
        run = self.env["QDISK_RUN_DIR"]
        for entry in os.listdir(run) if os.path.isdir(run) else []:
            try:
                pid = int(open(os.path.join(run, entry, "qsd.pid")).read().strip())
                cmdline = open("/proc/%d/cmdline" % pid, "rb").read().decode(errors="replace")
            except (OSError, ValueError):
                continue
            if "qemu-storage-daemon" not in cmdline or self.work not in cmdline:
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if os.path.exists("/proc/%d" % pid):
                os.kill(pid, signal.SIGKILL)


def timed(samples, name, action):
    started = time.monotonic()
    action()
    samples.setdefault(name, []).append((time.monotonic() - started) * 1000)


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))]


def measure(stack, cycles):
    sr = str(uuid.uuid4())
    sr_path = os.path.join(stack.work, "sr1")
    dp, vm = "vbd/1/xvda", "1"
    stack.smapi("SR.create", sr=sr, name_label="bench", name_description="stack latency",
                device_config={"path": sr_path}, physical_size=0)
    stack.smapi("SR.attach", sr=sr, device_config={"path": sr_path})
    vdi = stack.smapi("VDI.create", sr=sr, vdi_info={
        "vdi": "", "name_label": "bench", "name_description": "64 MiB",
        "virtual_size": 64 * 1024 * 1024})["vdi"]
    stack.smapi("VDI.attach3", dp=dp, sr=sr, vdi=vdi, vm=vm, read_write=True)
    attached = True
    # The parameters the daemon gives the scripts (its log shows them): the volume's SR is the
    # SR.attach result, here the SR path; the datapath URI is the one Volume.stat returns.
    stat_params = {"dbg": "bench", "sr": sr_path, "key": vdi}
    uri = json.loads(stack.script(stack.volume_dir, "Volume.stat", stat_params))["uri"][0]
    dp_params = {"dbg": "bench", "uri": uri, "domain": vm}
    main_py = os.path.join(stack.volume_dir, "Volume.stat")
    samples = {}
    try:
        # One warm-up cycle, not counted: the first runs fill caches.
        stack.smapi("VDI.activate3", dp=dp, sr=sr, vdi=vdi, vm=vm)
        stack.smapi("VDI.deactivate", dp=dp, sr=sr, vdi=vdi, vm=vm)
        for _ in range(cycles):
            timed(samples, "VDI.activate3 (whole stack)",
                  lambda: stack.smapi("VDI.activate3", dp=dp, sr=sr, vdi=vdi, vm=vm))
            timed(samples, "VDI.deactivate (whole stack)",
                  lambda: stack.smapi("VDI.deactivate", dp=dp, sr=sr, vdi=vdi, vm=vm))
            timed(samples, "Volume.stat script (qcow2, Python)",
                  lambda: stack.script(stack.volume_dir, "Volume.stat", stat_params))
            timed(samples, "Datapath.activate script (qdisk, native)",
                  lambda: stack.script(stack.datapath_dir, "Datapath.activate", dp_params))
            timed(samples, "Datapath.deactivate script (qdisk, native)",
                  lambda: stack.script(stack.datapath_dir, "Datapath.deactivate", dp_params))
            timed(samples, "python3 -c pass (interpreter start)",
                  lambda: stack.run([sys.executable, "-c", "pass"]))
            # Run under its own file name the plugin imports everything and does no work.
            timed(samples, "volume plugin start-up (imports only)",
                  lambda: stack.run([sys.executable, os.path.realpath(main_py)]))
            timed(samples, "VDI.similar_content (stack, no script)",
                  lambda: stack.smapi("VDI.similar_content", sr=sr, vdi=vdi))
            timed(samples, "smapi --help (client start only)",
                  lambda: stack.run([os.path.join(stack.bin, "smapi"), "--help"]))
        stack.smapi("VDI.detach", dp=dp, sr=sr, vdi=vdi, vm=vm)
        attached = False
        stack.smapi("SR.detach", sr=sr)
    finally:
        if attached:
            for method in ["VDI.deactivate", "VDI.detach"]:
                try:
                    stack.smapi(method, dp=dp, sr=sr, vdi=vdi, vm=vm)
                except BenchFailure as e:
                    print("stack-latency: cleanup: %s" % e, file=sys.stderr)
    return samples


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("build", help="the build directory (holding bin/, python/, plugins/)")
    p.add_argument("--cycles", type=int, default=30,
                   help="activate/deactivate cycles to time (default 30)")
    a = p.parse_args()
    if a.cycles < 1:
        p.error("--cycles must be positive, got %d" % a.cycles)
    build = os.path.abspath(a.build)
    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    missing = [t for t in ["bin/smapi", "bin/message-switch", "bin/xapi-storage-script",
                           "bin/message-cli", "plugins/datapath/qdisk", "python/xapi"]
               if not os.path.exists(os.path.join(build, t))]
    missing += [t for t in ["qemu-img", "qemu-storage-daemon"] if not shutil.which(t)]
    if missing:
        print("stack-latency: missing %s (build the project first)" % ", ".join(missing),
              file=sys.stderr)
        return 2
    # SIGTERM and SIGINT (even when started in the background) unwind like Ctrl-C, so the
    # cleanup below still runs.
    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    work = tempfile.mkdtemp(prefix="smapi-stack-latency.")
    stack = Stack(build, source, work)
    ok = False
    try:
        stack.setup()
        load = os.getloadavg()[0]
        samples = measure(stack, a.cycles)
        ok = True
    except BenchFailure as e:
        print("stack-latency: FAILED: %s" % e, file=sys.stderr)
    except KeyboardInterrupt:
        print("stack-latency: interrupted", file=sys.stderr)
    finally:
        stack.stop_all()
        stack.stop_leftover_daemons()
    if not ok:
        print("stack-latency: logs kept in %s" % work, file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("whole-stack activate/deactivate, %d cycles, load average %.1f -> %.1f"
          % (a.cycles, load, os.getloadavg()[0]))
    print("%-44s %9s %9s" % ("call", "p50 ms", "p99 ms"))
    for name, values in samples.items():
        print("%-44s %9.1f %9.1f" % (name, percentile(values, 50), percentile(values, 99)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
