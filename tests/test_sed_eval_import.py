"""sed_eval imports (dcase_util needs pkg_resources, gone from setuptools >= 81)."""


def test_sed_eval_imports_and_scores():
    import dcase_util
    import sed_eval

    reference = dcase_util.containers.MetaDataContainer(
        [{"filename": "a", "onset": 0.0, "offset": 2.0, "event_label": "dog"}]
    )
    metrics = sed_eval.sound_event.SegmentBasedMetrics(["dog"], time_resolution=1.0)
    metrics.evaluate(reference, reference, evaluated_length_seconds=4.0)
    assert metrics.results_overall_metrics()["f_measure"]["f_measure"] == 1.0
