"""The report of ``nox -s check``: the black-box suite's results by feature, in plain words.

A student checks their own server with ``nox -s check -- PATH [--as STAGE]``, which runs
``pytest tests --stage-dir PATH [--as STAGE] --report-features``. Without pytest's tracebacks,
this plugin then prints, per protocol feature (the ``needs`` marker of each test; a test
without one belongs to ``presence``), what passed and what failed, and for each failure what
went wrong and the last messages the suite sent and received (wire.TRANSCRIPT).
``--report-json PATH`` also writes the results by feature as JSON (tools/tests use it).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import wire
from stages import FEATURES

# How many transcript lines a failure shows, and how many lines of its error.
SHOWN_EVENTS = 8
SHOWN_ERROR_LINES = 6
EVENT_WORDS = {'sent': 'sent', 'received': 'got', 'closed': 'saw the server close',
               'nothing': 'got nothing:'}


def check_arguments(folder: Path, as_stage: str | None = None) -> list[str]:
    """Return the pytest arguments, after ``tests``, with which ``nox -s check`` checks a folder.

    The report replaces pytest's tracebacks and its summary of failures.
    """
    return ['--stage-dir', str(folder), *(['--as', as_stage] if as_stage else []),
            '--report-features', '-q', '--tb=no', '-rN', '-p', 'no:warnings']


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--report-features`` and ``--report-json PATH``."""
    group = parser.getgroup('check', 'the report of nox -s check')
    group.addoption('--report-features', action='store_true',
                    help='print the results by protocol feature, with the failing exchanges')
    group.addoption('--report-json', metavar='PATH',
                    help='with --report-features: also write the results by feature as JSON')


def pytest_configure(config: pytest.Config) -> None:
    """Register the report when it is asked for."""
    if config.getoption('--report-features'):
        config.pluginmanager.register(FeatureReport(config), 'feature-report')


@dataclasses.dataclass
class Result:
    """What became of one test."""

    title: str
    feature: str
    outcome: str = 'passed'       # 'passed', 'failed' or 'skipped'
    error: str = ''
    transcript: list = dataclasses.field(default_factory=list)


def feature_of(item: pytest.Item) -> str:
    """Return the feature a test belongs to: the first its closest ``needs`` marker names."""
    marker = item.get_closest_marker('needs')
    return marker.args[0] if marker and marker.args else 'presence'


def title_of(item: pytest.Item) -> str:
    """Return a test's name in words: ``test_name_in_use_gets_409[x]`` gives that, spaced."""
    name, _, param = item.name.partition('[')
    words = name.removeprefix('test_').replace('_', ' ')
    return f'{words} ({param.rstrip("]")})' if param else words


def error_of(report: pytest.TestReport) -> str:
    """Return the first lines of what went wrong in a failed phase of a test."""
    crash = getattr(report.longrepr, 'reprcrash', None)
    text = crash.message if crash is not None else str(report.longrepr)
    lines = text.strip().splitlines()
    if len(lines) > SHOWN_ERROR_LINES:
        lines = lines[:SHOWN_ERROR_LINES] + [f'... ({len(lines) - SHOWN_ERROR_LINES} more lines)']
    when = {'setup': 'before the test (starting your server): ',
            'teardown': 'after the test (stopping your server): '}.get(report.when, '')
    return when + '\n'.join(lines)


class FeatureReport:
    """Collects each test's outcome by feature and prints them at the end of the run."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.results: dict[str, Result] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        """Record the outcome of each phase; a failed one fails the test, with what was said."""
        outcome = yield
        report = outcome.get_result()
        if call.when == 'setup':
            wire.TRANSCRIPT.clear()
        result = self.results.setdefault(item.nodeid, Result(title_of(item), feature_of(item)))
        if report.failed and result.outcome != 'failed':
            result.outcome, result.error = 'failed', error_of(report)
            result.transcript = list(wire.TRANSCRIPT)[-SHOWN_EVENTS:]
        elif report.skipped and result.outcome == 'passed':
            result.outcome = 'skipped'
            result.error = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ''

    def by_feature(self) -> dict[str, list[Result]]:
        """Return the results grouped by feature, in the order of FEATURES."""
        groups: dict[str, list[Result]] = {name: [] for name in FEATURES}
        for result in self.results.values():
            groups.setdefault(result.feature, []).append(result)
        return {name: results for name, results in groups.items() if results}

    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        """Print the report, and write it as JSON if asked to."""
        groups = self.by_feature()
        write = terminalreporter.write_line
        folder = self.config.getoption('--stage-dir') or self.config.getoption('--stage')
        as_stage = self.config.getoption('as_stage')
        write('')
        write(f'Checked {folder}' + (f' as {as_stage}' if as_stage else ''), bold=True)
        for feature, results in groups.items():
            failed = [r for r in results if r.outcome == 'failed']
            passed = sum(1 for r in results if r.outcome == 'passed')
            write('')
            write(f'{feature} ({FEATURES.get(feature, "")}): {passed} of {len(results)} passed',
                  bold=True, red=bool(failed), green=not failed)
            for result in results:
                mark = {'passed': 'ok  ', 'failed': 'FAIL', 'skipped': 'skip'}[result.outcome]
                write(f'  {mark} {result.title}', red=result.outcome == 'failed')
                if result.outcome == 'skipped':
                    write(f'         {result.error}')
                if result.outcome == 'failed':
                    for line in explain(result):
                        write(f'         {line}')
        failing = {name: [r for r in results if r.outcome == 'failed']
                   for name, results in groups.items()}
        write('')
        good = [name for name, results in failing.items() if not results]
        bad = [f'{name} ({len(results)} of {len(groups[name])} tests)'
               for name, results in failing.items() if results]
        write(f'Passes: {", ".join(good) or "no feature yet"}', green=not bad)
        if bad:
            write(f'Fails:  {", ".join(bad)}', red=True)
            write('Run one test again with: nox -s check -- PATH [--as STAGE] -k "NAME WORDS"')
        path = self.config.getoption('--report-json')
        if path:
            Path(path).write_text(json.dumps(
                {name: {outcome: [r.title for r in results if r.outcome == outcome]
                        for outcome in ('passed', 'failed', 'skipped')}
                 for name, results in groups.items()}, ensure_ascii=False, indent=1),
                encoding='utf-8')


def explain(result: Result) -> list[str]:
    """Return the lines that say what went wrong and what was said on the wire before it."""
    lines = ['What went wrong:'] + [f'  {line}' for line in result.error.splitlines()]
    if result.transcript:
        lines.append('The last messages of the test (the suite -> your server, and back):')
        for connection, event, text in result.transcript:
            arrow = '->' if event == 'sent' else '<-'
            lines.append(f'  {connection} {arrow} {EVENT_WORDS[event]} {text}'.rstrip())
    return lines
