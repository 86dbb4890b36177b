from olmo_core.pipeline.report import summarize


def test_a_data_jobs_record_accounting_leads_and_its_own_metrics_follow() -> None:
    metrics = {"command": "data tokenize", "shard": None, "files": 5, "files_done": 5, "complete": True,
               "records": 202, "written": 200, "dropped": 0, "quarantined": 2, "skipped_files": {},
               "parts": 5, "tokens": 336659}
    assert summarize(metrics) == "202 in: 200 written, 0 dropped, 2 quarantined; parts: 5; tokens: 336,659"


def test_an_incomplete_data_job_says_so_and_other_jobs_show_their_first_metrics() -> None:
    assert summarize({"records": 3, "written": 1, "complete": False}) == \
        "3 in: 1 written, 0 dropped, 0 quarantined (incomplete)"
    assert summarize({"run": "runs/x", "steps": 8, "tokens": 8192, "final_loss": 7.809313577318949,
                      "first_loss": 11.0, "watts": 30.0}) == "steps: 8; tokens: 8,192; final loss: 7.809; first loss: 11"
    assert summarize({"evaluated": ["base"]}) == "-"


def test_a_metric_that_its_job_labels_is_shown_by_its_label() -> None:
    """A training run of 8 steps averages its last 8 losses in ``mean_loss_last_10``: not "last 10"."""
    metrics = {"steps": 8, "final_loss": 9.5, "mean_loss_last_10": 9.4321,
               "labels": {"mean_loss_last_10": "mean loss, last 8 steps"}}
    assert summarize(metrics) == "steps: 8; final loss: 9.5; mean loss, last 8 steps: 9.432"
    assert summarize({"mean_loss_last_10": 9.4321}) == "mean loss last 10: 9.432"  # no label: by its key
