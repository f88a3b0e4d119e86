from apps.reports.charts import Bar, Point, bar_chart, line_chart, step_chart


def test_bar_chart_draws_rates_with_intervals_and_a_dash_for_no_figure():
    svg = bar_chart(
        [Bar("3 months", 0.764, 0.527, 0.904, "13/17"), Bar("12 months", None, note="0/0")],
        title="Response rate",
    )
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title>Response rate</title>" in svg
    assert "76.4%  13/17" in svg
    assert "—  0/0" in svg
    assert svg.count("<rect") == 1 and svg.count("<line") == 1


def test_labels_are_escaped():
    svg = bar_chart([Bar("<script>alert(1)</script>", 0.5)], title="T & <b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "T &amp; &lt;b&gt;" in svg


def test_no_style_attributes_for_the_content_security_policy():
    charts = [
        bar_chart([Bar("a", 0.2, 0.1, 0.3)], title="t"),
        line_chart([Point("2w", 4, 3, 6), Point("1m", None), Point("3m", 3, 2, 5), Point("6m", 2, 1, 4)], title="t"),
        step_chart([(0, 1.0), (30, 0.8), (90, 0.45)], title="t"),
    ]
    for svg in charts:
        assert "style=" not in svg and "<script" not in svg


def test_line_chart_breaks_at_missing_points_and_shades_the_range():
    svg = line_chart(
        [Point("2w", 4, 3, 6), Point("1m", None), Point("3m", 3, 2, 5), Point("6m", 2, 1, 4)], title="Pain"
    )
    assert svg.count("<polyline") == 1  # 3m-6m; the lone 2w point is a dot
    assert svg.count("<circle") == 3
    assert "<polygon" in svg


def test_step_chart_holds_each_estimate_until_the_next_time():
    svg = step_chart([(0, 1.0), (50, 0.5)], title="Durability")
    # (0,1) → (50,1) → (50,0.5): a horizontal then a vertical segment
    assert 'points="48.0,48.0 372.0,48.0 372.0,148.0"' in svg


def test_the_funnel_chart_prints_each_count_once(db):
    # given a funnel whose first step counts 0 blocks (an empty registry)
    from apps.reports import outcomes
    from apps.reports.presentation import dashboard_context

    # when
    svg = str(dashboard_context(outcomes.dashboard_compute(filters=outcomes.outcomes_filters()))["funnel_chart"])

    # then each bar's label is its count alone, not the count twice
    assert ">0  0<" not in svg and ">0<" in svg
