"""The timed requests of the scale test, each checked against the layout.

A scenario runs one kind of request many times (fixed points repeated,
random points drawn anew) and keeps every latency; an answer that is not
exactly what the layout says (keys, common prefixes, truncation, bytes,
ETag) is an error, whatever its speed.
"""

from __future__ import annotations

import hashlib
import math
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from layout import SEEDS, Layout, seed_body, seed_key
from s3http import S3Http

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
PAGE = 1000


@dataclass
class Scenario:
    name: str
    target_ms: float | None
    seconds: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def pct(self, p: float) -> float:
        s = sorted(self.seconds)
        return s[max(0, math.ceil(p * len(s)) - 1)] * 1000

    def summary(self) -> dict:
        d = {"name": self.name, "n": len(self.seconds), "target_ms": self.target_ms, "errors": self.errors[:5]}
        if self.seconds:
            d.update(p50_ms=round(self.pct(0.5), 2), p95_ms=round(self.pct(0.95), 2),
                     max_ms=round(max(self.seconds) * 1000, 2))
        d["right"] = bool(self.seconds and not self.errors)
        d["met"] = bool(self.target_ms is None or (self.seconds and d["p95_ms"] <= self.target_ms))
        d["ok"] = d["right"] and d["met"]
        return d


def parse_list(body: bytes) -> tuple[list[str], list[str], bool, str | None]:
    root = ET.fromstring(body)
    keys = [c.findtext(f"{NS}Key") for c in root.findall(f"{NS}Contents")]
    cps = [c.findtext(f"{NS}Prefix") for c in root.findall(f"{NS}CommonPrefixes")]
    return keys, cps, root.findtext(f"{NS}IsTruncated") == "true", root.findtext(f"{NS}NextContinuationToken")


