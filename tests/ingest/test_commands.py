"""`finpulse sources check` and the demo replay."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from finpulse.errors import ConfigError
from finpulse.settings import ModelSettings
from ingest.check import check_sources
from ingest.demo import publish_demo
from ingest.publish import MemorySink
from tests.ingest.sites import ingest_settings, rss, write_sources


@pytest.mark.integration
def test_sources_check_prints_a_table_and_fails_when_a_source_does(httpserver: HTTPServer, make_settings,
                                                                   tmp_path: Path, capsys) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/feed").respond_with_data(rss([
        {"title": "Microsoft closes cloud deal", "link": "/m", "description": "x"}]), content_type="text/xml")
    httpserver.expect_request("/gone").respond_with_data("", status=404)
    settings = make_settings(ingest=ingest_settings(tmp_path))
    write_sources(settings.ingest.sources_file, [
        {"name": "wire", "type": "feed", "url": httpserver.url_for("/feed")},
        {"name": "gone", "type": "page", "url": httpserver.url_for("/gone")},
    ])
    assert check_sources(settings) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("2 enabled source(s), valid")
    wire = next(line for line in out if line.startswith("wire"))
    gone = next(line for line in out if line.startswith("gone"))
    assert " ok " in wire and "200:1" in wire and "Microsoft closes cloud deal" in wire
    assert "FAILED" in gone and "404:1" in gone and "HTTP 404" in gone
    assert "/m" not in [r.path for r, _ in httpserver.log]  # check fetches the source document only
    assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())


@pytest.mark.unit
def test_sources_check_rejects_an_invalid_file(make_settings, tmp_path: Path) -> None:
    settings = make_settings(ingest=ingest_settings(tmp_path))
    write_sources(settings.ingest.sources_file, [{"name": "x", "type": "feed"}])
    with pytest.raises(ConfigError, match=r"sources\[0\] \(x\): url: Field required"):
        check_sources(settings)


@pytest.mark.unit
def test_demo_replays_every_seed_file_with_distinct_ids(make_settings, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "a_train.csv").write_text(
        "text,label\nFirst seed headline about $AAPL,1\nSecond seed headline,0\n"
    )
    (seed / "b_train.csv").write_text("text,label\nThird seed headline,2\n")
    settings = make_settings(model=ModelSettings(registry_dir=tmp_path / "m", seed_data=str(seed)))
    sink = MemorySink()
    sent = publish_demo(settings, stop=threading.Event(), rate_per_s=1000, limit=5, sink=sink)
    assert sent == 5
    texts = [a.text for a in sink.articles]
    assert texts[:3] == ["First seed headline about $AAPL", "Second seed headline", "Third seed headline"]
    assert texts[3:] == texts[:2]  # the second pass
    assert len({a.id for a in sink.articles}) == 5 and {a.source for a in sink.articles} == {"demo"}


@pytest.mark.unit
def test_demo_needs_a_local_seed_folder(make_settings, tmp_path: Path) -> None:
    model = ModelSettings(registry_dir=tmp_path / "m", seed_data="org/dataset-on-the-hub")
    settings = make_settings(model=model)
    with pytest.raises(ConfigError, match="is not a folder"):
        publish_demo(settings, stop=threading.Event(), sink=MemorySink())
