"""The stages of the course, read from their manifests (``lessons/*/stage.toml``).

Used by the noxfile (one test session per stage), by the black-box suite and by the checks that
the root README's stage table and tests/README.md's feature table match the manifests.
``python tests/stages.py`` prints the stage table, ``python tests/stages.py --update`` rewrites
both tables.
"""
from __future__ import annotations

import dataclasses
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / 'lessons'
FINAL = ROOT / 'final'

# Every feature a stage may declare, with what it means; the suite tests each one.
FEATURES = {
    'presence': 'answers presence with 200 and a bad request with 400',
    'persistent': 'serves several requests on one connection',
    'framing': 'reads a byte stream: split, joined and newline-less messages',
    'concurrent': 'serves many clients at once; a silent or slow one stalls nobody',
    'chat': 'relays msg to "#all" to every other client',
    'direct': 'relays msg to one user; 404/410 for unknown/absent users, 409, quit',
    'storage': 'keeps users in a database across restarts; 410 for a known user offline',
    'database': 'keeps its state in a database file in its working directory',
    'contacts': 'get_users, get_contacts, add_contact and del_contact',
    'notify': 'pushes presence (status online/offline) to the others when a user comes or goes',
    'auth': 'accounts with passwords; challenge-response login; 401 before it, 402, 409',
    'scram': 'accounts with SCRAM-SHA-256 login (RFC 5802/7677); 401 before it, 402, 409',
    'offline': 'a message to a user who is offline is kept and delivered at their next login',
    'rooms': 'join and leave #rooms; a room message reaches its members',
    'paging': 'a client that reads slowly is not cut off: its backlog waits in the database',
    'ack': 'messages carry positions; acknowledged delivery; a msg with an id is stored once',
}


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage directory and what its manifest says of it."""

    name: str
    directory: Path
    lesson: str
    title: str
    predecessor: str
    run: dict
    features: frozenset

    def command(self, which: str, **values: object) -> list[str]:
        """Return the argv of one of the manifest's commands with its fields filled in.

        The first word is a script of the stage, or ``-m`` and a module (final/).
        """
        template = self.run[which]
        start = template[:2] if template[0] == '-m' else [str(self.directory / template[0])]
        rest = template[len(start):] if template[0] == '-m' else template[1:]
        return [sys.executable, *start] + [part.format(**values) for part in rest]

    def has(self, *features: str) -> bool:
        """Tell whether the stage supports every one of ``features``."""
        return set(features) <= self.features


def load_stage(directory: Path) -> Stage:
    """Read the manifest of the stage in ``directory``."""
    with open(directory / 'stage.toml', 'rb') as file:
        manifest = tomllib.load(file)
    info = manifest['stage']
    return Stage(
        name=directory.name,
        directory=directory,
        lesson=info['lesson'],
        title=info['title'],
        predecessor=info['predecessor'],
        run=manifest['run'],
        features=frozenset(manifest['features']['protocol']),
    )


def load_folder(directory: Path, as_stage: str | None = None) -> Stage:
    """Return the stage in any folder, a student's own for one (``nox -s check``).

    The folder's own ``stage.toml`` (a copy of a lesson's) names its features and commands; with
    ``as_stage``, the manifest of that lesson (``lessons/AS_STAGE/stage.toml``) does. Either way
    the commands run the folder's scripts. Raise ValueError, in words a student can act on, for
    a folder without a manifest or without the server script.
    """
    directory = directory.expanduser().resolve()
    if not directory.is_dir():
        raise ValueError(f'there is no folder {directory}')
    if as_stage:
        if not (LESSONS / as_stage / 'stage.toml').is_file():
            names = ', '.join(stage.name for stage in load_stages())
            raise ValueError(f'there is no lesson {as_stage!r} to check as; the lessons: {names}')
        stage = load_stage(LESSONS / as_stage)
    elif (directory / 'stage.toml').is_file():
        stage = load_stage(directory)
    else:
        raise ValueError(f'{directory} has no stage.toml: copy the one of the lesson you follow '
                         f'(cp lessons/q1_l08_threads/stage.toml {directory}/) or name the lesson '
                         'with --as q1_l08_threads')
    script = stage.run['server'][0]
    if script != '-m' and not (directory / script).is_file():
        raise ValueError(f'{directory} has no {script}: the manifest starts the server with '
                         f'{" ".join(stage.run["server"])}')
    return dataclasses.replace(stage, name=directory.name, directory=directory)


def load_stages() -> list[Stage]:
    """Return every stage, in course order (each after its predecessor)."""
    stages = {path.parent.name: load_stage(path.parent)
              for path in LESSONS.glob('*/stage.toml')}
    ordered: list[Stage] = []
    previous = ''
    while len(ordered) < len(stages):
        following = [s for s in stages.values() if s.predecessor == previous]
        if len(following) != 1:
            raise ValueError(f'stages after {previous!r}: {[s.name for s in following]}; '
                             'every stage must name exactly one predecessor')
        ordered.append(following[0])
        previous = following[0].name
    return ordered


def readme_table(stages: list[Stage]) -> str:
    """Return the Markdown table of stages that the root README carries."""
    lines = ['| stage | lesson | what it adds |', '| --- | --- | --- |']
    lines += [f'| [`{s.name}`](lessons/{s.name}/) | {s.lesson} | {s.title} |' for s in stages]
    return '\n'.join(lines)


def features_table(stages: list[Stage]) -> str:
    """Return the Markdown table of features that tests/README.md carries.

    Each feature comes with what it means and the first stage that declares it.
    """
    lines = ['| feature | what the suite checks | first in |', '| --- | --- | --- |']
    for feature, meaning in FEATURES.items():
        first = next((s.name for s in stages if feature in s.features), 'final')
        lines.append(f'| `{feature}` | {meaning} | `{first}` |')
    return '\n'.join(lines)


def update_readme() -> None:
    """Rewrite the stage table of the root README and the feature table of tests/README.md."""
    stages = load_stages()
    replace_table(ROOT / 'README.md', readme_table(stages))
    replace_table(ROOT / 'tests' / 'README.md', features_table(stages))


def replace_table(path: Path, table: str) -> None:
    """Replace the table in ``path`` that starts with the header line of ``table``."""
    text = path.read_text(encoding='utf-8')
    start = text.index(table.split('\n', 1)[0])
    end = text.index('\n\n', start)
    path.write_text(text[:start] + table + text[end:], encoding='utf-8')


if __name__ == '__main__':
    if sys.argv[1:] == ['--update']:
        update_readme()
    else:
        print(readme_table(load_stages()))
