"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and proof verification.

Written by hand on hashlib rather than with a library: the algorithms are short and must match
RFC 9162 §2.1 to the byte (the same tree and proofs as RFC 6962), and no maintained Python
library covers both sides, i.e. building inclusion and consistency proofs from stored subtree
hashes *and* verifying them. The code is checked against the transparency-dev/merkle proof
vectors and against a literal transcription of the RFC recursions in the test suite.

Storage model. A log keeps, for every *complete, aligned* subtree, its hash under the key
``(level, index)``: the subtree covering leaves ``[index * 2**level, (index + 1) * 2**level)``.
Level 0 holds the leaf hashes. After appending leaf ``n`` (0-based), :func:`completed_nodes`
names the nodes that have just become complete and :func:`append_leaf` computes their hashes.
Those nodes never change afterwards, so any tree size's root, inclusion proof or consistency
proof is a function of O(log n) of them: :func:`root`, :func:`inclusion_proof` and
:func:`consistency_proof` read them through a ``get_node(level, index)`` callable, and
:func:`root_nodes`, :func:`inclusion_nodes` and :func:`consistency_nodes` list beforehand the
keys they will read, so a database layer can fetch them all in one query and pass a dict
lookup as ``get_node``.

Verification raises :class:`ProofError` (``reason`` is a stable code) and returns ``None``
when the proof is good. All inputs are checked before any hashing: every hash must be exactly
32 bytes (otherwise an empty root and an empty leaf would "match" in a one-leaf tree), then the
tree sizes and index, then the proof length, and only then the hash chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]
"""``(level, index)``: the complete subtree over leaves ``[index << level, (index+1) << level)``."""

GetNode = Callable[[int, int], bytes]
"""Returns the stored hash of node ``(level, index)``; level 0 is the leaf hashes."""


