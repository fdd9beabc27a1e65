"""The Merkle tree over the ledger (RFC 9162): append with a frontier, proofs from stored subtrees.

Appending touches O(log n) hashes: the right frontier (the perfect subtrees that make up the tree,
kept on ``LedgerState``) and the new perfect subtrees it completes (stored as ``Node`` rows). Every
proof is assembled from stored perfect subtrees plus at most O(log n) combinations on the fly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from pacte.ledger.verifier import node_hash

Frontier = list[tuple[int, bytes]]


def largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def frontier_append(
    frontier: Frontier, leaf: bytes, size: int
) -> tuple[Frontier, list[tuple[int, int, bytes]]]:
    """Append ``leaf`` as leaf number ``size``; return the new frontier and the completed nodes.

    Completed nodes are (level, index, hash) with level ≥ 1.
    """
    frontier = list(frontier)
    level, current = 0, leaf
    completed: list[tuple[int, int, bytes]] = []
    new_size = size + 1
    while frontier and frontier[-1][0] == level:
        _, left = frontier.pop()
        current = node_hash(left, current)
        level += 1
        completed.append((level, (new_size >> level) - 1, current))
    frontier.append((level, current))
    return frontier, completed


def frontier_root(frontier: Frontier) -> bytes:
    """Return the root of the tree whose frontier is given (empty tree: SHA-256 of nothing)."""
    if not frontier:
        return hashlib.sha256(b"").digest()
    root = frontier[-1][1]
    for _level, left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


class Hashes:
    """Subtree hashes read through ``perfect(level, index)``, with memoisation."""

    def __init__(self, perfect: Callable[[int, int], bytes]) -> None:
        self._perfect = perfect
        self._memo: dict[tuple[int, int], bytes] = {}

    def perfect(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._memo:
            self._memo[key] = self._perfect(level, index)
        return self._memo[key]

    def range(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range that starts on a boundary of its largest subtree."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self.perfect(n.bit_length() - 1, start // n)
        k = largest_power_of_two_below(n)
        return node_hash(self.range(start, start + k), self.range(start + k, end))


def inclusion_path(hashes: Hashes, index: int, size: int, start: int = 0) -> list[bytes]:
    """RFC 9162 PATH(index, D[start:start+size]) as a list of sibling hashes, leaf side first."""
    if size <= 1:
        return []
    k = largest_power_of_two_below(size)
    if index < k:
        return [*inclusion_path(hashes, index, k, start), hashes.range(start + k, start + size)]
    return [*inclusion_path(hashes, index - k, size - k, start + k), hashes.range(start, start + k)]


def consistency_path(hashes: Hashes, first: int, second: int) -> list[bytes]:
    """RFC 9162 PROOF(first, D[second])."""
    if first == 0 or first == second:
        return []
    return _subproof(hashes, first, second, 0, True)


def _subproof(hashes: Hashes, m: int, n: int, start: int, complete: bool) -> list[bytes]:
    if m == n:
        return [] if complete else [hashes.range(start, start + n)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*_subproof(hashes, m, k, start, complete), hashes.range(start + k, start + n)]
    return [*_subproof(hashes, m - k, n - k, start + k, False), hashes.range(start, start + k)]
