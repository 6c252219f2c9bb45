"""Charts as functions: data frames in, Altair charts out (no Streamlit, no database)."""

from __future__ import annotations

import altair as alt
import pandas as pd

SENTIMENT_COLORS = alt.Scale(domain=["bearish", "neutral", "bullish"],
                             range=["#d62728", "#9e9e9e", "#2ca02c"])


def _top_keys(df: pd.DataFrame, top: int) -> list[str]:
    return df.groupby("key")["n"].sum().sort_values(ascending=False).head(top).index.tolist()


def volume_chart(df: pd.DataFrame, *, top: int = 8, title: str = "Articles per topic"
                 ) -> alt.Chart:
    """Stacked article counts per bucket for the ``top`` busiest keys (the rest as 'other')."""
    keep = set(_top_keys(df, top))
    data = df.assign(key=df["key"].where(df["key"].isin(keep), "other"))
    data = data.groupby(["bucket", "key"], as_index=False)["n"].sum()
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("sum(n):Q", title="articles"),
            color=alt.Color("key:N", title="topic", sort=sorted(keep) + ["other"]),
            tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"), "key:N", "n:Q"],
        )
        .properties(height=280)
    )


def sentiment_chart(df: pd.DataFrame, *, top: int = 8,
                    title: str = "Net sentiment per topic (mean P(bullish) − P(bearish))"
                    ) -> alt.Chart:
    """One line per busy key: the mean sentiment score of its articles in each bucket."""
    data = df[df["key"].isin(_top_keys(df, top))]
    return (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("net_sentiment:Q", title="net sentiment",
                    scale=alt.Scale(domain=[-1, 1])),
            color=alt.Color("key:N", title="topic"),
            tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"), "key:N",
                     alt.Tooltip("net_sentiment:Q", format="+.2f"), "n:Q"],
        )
        .properties(height=280)
    )


def share_chart(df: pd.DataFrame, *, title: str = "Bearish / neutral / bullish share"
                ) -> alt.Chart:
    """Stacked-to-100% sentiment shares per bucket of the overall ('all') series."""
    long = df.melt(id_vars=["bucket"], value_vars=["n_bearish", "n_neutral", "n_bullish"],
                   var_name="sentiment", value_name="count")
    long["sentiment"] = long["sentiment"].str.removeprefix("n_")
    return (
        alt.Chart(long, title=title)
        .mark_area()
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("count:Q", stack="normalize", title="share", axis=alt.Axis(format="%")),
            color=alt.Color("sentiment:N", scale=SENTIMENT_COLORS),
            tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"), "sentiment:N",
                     "count:Q"],
        )
        .properties(height=220)
    )


def movers_chart(df: pd.DataFrame, *, title: str) -> alt.Chart:
    """Horizontal bars: volume against baseline (ratio), coloured by net sentiment."""
    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("key:N", sort="-x", title=None),
            x=alt.X("ratio:Q", title="volume ÷ baseline"),
            color=alt.Color("net_sentiment:Q", title="net sentiment",
                            scale=alt.Scale(scheme="redyellowgreen", domain=[-1, 1])),
            tooltip=["key:N", "n:Q", alt.Tooltip("baseline:Q", format=".1f"),
                     alt.Tooltip("ratio:Q", format=".1f"),
                     alt.Tooltip("net_sentiment:Q", format="+.2f")],
        )
        .properties(height=alt.Step(22))
    )


def drilldown_chart(series: pd.DataFrame, alerts: pd.DataFrame, *, title: str) -> alt.Chart:
    """Volume bars and net-sentiment line of one key, alerts as red rules; clicking a bar
    selects its bucket (``point`` selection named 'point')."""
    pick = alt.selection_point(name="point", fields=["bucket"], on="click")
    base = alt.Chart(series).encode(x=alt.X("bucket:T", title=None))
    bars = base.mark_bar(opacity=0.8).encode(
        y=alt.Y("n:Q", title="articles"),
        color=alt.condition(pick, alt.value("#4c78a8"), alt.value("#c6d4e6")),
        tooltip=[alt.Tooltip("bucket:T", format="%Y-%m-%d %H:%M"), "n:Q",
                 alt.Tooltip("net_sentiment:Q", format="+.2f")],
    ).add_params(pick)
    line = base.mark_line(color="#f58518", point=True).encode(
        y=alt.Y("net_sentiment:Q", title="net sentiment", scale=alt.Scale(domain=[-1, 1])))
    layers = alt.layer(bars, line).resolve_scale(y="independent")
    if not alerts.empty:
        marks = alt.Chart(alerts).mark_rule(color="#d62728", strokeWidth=2).encode(
            x="started_at:T",
            tooltip=["rule:N", "state:N", alt.Tooltip("started_at:T", format="%Y-%m-%d %H:%M"),
                     "value:Q", "threshold:Q"],
        )
        layers = alt.layer(bars, line, marks).resolve_scale(y="independent")
    return layers.properties(title=title, height=320)


def throughput_chart(df: pd.DataFrame, *, title: str = "Articles per minute") -> alt.Chart:
    return (
        alt.Chart(df, title=title)
        .mark_area(line=True, opacity=0.4)
        .encode(x=alt.X("bucket:T", title=None), y=alt.Y("n:Q", title="articles"),
                tooltip=[alt.Tooltip("bucket:T", format="%H:%M"), "n:Q"])
        .properties(height=200)
    )


def lag_chart(df: pd.DataFrame, *, title: str = "Consumer lag per group") -> alt.Chart:
    return (
        alt.Chart(df, title=title)
        .mark_bar()
        .encode(y=alt.Y("group:N", title=None), x=alt.X("sum(lag):Q", title="messages behind"),
                color=alt.Color("topic:N"), tooltip=["group:N", "topic:N", "sum(lag):Q"])
        .properties(height=alt.Step(28))
    )
