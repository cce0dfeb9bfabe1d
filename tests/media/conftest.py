import pytest
from django.core.files.storage import FileSystemStorage

from calls.models import Recording


@pytest.fixture(autouse=True)
def _recordings_in_a_temporary_folder(monkeypatch, tmp_path):
    # The file field resolved its storage (settings.STORAGES["recordings"]) when models loaded.
    folder = tmp_path / "recordings"
    monkeypatch.setattr(Recording._meta.get_field("file"), "storage", FileSystemStorage(location=str(folder)))
    return folder


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real headless Chromium against a served copy of the app")
