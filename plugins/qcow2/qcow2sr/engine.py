"""The qcow2 SR: a local directory of qcow2 images with SQLite metadata (store.py).

Layout of an SR directory (docs/qcow2-plugin.md):
  sr.db              the metadata
  sr.lock            flock(LOCK_EX) around every change of metadata or files
  <32 hex>.qcow2     the images; backing files are named relative to the directory
  <key>.current      symlink to the volume's current top image, replaced atomically (rename)

Crash safety: an operation creates new files, then commits one transaction, then removes files
that are no longer referenced, then updates symlinks. Every locked operation starts by
`_tidy()`: it removes files the metadata does not reference (left by a crash before a commit or
after it) and re-points symlinks, so a crash at any point leaves an SR that the next call
repairs and in which no referenced data was touched.

Concurrency: one process per call; the SR lock serialises changes across processes and threads.
Reads (stat, ls) use SQLite's consistent snapshot and take no lock.
"""

import base64
import errno
import fcntl
import hashlib
import json
import os
import re
import time
import uuid as uuidlib

from . import bitmap, errors, live, qemu, store

CBT_BITMAP = "cbt"
LOCK_NAME = "sr.lock"
LOCK_TIMEOUT = float(os.environ.get("QCOW2_LOCK_TIMEOUT", "120"))
BLOCK = 65536  # granularity of CBT bitmaps and of compare's block lists
_IMAGE_RE = re.compile(r"^[0-9a-f]{32}\.qcow2$")
_TMP_RE = re.compile(r"^\.tmp-.*$")
_KEY_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def run_dir():
    """Where attached SRs are registered (non-persistent host state)."""
    return os.environ.get("QCOW2_RUN_DIR", "/run/qcow2")


def _registry_entry(path):
    return os.path.join(run_dir(), "attached", hashlib.sha256(path.encode()).hexdigest()[:16])


def config_path(configuration):
    """The SR directory named by a device_config; raises Invalid_configuration if absent."""
    if not isinstance(configuration, dict) or "path" not in configuration:
        raise errors.bad_config("device_config needs key 'path' (the SR directory); got keys %s"
                                % sorted(configuration or {}))
    path = configuration["path"]
    if not path or not os.path.isabs(path):
        raise errors.bad_config("device_config path must be an absolute directory path, got %r"
                                % path)
    return os.path.realpath(path)


def is_sr(path):
    return os.path.isfile(os.path.join(path, store.DB_NAME))


def attached_srs():
    """The handles of the SRs attached on this host."""
    out = []
    try:
        names = sorted(os.listdir(os.path.join(run_dir(), "attached")))
    except FileNotFoundError:
        return out
    for name in names:
        try:
            target = os.readlink(os.path.join(run_dir(), "attached", name))
        except OSError:
            continue
        if is_sr(target):
            out.append(target)
    return out


def uri_of(path, key):
    return "qdisk://%s/%s" % (path, key)


