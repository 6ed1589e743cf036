"""The contract pages' SVG bar charts: named, described, whole-number axes, text escaped."""

from __future__ import annotations

import re

from gapwatch.web.charts import Series, bars


def test_a_chart_is_an_image_named_by_its_title_and_description():
    svg = bars("flags", "Flags <raised>", "Per month & provider", ["Jan 26", "Feb 26"],
               [Series("Flags", (0, 3))])
    assert svg.startswith('<svg class="chart" id="flags"')
    assert 'role="img" aria-labelledby="flags-title flags-desc"' in svg
    assert '<title id="flags-title">Flags &lt;raised&gt;</title>' in svg
    assert '<desc id="flags-desc">Per month &amp; provider</desc>' in svg
    assert "style=" not in svg  # the strict CSP: looks are classes of the stylesheet


def test_each_value_is_a_bar_of_its_series_and_the_axis_counts_in_whole_numbers():
    svg = bars("r", "Referrals", "", ["Jan 26", "Feb 26", "Mar 26"],
               [Series("Made", (1, 2, 5)), Series("Accepted", (1, 0, 4))])
    # a legend swatch per series, then a bar per month and series
    assert len(re.findall(r'class="chart-bar chart-bar-1"', svg)) == 1 + 3
    assert len(re.findall(r'class="chart-bar chart-bar-2"', svg)) == 1 + 3
    ticks = re.findall(r'class="chart-axis" x="38" y="[\d.]+" text-anchor="end">([^<]+)<', svg)
    assert ticks == ["0", "3", "6"]
    one = bars("one", "One", "", ["Jan 26"], [Series("Cases", (1,))])
    assert re.findall(r'text-anchor="end">([^<]+)<', one) == ["0", "1", "2"]
