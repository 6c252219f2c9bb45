"""A retrain takes the champion's recipe, and its text preparation from the champion's folder."""

from __future__ import annotations

from classifier import registry
from classifier.model.textprep import TEXTPREP_FILE
from classifier.retraining.retrain import RetrainConfig, _train_config


def test_the_text_preparation_follows_the_champions_folder(rt_settings, install_champion) -> None:
    settings = rt_settings()
    version = install_champion(settings)
    champion = registry.resolve(settings, version)
    assert _train_config(settings, RetrainConfig(), champion).strip_urls is True
    (champion.folder / TEXTPREP_FILE).unlink()  # as a version trained before text preparation
    cfg = _train_config(settings, RetrainConfig(start="base"), champion)
    assert cfg.strip_urls is False
    assert cfg.epochs == RetrainConfig().epochs  # the run's own arguments still apply
