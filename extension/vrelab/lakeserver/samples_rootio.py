"""A small, write-once ROOT file writer for flat ntuples with ``std::vector`` branches.

Uproot (5.x) writes jagged arrays only as C-style ``float[n]`` leaves with a counter branch;
it cannot write ``std::vector<T>`` branches (scikit-hep/uproot5#1486). The ATLAS Open Data
ntuples hold their per-object quantities as ``std::vector<T>``, and a sample that mimics them
has to read back with the same C++ types. This module writes exactly that kind of file:

- one ``TDirectory`` (the file) holding one ``TTree``;
- scalar branches as ``TBranch`` + ``TLeafI``/``TLeafF``/``TLeafO`` (``int32``, ``uint32``,
  ``float32``, ``bool``), like ``tree->Branch("runNumber", &runNumber)`` does;
- vector branches as top-level, unsplit ``TBranchElement`` + ``TLeafElement`` with class
  ``vector<float>``, ``vector<int>``, ``vector<unsigned int>`` or ``vector<bool>``; each entry
  is a member-wise streamed ``std::vector`` (byte count, class version, size, items), with
  the basket's entry-offset table after the data, as ROOT writes it;
- baskets of a fixed number of entries, all branches clustered alike, compressed with zlib.

The layout follows the ROOT file-format documentation (small-file header with 32-bit
pointers, ``TKey`` version 4, ``TTree`` v20, ``TBranch`` v13, ``TBranchElement`` v10,
``TLeaf`` v2). The file is byte-for-byte reproducible: timestamps and the UUID are given by
the caller, not taken from the clock. Uproot is used only to read files back; the
``TStreamerInfo`` records of the core classes are taken from Uproot's models when present.
"""

from __future__ import annotations

import datetime as _dt
import functools
import struct
import uuid as _uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = ["DType", "Jagged", "BranchSpec", "write_tree", "VECTOR_CLASSNAMES", "SCALAR_LEAVES"]

#: Element types a branch can hold.
DType = Literal["float32", "int32", "uint32", "bool"]

_kByteCountMask = 0x40000000
_kNewClassTag = 0xFFFFFFFF
_kMapOffset = 2
_kNotDeleted = 0x02000000
_kIsOnHeap = 0x01000000
_kMustCleanup = 0x00000008
_FILE_VERSION = 61804  # ROOT 6.18/04, the generation of the 2020 open-data release
_BEGIN = 100
_MAX_BLOCK = 0xFFFFFF  # a ROOT compression block holds at most 16 MiB - 1

#: C++ class of a vector branch, by element dtype.
VECTOR_CLASSNAMES: dict[str, str] = {
    "float32": "vector<float>",
    "int32": "vector<int>",
    "uint32": "vector<unsigned int>",
    "bool": "vector<bool>",
}
#: (TLeaf class, leaf-list letter, struct code of fMinimum/fMaximum, unsigned) by scalar dtype.
SCALAR_LEAVES: dict[str, tuple[str, str, str, bool]] = {
    "float32": ("TLeafF", "F", "ff", False),
    "int32": ("TLeafI", "I", "ii", False),
    "uint32": ("TLeafI", "i", "ii", True),
    "bool": ("TLeafO", "O", "??", False),
}
_BIG_ENDIAN = {"float32": ">f4", "int32": ">i4", "uint32": ">u4", "bool": "u1"}


@dataclass(frozen=True)
class Jagged:
    """A variable-length column: ``content[offsets[i]:offsets[i + 1]]`` is entry ``i``."""

    offsets: np.ndarray
    content: np.ndarray

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or len(self.offsets) == 0 or self.offsets[0] != 0:
            raise ValueError("offsets must be one-dimensional and start at 0")
        if self.offsets[-1] != len(self.content):
            raise ValueError("offsets[-1] must equal len(content)")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def from_counts(cls, counts: np.ndarray, content: np.ndarray) -> Jagged:
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(offsets, content)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


