"""Offline reader of persistent dirty bitmaps stored in a qcow2 file.

The qcow2 format (QEMU's docs/interop/qcow2.txt) keeps persistent bitmaps in a header extension
(type 0x23852875) that points at a bitmap directory; each directory entry points at a bitmap
table whose entries point at clusters holding the bits, least significant bit first. Reading
the file directly needs no process and no lock, which matters because the images read here are
either closed or open read-only (a backing layer of a live volume, whose bitmaps QEMU stored when
it reopened the layer read-only). A bitmap whose "in use" flag is set was being written by a
process that has not stored it yet; its on-disk bits are stale and reading it is refused.

Not thread-safe by itself; every call opens and closes the file.
"""

import struct

_MAGIC = b"QFI\xfb"
_BITMAPS_EXTENSION = 0x23852875
_AUTOCLEAR_BITMAPS = 1
_FLAG_IN_USE = 1
_ENTRY_OFFSET_MASK = 0x00FFFFFFFFFFFE00


class BitmapError(Exception):
    """The image or its bitmap cannot be read; the message names the file and the reason."""


class Bitmap(object):
    """The bits of one bitmap: `granularity` bytes per bit, `bits` a bytearray of
    ceil(virtual_size / granularity) bits, bit i at bits[i // 8] >> (i % 8)."""

    def __init__(self, granularity, nbits, bits):
        self.granularity = granularity
        self.nbits = nbits
        self.bits = bits

    def is_set(self, i):
        return (self.bits[i // 8] >> (i % 8)) & 1 == 1


def _read_at(f, offset, size, path, what):
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise BitmapError("%s: truncated file while reading %s at offset %d" % (path, what, offset))
    return data


def backing_file(path):
    """The backing file name recorded in the qcow2 header of `path`, or None."""
    with open(path, "rb") as f:
        header = _read_at(f, 0, 20, path, "the header")
        if header[:4] != _MAGIC:
            raise BitmapError("%s: not a qcow2 image" % path)
        offset, size = struct.unpack(">QI", header[8:20])
        if offset == 0:
            return None
        return _read_at(f, offset, size, path, "the backing file name").decode("utf-8")


def list_bitmaps(path):
    """Returns {name: (granularity, flags, table_offset, table_size)} for the image at `path`.
    Raises BitmapError if the file is not a qcow2 v3 image or its bitmap extension is damaged."""
    with open(path, "rb") as f:
        return _directory(f, path)[0]


def _directory(f, path):
    header = _read_at(f, 0, 104, path, "the header")
    if header[:4] != _MAGIC:
        raise BitmapError("%s: not a qcow2 image" % path)
    version, = struct.unpack(">I", header[4:8])
    cluster_bits, = struct.unpack(">I", header[20:24])
    size, = struct.unpack(">Q", header[24:32])
    if version < 3:
        return {}, cluster_bits, size
    autoclear, = struct.unpack(">Q", header[88:96])
    header_length, = struct.unpack(">I", header[100:104])
    offset = header_length
    bitmaps = {}
    while True:
        ext_type, ext_len = struct.unpack(">II", _read_at(f, offset, 8, path, "a header extension"))
        if ext_type == 0:
            break
        if ext_type == _BITMAPS_EXTENSION and autoclear & _AUTOCLEAR_BITMAPS:
            ext = _read_at(f, offset + 8, 24, path, "the bitmaps extension")
            count, _, dir_size, dir_offset = struct.unpack(">IIQQ", ext)
            directory = _read_at(f, dir_offset, dir_size, path, "the bitmap directory")
            pos = 0
            for _ in range(count):
                (table_offset, table_size, flags, _type, gran_bits, name_size,
                 extra_size) = struct.unpack(">QIIBBHI", directory[pos:pos + 24])
                name_at = pos + 24 + extra_size
                name = directory[name_at:name_at + name_size].decode("utf-8", "replace")
                bitmaps[name] = (1 << gran_bits, flags, table_offset, table_size)
                pos += (24 + extra_size + name_size + 7) & ~7
        offset += 8 + ((ext_len + 7) & ~7)
    return bitmaps, cluster_bits, size


def read_bitmap(path, name):
    """Returns the Bitmap `name` of the image at `path`. Raises BitmapError if it is missing,
    in use (not yet stored by the process writing the image) or damaged."""
    with open(path, "rb") as f:
        bitmaps, cluster_bits, size = _directory(f, path)
        if name not in bitmaps:
            raise BitmapError("%s: no persistent bitmap named %r" % (path, name))
        granularity, flags, table_offset, table_size = bitmaps[name]
        if flags & _FLAG_IN_USE:
            raise BitmapError("%s: bitmap %r is in use by a running process and not yet stored"
                              % (path, name))
        cluster_size = 1 << cluster_bits
        nbits = (size + granularity - 1) // granularity
        nbytes = (nbits + 7) // 8
        table = _read_at(f, table_offset, table_size * 8, path, "a bitmap table")
        out = bytearray()
        for i in range(table_size):
            entry, = struct.unpack(">Q", table[i * 8:i * 8 + 8])
            data_offset = entry & _ENTRY_OFFSET_MASK
            if data_offset == 0:
                out += (b"\xff" if entry & 1 else b"\x00") * cluster_size
            else:
                out += _read_at(f, data_offset, cluster_size, path, "bitmap data")
        out = out[:nbytes]
        out += b"\x00" * (nbytes - len(out))
        # Bits past the end of the disk are not blocks: keep them clear.
        if nbits % 8:
            out[-1] &= (1 << (nbits % 8)) - 1
        return Bitmap(granularity, nbits, out)
