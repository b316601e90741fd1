"""What the window remembers between runs, in ``settings.json`` of the user's data folder."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

FILE_NAME = 'settings.json'


@dataclasses.dataclass
class ClientSettings:
    """The server last logged in to, as whom, and the user's choices.

    ``conversations`` lists, per account, the conversations the window shows besides
    ``#all`` and the contacts (direct ones and rooms), so that they are there when it opens
    again.
    """

    host: str = '127.0.0.1'
    port: int = 7777
    name: str = ''
    tls: bool = False
    notifications: bool = True
    conversations: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    path: Path | None = dataclasses.field(default=None, compare=False)

    @classmethod
    def load(cls, folder: Path) -> ClientSettings:
        """Return the settings kept in ``folder`` (the defaults if there are none, or if the
        file cannot be read)."""
        path = folder / FILE_NAME
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding='utf-8'))
            fields = {field.name for field in dataclasses.fields(cls)} - {'path'}
            settings = cls(**{key: value for key, value in data.items() if key in fields})
        except (OSError, ValueError, TypeError):
            settings = cls()
        settings.path = path
        return settings

    def save(self) -> None:
        """Write the settings to their file (readable by the user only)."""
        if self.path is not None:
            data = dataclasses.asdict(self)
            del data['path']
            write_json(self.path, data)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path``, readable by its owner only, whole or not at all
    (its folder is made, ``0700``, if missing)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix('.tmp')
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'w', encoding='utf-8') as file:
        json.dump(data, file, indent=1, ensure_ascii=False, sort_keys=True)
    os.replace(temporary, path)
