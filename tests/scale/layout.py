"""The key layout of the scale test's bucket, and what a listing of it must say.

`folders` top-level folders `user-NNNN/`, each holding `per_folder` objects
`photo-NNN.jpg` (zero-padded, so key order is (folder, file) order), after
a few seed objects `seed/blob-N` (written by PUT: their blobs are the ones
every loaded row points at). The default 10,000 folders of 1,000 objects
make 10 million keys: a delimiter page at the root covers 1,000 folders,
a prefix page covers one whole folder.

A loaded object's content is that of seed `(its index in key order) % SEEDS`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SEEDS = 8


def seed_key(i: int) -> str:
    return f"seed/blob-{i}"


def seed_body(i: int) -> bytes:
    """Seed i's bytes: past the 64 KiB inline limit, so each is a real blob."""
    return random.Random(i).randbytes(64 * 1024 + 1 + 4099 * i)


@dataclass(frozen=True)
class Layout:
    folders: int
    per_folder: int

    @property
    def objects(self) -> int:
        return self.folders * self.per_folder

    @property
    def folder_width(self) -> int:
        return max(4, len(str(self.folders - 1)))

    @property
    def file_width(self) -> int:
        return max(3, len(str(self.per_folder - 1)))

    def folder(self, f: int) -> str:
        return f"user-{f:0{self.folder_width}d}/"

    def key_at(self, f: int, j: int) -> str:
        return f"{self.folder(f)}photo-{j:0{self.file_width}d}.jpg"

    def key(self, i: int) -> str:
        """The loaded key at index i in key order."""
        return self.key_at(i // self.per_folder, i % self.per_folder)

    def index(self, key: str) -> int:
        f = int(key[5:5 + self.folder_width])
        j = int(key.rsplit("photo-", 1)[1][:-4])
        return f * self.per_folder + j

    def seed_of(self, key: str) -> int:
        return self.index(key) % SEEDS

    def sql_key(self, f: str, j: str) -> str:
        """The SQL expression of key_at(f, j) over integer columns f and j."""
        return (f"convert_to('user-' || lpad({f}::text, {self.folder_width}, '0') || '/photo-' "
                f"|| lpad({j}::text, {self.file_width}, '0') || '.jpg', 'UTF8')")
