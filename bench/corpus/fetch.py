"""The corpus pages: real web pages that two extraction libraries ship as test fixtures in their
PyPI source distributions. They are fetched from PyPI (pinned by version and SHA-256) into a
cache outside the clone, never copied into this repository: the pages belong to their sites,
and the sdists are GPL-licensed; only our own ground truth (``truth/*.yaml``) is kept here.

    .venv/bin/python bench/corpus/fetch.py     # prints the folder; downloads once

``corpus_dir()`` returns the folder holding ``<sdist>/tests/cache/*.html``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDISTS = {
    # name-version: SHA-256 of the .tar.gz as PyPI serves it
    "htmldate-1.2.0": "9da929a1adbc3048f36730ab321b494dbfb060aae2d7ec87b2a4ec0a42999f29",
    "trafilatura-1.0.0": "10222e9475363091d38d4aa92349974a23363e8a98692b5f902d60bba3e53383",
}
PAGES = "tests/cache/"


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
    name, version = sdist.rsplit("-", 1)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--no-build-isolation", f"{name}=={version}", "--dest", str(into)],
        check=True,
    )
    found = next(into.glob(f"{sdist}.tar.gz"), None)
    if found is None:
        raise SystemExit(f"pip did not fetch {sdist}.tar.gz")
    return found


def _unpack_pages(archive: Path, dest: Path) -> int:
    count = 0
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/", 1)
            if member.isfile() and len(parts) == 2 and parts[1].startswith(PAGES) \
                    and member.name.endswith((".html", ".htm")):
                target = dest / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, target.open("wb") as out:  # type: ignore[union-attr]
                    shutil.copyfileobj(src, out)
                count += 1
    return count


def corpus_dir() -> Path:
    """The cache folder with every sdist's pages, downloading what is missing."""
    root = cache_root()
    for sdist, sha in SDISTS.items():
        done = root / f"{sdist}.ok"
        if done.exists():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            archive = _download(sdist, Path(tmp))
            if _sha256(archive) != sha:
                raise SystemExit(f"{archive.name}: SHA-256 {_sha256(archive)} is not the pinned {sha}")
            shutil.rmtree(root / sdist, ignore_errors=True)
            count = _unpack_pages(archive, root)
        done.write_text(f"{count} pages\n")
    return root


if __name__ == "__main__":
    print(corpus_dir())