class Runner:
    def __init__(self, s3: S3Http, bucket: str, lay: Layout, rng: random.Random):
        self.s3, self.bucket, self.lay, self.rng = s3, bucket, lay, rng

    def list_page(self, sc: Scenario, want_keys: list[str], want_cps: list[str], more: bool, **q) -> str | None:
        """One ListObjectsV2 page, timed and checked; its continuation token."""
        query = {"list-type": "2", "max-keys": str(PAGE), **{k.replace("_", "-"): v for k, v in q.items()}}
        a = self.s3.request("GET", f"/{self.bucket}", query)
        if a.status != 200:
            sc.errors.append(f"{query}: HTTP {a.status} {a.body[:200]!r}")
            return None
        sc.seconds.append(a.seconds)
        keys, cps, truncated, token = parse_list(a.body)
        if (keys, cps, truncated) != (want_keys, want_cps, more):
            sc.errors.append(f"{query}: got {len(keys)} keys {keys[:1]}..., {len(cps)} prefixes {cps[:1]}..., "
                             f"truncated={truncated}; want {len(want_keys)} keys {want_keys[:1]}..., "
                             f"{len(want_cps)} prefixes {want_cps[:1]}..., truncated={more}")
        return token

    # Keys in key order: the seeds, then the loaded keys.
    def keys_after(self, i: int) -> tuple[list[str], bool]:
        """The page after loaded key i (-1: from the first loaded key)."""
        n = self.lay.objects
        return [self.lay.key(k) for k in range(i + 1, min(n, i + 1 + PAGE))], i + 1 + PAGE < n

    def pages(self, reps: int, randoms: int) -> list[Scenario]:
        lay, n = self.lay, self.lay.objects
        out = []
        sc = Scenario("page of 1,000 keys: start of the bucket", 30)
        first = [seed_key(i) for i in range(SEEDS)] + [lay.key(k) for k in range(PAGE - SEEDS)]
        for _ in range(reps):
            self.list_page(sc, first, [], n + SEEDS > PAGE)
        out.append(sc)
        for name, i in (("middle", n // 2 - 1), ("end", n - PAGE - 1)):
            sc = Scenario(f"page of 1,000 keys: start-after at the {name}", 30)
            keys, more = self.keys_after(i)
            for _ in range(reps):
                self.list_page(sc, keys, [], more, start_after=lay.key(i))
            out.append(sc)
        sc = Scenario("page of 1,000 keys: start-after at random points", 30)
        for _ in range(randoms):
            i = self.rng.randrange(n)
            # Half the markers are keys, half fall between two keys.
            marker = lay.key(i) + ("" if self.rng.random() < 0.5 else "~")
            keys, more = self.keys_after(i)
            self.list_page(sc, keys, [], more, start_after=marker)
        out.append(sc)
        return out

    def folders_after(self, f: int) -> tuple[list[str], bool]:
        fs = self.lay.folders
        return [self.lay.folder(g) for g in range(f + 1, min(fs, f + 1 + PAGE))], f + 1 + PAGE < fs

    def folder_pages(self, reps: int, randoms: int) -> list[Scenario]:
        lay, fs = self.lay, self.lay.folders
        out = []
        sc = Scenario("delimiter page of 1,000 folders: start of the bucket", 30)
        first = ["seed/"] + [lay.folder(g) for g in range(min(fs, PAGE - 1))]
        for _ in range(reps):
            self.list_page(sc, [], first, fs + 1 > PAGE, delimiter="/")
        out.append(sc)
        for name, f in (("middle", fs // 2 - 1), ("end", fs - PAGE - 1)):
            sc = Scenario(f"delimiter page of 1,000 folders: start-after at the {name}", 30)
            cps, more = self.folders_after(f)
            for _ in range(reps):
                self.list_page(sc, [], cps, more, delimiter="/", start_after=lay.folder(f))
            out.append(sc)
        sc = Scenario("delimiter page of 1,000 folders: start-after a random key", 30)
        for _ in range(randoms):
            f = self.rng.randrange(fs)
            cps, more = self.folders_after(f)
            marker = lay.key_at(f, self.rng.randrange(lay.per_folder))
            self.list_page(sc, [], cps, more, delimiter="/", start_after=marker)
        out.append(sc)
        return out

    def one_folder(self, randoms: int) -> list[Scenario]:
        lay = self.lay
        out = []
        for delim in (False, True):
            sc = Scenario("one folder by prefix" + (", delimiter /" if delim else ""), 30)
            for _ in range(randoms):
                f = self.rng.randrange(lay.folders)
                keys = [lay.key_at(f, j) for j in range(min(PAGE, lay.per_folder))]
                q = {"prefix": lay.folder(f), **({"delimiter": "/"} if delim else {})}
                self.list_page(sc, keys, [], lay.per_folder > PAGE, **q)
            out.append(sc)
        return out

    def ten_thousand(self, reps: int) -> Scenario:
        """10 pages of 1,000 through continuation tokens, timed as a whole."""
        lay, n = self.lay, self.lay.objects
        sc = Scenario("10,000 keys: 10 pages through continuation tokens", 50)
        for _ in range(reps):
            i = self.rng.randrange(max(1, n - 10 * PAGE))
            page = Scenario("page", None)
            token, total = None, 0.0
            for p in range(10):
                keys, more = self.keys_after(i + p * PAGE)
                q = {"continuation_token": token} if token else {"start_after": lay.key(i)}
                token = self.list_page(page, keys, [], more, **q)
                if token is None and p < 9:
                    break
            if page.errors or len(page.seconds) != 10:
                sc.errors.extend(page.errors or [f"{len(page.seconds)} pages, not 10"])
                continue
            total = sum(page.seconds)
            sc.seconds.append(total)
        return sc

    def gets(self, samples: int) -> Scenario:
        lay = self.lay
        sc = Scenario("GET of a sampled key (byte-correct)", None)
        bodies = [seed_body(i) for i in range(SEEDS)]
        for _ in range(samples):
            key = lay.key(self.rng.randrange(lay.objects))
            want = bodies[lay.seed_of(key)]
            a = self.s3.request("GET", f"/{self.bucket}/{key}")
            if a.status != 200:
                sc.errors.append(f"GET {key}: HTTP {a.status}")
                continue
            sc.seconds.append(a.seconds)
            etag = a.headers.get("ETag", "").strip('"')
            if a.body != want or etag != hashlib.md5(want).hexdigest():
                sc.errors.append(f"GET {key}: {len(a.body)} bytes, ETag {etag}: not seed {lay.seed_of(key)}")
        return sc
