"""What one lesson changes: the files of two stages compared, for ``nox -s diff`` and the book.

``python tools/stagediff.py [--code] [--stat] OLD NEW`` prints the unified diff of two stage
folders (names under lessons/, or ``final``): every file git tracks or would track (never an
ignored one), the lesson's code first, then its other files, its README and its tests.
``--code`` keeps the Python files only (no README, no tests); ``--stat`` prints, instead of the
diff, each file's count of added and removed lines and a total. A file that moved (Q2 L8 moves
the modules into packages) is diffed against where it was, not shown removed and added; so is a
copy of it. ``final`` is not a stage one lesson after another: against it, a map of final/'s
files and their sizes is printed instead.

The same functions make the "What the lesson changes" part of each page of the course book
(final/docs/conf.py), so that the terminal and the book show one diff.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import functools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / 'lessons'
FINAL = ROOT / 'final'

# Path parts never shown: caches, and the screenshots (pictures: the book shows them as such).
IGNORED_PARTS = {'__pycache__', '.pytest_cache', 'screenshots'}
# The order in which kinds of files are shown: the lesson's code first.
KINDS = ('code', 'other', 'docs', 'tests')
KIND_TITLES = {'code': 'code', 'other': 'settings and requirements', 'docs': 'README and docs',
               'tests': 'tests'}
STAT_BAR = 40          # the widest +/- bar of --stat
# A removed file and an added one of the same name are one moved file when this alike.
MOVED_SIMILARITY = 0.5


def kind(name: str) -> str:
    """Return what a file of a stage is: 'tests', 'docs', 'code' (Python) or 'other'."""
    path = Path(name)
    if 'tests' in path.parts[:-1]:
        return 'tests'
    if path.suffix in ('.md', '.rst') or 'docs' in path.parts[:-1]:
        return 'docs'
    if path.suffix == '.py':
        return 'code'
    return 'other'


def stage_files(directory: Path) -> dict[str, Path]:
    """Return the files of a folder that git tracks or would track, by their path inside it.

    Ignored files (logs, databases, the launcher's output) never count. Outside a git work
    tree every file counts but those under IGNORED_PARTS.
    """
    try:
        listed = subprocess.run(
            ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
            cwd=directory, capture_output=True, text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(path.relative_to(directory)) for path in directory.rglob('*')]
    return {name: directory / name for name in sorted(listed)
            if (directory / name).is_file() and not IGNORED_PARTS & set(Path(name).parts)}


def text_lines(path: Path | None) -> list[str]:
    """Return the lines of a text file, ends kept (none for a missing file)."""
    return path.read_text(encoding='utf-8').splitlines(True) if path else []


@dataclasses.dataclass
class FileChange:
    """One file that differs between two stages."""

    name: str
    kind: str
    before: list[str]
    after: list[str]
    binary: bool = False
    old_name: str | None = None     # where a moved (or copied) file was in the old stage
    copied: bool = False            # a second copy of a moved file

    @property
    def status(self) -> str:
        """Return 'added', 'removed', 'moved', 'copied' or 'changed'."""
        if self.old_name:
            return 'copied' if self.copied else 'moved'
        if not self.before and not self.after:
            return 'changed'        # a binary file, or an empty one on both sides
        return 'added' if not self.before else 'removed' if not self.after else 'changed'

    @property
    def label(self) -> str:
        """Return the file's name, ``OLD => NEW`` for a moved one (``OLD +> NEW``: copied)."""
        if not self.old_name:
            return self.name
        return f'{self.old_name} {"+>" if self.copied else "=>"} {self.name}'

    def diff(self, old_label: str, new_label: str) -> str:
        """Return the unified diff of the file, labelled with the two stages' names."""
        old_name = self.old_name or self.name
        if self.binary:
            return f'Binary files {old_label}/{old_name} and {new_label}/{self.name} differ\n'
        if self.old_name and self.before == self.after:
            return f'{self.status} unchanged: {old_label}/{old_name} -> {new_label}/{self.name}\n'
        lines = difflib.unified_diff(
            self.before, self.after,
            f'{old_label}/{old_name}' if self.before else '/dev/null',
            f'{new_label}/{self.name}' if self.after else '/dev/null')
        return ''.join(line if line.endswith('\n') else line + '\n\\ No newline at end of file\n'
                       for line in lines)

    @functools.cached_property
    def counts(self) -> tuple[int, int]:
        """Return the numbers of lines added and removed, as the diff shows them."""
        opcodes = difflib.SequenceMatcher(None, self.before, self.after,
                                          autojunk=False).get_opcodes()
        changed = [op for op in opcodes if op[0] != 'equal']
        return (sum(j2 - j1 for _, _, _, j1, j2 in changed),
                sum(i2 - i1 for _, i1, i2, _, _ in changed))


def compare(old: Path | None, new: Path, code_only: bool = False) -> list[FileChange]:
    """Return the files that differ from ``old`` to ``new`` (None: every file of ``new``).

    The lesson's code comes first, then settings, README and docs, then tests; by name within
    each kind. ``code_only`` keeps the Python code alone.
    """
    old_files = stage_files(old) if old is not None else {}
    new_files = stage_files(new)
    moves = moved_files(old_files, new_files)
    copies = copied_files(old_files, new_files, moves)
    changes = []
    for name in old_files.keys() | new_files.keys():
        if code_only and kind(name) != 'code' or name in moves.values():
            continue
        origin = moves.get(name) or copies.get(name)
        if origin:
            changes.append(FileChange(name, kind(name), text_lines(old_files[origin]),
                                      text_lines(new_files[name]), old_name=origin,
                                      copied=name in copies))
            continue
        try:
            change = FileChange(name, kind(name), text_lines(old_files.get(name)),
                                text_lines(new_files.get(name)))
        except UnicodeDecodeError:
            change = FileChange(name, kind(name), [], [], binary=True)
            sides = [files[name].read_bytes() for files in (old_files, new_files)
                     if name in files]
            if len(sides) == 2 and sides[0] == sides[1]:
                continue
        if change.binary or change.before != change.after:
            changes.append(change)
    return sorted(changes, key=lambda change: (KINDS.index(change.kind), change.name))


def moved_files(old_files: dict[str, Path], new_files: dict[str, Path]) -> dict[str, str]:
    """Return ``{new name: old name}`` for the files that moved to another folder.

    A file gone from the old stage moved to the added file of the same name that is most like
    it, if they are at least MOVED_SIMILARITY alike (a second copy stays an added file).
    """
    added = [name for name in new_files if name not in old_files]
    moves: dict[str, str] = {}
    for old_name in sorted(name for name in old_files if name not in new_files):
        try:
            before = text_lines(old_files[old_name])
            candidates = [(difflib.SequenceMatcher(None, before, text_lines(new_files[name]),
                                                   autojunk=False).ratio(), name)
                          for name in added if Path(name).name == Path(old_name).name
                          and name not in moves]
        except UnicodeDecodeError:
            continue
        similarity, name = max(candidates, key=lambda pair: (pair[0], pair[1]),
                               default=(0.0, ''))
        if similarity >= MOVED_SIMILARITY:
            moves[name] = old_name
    return moves


def copied_files(old_files: dict[str, Path], new_files: dict[str, Path],
                 moves: dict[str, str]) -> dict[str, str]:
    """Return ``{new name: old name}`` for the added files that copy a moved one.

    The modules that both of Q2 L8's packages need are moved into one and copied into the
    other: the copy is diffed against the file it copies, as the move is.
    """
    moved = {Path(old_name).name: old_name for old_name in moves.values()}
    copies = {}
    for name in new_files:
        origin = moved.get(Path(name).name)
        if name in old_files or name in moves or origin is None:
            continue
        with contextlib.suppress(UnicodeDecodeError):
            if difflib.SequenceMatcher(None, text_lines(old_files[origin]),
                                       text_lines(new_files[name]),
                                       autojunk=False).ratio() >= MOVED_SIMILARITY:
                copies[name] = origin
    return copies


def render_diff(changes: list[FileChange], old_label: str, new_label: str) -> str:
    """Return the unified diff of every change, one file after another."""
    return ''.join(change.diff(old_label, new_label) for change in changes)


def render_stat(changes: list[FileChange]) -> str:
    """Return each file's added and removed line counts with a +/- bar, then the totals."""
    if not changes:
        return '0 files changed\n'
    width = max(len(change.label) for change in changes)
    counts = [change.counts for change in changes]
    largest = max(max(a + r for a, r in counts), 1)
    digits = len(str(largest))
    lines = []
    for change, (added, removed) in zip(changes, counts):
        if change.binary:
            lines.append(f' {change.label:<{width}} | Bin')
            continue
        scale = min(1.0, STAT_BAR / largest)
        signs = '+' * round(added * scale) + '-' * round(removed * scale)
        lines.append(f' {change.label:<{width}} | {added + removed:>{digits}} {signs}'.rstrip())
    added, removed = (sum(column) for column in zip(*counts))
    files = f'{len(changes)} file{"s" if len(changes) != 1 else ""} changed'
    lines.append(f' {files}, {added} insertion{"s" if added != 1 else ""}(+), '
                 f'{removed} deletion{"s" if removed != 1 else ""}(-)')
    return '\n'.join(lines) + '\n'


def line_count(path: Path) -> int | None:
    """Return the number of lines of a text file (None for a binary one)."""
    try:
        return len(text_lines(path))
    except UnicodeDecodeError:
        return None


def totals(files: dict[str, Path]) -> dict[str, tuple[int, int]]:
    """Return, per kind, the number of text files and their lines."""
    result = {name: (0, 0) for name in KINDS}
    for name, path in files.items():
        lines = line_count(path)
        if lines is not None:
            count, total = result[kind(name)]
            result[kind(name)] = (count + 1, total + lines)
    return result


# The chapter of final/'s documentation that says, file by file, what final/ does instead of the
# course's last stage: the final map's header names it.
CHAPTER = 'final/docs/course-to-final.rst, "From the course to final/"'
# Where the job of a lesson file went in final/, where the names differ (see the CHAPTER).
# Other files are matched by name: ``server_X.py`` and ``client_X.py`` with ``X.py`` of that
# distribution, any other ``X.py`` with ``X.py``. A stage split into distributions (server/,
# client/) is matched by each file's own name, wherever it is in the stage.
FINAL_COUNTERPARTS = {
    'server.py': ['server/src/jim_server/engine.py', 'server/src/jim_server/chat.py'],
    'protocol.py': ['protocol/src/jim/framing.py', 'protocol/src/jim/messages.py'],
    'passwords.py': ['protocol/src/jim/scram.py'],
    'client.py': ['client/src/jim_client/console.py', 'client/src/jim_client/connection.py'],
    'client_storage.py': [],
}


def final_counterparts(name: str, final_code: list[str]) -> list[str]:
    """Return the code files of final/ that do the job of the stage's code file ``name``.

    From Q2 L8 on a module is in its distribution's folder (``server/messenger_server/X.py``):
    it is matched by its own name, within that distribution of final/ when it has one there.
    """
    path = Path(name)
    base = path.name
    if base in FINAL_COUNTERPARTS:
        return [target for target in FINAL_COUNTERPARTS[base] if target in final_code]
    side, _, rest = base.partition('_')
    if side in ('server', 'client') and rest:
        return [target for target in final_code if target.startswith(f'{side}/src/')
                and Path(target).name == rest]
    matches = [target for target in final_code if '/src/' in target and Path(target).name == base]
    folder = path.parts[0] if len(path.parts) > 1 else ''
    return [target for target in matches if target.startswith(f'{folder}/src/')] or matches


def code_map(stage_code: list[str], final_code: list[str],
             lines_of: dict[str, int | None]) -> tuple[list[str], set[str]]:
    """Return the map's rows of the stage's code files, each with the files of final/ that do
    its job (``lines_of`` gives the lines of both, final/'s as ``final/NAME``), and the set of
    those files of final/."""
    width = max(len(name) for name in final_code) + 6
    left = max([22, *(len(name) + 1 for name in stage_code)])
    rows, placed = [], set()
    for name in stage_code:
        targets = [f'final/{target}' for target in final_counterparts(name, final_code)]
        placed.update(target.removeprefix('final/') for target in targets)
        first = (targets[0], lines_of[targets[0]]) if targets else ('(not in final/)', '')
        rows.append(f'  {name:<{left}}{lines_of[name]:>5}   {first[0]:<{width}} {first[1]:>5}')
        rows += [f'  {"":<{left + 8}}{target:<{width}} {lines_of[target]:>5}'
                 for target in targets[1:]]
    return rows, placed


def render_final_map(stage: Path, final: Path = FINAL, header: bool = True) -> str:
    """Return a map of final/'s files and sizes against those of ``stage`` (any stage).

    final/ is the last stage's messenger rewritten as installable software, not the next
    lesson: a line diff would be all noise, so this says what is where instead. ``header``:
    begin with why there is no diff, and where to read about it (the CHAPTER).
    """
    stage_side, final_side = stage_files(stage), stage_files(final)
    label = f'{stage.name}/'
    out = [f'{label} and final/ are not one lesson apart: final/ is the messenger rewritten as',
           'installable software, so a line diff would be noise. What final/ does instead, '
           'and why:',
           f'{CHAPTER}.'] if header else []
    out += ['What each holds, in text files and their lines:', '']
    stage_totals, final_totals = totals(stage_side), totals(final_side)
    out.append(f'  {"":<26}{label:>24}{"final/":>24}')
    for name in KINDS:
        cells = [f'{count} file{"s" if count != 1 else ""}, {lines} lines'
                 for count, lines in (stage_totals[name], final_totals[name])]
        out.append(f'  {KIND_TITLES[name]:<26}{cells[0]:>24}{cells[1]:>24}')
    lines_of = {name: line_count(path) for name, path in stage_side.items()}
    lines_of.update((f'final/{name}', line_count(path)) for name, path in final_side.items())
    final_code = [name for name in final_side if kind(name) == 'code']
    width = max(len(name) for name in final_code)
    out += ['', f'The code of {label} and where its job is done in final/ (lines):', '']
    rows, placed = code_map([name for name in stage_side if kind(name) == 'code'], final_code,
                            lines_of)
    out += rows
    out += ['', 'New in final/ (lines):', '']
    out += [f'  {f"final/{name}":<{width + 6}} {lines_of[f"final/{name}"]:>5}'
            for name in final_code if name not in placed]
    return '\n'.join(line.rstrip() for line in out) + '\n'


def stage_directory(name: str) -> Path:
    """Return the folder of a stage name: ``final``, or a folder under lessons/."""
    return FINAL if name == 'final' else LESSONS / name


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Read ``[--code] [--stat] OLD NEW``."""
    parser = argparse.ArgumentParser(
        prog='nox -s diff --', description='Print what one lesson changes: the diff of two '
        'stages (folders under lessons/, or final).')
    parser.add_argument('old', metavar='OLD', help='the earlier stage, e.g. q1_l07_select')
    parser.add_argument('new', metavar='NEW', help='the later stage, e.g. q1_l08_threads')
    parser.add_argument('--code', action='store_true',
                        help='Python code only: no README, no tests, no settings')
    parser.add_argument('--stat', action='store_true',
                        help='files changed with their +/- line counts, and a total')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, known: list[str] | None = None) -> int:
    """Print the diff (or the stat, or final/'s map) that the command line asks for.

    ``known`` lists the stage names to offer when a name is wrong.
    """
    args = parse_args(sys.argv[1:] if argv is None else argv)
    old, new = stage_directory(args.old), stage_directory(args.new)
    for directory in (old, new):
        if not directory.is_dir():
            offer = f'; stages: {", ".join(known)}, final' if known else ''
            print(f'no stage {directory.name}{offer}', file=sys.stderr)
            return 2
    if FINAL in (old, new) and old != new:
        sys.stdout.write(render_final_map(new if old == FINAL else old))
        return 0
    changes = compare(old, new, code_only=args.code)
    sys.stdout.write(render_stat(changes) if args.stat
                     else render_diff(changes, old.name, new.name))
    return 0


if __name__ == '__main__':
    sys.path.insert(0, str(ROOT / 'tests'))
    from stages import load_stages  # pylint: disable=wrong-import-position,import-error
    raise SystemExit(main(known=[stage.name for stage in load_stages()]))
