"""``finpulse eval`` prints one JSON object whose figures match a hand-checked file; ``predict``
and ``models`` work from the command line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from classifier import registry
from finpulse.schemas import SENTIMENTS
from tests.conftest import write_settings_file
from tests.support import REPO

pytestmark = pytest.mark.slow

TEXTS = ["Apple beats earnings estimates", "Oil prices slump on demand fears",
         "Fed keeps rates unchanged", "Company cuts guidance, shares fall",
         "Dividend hiked by 10 percent", 'He said "buy",\nthen sold']


def finpulse(config, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {"FINPULSE_CONFIG": str(config), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "system", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_eval_prints_the_json_with_hand_checked_figures(model_settings, install_model, tmp_path) -> None:
    # fp32: int8 dynamic quantisation scales activations per batch, so its labels may depend on
    # the batch a text shares; fp32 labels do not (test_engine checks that).
    settings = model_settings(model={"precision": "fp32"})
    version = install_model(settings)
    engine = registry.load_engine(settings, registry.resolve(settings))
    predicted = [SENTIMENTS.index(engine.predict([t])[0].sentiment) for t in TEXTS]
    # Rows 0-3 labelled as the model predicts them, rows 4-5 with another label: accuracy 4/6.
    labels = predicted[:4] + [(p + 1) % 3 for p in predicted[4:]]
    path = tmp_path / "small.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(zip(TEXTS, labels, strict=False))
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")

    done = finpulse(config, "eval", "--task", "sentiment", "--data", str(path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert set(out) == {"task", "model", "n", "accuracy", "macro_f1", "weighted_f1", "per_class",
                        "texts_per_s"}
    assert (out["task"], out["model"], out["n"]) == ("sentiment", version, 6)
    assert out["accuracy"] == pytest.approx(4 / 6)
    # the per-class figures, recomputed by hand from the labels and predictions
    for k, name in enumerate(SENTIMENTS):
        tp = sum(1 for t, p in zip(labels, predicted, strict=False) if t == p == k)
        support = labels.count(k)
        if name in out["per_class"]:
            got = out["per_class"][name]
            assert got["support"] == support
            assert got["recall"] == pytest.approx(tp / support if support else 0.0)
            assert got["precision"] == pytest.approx(tp / predicted.count(k) if predicted.count(k) else 0.0)
    from sklearn.metrics import f1_score

    assert out["macro_f1"] == pytest.approx(f1_score(labels, predicted, average="macro"))
    assert out["weighted_f1"] == pytest.approx(f1_score(labels, predicted, average="weighted"))
    assert out["texts_per_s"] > 0


def test_eval_names_a_bad_file(model_settings, install_model, tmp_path) -> None:
    settings = model_settings()
    install_model(settings)
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,9\n", encoding="utf-8")
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")
    done = finpulse(config, "eval", "--task", "sentiment", "--data", str(bad))
    assert done.returncode == 2
    assert "bad.csv: line 2: sentiment label 9 is out of range" in done.stderr


def test_predict_and_models_commands(model_settings, install_model, tmp_path) -> None:
    settings = model_settings()
    install_model(settings, "v-a")
    install_model(settings, "v-b", promote=False)
    config = write_settings_file(settings, tmp_path / "finpulse.yaml")

    done = finpulse(config, "predict", stdin='{"text": "Oil jumps"}\n"Gold falls"\n')
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [x["text"] for x in lines] == ["Oil jumps", "Gold falls"]
    assert all(x["model_version"] == "v-a" and x["sentiment"] in SENTIMENTS for x in lines)

    assert finpulse(config, "models", "promote", "v-b").returncode == 0
    listed = finpulse(config, "models", "list").stdout
    assert "* v-b" in listed and "  v-a" in listed
    assert finpulse(config, "models", "rollback").returncode == 0
    shown = json.loads(finpulse(config, "models", "show", "v-a").stdout)
    assert shown["is_champion"] and shown["folder"]["labels"]["sentiment"]["1"] == "bullish"
    assert finpulse(config, "models", "rollback").returncode == 2  # nothing left to roll back
