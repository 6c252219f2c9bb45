"""`finpulse retrain --dry-run` from the base encoder: a progress bar, a report, no changes."""

from __future__ import annotations

import pytest

from classifier import registry
from tests.classifier.retraining.conftest import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_dry_run_from_base_prints_the_report_and_changes_nothing(
    rt_settings, install_champion, capsys
) -> None:
    settings = rt_settings()
    champion = install_champion(settings)
    folders = sorted(p.name for p in settings.model.registry_dir.iterdir())

    assert run_cli(settings, "retrain", "--from", "base", "--dry-run", "--epochs", "1",
                   "--limit", "48", "--tolerance", "0.5") == 0

    out, err = capsys.readouterr()
    assert "# Retraining report:" in out and f"vs champion {champion}" in out
    assert "| seed_dev |" in out and "Trained from base for 1 epoch(s)" in out
    assert "Dry run: nothing was registered or promoted." in out
    assert "training" in err and ("step/s" in err or "s/step" in err)  # tqdm: rate and ETA
    assert [r["version"] for r in registry.list_rows(settings)] == [champion]
    assert sorted(p.name for p in settings.model.registry_dir.iterdir()) == folders


def test_bad_arguments_are_named(rt_settings) -> None:
    from finpulse.errors import ConfigError

    settings = rt_settings()
    with pytest.raises(ConfigError, match="--epochs must be at least 1, got 0"):
        run_cli(settings, "retrain", "--epochs", "0")
    with pytest.raises(ConfigError, match=r"--tolerance must be in \[0, 1\), got 1.5"):
        run_cli(settings, "retrain", "--tolerance", "1.5")
    with pytest.raises(registry.ModelNotFound, match="no champion model yet"):
        run_cli(settings, "retrain")