class SrLock(object):
    """flock(LOCK_EX) on <sr>/sr.lock, waited for at most LOCK_TIMEOUT seconds."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        self.fd = os.open(os.path.join(self.path, LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                          0o600)
        deadline = time.monotonic() + LOCK_TIMEOUT
        delay = 0.001
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    raise errors.failure("SR_busy", "SR %s: lock %s still held after %d s"
                                         % (self.path, LOCK_NAME, LOCK_TIMEOUT))
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def __exit__(self, *exc):
        os.close(self.fd)
        return False


class Sr(object):
    """An SR directory. Methods that change anything take the SR lock themselves."""

    def __init__(self, path, must_be_attached=True):
        self.path = path
        if not os.path.isabs(path) or not is_sr(path):
            raise errors.NoSuchSR(path)
        if must_be_attached and not os.path.islink(_registry_entry(path)):
            raise errors.NotAttached(path)
        try:
            self.store = store.Store(os.path.join(path, store.DB_NAME))
        except Exception as e:  # sqlite3.Error or OSError: either way the SR is unusable
            raise errors.storage("SR %s: cannot open its metadata: %s" % (path, e))

    def close(self):
        self.store.close()

    # --- SR level -----------------------------------------------------------------------------

    @staticmethod
    def create(path, uuid, name, description):
        """Makes `path` (created if missing; its parent must exist) an empty SR."""
        if os.path.exists(path) and not os.path.isdir(path):
            raise errors.bad_config("SR path %s exists and is not a directory" % path)
        if not os.path.isdir(os.path.dirname(path)):
            raise errors.NoSuchSR(path)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            raise errors.storage("cannot create SR directory %s: %s" % (path, e))
        with SrLock(path):
            if is_sr(path):
                raise errors.failure("SR_exists", "%s already holds an SR (%s)"
                                     % (path, store.DB_NAME))
            tmp = os.path.join(path, ".tmp-%s" % store.DB_NAME)
            if os.path.exists(tmp):
                os.unlink(tmp)
            try:
                s = store.Store(tmp, create=True)
                with s.transaction():
                    s.set_meta("uuid", uuid)
                    s.set_meta("name", name)
                    s.set_meta("description", description)
                    s.set_meta("schema", store.SCHEMA_VERSION)
                s.close()
                # The SR exists once its database appears under its final name.
                os.rename(tmp, os.path.join(path, store.DB_NAME))
            except OSError as e:
                raise errors.storage("cannot create SR metadata in %s: %s" % (path, e))

    def attach(self):
        with SrLock(self.path):
            self._tidy()
        entry = _registry_entry(self.path)
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        tmp = entry + ".tmp.%d" % os.getpid()
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(self.path, tmp)
        os.rename(tmp, entry)

    def detach(self):
        try:
            os.unlink(_registry_entry(self.path))
        except FileNotFoundError:
            pass

    def destroy(self):
        """Removes every volume, image and the metadata; refuses while a volume is live."""
        with SrLock(self.path):
            for v in self.store.volumes():
                if live.find(self.path, v.key) is not None:
                    raise errors.busy("SR %s: volume %s is attached (a qemu-storage-daemon "
                                      "serves it); detach it first" % (self.path, v.key))
            for name in os.listdir(self.path):
                if (_IMAGE_RE.match(name) or name.endswith(".current") or _TMP_RE.match(name)):
                    os.unlink(os.path.join(self.path, name))
            self.store.close()
            for name in (store.DB_NAME, store.DB_NAME + "-journal"):
                try:
                    os.unlink(os.path.join(self.path, name))
                except FileNotFoundError:
                    pass
            os.unlink(os.path.join(self.path, LOCK_NAME))
        self.detach()
        try:
            os.rmdir(self.path)
        except OSError:
            pass  # the directory holds files that are not ours: leave it

    def stat(self):
        st = os.statvfs(self.path)
        health = ["Healthy", ""]
        if not os.access(self.path, os.W_OK):
            health = ["Unreachable", "SR directory %s is not writable" % self.path]
        elif not self.store.integrity_ok():
            health = ["Unreachable", "SR metadata %s failed its integrity check"
                      % os.path.join(self.path, store.DB_NAME)]
        out = {
            "sr": self.path,
            "name": self.store.get_meta("name", ""),
            "description": self.store.get_meta("description", ""),
            "free_space": st.f_bavail * st.f_frsize,
            "total_space": st.f_blocks * st.f_frsize,
            "datasources": [],
            "clustered": False,
            "health": health,
        }
        uuid = self.store.get_meta("uuid")
        if uuid:
            out["uuid"] = uuid
        return out

    def set_meta(self, k, v):
        with SrLock(self.path), self.store.transaction():
            self.store.set_meta(k, v)

    def ls(self):
        return [self._volume_info(v) for v in self.store.volumes()]

    # --- helpers ------------------------------------------------------------------------------

    def _file(self, name):
        return os.path.join(self.path, name)

    def _new_image_name(self):
        return uuidlib.uuid4().hex + ".qcow2"

    def _get(self, key):
        v = self.store.volume(key)
        if v is None:
            raise errors.NoSuchVolume(key)
        return v

    def _volume_info(self, v):
        try:
            used = os.stat(self._file(v.image_file)).st_blocks * 512
        except OSError:
            used = 0
        out = {
            "key": v.key,
            "uuid": v.key,
            "name": v.name,
            "description": v.description,
            "read_write": v.read_write,
            "sharable": v.sharable,
            "virtual_size": v.virtual_size,
            "physical_utilisation": used,
            "uri": [] if v.volume_type == "CBT_Metadata" else [uri_of(self.path, v.key)],
            "keys": v.keys,
            "volume_type": v.volume_type,
            "cbt_enabled": v.cbt_enabled,
        }
        return out

    def _set_current(self, key, image_file):
        """Points <key>.current at `image_file`, atomically (symlink to a temporary name, then
        rename over the old link), so a reader sees the old or the new image, never nothing."""
        link = self._file(key + ".current")
        try:
            if os.readlink(link) == image_file:
                return
        except OSError:
            pass
        tmp = self._file(".tmp-%s.%d" % (key, os.getpid()))
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(image_file, tmp)
        os.rename(tmp, link)
        dfd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _tidy(self):
        """REQUIRES: the SR lock. Removes unreferenced images, temporary files and stale
        symlinks; re-points symlinks at the committed images."""
        known = set(i.file for i in self.store.images())
        volumes = self.store.volumes()
        keys = set(v.key for v in volumes)
        for name in os.listdir(self.path):
            full = self._file(name)
            if _IMAGE_RE.match(name) and name not in known:
                os.unlink(full)
            elif _TMP_RE.match(name) and name != ".tmp-" + store.DB_NAME:
                os.unlink(full)
            elif name.endswith(".current") and name[:-len(".current")] not in keys:
                os.unlink(full)
            elif name == ".tmp-" + store.DB_NAME:
                os.unlink(full)
        for v in volumes:
            self._set_current(v.key, v.image_file)

    def _collect(self):
        """REQUIRES: the SR lock, no open transaction. Removes images nothing uses, and merges a
        layer that no volume uses into its only child (coalescing the chain)."""
        progress = True
        while progress:
            progress = False
            for img in self.store.images():
                n, children = self.store.image_users(img.id)
                if n == 0 and not children:
                    with self.store.transaction():
                        self.store.delete_image(img.id)
                    _unlink_quiet(self._file(img.file))
                    progress = True
                elif n == 0 and len(children) == 1:
                    child = self.store.image(children[0])
                    parent = self.store.image(img.parent) if img.parent is not None else None
                    try:
                        # The child reads the same data before, during and after this.
                        qemu.rebase(self._file(child.file),
                                    parent.file if parent is not None else None)
                    except qemu.QemuError:
                        # Most likely open in a qemu-storage-daemon: try again another time.
                        continue
                    with self.store.transaction():
                        self.store.set_image_parent(child.id, img.parent)
                        self.store.delete_image(img.id)
                    _unlink_quiet(self._file(img.file))
                    progress = True

    def locked(self):
        """`with sr.locked():` holds the SR lock and tidies the SR first."""
        return _Locked(self)

    def _new_top(self, base_image, size, cbt):
        """Creates a new image over `base_image` (an Image row or None); returns its file name.
        Not yet referenced by the metadata."""
        name = self._new_image_name()
        try:
            qemu.create(self._file(name), size,
                        backing=None if base_image is None else base_image.file,
                        bitmap=CBT_BITMAP if cbt else None)
        except qemu.QemuError as e:
            _unlink_quiet(self._file(name))
            raise _storage_error(e)
        return name

    # --- volumes ------------------------------------------------------------------------------

    def volume_create(self, name, description, size, sharable):
        if size < 0:
            raise errors.invalid("Volume.create: size must not be negative, got %d" % size)
        size = (size + 511) // 512 * 512
        key = str(uuidlib.uuid4())
        with self.locked():
            f = self._new_top(None, size, False)
            with self.store.transaction():
                img = self.store.add_image(f, None, False)
                self.store.add_volume(key, name, description, True, sharable, size, img, False,
                                      {}, time.time())
            self._set_current(key, f)
            return self._volume_info(self._get(key))

    def volume_stat(self, key):
        return self._volume_info(self._get(key))

    def volume_update(self, key, **fields):
        with self.locked():
            self._get(key)
            with self.store.transaction():
                self.store.update_volume(key, **fields)

    def volume_set_key(self, key, k, v):
        with self.locked():
            vol = self._get(key)
            keys = dict(vol.keys)
            if v is None:
                keys.pop(k, None)
            else:
                keys[k] = v
            with self.store.transaction():
                self.store.update_volume(key, keys=keys)

    def _freeze(self, vol):
        """REQUIRES: the lock. Makes the current image of writable `vol` immutable by moving
        `vol` onto a new overlay; returns the (now shared) old image. Done through the
        qemu-storage-daemon when one serves the volume."""
        old = self.store.image(vol.image)
        session = live.find(self.path, vol.key)
        if session is not None:
            with session:
                f = self._new_image_name()
                try:
                    session.snapshot(self._file(old.file), self._file(f),
                                     old.file, vol.virtual_size,
                                     CBT_BITMAP if vol.cbt_enabled else None)
                except live.LiveError as e:
                    _unlink_quiet(self._file(f))
                    raise errors.storage("volume %s: live snapshot failed: %s" % (vol.key, e))
                with self.store.transaction():
                    img = self.store.add_image(f, old.id, vol.cbt_enabled)
                    self.store.update_volume(vol.key, image=img)
                self._set_current(vol.key, f)
            return old
        f = self._new_top(old, vol.virtual_size, vol.cbt_enabled)
        with self.store.transaction():
            img = self.store.add_image(f, old.id, vol.cbt_enabled)
            self.store.update_volume(vol.key, image=img)
        self._set_current(vol.key, f)
        return old

    def volume_snapshot(self, key):
        with self.locked():
            vol = self._get(key)
            if vol.volume_type == "CBT_Metadata":
                raise errors.invalid("volume %s: its data was destroyed; cannot snapshot" % key)
            base = self._freeze(vol) if vol.read_write else self.store.image(vol.image)
            snap = str(uuidlib.uuid4())
            with self.store.transaction():
                self.store.add_volume(snap, vol.name, vol.description, False, vol.sharable,
                                      vol.virtual_size, base.id, vol.cbt_enabled, {},
                                      time.time())
            self._set_current(snap, base.file)
            return self._volume_info(self._get(snap))

    def volume_clone(self, key):
        with self.locked():
            vol = self._get(key)
            if vol.volume_type == "CBT_Metadata":
                raise errors.invalid("volume %s: its data was destroyed; cannot clone" % key)
            base = self._freeze(vol) if vol.read_write else self.store.image(vol.image)
            f = self._new_top(base, vol.virtual_size, False)
            clone = str(uuidlib.uuid4())
            with self.store.transaction():
                img = self.store.add_image(f, base.id, False)
                self.store.add_volume(clone, vol.name, vol.description, True, vol.sharable,
                                      vol.virtual_size, img, False, {}, time.time())
            self._set_current(clone, f)
            return self._volume_info(self._get(clone))

    def volume_copy(self, key, dest_sr):
        if os.path.realpath(dest_sr) != self.path:
            raise errors.failure("Unimplemented", "Volume.copy: only within the same SR (%s), "
                                 "not into %s" % (self.path, dest_sr))
        with self.locked():
            vol = self._get(key)
            if vol.volume_type == "CBT_Metadata":
                raise errors.invalid("volume %s: its data was destroyed; cannot copy" % key)
            if vol.read_write and live.find(self.path, key) is not None:
                raise errors.busy("volume %s is attached and writable; copy a snapshot of it"
                                  % key)
            f = self._new_image_name()
            try:
                qemu.convert(self._file(vol.image_file), self._file(f))
            except qemu.QemuError as e:
                _unlink_quiet(self._file(f))
                raise _storage_error(e)
            copy = str(uuidlib.uuid4())
            with self.store.transaction():
                img = self.store.add_image(f, None, False)
                self.store.add_volume(copy, vol.name, vol.description, True, vol.sharable,
                                      vol.virtual_size, img, False, {}, time.time())
            self._set_current(copy, f)
            return self._volume_info(self._get(copy))

    def volume_destroy(self, key):
        """Idempotent: destroying a key that does not exist succeeds."""
        with self.locked():
            vol = self.store.volume(key)
            if vol is None:
                return
            if live.find(self.path, key) is not None:
                raise errors.busy("volume %s is attached (a qemu-storage-daemon serves it); "
                                  "detach it before destroying it" % key)
            with self.store.transaction():
                self.store.delete_volume(key)
            _unlink_quiet(self._file(key + ".current"))
            self._collect()

    def volume_revert(self, snapshot, key):
        with self.locked():
            snap = self._get(snapshot)
            vol = self._get(key)
            if snap.read_write or snap.volume_type == "CBT_Metadata":
                raise errors.invalid("Volume.revert: %s is not a read-only snapshot with data"
                                     % snapshot)
            if not vol.read_write:
                raise errors.invalid("Volume.revert: %s is read-only" % key)
            base = self.store.image(snap.image)
            session = live.find(self.path, key)
            if session is not None:
                with session:
                    f = self._new_image_name()
                    try:
                        session.revert(self._file(base.file), self._file(f), base.file,
                                       snap.virtual_size,
                                       CBT_BITMAP if vol.cbt_enabled else None)
                    except live.LiveError as e:
                        _unlink_quiet(self._file(f))
                        raise errors.storage("volume %s: live revert failed: %s" % (key, e))
                    self._commit_revert(vol, snap, f)
            else:
                f = self._new_top(base, snap.virtual_size, vol.cbt_enabled)
                self._commit_revert(vol, snap, f)
            self._collect()

    def _commit_revert(self, vol, snap, f):
        with self.store.transaction():
            img = self.store.add_image(f, snap.image, vol.cbt_enabled)
            self.store.update_volume(vol.key, image=img, virtual_size=snap.virtual_size)
        self._set_current(vol.key, f)

    def volume_resize(self, key, new_size):
        with self.locked():
            vol = self._get(key)
            if not vol.read_write:
                raise errors.invalid("Volume.resize: volume %s is read-only" % key)
            new_size = (new_size + 511) // 512 * 512
            if new_size < vol.virtual_size:
                raise errors.PluginError("SR_BACKEND_FAILURE_79", [
                    "VDI Invalid size",
                    "shrinking not allowed: volume %s is %d bytes, asked for %d"
                    % (key, vol.virtual_size, new_size)])
            if new_size == vol.virtual_size:
                return
            session = live.find(self.path, key)
            try:
                if session is not None:
                    with session:
                        session.resize(new_size)
                else:
                    qemu.resize(self._file(vol.image_file), new_size)
            except (qemu.QemuError, live.LiveError) as e:
                raise _storage_error(e)
            with self.store.transaction():
                self.store.update_volume(key, virtual_size=new_size)

    def volume_enable_cbt(self, key, enable):
        with self.locked():
            vol = self._get(key)
            if vol.cbt_enabled == enable:
                return
            if vol.read_write:
                img = self.store.image(vol.image)
                session = live.find(self.path, key)
                try:
                    if session is not None:
                        with session:
                            session.bitmap(CBT_BITMAP, enable)
                    else:
                        names = qemu.bitmaps(self._file(img.file))
                        if enable and CBT_BITMAP not in names:
                            qemu.add_bitmap(self._file(img.file), CBT_BITMAP)
                        if not enable and CBT_BITMAP in names:
                            qemu.remove_bitmap(self._file(img.file), CBT_BITMAP)
                except (qemu.QemuError, live.LiveError) as e:
                    raise _storage_error(e)
                with self.store.transaction():
                    # The image's bitmap starts now, not when the image was made.
                    self.store.set_image_cbt(img.id, False)
                    self.store.update_volume(key, cbt_enabled=enable)
            else:
                with self.store.transaction():
                    self.store.update_volume(key, cbt_enabled=enable)

    def volume_data_destroy(self, key):
        with self.locked():
            vol = self._get(key)
            if vol.read_write:
                raise errors.invalid("Volume.data_destroy: volume %s is writable; only a "
                                     "snapshot's data can be destroyed" % key)
            with self.store.transaction():
                self.store.update_volume(key, volume_type="CBT_Metadata")
            # The layer stays while the chain needs it (see docs/qcow2-plugin.md).

    def volume_similar_content(self, key):
        vol = self._get(key)
        root = self.store.chain(vol.image)[-1].id
        out = []
        for other in self.store.volumes():
            if other.key != key and self.store.chain(other.image)[-1].id == root:
                out.append(other.key)
        return out

    def _paths_to_common(self, img1, img2):
        """The images of each chain above their nearest common ancestor, or None if the
        chains share nothing."""
        c1 = self.store.chain(img1)
        c2 = self.store.chain(img2)
        ids1 = [i.id for i in c1]
        for depth2, img in enumerate(c2):
            if img.id in ids1:
                return c1[:ids1.index(img.id)], c2[:depth2]
        return None

    def volume_compare(self, key, key2):
        vol = self._get(key)
        vol2 = self.store.volume(key2)
        blocks = set()
        paths = self._paths_to_common(vol.image, vol2.image) if vol2 is not None else None
        try:
            if paths is None:
                # Unrelated or missing: the non-empty blocks of `key`.
                for ext in qemu.compare_map(self._file(vol.image_file)):
                    if ext.get("data"):
                        blocks.update(_blocks_of(ext["start"], ext["length"]))
            else:
                for v, path in ((vol, paths[0]), (vol2, paths[1])):
                    for ext in qemu.compare_map(self._file(v.image_file)):
                        if ext.get("present", ext.get("data")) and ext["depth"] < len(path):
                            blocks.update(_blocks_of(ext["start"], ext["length"]))
        except qemu.QemuError as e:
            raise _storage_error(e)
        return {"blocksize": BLOCK, "ranges": _ranges(sorted(blocks))}

    def volume_list_changed_blocks(self, key, key2, offset, length):
        """Blocks written between snapshot `key` and `key2` (a later snapshot or the volume),
        as a bitmap of BLOCK-sized blocks, most significant bit first, covering [offset,
        offset+length) widened to block boundaries (length < 0: to the end of the disk)."""
        v1 = self._get(key)
        v2 = self._get(key2)
        paths = self._paths_to_common(v1.image, v2.image)
        if paths is None:
            raise errors.invalid("Volume.list_changed_blocks: %s and %s share no data; "
                                 "no changed-block information relates them" % (key, key2))
        size = max(v1.virtual_size, v2.virtual_size)
        nbits = (size + BLOCK - 1) // BLOCK
        changed = bytearray((nbits + 7) // 8)
        for v, path in ((v1, paths[0]), (v2, paths[1])):
            for img in path:
                if not img.cbt:
                    raise errors.failure(
                        "CBT_not_enabled", "changed-block tracking did not cover every write "
                        "between %s and %s (layer %s has no complete bitmap)"
                        % (key, key2, img.file))
                bits = self._read_cbt(v, img)
                if bits.granularity != BLOCK:
                    raise errors.storage("layer %s: bitmap granularity %d, expected %d"
                                         % (img.file, bits.granularity, BLOCK))
                for i in range(min(nbits, bits.nbits)):
                    if bits.is_set(i):
                        changed[i // 8] |= 0x80 >> (i % 8)
        if offset < 0:
            raise errors.invalid("Volume.list_changed_blocks: negative offset %d" % offset)
        first = offset // BLOCK
        last = nbits if length < 0 else min(nbits, (offset + length + BLOCK - 1) // BLOCK)
        out = bytearray((max(0, last - first) + 7) // 8)
        for i in range(first, last):
            if changed[i // 8] & (0x80 >> (i % 8)):
                j = i - first
                out[j // 8] |= 0x80 >> (j % 8)
        return {"granularity": BLOCK, "bitmap": base64.b64encode(bytes(out)).decode("ascii")}

    def _read_cbt(self, vol, img):
        """The bitmap of layer `img`; for the top layer of a live volume, read through its
        qemu-storage-daemon (the file's copy is stale while it runs)."""
        if vol.read_write and img.id == vol.image:
            session = live.find(self.path, vol.key)
            if session is not None:
                with session:
                    try:
                        return session.read_bitmap(CBT_BITMAP, vol.virtual_size)
                    except live.LiveError as e:
                        raise errors.storage("volume %s: reading its live bitmap failed: %s"
                                             % (vol.key, e))
        try:
            return bitmap.read_bitmap(self._file(img.file), CBT_BITMAP)
        except (OSError, bitmap.BitmapError) as e:
            raise errors.storage(str(e))

    def volume_compose(self, key, key2):
        """Child `key`'s top layer (its writes since it was last snapshotted or cloned) is
        re-stacked on parent `key2`'s data; afterwards `key2` must not be used."""
        with self.locked():
            child = self._get(key)
            parent = self._get(key2)
            if key == key2:
                raise errors.invalid("Volume.compose: key and key2 are the same volume")
            if not child.read_write:
                raise errors.invalid("Volume.compose: child %s is read-only" % key)
            for k in (key, key2):
                if live.find(self.path, k) is not None:
                    raise errors.busy("Volume.compose: volume %s is attached" % k)
            base = self._freeze(parent) if parent.read_write else self.store.image(parent.image)
            top = self.store.image(child.image)
            f = self._new_image_name()
            # A copy of the delta is re-stacked, never the original: until the commit below
            # the child keeps reading exactly what it read before.
            try:
                _copy_file(self._file(top.file), self._file(f))
                qemu.run(["rebase", "-q", "-u", "-f", "qcow2", "-b", base.file, "-F", "qcow2",
                          self._file(f)])
            except (OSError, qemu.QemuError) as e:
                _unlink_quiet(self._file(f))
                raise _storage_error(e)
            with self.store.transaction():
                img = self.store.add_image(f, base.id, top.cbt)
                self.store.update_volume(key, image=img,
                                         virtual_size=max(child.virtual_size,
                                                          parent.virtual_size))
            self._set_current(key, f)
            self._collect()

    def check(self):
        """Consistency report used by tests and diagnostics: a list of problems (empty if
        none). Every volume's image and its ancestors exist and pass `qemu-img check`, each
        image's backing file is its recorded parent, and no unreferenced image is left."""
        problems = []
        images = {i.id: i for i in self.store.images()}
        files = set(i.file for i in images.values())
        for name in os.listdir(self.path):
            if _IMAGE_RE.match(name) and name not in files:
                problems.append("unreferenced image file %s" % name)
        for img in images.values():
            full = self._file(img.file)
            if not os.path.exists(full):
                problems.append("image %s is missing" % img.file)
                continue
            try:
                qemu.run(["check", "-q", "-U", "-f", "qcow2", full])
                backing = bitmap.backing_file(full)
            except (qemu.QemuError, bitmap.BitmapError) as e:
                problems.append(str(e))
                continue
            want = images[img.parent].file if img.parent is not None else None
            if backing != want:
                problems.append("image %s: backing file %r, metadata says %r"
                                % (img.file, backing, want))
        for v in self.store.volumes():
            try:
                target = os.readlink(self._file(v.key + ".current"))
            except OSError:
                target = None
            if target != v.image_file:
                problems.append("volume %s: %s.current -> %r, metadata says %r"
                                % (v.key, v.key, target, v.image_file))
        return problems


class _Locked(object):
    def __init__(self, sr):
        self.sr = sr
        self.lock = SrLock(sr.path)

    def __enter__(self):
        self.lock.__enter__()
        try:
            self.sr._tidy()
        except BaseException:
            self.lock.__exit__(None, None, None)
            raise
        return self.sr

    def __exit__(self, *exc):
        self.sr.store.rollback()
        return self.lock.__exit__(*exc)


def probe(configuration):
    """SR.probe: candidate configurations for the (partial) `configuration`."""
    if "path" not in configuration:
        return [{"configuration": dict(configuration), "complete": False,
                 "extra_info": {"path": "required: an absolute directory path; an existing SR "
                                        "there, or SRs in its sub-directories, are reported"}}]
    path = config_path(configuration)
    results = []

    def found(p):
        s = Sr(p, must_be_attached=False)
        try:
            st = s.stat()
        finally:
            s.close()
        config = dict(configuration)
        config["path"] = p
        config["sr_uuid"] = st.get("uuid", "")
        return {"configuration": config, "complete": True, "sr": st, "extra_info": {}}

    if is_sr(path):
        return [found(path)]
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            sub = os.path.join(path, name)
            if os.path.isdir(sub) and is_sr(sub):
                results.append(found(sub))
        # The directory itself can take a new SR.
        results.append({"configuration": dict(configuration, path=path), "complete": True,
                        "extra_info": {}})
    elif not os.path.exists(path) and os.path.isdir(os.path.dirname(path)):
        results.append({"configuration": dict(configuration, path=path), "complete": True,
                        "extra_info": {"note": "the directory will be created by SR.create"}})
    return results


def _blocks_of(start, length):
    return range(start // BLOCK, (start + length + BLOCK - 1) // BLOCK)


def _ranges(blocks):
    out = []
    for b in blocks:
        if out and out[-1][0] + out[-1][1] == b:
            out[-1][1] += 1
        else:
            out.append([b, 1])
    return out


def _unlink_quiet(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _copy_file(src, dst):
    with open(src, "rb") as i, open(dst, "wb") as o:
        while True:
            chunk = i.read(1 << 20)
            if not chunk:
                break
            o.write(chunk)
        o.flush()
        os.fsync(o.fileno())


def _storage_error(e):
    text = str(e)
    if "No space left" in text or getattr(e, "errno", None) == errno.ENOSPC:
        return errors.failure("SR_full", text)
    return errors.storage(text)


def diagnostics():
    lines = ["qcow2 volume plugin", "run dir: %s" % run_dir()]
    try:
        lines.append(qemu.run(["--version"]).splitlines()[0])
    except qemu.QemuError as e:
        lines.append(str(e))
    for path in attached_srs():
        try:
            s = Sr(path)
            try:
                lines.append("SR %s: %d volumes, %d images, health %s"
                             % (path, len(s.store.volumes()), len(s.store.images()),
                                json.dumps(s.stat()["health"])))
            finally:
                s.close()
        except errors.PluginError as e:
            lines.append("SR %s: %s" % (path, e))
    return "\n".join(lines) + "\n"
