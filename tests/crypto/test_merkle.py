"""RFC 9162 Merkle trees: the transparency-dev/merkle proof vectors, proofs built from stored
subtrees against a literal transcription of the RFC recursions, and O(log n) node reads."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import merkle
from crypto.merkle import ProofError
from tests.reference import TEST_DATA

VECTORS = TEST_DATA / "merkle"


def _vector_files(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).glob("*/*.json"))


def _load(path: Path) -> dict:
    data = json.loads(path.read_text())

    def b64(value: str) -> bytes:
        return base64.b64decode(value, validate=True)

    for key in ("root", "root1", "root2", "leafHash"):
        if key in data:
            data[key] = b64(data[key])
    data["proof"] = [b64(p) for p in data["proof"] or []]
    return data


def _params(kind: str) -> list:
    return [
        pytest.param(path, id=f"{path.parent.name}/{path.stem}") for path in _vector_files(kind)
    ]


# --- Vectors ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["inclusion", "consistency"])
def test_vectors_are_present(kind):
    files = _vector_files(kind)
    assert len(files) > 0, f"no {kind} vectors under {VECTORS}"
    happy = [f for f in files if not _load(f)["wantErr"]]
    assert happy, "every vector folder has a happy path"
    assert len(happy) < len(files), "and mutations that must fail"


@pytest.mark.parametrize("path", _params("inclusion"))
def test_inclusion_vector(path):
    v = _load(path)
    arguments = (v["leafHash"], v["leafIdx"], v["treeSize"], v["proof"], v["root"])
    if v["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*arguments)
    else:
        assert merkle.verify_inclusion(*arguments) is None


@pytest.mark.parametrize("path", _params("consistency"))
def test_consistency_vector(path):
    v = _load(path)
    arguments = (v["size1"], v["size2"], v["proof"], v["root1"], v["root2"])
    if v["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*arguments)
    else:
        assert merkle.verify_consistency(*arguments) is None


def _vector(kind: str, name: str) -> dict:
    return _load(VECTORS / kind / f"{name}.json")


def test_hash_sizes_are_checked_before_roots_are_compared():
    # An empty root and an empty leaf "match" in a one-leaf tree unless sizes come first.
    v = _vector("inclusion", "single-entry/empty-root-and-leaf")
    assert v["root"] == v["leafHash"] == b""
    with pytest.raises(ProofError) as caught:
        merkle.verify_inclusion(v["leafHash"], 0, 1, [], v["root"])
    assert caught.value.reason == "malformed_hash"


def test_named_vector_failures_have_the_expected_reasons():
    cases = [
        ("inclusion", "1/wrong-leaf", "malformed_hash"),  # b"WrongLeaf"
        ("inclusion", "1/random-root", "root_mismatch"),
        ("inclusion", "2/modified-proof[1]-bit-@3", "root_mismatch"),
        ("inclusion", "1/removed-component", "wrong_proof_length"),
        ("inclusion", "1/inserted-component", "wrong_proof_length"),
        ("inclusion", "1/leafIdx-sub-@1", "index_out_of_range"),  # 2**64 - 1
        ("inclusion", "0/treeSize-div-@2", "index_out_of_range"),  # size 0
        ("inclusion", "1/trailing-garbage", "malformed_hash"),
        ("consistency", "1/size1-sub-@1", "bad_tree_sizes"),  # size1 == 0
        ("consistency", "2/size2-div-@2", "bad_tree_sizes"),  # size1 > size2
        ("consistency", "1/empty-proof", "wrong_proof_length"),
        ("consistency", "1/wrong-root1", "malformed_hash"),  # 9 bytes
        ("consistency", "2/swapped-roots", "root_mismatch"),
    ]
    for kind, name, reason in cases:
        v = _vector(kind, name)
        with pytest.raises(ProofError) as caught:
            if kind == "inclusion":
                merkle.verify_inclusion(
                    v["leafHash"], v["leafIdx"], v["treeSize"], v["proof"], v["root"]
                )
            else:
                merkle.verify_consistency(
                    v["size1"], v["size2"], v["proof"], v["root1"], v["root2"]
                )
        assert caught.value.reason == reason, (kind, name, caught.value.detail)


def test_equal_sizes_need_an_empty_proof_and_equal_roots():
    h, other = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.verify_consistency(3, 3, [], h, h) is None
    with pytest.raises(ProofError, match="different roots"):
        merkle.verify_consistency(3, 3, [], h, other)
    with pytest.raises(ProofError) as caught:
        merkle.verify_consistency(3, 3, [h], h, h)
    assert caught.value.reason == "wrong_proof_length"
    with pytest.raises(ProofError) as caught:
        merkle.verify_consistency(0, 0, [], merkle.EMPTY_ROOT, merkle.EMPTY_ROOT)
    assert caught.value.reason == "bad_tree_sizes"


# --- Known answers (RFC 6962 reference tree, transparency-dev/merkle testonly) ------------

REFERENCE_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
REFERENCE_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
REFERENCE_NODES = {
    (1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (1, 3): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    (2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (0, 7): "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
}


def _store(leaf_hashes: list[bytes]) -> dict[tuple[int, int], bytes]:
    """What a log's storage holds after appending ``leaf_hashes`` one by one."""
    nodes: dict[tuple[int, int], bytes] = {}
    for n, h in enumerate(leaf_hashes):
        assert set(merkle.append_nodes(n)) <= set(nodes)
        added = merkle.append_leaf(n, h, lambda level, index: nodes[(level, index)])
        assert [(level, index) for level, index, _ in added] == merkle.completed_nodes(n)
        for level, index, value in added:
            assert (level, index) not in nodes
            nodes[(level, index)] = value
    return nodes


