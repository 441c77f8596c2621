"""The metadata of one SR: an SQLite database `<sr>/sr.db`.

Three tables: `meta` (the SR's uuid, name, description), `images` (every qcow2 file of the SR
and the layer it is stacked on) and `volumes` (each key, its properties and the image that is
its current top). Images form a forest: a volume's data is its image plus the image's ancestors.

Invariants kept by the callers (engine.py):
* a writable volume's image belongs to it alone: no other volume and no child image uses it;
* an image is kept while a volume or a child image refers to it;
* files are created before the transaction that refers to them commits and removed after the
  transaction that forgets them commits, so a crash leaves at worst an unreferenced file, which
  the next locked operation removes.

A Store is used by one thread; transactions are BEGIN IMMEDIATE, so concurrent processes are
serialised by SQLite as well as by the SR lock.
"""

import json
import sqlite3

DB_NAME = "sr.db"
SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
  id INTEGER PRIMARY KEY,
  file TEXT UNIQUE NOT NULL,
  parent INTEGER REFERENCES images(id),
  cbt INTEGER NOT NULL DEFAULT 0       -- 1: bitmap "cbt" tracked every write since creation
);
CREATE TABLE IF NOT EXISTS volumes (
  key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  read_write INTEGER NOT NULL,
  sharable INTEGER NOT NULL,
  virtual_size INTEGER NOT NULL,
  image INTEGER NOT NULL REFERENCES images(id),
  cbt_enabled INTEGER NOT NULL DEFAULT 0,
  volume_type TEXT NOT NULL DEFAULT 'Data',
  keys TEXT NOT NULL DEFAULT '{}',
  created REAL NOT NULL
);
"""


class Volume(object):
    """One row of `volumes`, with the file name of its image."""

    FIELDS = ("key", "name", "description", "read_write", "sharable", "virtual_size", "image",
              "cbt_enabled", "volume_type", "keys", "created")

    def __init__(self, row, image_file):
        for name, value in zip(self.FIELDS, row):
            setattr(self, name, value)
        self.read_write = bool(self.read_write)
        self.sharable = bool(self.sharable)
        self.cbt_enabled = bool(self.cbt_enabled)
        self.keys = json.loads(self.keys)
        self.image_file = image_file


class Image(object):
    def __init__(self, row):
        self.id, self.file, self.parent, self.cbt = row
        self.cbt = bool(self.cbt)


class Store(object):
    def __init__(self, path, create=False):
        """Opens the database at `path`. With create=False a missing database raises
        FileNotFoundError (the caller reports SR_does_not_exist)."""
        if not create:
            # sqlite3 would silently create an empty database.
            open(path, "rb").close()
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        if create:
            self.db.executescript(_SCHEMA)

    def close(self):
        self.db.close()

    # --- transactions ---------------------------------------------------------------------

    def begin(self):
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self):
        self.db.execute("COMMIT")

    def rollback(self):
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def transaction(self):
        """`with store.transaction():` commits on success and rolls back on any exception."""
        return _Transaction(self)

    # --- meta -------------------------------------------------------------------------------

    def get_meta(self, k, default=None):
        row = self.db.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, k, v):
        self.db.execute("INSERT OR REPLACE INTO meta(k, v) VALUES (?, ?)", (k, v))

    # --- images -----------------------------------------------------------------------------

    def add_image(self, file, parent, cbt):
        cur = self.db.execute("INSERT INTO images(file, parent, cbt) VALUES (?, ?, ?)",
                              (file, parent, 1 if cbt else 0))
        return cur.lastrowid

    def image(self, image_id):
        row = self.db.execute("SELECT id, file, parent, cbt FROM images WHERE id=?",
                              (image_id,)).fetchone()
        return None if row is None else Image(row)

    def images(self):
        return [Image(r) for r in self.db.execute("SELECT id, file, parent, cbt FROM images")]

    def set_image_parent(self, image_id, parent):
        self.db.execute("UPDATE images SET parent=? WHERE id=?", (parent, image_id))

    def set_image_cbt(self, image_id, cbt):
        self.db.execute("UPDATE images SET cbt=? WHERE id=?", (1 if cbt else 0, image_id))

    def delete_image(self, image_id):
        self.db.execute("DELETE FROM images WHERE id=?", (image_id,))

    def chain(self, image_id):
        """The images from `image_id` down to its root, top first."""
        out = []
        while image_id is not None:
            img = self.image(image_id)
            out.append(img)
            image_id = img.parent
        return out

    # --- volumes ----------------------------------------------------------------------------

    _SELECT = ("SELECT v.key, v.name, v.description, v.read_write, v.sharable, v.virtual_size, "
               "v.image, v.cbt_enabled, v.volume_type, v.keys, v.created, i.file "
               "FROM volumes v JOIN images i ON i.id = v.image")

    def volume(self, key):
        row = self.db.execute(self._SELECT + " WHERE v.key=?", (key,)).fetchone()
        return None if row is None else Volume(row[:-1], row[-1])

    def volumes(self):
        rows = self.db.execute(self._SELECT + " ORDER BY v.created, v.key").fetchall()
        return [Volume(r[:-1], r[-1]) for r in rows]

    def add_volume(self, key, name, description, read_write, sharable, virtual_size, image,
                   cbt_enabled, keys, created, volume_type="Data"):
        self.db.execute(
            "INSERT INTO volumes(key, name, description, read_write, sharable, virtual_size, "
            "image, cbt_enabled, volume_type, keys, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (key, name, description, 1 if read_write else 0, 1 if sharable else 0,
             virtual_size, image, 1 if cbt_enabled else 0, volume_type, json.dumps(keys),
             created))

    def update_volume(self, key, **fields):
        sets = []
        values = []
        for name, value in fields.items():
            if name == "keys":
                value = json.dumps(value)
            elif isinstance(value, bool):
                value = 1 if value else 0
            sets.append("%s=?" % name)
            values.append(value)
        self.db.execute("UPDATE volumes SET %s WHERE key=?" % ", ".join(sets),
                        values + [key])

    def delete_volume(self, key):
        self.db.execute("DELETE FROM volumes WHERE key=?", (key,))

    def image_users(self, image_id):
        """(number of volumes on `image_id`, ids of its child images)."""
        n = self.db.execute("SELECT COUNT(*) FROM volumes WHERE image=?",
                            (image_id,)).fetchone()[0]
        children = [r[0] for r in self.db.execute("SELECT id FROM images WHERE parent=?",
                                                  (image_id,))]
        return n, children

    def integrity_ok(self):
        return self.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"


class _Transaction(object):
    def __init__(self, store):
        self.store = store

    def __enter__(self):
        self.store.begin()
        return self.store

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.store.commit()
        else:
            self.store.rollback()
        return False