@dataclass(frozen=True)
class BranchSpec:
    """One branch: its name, ``scalar`` or ``vector``, and element dtype name."""

    name: str
    kind: Literal["scalar", "vector"]
    dtype: DType

    @property
    def classname(self) -> str:
        return VECTOR_CLASSNAMES[self.dtype] if self.kind == "vector" else ""


# ----------------------------------------------------------------------------------------
# serialisation primitives


def _tstring(text: str) -> bytes:
    raw = text.encode()
    if len(raw) < 255:
        return bytes([len(raw)]) + raw
    return b"\xff" + struct.pack(">i", len(raw)) + raw


def _versioned(version: int, body: bytes) -> bytes:
    """A class body preceded by its byte count and class version."""
    return struct.pack(">Ih", (len(body) + 2) | _kByteCountMask, version) + body


def _tobject(bits: int = 0) -> bytes:
    return struct.pack(">hII", 1, 0, _kNotDeleted | _kIsOnHeap | bits)


def _tnamed(name: str, title: str, bits: int = 0) -> bytes:
    return _versioned(1, _tobject(bits) + _tstring(name) + _tstring(title))


def _new_object(classname: str, body: bytes) -> bytes:
    """``WriteObjectAny``: byte count, new-class tag, class name, then the object."""
    rest = classname.encode() + b"\x00" + body
    return struct.pack(">II", (len(rest) + 4) | _kByteCountMask, _kNewClassTag) + rest


def _tobjarray(elements: Sequence[bytes]) -> bytes:
    body = _tobject() + _tstring("") + struct.pack(">ii", len(elements), 0) + b"".join(elements)
    return _versioned(3, body)


_TATTFILL = _versioned(2, struct.pack(">hh", 0, 1001))
_TATTLINE = _versioned(2, struct.pack(">hhh", 602, 1, 1))
_TATTMARKER = _versioned(2, struct.pack(">hhf", 1, 1, 1.0))
# ROOT::TIOFeatures: class version 0 is followed by the class checksum, then fIOBits.
_TIOFEATURES = struct.pack(">IhIB", 7 | _kByteCountMask, 0, 0x1AA12F10, 0)


def _datime(when: _dt.datetime) -> int:
    return (
        (when.year - 1995) << 26
        | when.month << 22
        | when.day << 17
        | when.hour << 12
        | when.minute << 6
        | when.second
    )


def compress(data: bytes, level: int) -> bytes:
    """ROOT's block compression with zlib; returns ``data`` itself when that is not smaller."""
    if level <= 0 or not data:
        return data
    out = []
    for start in range(0, len(data), _MAX_BLOCK):
        block = data[start : start + _MAX_BLOCK]
        packed = zlib.compress(block, level)
        out.append(b"ZL\x08" + len(packed).to_bytes(3, "little") + len(block).to_bytes(3, "little") + packed)
    joined = b"".join(out)
    return joined if len(joined) < len(data) else data


class _Key:
    """A ``TKey`` (version 4: 32-bit seek pointers) that precedes every record."""

    def __init__(self, classname: str, name: str, title: str, datime: int, cycle: int = 1) -> None:
        self.classname, self.name, self.title = classname, name, title
        self.datime, self.cycle = datime, cycle
        self.strings = _tstring(classname) + _tstring(name) + _tstring(title)
        self.keylen = 26 + len(self.strings)
        self.nbytes = 0
        self.objlen = 0
        self.seek = 0
        self.seek_pdir = 0

    def header(self) -> bytes:
        return (
            struct.pack(
                ">ihiIhhii",
                self.nbytes,
                4,
                self.objlen,
                self.datime,
                self.keylen,
                self.cycle,
                self.seek,
                self.seek_pdir,
            )
            + self.strings
        )