def test_hashing_primitives():
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        merkle.node_hash(b"L" * 32, b"R" * 32)
        == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert merkle.root_from_leaf_hashes([]) == merkle.EMPTY_ROOT


def test_reference_tree_roots_and_nodes():
    hashes = [merkle.leaf_hash(d) for d in REFERENCE_LEAVES]
    nodes = _store(hashes)
    for size, want in enumerate(REFERENCE_ROOTS):
        assert merkle.root_from_leaf_hashes(hashes[:size]).hex() == want
        assert merkle.root(size, lambda level, index: nodes[(level, index)]).hex() == want
    for key, want in REFERENCE_NODES.items():
        assert nodes[key].hex() == want
    assert len(nodes) == 8 + 4 + 2 + 1


def test_reference_tree_proofs():
    nodes = _store([merkle.leaf_hash(d) for d in REFERENCE_LEAVES])

    def get(level, index):
        return nodes[(level, index)]

    assert [p.hex() for p in merkle.inclusion_proof(5, 8, get)] == [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]
    assert [p.hex() for p in merkle.consistency_proof(3, 8, get)] == [
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


def test_vectors_happy_paths_are_reproduced_by_the_generator():
    nodes = _store([merkle.leaf_hash(d) for d in REFERENCE_LEAVES])

    def get(level, index):
        return nodes[(level, index)]

    for folder in ("1", "2"):
        v = _vector("inclusion", f"{folder}/happy-path")
        assert merkle.inclusion_proof(v["leafIdx"], v["treeSize"], get) == v["proof"]
        assert merkle.root(v["treeSize"], get) == v["root"]
        v = _vector("consistency", f"{folder}/happy-path")
        assert merkle.consistency_proof(v["size1"], v["size2"], get) == v["proof"]
        assert merkle.root(v["size1"], get) == v["root1"]


def test_geometry_rejects_bad_arguments():
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(3, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(4, 3)
    with pytest.raises(ValueError):
        merkle.subtree_nodes(1, 3)  # not a subtree of any RFC 9162 tree
    with pytest.raises(ValueError):
        merkle.root(3, lambda level, index: b"short")
    assert merkle.consistency_ranges(5, 5) == []
    assert merkle.root_nodes(0) == []
    assert merkle.completed_nodes(0) == [(0, 0)]
    assert merkle.completed_nodes(7) == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert merkle.append_nodes(7) == [(0, 6), (1, 2), (2, 0)]
    assert merkle.subtree_nodes(0, 13) == [(3, 0), (2, 2), (0, 12)]


# --- Properties ---------------------------------------------------------------------------


def _rfc_mth(d: list[bytes]) -> bytes:
    """MTH, transcribed from RFC 9162 §2.1.1 on the leaf hashes."""
    if len(d) == 1:
        return d[0]
    k = merkle._split(len(d))
    return merkle.node_hash(_rfc_mth(d[:k]), _rfc_mth(d[k:]))


def _rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), transcribed from RFC 9162 §2.1.3.1."""
    if len(d) == 1:
        return []
    k = merkle._split(len(d))
    if m < k:
        return [*_rfc_path(m, d[:k]), _rfc_mth(d[k:])]
    return [*_rfc_path(m - k, d[k:]), _rfc_mth(d[:k])]


def _rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), transcribed from RFC 9162 §2.1.4.1."""
    if m == len(d):
        return [] if b else [_rfc_mth(d)]
    k = merkle._split(len(d))
    if m <= k:
        return [*_rfc_subproof(m, d[:k], b), _rfc_mth(d[k:])]
    return [*_rfc_subproof(m - k, d[k:], False), _rfc_mth(d[:k])]


@st.composite
def trees(draw):
    n = draw(st.integers(min_value=1, max_value=300))
    seed = draw(st.binary(min_size=0, max_size=8))
    hashes = [merkle.leaf_hash(seed + i.to_bytes(4, "big")) for i in range(n)]
    return hashes, _store(hashes)


def _sizes(draw, n: int):
    size = draw(st.integers(min_value=1, max_value=n))
    return size, draw(st.integers(min_value=0, max_value=size - 1))


def _flip(proof: list[bytes], data) -> list[bytes]:
    position = data.draw(st.integers(0, len(proof) - 1))
    byte = data.draw(st.integers(0, merkle.HASH_SIZE - 1))
    bit = data.draw(st.integers(0, 7))
    element = bytearray(proof[position])
    element[byte] ^= 1 << bit
    return [*proof[:position], bytes(element), *proof[position + 1 :]]


def _mutations(proof: list[bytes], data, extra: bytes) -> list[list[bytes]]:
    mutated = [[*proof, extra], [extra, *proof]]
    if proof:
        mutated.append(_flip(proof, data))
        drop = data.draw(st.integers(0, len(proof) - 1))
        mutated.append(proof[:drop] + proof[drop + 1 :])
    return mutated


@settings(deadline=None, max_examples=150)
@given(trees(), st.data())
def test_inclusion_proofs_verify_and_mutations_fail(tree, data):
    hashes, nodes = tree
    n = len(hashes)

    def get(level, index):
        return nodes[(level, index)]

    for _ in range(5):
        size = data.draw(st.integers(1, n))
        index = data.draw(st.integers(0, size - 1))
        root = merkle.root(size, get)
        assert root == merkle.root_from_leaf_hashes(hashes[:size]) == _rfc_mth(hashes[:size])
        proof = merkle.inclusion_proof(index, size, get)
        assert proof == _rfc_path(index, hashes[:size])
        assert len(proof) == merkle.inclusion_proof_length(index, size)
        merkle.verify_inclusion(hashes[index], index, size, proof, root)

        for bad in _mutations(proof, data, root):
            with pytest.raises(ProofError):
                merkle.verify_inclusion(hashes[index], index, size, bad, root)
        if size > 1:
            other = data.draw(st.integers(0, size - 1).filter(lambda i, index=index: i != index))
            with pytest.raises(ProofError):
                merkle.verify_inclusion(hashes[index], other, size, proof, root)
            with pytest.raises(ProofError):
                merkle.verify_inclusion(hashes[other], index, size, proof, root)


@settings(deadline=None, max_examples=150)
@given(trees(), st.data())
def test_consistency_proofs_verify_and_mutations_fail(tree, data):
    hashes, nodes = tree
    n = len(hashes)

    def get(level, index):
        return nodes[(level, index)]

    for _ in range(5):
        size2 = data.draw(st.integers(1, n))
        size1 = data.draw(st.integers(1, size2))
        root1, root2 = merkle.root(size1, get), merkle.root(size2, get)
        proof = merkle.consistency_proof(size1, size2, get)
        if size1 < size2:
            assert proof == _rfc_subproof(size1, hashes[:size2], True)
        else:
            assert proof == []
        assert len(proof) == merkle.consistency_proof_length(size1, size2)
        merkle.verify_consistency(size1, size2, proof, root1, root2)

        for bad in _mutations(proof, data, root1):
            with pytest.raises(ProofError):
                merkle.verify_consistency(size1, size2, bad, root1, root2)
        if size1 < size2:
            with pytest.raises(ProofError):
                merkle.verify_consistency(size1, size2, proof, root2, root1)
            with pytest.raises(ProofError):
                merkle.verify_consistency(size2, size1, proof, root1, root2)
            changed = merkle.root(size1 - 1, get) if size1 > 1 else merkle.leaf_hash(b"other")
            with pytest.raises(ProofError):
                merkle.verify_consistency(size1, size2, proof, changed, root2)


@settings(deadline=None, max_examples=100)
@given(st.integers(0, 2**40))
def test_completed_nodes_are_exactly_the_new_complete_subtrees(n):
    for level, index in merkle.completed_nodes(n):
        assert (index + 1) << level == n + 1  # ends exactly at the new leaf
    assert len(merkle.completed_nodes(n)) == 1 + ((n + 1) & -(n + 1)).bit_length() - 1


# --- O(log n) node reads ------------------------------------------------------------------


class CountingStore:
    """A fake store of a huge tree: deterministic hashes, every read counted."""

    def __init__(self):
        self.calls = 0

    def __call__(self, level: int, index: int) -> bytes:
        self.calls += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


@pytest.mark.parametrize("n", [1_000_000, 2**20 - 1, 2**20, 2**20 + 1, 2**40 - 1])
def test_proofs_read_logarithmically_many_nodes(n):
    bound = 2 * n.bit_length() + 2
    indices = sorted({0, 1, n // 3, n // 2, n - 2, n - 1})
    size1s = sorted({1, 2, 3, n // 3, n // 2 + 1, n - 1})

    store = CountingStore()
    merkle.root(n, store)
    assert store.calls == len(merkle.root_nodes(n)) == n.bit_count()
    for index in indices:
        store = CountingStore()
        proof = merkle.inclusion_proof(index, n, store)
        assert store.calls <= bound
        assert store.calls == len(merkle.inclusion_nodes(index, n))
        assert len(proof) == merkle.inclusion_proof_length(index, n)
    for size1 in size1s:
        store = CountingStore()
        proof = merkle.consistency_proof(size1, n, store)
        assert store.calls <= bound
        assert store.calls == len(merkle.consistency_nodes(size1, n))
        assert len(proof) == merkle.consistency_proof_length(size1, n)


def test_proofs_from_a_recomputing_store_verify():
    # A store that derives each node from its children, so node reads are genuinely consistent.
    def get(level, index):
        if level == 0:
            return merkle.leaf_hash(index.to_bytes(8, "big"))
        return merkle.node_hash(get(level - 1, 2 * index), get(level - 1, 2 * index + 1))

    size = 2**12 + 2**5 + 3
    root = merkle.root(size, get)
    for index in (0, 7, 2**12, size - 1):
        proof = merkle.inclusion_proof(index, size, get)
        merkle.verify_inclusion(get(0, index), index, size, proof, root)
    for size1 in (1, 2**12, 2**12 + 1, size - 1):
        proof = merkle.consistency_proof(size1, size, get)
        merkle.verify_consistency(size1, size, proof, merkle.root(size1, get), root)