class ProofError(Exception):
    """Why a proof does not hold; ``reason`` is a stable code.

    Reasons: ``malformed_hash`` (a hash that is not exactly 32 bytes), ``index_out_of_range``,
    ``bad_tree_sizes``, ``wrong_proof_length``, ``root_mismatch``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# --- Hashing ------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """MTH of a one-leaf tree: SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + bytes(left) + bytes(right)).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of an in-memory list of leaf hashes (RFC 9162 §2.1.1). For small trees."""

    def mth(start: int, end: int) -> bytes:
        if end - start == 1:
            return hashes[start]
        k = _split(end - start)
        return node_hash(mth(start, start + k), mth(start + k, end))

    return EMPTY_ROOT if not hashes else mth(0, len(hashes))


# --- Tree geometry ------------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: int, minimum: int = 0) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def subtree_nodes(start: int, end: int) -> list[Node]:
    """The stored nodes whose hashes make up MTH(D[start:end]), largest first.

    ``[start, end)`` must be a subtree of the RFC 9162 recursion: ``start`` a multiple of the
    smallest power of two >= ``end - start`` (true of every range the proofs below use). The
    range then splits into complete aligned subtrees of strictly decreasing size, and MTH is
    ``node_hash(h1, node_hash(h2, ... node_hash(h_{k-1}, h_k)))`` over them.
    """
    _check_size("start", start)
    _check_size("end", end, start + 1)
    size = end - start
    if start % (1 << (size - 1).bit_length()):
        raise ValueError(f"[{start}, {end}) is not a subtree of an RFC 9162 Merkle tree")
    nodes: list[Node] = []
    position = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def subtree_hash(start: int, end: int, get_node: GetNode) -> bytes:
    """MTH(D[start:end]) from stored complete subtrees (see :func:`subtree_nodes`)."""
    hashes = [_stored(get_node, level, index) for level, index in subtree_nodes(start, end)]
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _stored(get_node: GetNode, level: int, index: int) -> bytes:
    value = get_node(level, index)
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValueError(f"get_node({level}, {index}) did not return a {HASH_SIZE}-byte hash")
    return value


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PATH(index, D[size]) (RFC 9162 §2.1.3.1), in order."""
    _check_size("size", size, 1)
    _check_size("index", index)
    if index >= size:
        raise ValueError(f"index {index} is not below tree size {size}")
    start, end = 0, size
    top_down: list[tuple[int, int]] = []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            top_down.append((start + k, end))
            end = start + k
        else:
            top_down.append((start, start + k))
            start += k
    return top_down[::-1]


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1), in order.

    Requires ``0 < size1 <= size2``; the proof is empty when ``size1 == size2``.
    """
    _check_size("size1", size1, 1)
    _check_size("size2", size2, size1)
    m, start, end, whole = size1, 0, size2, True
    top_down: list[tuple[int, int]] = []
    while True:
        if m == end - start:
            if not whole:
                top_down.append((start, end))
            break
        k = _split(end - start)
        if m <= k:
            top_down.append((start + k, end))
            end = start + k
        else:
            top_down.append((start, start + k))
            m -= k
            start += k
            whole = False
    return top_down[::-1]


def nodes_needed(ranges: Iterable[tuple[int, int]]) -> list[Node]:
    """The distinct stored nodes needed to hash the given ranges, in first-use order."""
    seen: dict[Node, None] = {}
    for start, end in ranges:
        seen.update(dict.fromkeys(subtree_nodes(start, end)))
    return list(seen)


def root_nodes(size: int) -> list[Node]:
    """The nodes :func:`root` reads for a tree of ``size`` leaves (none for the empty tree)."""
    _check_size("size", size)
    return nodes_needed([(0, size)] if size else [])


def inclusion_nodes(index: int, size: int) -> list[Node]:
    """The nodes :func:`inclusion_proof` reads."""
    return nodes_needed(inclusion_ranges(index, size))


def consistency_nodes(size1: int, size2: int) -> list[Node]:
    """The nodes :func:`consistency_proof` reads."""
    return nodes_needed(consistency_ranges(size1, size2))


# --- Proofs from stored subtrees ----------------------------------------------------------


def root(size: int, get_node: GetNode) -> bytes:
    """MTH(D[size]) in O(log size) node reads; :data:`EMPTY_ROOT` for ``size == 0``."""
    _check_size("size", size)
    return subtree_hash(0, size, get_node) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """The audit path for leaf ``index`` in the tree of ``size`` leaves, bottom-up."""
    return [subtree_hash(a, b, get_node) for a, b in inclusion_ranges(index, size)]


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """The consistency proof from the tree of ``size1`` leaves to the one of ``size2``."""
    return [subtree_hash(a, b, get_node) for a, b in consistency_ranges(size1, size2)]


def completed_nodes(n: int) -> list[Node]:
    """The nodes that become complete when leaf ``n`` (0-based) is appended, bottom-up.

    Always ``(0, n)`` (the leaf itself), then one parent per trailing 1-bit of ``n``.
    """
    _check_size("n", n)
    nodes = [(0, n)]
    level, index = 0, n
    while index & 1:
        level, index = level + 1, index >> 1
        nodes.append((level, index))
    return nodes


def append_nodes(n: int) -> list[Node]:
    """The already stored nodes :func:`append_leaf` reads: the left sibling at each level."""
    return [(level - 1, 2 * index) for level, index in completed_nodes(n)[1:]]


def append_leaf(n: int, leaf: bytes, get_node: GetNode) -> list[tuple[int, int, bytes]]:
    """``(level, index, hash)`` for each node completed by appending leaf hash ``leaf`` as leaf
    ``n``, bottom-up; ``get_node`` must serve the nodes listed by :func:`append_nodes`."""
    if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
        raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
    out = [(0, n, leaf)]
    current = leaf
    for level, index in completed_nodes(n)[1:]:
        current = node_hash(_stored(get_node, level - 1, 2 * index), current)
        out.append((level, index, current))
    return out


# --- Verification -------------------------------------------------------------------------


def _check_hash(name: str, value: object) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise ProofError("malformed_hash", f"{name} is not a {HASH_SIZE}-byte hash ({size})")


def _check_tree_size(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError("bad_tree_sizes", f"{name} must be a non-negative integer")


def inclusion_proof_length(index: int, size: int) -> int:
    """len(PATH(index, D[size])) for ``0 <= index < size``, in closed form."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def consistency_proof_length(size1: int, size2: int) -> int:
    """len(PROOF(size1, D[size2])) for ``0 < size1 <= size2``, in closed form."""
    if size1 == size2:
        return 0
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length()
    border = ((size1 - 1) >> inner).bit_count()
    seed = 0 if size1 == 1 << shift else 1
    return seed + inner - shift + border


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose root is
    ``root`` (RFC 9162 §2.1.3.2). Returns ``None``; raises :class:`ProofError` otherwise."""
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    for position, element in enumerate(proof):
        _check_hash(f"proof[{position}]", element)
    _check_tree_size("index", index)
    _check_tree_size("tree size", size)
    if index >= size:
        raise ProofError("index_out_of_range", f"leaf index {index} >= tree size {size}")
    want = inclusion_proof_length(index, size)
    if len(proof) != want:
        raise ProofError("wrong_proof_length", f"proof has {len(proof)} hashes, want {want}")

    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise ProofError("wrong_proof_length", "proof is longer than the path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("wrong_proof_length", "proof is shorter than the path")
    if r != root:
        raise ProofError("root_mismatch", "inclusion proof does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` leaves with root ``root1`` is a prefix of the tree of
    ``size2`` leaves with root ``root2`` (RFC 9162 §2.1.4.2). ``size1`` must be at least 1;
    for ``size1 == size2`` only an empty proof with equal roots holds. Returns ``None``;
    raises :class:`ProofError` otherwise."""
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for position, element in enumerate(proof):
        _check_hash(f"proof[{position}]", element)
    _check_tree_size("size1", size1)
    _check_tree_size("size2", size2)
    if size1 == 0:
        raise ProofError("bad_tree_sizes", "no consistency proof starts from the empty tree")
    if size1 > size2:
        raise ProofError("bad_tree_sizes", f"size1 {size1} > size2 {size2}")
    want = consistency_proof_length(size1, size2)
    if len(proof) != want:
        raise ProofError("wrong_proof_length", f"proof has {len(proof)} hashes, want {want}")
    if size1 == size2:
        if root1 != root2:
            raise ProofError("root_mismatch", "equal tree sizes with different roots")
        return

    if not proof:  # RFC 9162 §2.1.4.2 step 1 (already implied by the length check)
        raise ProofError("wrong_proof_length", "empty proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is a node of tree 2
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("wrong_proof_length", "proof is longer than the path")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("wrong_proof_length", "proof is shorter than the path")
    if fr != root1:
        raise ProofError("root_mismatch", "consistency proof does not lead to root1")
    if sr != root2:
        raise ProofError("root_mismatch", "consistency proof does not lead to root2")
