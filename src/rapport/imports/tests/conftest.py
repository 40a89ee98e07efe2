import pytest


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """Runs what the code queued after commit (background jobs run inline in tests)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
