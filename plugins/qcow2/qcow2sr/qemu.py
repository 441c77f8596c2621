"""qemu-img, run as a child process with a deadline.

Every call names the image and the operation in its error, so a failure report says what went
wrong without a log. Images are always qcow2 and backing files are named relative to the image
(they live in the same SR directory), so an SR directory can be moved as a whole.
"""

import json
import os
import subprocess

QEMU_IMG = os.environ.get("QCOW2_QEMU_IMG", "qemu-img")
# Metadata operations finish in milliseconds; data copies (convert, rebase, commit) can take as
# long as the disk is large. Neither may hang for ever.
_SHORT_TIMEOUT = 60
_LONG_TIMEOUT = 3600


class QemuError(Exception):
    """qemu-img failed or could not run; the message has the command and its stderr."""


def run(args, timeout=_SHORT_TIMEOUT):
    """Runs `qemu-img args...` and returns its stdout. Raises QemuError on failure."""
    argv = [QEMU_IMG] + list(args)
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except FileNotFoundError:
        raise QemuError("qemu-img is not installed (looked for %r)" % QEMU_IMG)
    except subprocess.TimeoutExpired:
        raise QemuError("%s: no answer within %d s" % (" ".join(argv), timeout))
    if done.returncode != 0:
        raise QemuError("%s failed (exit %d): %s" % (" ".join(argv), done.returncode,
                                                      done.stderr.decode("utf-8", "replace").strip()))
    return done.stdout.decode("utf-8", "replace")


def create(path, size, backing=None, bitmap=None):
    """Creates the qcow2 image `path` of `size` bytes, thin, optionally over `backing` (a file
    name in the same directory). The backing file is not opened (-u), so this works while a
    running qemu-storage-daemon holds it. With `bitmap`, a persistent dirty bitmap of that name
    is added so that every write from the first one is tracked."""
    args = ["create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=off"]
    if backing is not None:
        args += ["-u", "-b", backing, "-F", "qcow2"]
    run(args + [path, str(size)])
    if bitmap is not None:
        add_bitmap(path, bitmap)


def info(path, force_share=False):
    """The `qemu-img info --output=json` of `path` (without the backing chain)."""
    args = ["info", "--output=json"]
    if force_share:
        args.append("-U")
    return json.loads(run(args + [path]))


def check(path):
    """Raises QemuError unless `qemu-img check` finds `path` free of errors and leaks."""
    run(["check", "-q", "-f", "qcow2", path])


def resize(path, size):
    run(["resize", "-q", "-f", "qcow2", path, str(size)])


def add_bitmap(path, name):
    run(["bitmap", "-f", "qcow2", "--add", path, name])


def remove_bitmap(path, name):
    run(["bitmap", "-f", "qcow2", "--remove", path, name])


def bitmaps(path, force_share=False):
    """The names of the persistent bitmaps of `path`."""
    data = info(path, force_share).get("format-specific", {}).get("data", {})
    return [b["name"] for b in data.get("bitmaps", [])]


def rebase(path, backing):
    """Safe rebase of `path` onto `backing` (None: no backing): the data `path` read through
    its old backing and that differs from the new one is copied into it first, so what `path`
    reads never changes, even if this is interrupted."""
    args = ["rebase", "-q", "-f", "qcow2"]
    if backing is None:
        args += ["-b", ""]
    else:
        args += ["-b", backing, "-F", "qcow2"]
    run(args + [path], timeout=_LONG_TIMEOUT)


def convert(source, dest):
    """Copies what `source` reads (its whole chain) into the new standalone image `dest`."""
    run(["convert", "-q", "-f", "qcow2", "-O", "qcow2", source, dest], timeout=_LONG_TIMEOUT)


def compare_map(path):
    """The allocation map of `path` and its chain: a list of dicts with start, length, data,
    zero (see `qemu-img map`)."""
    return json.loads(run(["map", "--output=json", "-f", "qcow2", path], timeout=_LONG_TIMEOUT))
