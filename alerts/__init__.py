"""finpulse alerts: spike detection on ``news.classified`` and signed webhook delivery.

Modules, in the order data flows through them:

- ``rules`` / ``rulefile``: the rules file (``config/rules.yaml``) and its validation.
- ``aggregate`` / ``metrics``: what each classified article contributes to a rule's scope
  keys, per-bucket counts, and the metrics over them.
- ``detectors``: threshold, z-score, ratio and percent-change detectors (pure).
- ``lifecycle``: pending → firing → resolved, hysteresis, repeat interval (pure).
- ``engine``: the two above over mutable mappings (faust tables live, dicts in backtests).
- ``app`` / ``runner``: the faust-streaming worker (``finpulse alerts``; ``run_alerts`` runs
  it in any thread until a stop event is set).
- ``pipeline``: group → dedup → silence → record (alerts, history) → queue deliveries.
- ``payloads``: the explainable alert and its finpulse / Slack / Alertmanager v4 bodies.
- ``signing`` / ``webhooks`` / ``dispatcher``: Standard Webhooks signatures, one attempt and
  its classification, backoff with jitter, the delivery thread.
- ``backtest`` / ``commands`` / ``cli``: the ``finpulse alerts`` subcommands.
"""
