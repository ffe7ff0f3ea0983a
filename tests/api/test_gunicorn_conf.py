"""What ``chemtrace serve`` does in each worker once the app is loaded."""

from __future__ import annotations

import gc

from gunicorn import util

from api import gunicorn_conf


def test_a_worker_freezes_the_loaded_app_out_of_the_cyclic_collector() -> None:
    # Why: without it every full collection rescans the app's long-lived objects, a third of
    # a bulk ingestion's time (docs/performance.md, "Bulk ingestion profile").
    write_error = util.write_error
    gc.unfreeze()
    try:
        gunicorn_conf.post_worker_init(object())
        assert gc.get_freeze_count() > 0
        assert util.write_error is gunicorn_conf._write_problem
    finally:
        gc.unfreeze()  # the test process collects as before
        util.write_error = write_error
