"""The server-drawn charts: an image with a name and a description, the labels escaped, colours that
stand out against the page (WCAG 2.1 1.4.11: 3:1 for graphics) and the axis to scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from web.ui import charts

SVG = "{http://www.w3.org/2000/svg}"


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_chart_is_a_named_described_image_of_well_formed_svg():
    series = [charts.Series("A tiempo", [3, None, 5]), charts.Series("<b>Tarde</b>", [1, 2, 0])]
    for draw in (charts.bars, charts.stacked, charts.line):
        svg = str(draw("g1", "Casos & más", "Lo que muestra", ["01/2026", "<script>", "03/2026"], series))
        root = ET.fromstring(svg)  # well formed: every label escaped
        assert root.get("role") == "img" and root.get("aria-labelledby") == "g1-t g1-d"
        assert root.find(f"{SVG}title").text == "Casos & más" and root.find(f"{SVG}desc").text == "Lo que muestra"
        assert "<script>" not in svg and "&lt;b&gt;Tarde" in svg


def test_the_colours_stand_out_on_white_and_the_text_reads():
    assert all(contrast(colour, "#ffffff") >= 3 for colour in charts.PALETTE)
    assert contrast(charts.INK, "#ffffff") >= 4.5 and contrast(charts.GRID, "#ffffff") >= 3


def test_the_bars_are_to_scale():
    svg = str(charts.bars("g", "t", "d", ["a", "b"], [charts.Series("n", [10, 5])]))
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] == 2 * heights[1] > 0
    stacked = str(charts.stacked("g", "t", "d", ["a"], [charts.Series("x", [3]), charts.Series("y", [1])]))
    piled = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)" fill="#', stacked)][:2]
    assert piled[0] == 3 * piled[1]
    percent = str(charts.line("g", "t", "d", ["a"], [charts.Series("%", [100])], top=100))
    assert ">100</text>" in percent and ">200</text>" not in percent
