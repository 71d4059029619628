"""The chart geometry (app/blueprints/charts.py): pure functions, no app needed."""

from __future__ import annotations

from app.blueprints import charts


def test_bars_scale_the_longest_to_the_plot_width_and_keep_the_rows_apart():
    chart = charts.bars([("Created", 4, "/a"), ("Assigned", 2, None), ("Cancelled", 0, "/c")])
    plot = charts.WIDTH - charts.LABEL_WIDTH - charts.VALUE_WIDTH
    assert chart.view_box == f"0 0 360 {3 * charts.ROW}" and chart.maximum == 4
    first, second, third = chart.bars
    assert [s.width for s in first.segments] == [plot] and first.segments[0].x == charts.LABEL_WIDTH
    assert [s.width for s in second.segments] == [plot / 2]
    assert third.segments == () and third.text == "0" and third.href == "/c"  # an empty bar keeps its row
    assert [b.y for b in chart.bars] == [5.0, 31.0, 57.0]
    assert first.value_x == charts.LABEL_WIDTH + plot + 4 and first.text == "4"
    assert not chart.empty


def test_stacked_bars_put_the_series_side_by_side():
    chart = charts.stacked_bars([("Ben", [1, 2, 1], None), ("Ann", [1, 0, 0], None)], ("done", "open", "other"))
    ben = chart.bars[0]
    assert [(s.series, s.name, s.value) for s in ben.segments] == [(0, "done", 1), (1, "open", 2), (2, "other", 1)]
    assert [s.x for s in ben.segments] == [118.0, 163.0, 253.0] and ben.value == 4
    assert chart.bars[1].segments[0].width == 45.0  # 1 of 4 of the 180-unit plot
    assert chart.series == ("done", "open", "other")


def test_nothing_to_draw_is_empty_never_a_division_by_zero():
    assert charts.bars([]).empty
    zero = charts.bars([("Created", 0, None), ("Assigned", None, None)])
    assert zero.empty and all(bar.segments == () for bar in zero.bars)
    assert charts.day_series([("06-10", None)]).empty


def test_a_bar_without_a_figure_reads_no_data_not_zero():
    chart = charts.bars([("Critical", 100.0, None), ("High", None, None), ("Low", 0.0, None)],
                        text=lambda v: f"{v:.0f} %")
    assert [bar.text for bar in chart.bars] == ["100 %", "no data", "0 %"]
    assert chart.bars[1].segments == ()


def test_long_labels_are_shortened_in_the_drawing_only():
    bar = charts.bars([("Theodora Wolfeschlegelsteinhausen", 1, None)]).bars[0]
    assert bar.short_label == "Theodora Wolfesc…" and bar.label == "Theodora Wolfeschlegelsteinhausen"
    assert charts.number_text(1234) == "1,234" and charts.number_text(2.5) == "2.50"


def test_a_day_series_breaks_its_line_where_a_day_has_no_value():
    series = charts.day_series([("06-10", 50.0), ("06-11", 100.0), ("06-12", None), ("06-13", 0.0)])
    assert (series.left, series.right, series.top, series.bottom) == (40, 350, 12, 144)
    assert series.lines == ("40,78 143.33,12", "350,144")
    assert [(p.label, p.value) for p in series.points] == [("06-10", 50.0), ("06-11", 100.0), ("06-13", 0.0)]
    assert [(t.position, t.text) for t in series.y_ticks] == [(144, "0 %"), (78, "50 %"), (12, "100 %")]
    assert [t.text for t in series.x_ticks] == ["06-10", "06-11", "06-13"]


def test_a_single_day_is_drawn_in_the_middle():
    series = charts.day_series([("06-10", 25.0)])
    assert series.points[0].x == 195.0 and series.lines == ("195,111",)
    assert [t.text for t in series.x_ticks] == ["06-10"]
