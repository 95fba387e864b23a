"""Browser packages installed from npm (package.json, `make media` runs `npm ci`) served as
static files, one chosen file each, so collectstatic never copies a package's whole dist/.

    STATICFILES_FINDERS += ["coinsite.vendor_static.NpmFileFinder"]
    {% static "vendor/hls.min.js" %}   ->  node_modules/hls.js/dist/hls.min.js

A package that is not installed is simply not found (the page that needs it says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# Static path -> file under node_modules/.
NPM_FILES = {
    "vendor/hls.min.js": "hls.js/dist/hls.min.js",
}


def node_modules() -> Path:
    return Path(settings.BASE_DIR) / "node_modules"


class NpmFileFinder(BaseFinder):
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        source = NPM_FILES.get(path)
        if source is not None and (node_modules() / source).is_file():
            found = str(node_modules() / source)
            return [found] if find_all else found
        return [] if find_all else None

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for path, source in NPM_FILES.items():
            file = node_modules() / source
            if file.is_file():
                # A storage rooted so that `path` names the file: collectstatic copies it to `path`.
                storage = _SingleFileStorage(location=str(file.parent), served_as=path)
                yield path, storage


class _SingleFileStorage(FileSystemStorage):
    """Opens the one file `served_as` names (collectstatic asks for it by its static path)."""

    def __init__(self, *, location: str, served_as: str) -> None:
        super().__init__(location=location)
        self.served_as = served_as
        self.real_name = NPM_FILES[served_as].rsplit("/", 1)[-1]

    def path(self, name: str) -> str:
        return super().path(self.real_name if name == self.served_as else name)