class _Sink:
    """Appends records to a growing byte buffer; the file header is filled in at the end."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = [b"\x00" * _BEGIN]
        self.end = _BEGIN

    def append(self, data: bytes) -> int:
        where = self.end
        self.chunks.append(data)
        self.end += len(data)
        return where

    def keyed(self, key: _Key, payload: bytes, objlen: int, seek_pdir: int) -> int:
        key.seek = self.end
        key.seek_pdir = seek_pdir
        key.objlen = objlen
        key.nbytes = key.keylen + len(payload)
        return self.append(key.header() + payload)


# ----------------------------------------------------------------------------------------
# baskets


def _vector_payload(column: Jagged, dtype: str, start: int, stop: int) -> tuple[bytes, np.ndarray]:
    """Entries ``start:stop`` of a vector column streamed as ``std::vector``; and where each starts.

    An entry is a byte count (with ``kByteCountMask``), the collection's class version, the
    number of items and the items, big-endian: a 10-byte header before the content.
    """
    offsets = column.offsets[start : stop + 1] - column.offsets[start]
    counts = np.diff(offsets)
    big_endian = np.dtype(_BIG_ENDIAN[dtype])
    itemsize = big_endian.itemsize
    header = np.zeros(len(counts), dtype=[("bytecount", ">u4"), ("version", ">i2"), ("size", ">i4")])
    header["bytecount"] = (6 + counts * itemsize) | _kByteCountMask
    header["version"] = 6  # class version of the STL collection
    header["size"] = counts
    lo, hi = column.offsets[start], column.offsets[stop]
    content = np.ascontiguousarray(column.content[lo:hi]).astype(big_endian).view(np.uint8)
    where = np.repeat(offsets[:-1] * itemsize, 10)
    buffer = np.insert(content, where, header.view(np.uint8))
    starts = 10 * np.arange(len(counts) + 1, dtype=np.int64) + offsets * itemsize
    return buffer.tobytes(), starts


@dataclass
class _BranchState:
    spec: BranchSpec
    basket_bytes: list[int]
    basket_entry: list[int]
    basket_seek: list[int]
    tot_bytes: int = 0
    zip_bytes: int = 0


def _write_basket(
    sink: _Sink,
    state: _BranchState,
    tree_name: str,
    column: np.ndarray | Jagged,
    start: int,
    stop: int,
    level: int,
    datime: int,
    seek_pdir: int,
) -> None:
    spec = state.spec
    key = _Key("TBasket", spec.name, tree_name, datime)
    key.keylen += struct.calcsize(">Hiiii") + 1
    nentries = stop - start
    if spec.kind == "scalar":
        assert isinstance(column, np.ndarray)
        data = np.ascontiguousarray(column[start:stop]).astype(_BIG_ENDIAN[spec.dtype]).tobytes()
        nevbufsize = np.dtype(_BIG_ENDIAN[spec.dtype]).itemsize
        last = key.keylen + len(data)
        raw = data
    else:
        assert isinstance(column, Jagged)
        data, starts = _vector_payload(column, spec.dtype, start, stop)
        last = key.keylen + len(data)
        entry_offsets = np.zeros(nentries + 1, dtype=">i4")
        entry_offsets[:-1] = starts[:-1] + key.keylen  # the last one stays 0, as ROOT writes it
        raw = data + struct.pack(">i", nentries + 1) + entry_offsets.tobytes()
        nevbufsize = nentries + 1
        if nevbufsize * nentries + key.keylen == last:  # would read as fixed-size entries
            nevbufsize += 1
    packed = compress(raw, level)
    buffer_size = max(32000, key.keylen + len(raw))
    tbasket = struct.pack(">Hiiii", 3, buffer_size, nevbufsize, nentries, last) + b"\x00"
    key.seek = sink.end
    key.seek_pdir = seek_pdir
    key.objlen = len(raw)
    key.nbytes = key.keylen + len(packed)
    sink.append(key.header() + tbasket + packed)
    state.basket_bytes.append(key.nbytes)
    state.basket_entry.append(start)
    state.basket_seek.append(key.seek)
    state.tot_bytes += key.keylen + len(raw)
    state.zip_bytes += key.nbytes


# ----------------------------------------------------------------------------------------
# the TTree record


class _TreeBuffer:
    """Serialises the ``TTree`` and tracks positions for the leaf references in ``fLeaves``."""

    def __init__(self, keylen: int) -> None:
        self.keylen = keylen

    def tbranch(self, state: _BranchState, nentries: int, level: int, leaf: bytes, max_baskets: int) -> bytes:
        spec = state.spec
        nbaskets = len(state.basket_seek)
        if spec.kind == "scalar":
            title = f"{spec.name}/{SCALAR_LEAVES[spec.dtype][1]}"
            entry_offset_len = 0
            split_level = 0
        else:
            title = spec.name
            entry_offset_len = 40
            split_level = 99
        body = bytearray()
        body += _tnamed(spec.name, title)
        body += _TATTFILL
        compress_setting = 100 + level if level > 0 else 0
        body += struct.pack(">iiiiq", compress_setting, 32000, entry_offset_len, nbaskets, nentries)
        body += _TIOFEATURES
        body += struct.pack(
            ">iIiqqqq", 0, max_baskets, split_level, nentries, 0, state.tot_bytes, state.zip_bytes
        )
        body += _tobjarray([])
        body += leaf
        body += _tobjarray([])
        basket_bytes = np.zeros(max_baskets, dtype=">i4")
        basket_entry = np.zeros(max_baskets, dtype=">i8")
        basket_seek = np.zeros(max_baskets, dtype=">i8")
        basket_bytes[:nbaskets] = state.basket_bytes
        basket_entry[:nbaskets] = state.basket_entry
        basket_entry[nbaskets] = nentries
        basket_seek[:nbaskets] = state.basket_seek
        body += b"\x01" + basket_bytes.tobytes()
        body += b"\x01" + basket_entry.tobytes()
        body += b"\x01" + basket_seek.tobytes()
        body += _tstring("")
        return _versioned(13, bytes(body))

    @staticmethod
    def leaf(spec: BranchSpec) -> tuple[str, bytes]:
        if spec.kind == "scalar":
            classname, _, minmax, unsigned = SCALAR_LEAVES[spec.dtype]
            itemsize = np.dtype(_BIG_ENDIAN[spec.dtype]).itemsize
            tleaf = _versioned(
                2,
                _tnamed(spec.name, spec.name)
                + struct.pack(">iii??", 1, itemsize, 0, False, unsigned)
                + b"\x00\x00\x00\x00",  # fLeafCount: null
            )
            zero = (False, False) if minmax == "??" else (0, 0)
            return classname, _versioned(1, tleaf + struct.pack(">" + minmax, *zero))
        tleaf = _versioned(
            2,
            _tnamed(spec.name, spec.name)
            + struct.pack(">iii??", 1, 0, 0, False, False)
            + b"\x00\x00\x00\x00",
        )
        return "TLeafElement", _versioned(1, tleaf + struct.pack(">ii", -1, -1))

    def build(
        self,
        name: str,
        title: str,
        states: Sequence[_BranchState],
        nentries: int,
        level: int,
        cluster_size: int,
    ) -> bytes:
        head = bytearray()
        head += _tnamed(name, title, _kMustCleanup)
        head += _TATTLINE + _TATTFILL + _TATTMARKER
        tot_bytes = sum(s.tot_bytes for s in states)
        zip_bytes = sum(s.zip_bytes for s in states)
        head += struct.pack(
            ">qqqqqdiiiiIqqqqqq",
            nentries,
            tot_bytes,
            zip_bytes,
            zip_bytes,  # fSavedBytes
            zip_bytes,  # fFlushedBytes
            1.0,  # fWeight
            0,  # fTimerInterval
            25,  # fScanField
            0,  # fUpdate
            1000,  # fDefaultEntryOffsetLen
            0,  # fNClusterRange
            1_000_000_000_000,  # fMaxEntries
            1_000_000_000_000,  # fMaxEntryLoop
            0,  # fMaxVirtualSize
            -300_000_000,  # fAutoSave
            cluster_size,  # fAutoFlush: entries per cluster
            1_000_000,  # fEstimate
        )
        head += b"\x00\x00"  # fClusterRangeEnd, fClusterSize: empty arrays
        head += _TIOFEATURES
        # The TTree body starts with its own byte count (4 bytes) and version (2 bytes).
        # Positions inside the key buffer are counted from the key's first byte.
        position = self.keylen + 6 + len(head)
        objarray_head = 6 + len(_tobject()) + 1 + 8
        position += objarray_head
        branches = []
        leaf_refs = []
        max_baskets = max(10, max(len(s.basket_seek) for s in states) + 1)
        for state in states:
            leaf_class, leaf_body = self.leaf(state.spec)
            leaf_any = _new_object(leaf_class, leaf_body)
            leaves = _tobjarray([leaf_any])
            # Serialise once with a placeholder leaf array to find where the leaf lands.
            probe = self.tbranch(state, nentries, level, leaves, max_baskets)
            if state.spec.kind == "vector":
                element = self._tbranchelement(state.spec, probe)
                classname = "TBranchElement"
            else:
                element = probe
                classname = "TBranch"
            branch_any = _new_object(classname, element)
            marker = leaves.find(leaf_any)
            offset_in_branch = branch_any.find(leaves) + marker
            leaf_refs.append(position + offset_in_branch + _kMapOffset)
            branches.append(branch_any)
            position += len(branch_any)
        body = bytearray(head)
        body += _tobjarray(branches)
        refs = struct.pack(f">{len(leaf_refs)}I", *leaf_refs)
        body += _versioned(3, _tobject() + _tstring("") + struct.pack(">ii", len(leaf_refs), 0) + refs)
        body += b"\x00" * 4  # fAliases
        body += b"\x00" * 4  # fIndexValues (TArrayD of size 0)
        body += b"\x00" * 4  # fIndex (TArrayI of size 0)
        body += b"\x00" * 16  # fTreeIndex, fFriends, fUserInfo, fBranchRef
        return _versioned(20, bytes(body))

    @staticmethod
    def _tbranchelement(spec: BranchSpec, tbranch: bytes) -> bytes:
        body = tbranch
        body += _tstring(spec.classname) + _tstring("") + _tstring("")
        # fCheckSum, fClassVersion, fID, fType (0: top-level), fStreamerType, fMaximum
        body += struct.pack(">Ihiiii", 0, 6, -1, 0, -1, 0)
        body += b"\x00" * 8  # fBranchCount, fBranchCount2: null
        return _versioned(10, body)


# ----------------------------------------------------------------------------------------
# streamers and directory records


# Class checksums as ROOT computes them (TClass::GetCheckSum), for the streamer records below.
_CHECKSUM = {
    "TBranch": 278366892,
    "TLeaf": 1830715730,
    "TBranchElement": 3880738403,
    "TLeafElement": 2689566867,
}


def _signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def _element(name: str, title: str, etype: int, size: int, typename: str, max_index1: int = 0) -> bytes:
    """A ``TStreamerElement`` (v4)."""
    body = _tnamed(name, title) + struct.pack(">iiii", etype, size, 0, 0)
    body += struct.pack(">5i", 0, _signed(max_index1), 0, 0, 0) + _tstring(typename)
    return _versioned(4, body)


def _base(name: str, title: str, version: int) -> tuple[str, bytes]:
    element = _element(name, title, 0, 0, "BASE", _CHECKSUM[name])
    return "TStreamerBase", _versioned(3, element + struct.pack(">i", version))


def _basic(name: str, title: str, etype: int, size: int, typename: str) -> tuple[str, bytes]:
    return "TStreamerBasicType", _versioned(2, _element(name, title, etype, size, typename))


def _streamer_info(name: str, version: int, elements: Sequence[tuple[str, bytes]]) -> bytes:
    """A ``TStreamerInfo`` (v9) as an entry of the file's streamer ``TList``."""
    array = _versioned(
        3,
        struct.pack(">hII", 1, 0, 0)
        + _tstring("")
        + struct.pack(">ii", len(elements), 0)
        + b"".join(_new_object(classname, body) for classname, body in elements),
    )
    body = _tnamed(name, "", 0x00010000) + struct.pack(">Ii", _CHECKSUM[name], version)
    body += _new_object("TObjArray", array)
    return _new_object("TStreamerInfo", _versioned(9, body)) + b"\x00"


