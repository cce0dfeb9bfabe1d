import pytest
from django.core.files.storage import FileSystemStorage

from calls.models import Recording


@pytest.fixture(autouse=True)
def _recordings_in_a_temporary_folder(monkeypatch, tmp_path):
    # The file field resolved its storage (settings.STORAGES["recordings"]) when models loaded.
    folder = tmp_path / "recordings"
    monkeypatch.setattr(Recording._meta.get_field("file"), "storage", FileSystemStorage(location=str(folder)))
    return folder
