"""Every page renders on the seeded database without exceptions."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import assert_no_exception, texts

pytestmark = pytest.mark.integration

PAGES = ["overview", "drilldown", "articles", "alerts", "labeling", "model_registry", "pipeline"]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_seeded_db(seeded, app_for, page: str) -> None:
    settings, _ = seeded
    at = app_for(settings, page)
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value != "coming soon"


@pytest.mark.parametrize("page", PAGES)
def test_page_explains_an_empty_database(empty_settings, app_for, page: str) -> None:
    at = app_for(empty_settings, page)
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert texts(at)