def _string(name: str, title: str) -> tuple[str, bytes]:
    return "TStreamerString", _versioned(2, _element(name, title, 65, 24, "TString"))


def _pointer(name: str, title: str, typename: str) -> tuple[str, bytes]:
    return "TStreamerObjectPointer", _versioned(2, _element(name, title, 64, 8, typename))


def _element_streamers() -> list[bytes]:
    """``TBranchElement`` (v10) and ``TLeafElement`` (v1): the classes of the vector branches."""
    branch_element = _streamer_info(
        "TBranchElement",
        10,
        [
            _base("TBranch", "Branch descriptor", 13),
            _string("fClassName", "Class name of referenced object"),
            _string("fParentName", "Name of parent class"),
            _string("fClonesName", "Name of class in TClonesArray (if any)"),
            _basic("fCheckSum", "CheckSum of class", 13, 4, "unsigned int"),
            _basic("fClassVersion", "Version number of class", 2, 2, "short"),
            _basic("fID", "element serial number in fInfo", 3, 4, "int"),
            _basic("fType", "Branch type", 3, 4, "int"),
            _basic("fStreamerType", "branch streamer type", 3, 4, "int"),
            _basic("fMaximum", "Maximum entries for a TClonesArray or variable array", 3, 4, "int"),
            _pointer("fBranchCount", "pointer to primary branchcount branch", "TBranchElement*"),
            _pointer("fBranchCount2", "pointer to secondary branchcount branch", "TBranchElement*"),
        ],
    )
    leaf_element = _streamer_info(
        "TLeafElement",
        1,
        [
            _base("TLeaf", "Leaf: description of a Branch data type", 2),
            _basic("fID", "element serial number in fInfo", 3, 4, "int"),
            _basic("fType", "leaf type", 3, 4, "int"),
        ],
    )
    return [branch_element, leaf_element]


