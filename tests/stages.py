"""The stages of the course, read from their manifests (``lessons/*/stage.toml``).

Used by the noxfile (one test session per stage), by the black-box suite and by the check that
the root README's stage table matches the manifests. ``python tests/stages.py`` prints that table,
``python tests/stages.py --update`` rewrites it in the README.
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
    'contacts': 'get_users, get_contacts, add_contact and del_contact',
    'notify': 'pushes presence (status online/offline) to the others when a user comes or goes',
    'auth': 'accounts with passwords; challenge-response login; 401 before it, 402, 409',
    'scram': 'accounts with SCRAM-SHA-256 login (RFC 5802/7677); 401 before it, 402, 409',
    'offline': 'a message to a user who is offline is kept and delivered at their next login',
    'rooms': 'join and leave #rooms; a room message reaches its members',
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


def update_readme() -> None:
    """Rewrite the stage table in the root README from the manifests."""
    readme = ROOT / 'README.md'
    text = readme.read_text(encoding='utf-8')
    start = text.index('| stage | lesson | what it adds |')
    end = text.index('\n\n', start)
    readme.write_text(text[:start] + readme_table(load_stages()) + text[end:], encoding='utf-8')


if __name__ == '__main__':
    if sys.argv[1:] == ['--update']:
        update_readme()
    else:
        print(readme_table(load_stages()))