@functools.cache
def _streamer_records() -> tuple[bytes, ...]:
    """``TStreamerInfo`` records of the classes in the file.

    Those of ``TTree``, ``TBranch``, ``TLeaf*`` and their bases are the ones Uproot ships
    (serialised by ROOT); the two for vector branches are written here.
    """
    records: list[bytes] = []
    seen: set[tuple[str, int]] = set()
    try:
        import uproot.models.TLeaf as tleaf
        import uproot.models.TTree as ttree
    except ImportError:  # pragma: no cover - uproot is a dependency of the 'lake' extra
        models: tuple[type, ...] = ()
    else:
        models = (ttree.Model_TTree_v20, tleaf.Model_TLeafI_v1, tleaf.Model_TLeafF_v1, tleaf.Model_TLeafO_v1)
    for model in models:
        for raw in getattr(model, "class_rawstreamers", None) or ():
            classname, version = raw[-2], raw[-1]
            if (classname, version) not in seen:
                seen.add((classname, version))
                records.append(raw[1])
    records.extend(_element_streamers())
    return tuple(records)


def _tlist(records: Sequence[bytes]) -> bytes:
    body = _tobject() + _tstring("") + struct.pack(">i", len(records)) + b"".join(records)
    return _versioned(5, body)


def write_tree(
    path: Path,
    tree_name: str,
    branches: Sequence[BranchSpec],
    columns: Mapping[str, np.ndarray | Jagged],
    *,
    title: str | None = None,
    compression_level: int = 1,
    basket_entries: int = 20_000,
    timestamp: _dt.datetime | None = None,
    file_uuid: _uuid.UUID | None = None,
) -> int:
    """Write ``columns`` as one ``TTree`` named ``tree_name`` into a new ROOT file at ``path``.

    ``branches`` fixes the order and type of the branches; ``columns`` maps every branch name
    to a 1-d array (scalars) or a :class:`Jagged` (vectors) of one common length. Returns the
    file size in bytes. The same inputs, ``timestamp`` and ``file_uuid`` give the same bytes.
    """
    if not branches:
        raise ValueError("a TTree needs at least one branch")
    nentries = None
    for spec in branches:
        column = columns.get(spec.name)
        if column is None:
            raise ValueError(f"no data for branch {spec.name!r}")
        if (spec.kind == "vector") != isinstance(column, Jagged):
            raise TypeError(f"branch {spec.name!r} is a {spec.kind} but its data is {type(column).__name__}")
        if nentries is None:
            nentries = len(column)
        elif len(column) != nentries:
            raise ValueError(f"branch {spec.name!r} has {len(column)} entries, not {nentries}")
    assert nentries is not None
    basket_entries = max(1, int(basket_entries))
    when = timestamp or _dt.datetime(2020, 1, 1)
    datime = _datime(when)
    file_uuid = file_uuid or _uuid.uuid5(_uuid.NAMESPACE_URL, f"vrelab:{path.name}")
    file_name = path.name

    sink = _Sink()
    # 1. the TFile record: key + TNamed strings + TDirectory (filled in at the end)
    top_key = _Key("TFile", file_name, "", datime)
    named = _tstring(file_name) + _tstring("")
    nbytes_name = top_key.keylen + len(named)
    directory_len = struct.calcsize(">hIIiiiiiH16s") + 12
    top_key.seek = _BEGIN
    top_key.objlen = len(named) + directory_len
    top_key.nbytes = top_key.keylen + top_key.objlen
    sink.append(b"\x00" * top_key.nbytes)

    # 2. baskets, cluster by cluster
    states = [_BranchState(spec, [], [], []) for spec in branches]
    for start in range(0, max(nentries, 1), basket_entries):
        stop = min(start + basket_entries, nentries)
        if stop <= start:
            break
        for state in states:
            _write_basket(
                sink,
                state,
                tree_name,
                columns[state.spec.name],
                start,
                stop,
                compression_level,
                datime,
                _BEGIN,
            )

    # 3. the TTree
    tree_key = _Key("TTree", tree_name, title if title is not None else tree_name, datime)
    tree_bytes = _TreeBuffer(tree_key.keylen).build(
        tree_name, tree_key.title, states, nentries, compression_level, basket_entries
    )
    sink.keyed(tree_key, compress(tree_bytes, compression_level), len(tree_bytes), _BEGIN)

    # 4. streamer infos
    info_key = _Key("TList", "StreamerInfo", "Doubly linked list", datime)
    info_bytes = _tlist(_streamer_records())
    seek_info = sink.keyed(info_key, compress(info_bytes, compression_level), len(info_bytes), _BEGIN)

    # 5. the list of keys of the directory
    keys_key = _Key("TFile", file_name, "", datime)
    keys_payload = struct.pack(">i", 1) + tree_key.header()
    seek_keys = sink.keyed(keys_key, keys_payload, len(keys_payload), _BEGIN)
    nbytes_keys = keys_key.nbytes

    # 6. free segments: everything from the end of this record on is free
    free_key = _Key("TFile", file_name, "", datime)
    free_len = struct.calcsize(">hii")
    free_start = sink.end
    file_end = free_start + free_key.keylen + free_len
    free_payload = struct.pack(">hii", 1, file_end, 2_000_000_000)
    sink.keyed(free_key, free_payload, len(free_payload), _BEGIN)
    assert sink.end == file_end

    directory = (
        struct.pack(
            ">hIIiiiiiH16s",
            5,
            datime,
            datime,
            nbytes_keys,
            nbytes_name,
            _BEGIN,  # fSeekDir
            0,  # fSeekParent
            seek_keys,
            1,
            file_uuid.bytes,
        )
        + b"\x00" * 12
    )
    sink.chunks[1] = top_key.header() + named + directory

    header = struct.pack(
        ">4siiiiiiiBiiiH16s",
        b"root",
        _FILE_VERSION,
        _BEGIN,
        file_end,
        free_start,
        free_key.nbytes,
        1,  # nfree
        nbytes_name,
        4,  # fUnits: 32-bit pointers
        100 + compression_level if compression_level > 0 else 0,
        seek_info,
        info_key.nbytes,
        1,
        file_uuid.bytes,
    )
    sink.chunks[0] = header + b"\x00" * (_BEGIN - len(header))
    data = b"".join(sink.chunks)
    path.write_bytes(data)
    return len(data)
