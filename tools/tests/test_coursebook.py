"""The course book's pages (final/docs/coursebook.py), written into a temporary folder.

``nox -s docs`` (and tests(docs)) builds them with Sphinx, warnings as errors; these tests
check what each page says.
"""
# pytest hands each fixture to the functions that name it. pylint: disable=redefined-outer-name
import re
import sys

import pytest

from stages import ROOT, load_stages

sys.path.insert(0, str(ROOT / 'final' / 'docs'))
# pylint: disable-next=wrong-import-position,wrong-import-order,import-error
from coursebook import fence, readme, names_of_tests, write_book  # noqa: E402


@pytest.fixture(scope='module')
def book(tmp_path_factory):
    """The book written once, with the default (relative) source address."""
    folder = tmp_path_factory.mktemp('book')
    names = write_book('../../../', folder)
    return folder, names


def text_of(book, stage):
    """Return the page of a stage."""
    return (book[0] / stage / 'index.md').read_text(encoding='utf-8')


def test_one_page_per_stage_in_course_order(book):
    _, names = book
    assert names == [f'book/{stage.name}/index' for stage in load_stages()]


def test_a_page_starts_with_the_readme(book):
    for stage in load_stages():
        readme_text = (stage.directory / 'README.md').read_text(encoding='utf-8')
        assert text_of(book, stage.name).startswith(readme_text.rstrip('\n')), stage.name


def test_the_diff_shows_code_first_then_the_rest_folded(book):
    page = text_of(book, 'q1_l08_threads')
    changes = page[page.index('## What the lesson changes'):page.index('## Tests')]
    assert '{doc}`q1_l07_select <../q1_l07_select/index>`' in changes
    code = changes.index('### `client.py` (changed')
    folded = changes.index('<summary><code>README.md</code>')
    tests = changes.index('<summary><code>tests/test_client.py</code>')
    assert code < folded < tests
    assert '```diff\n--- q1_l07_select/client.py\n+++ q1_l08_threads/client.py\n' in changes
    assert '\n+import threading\n' in changes


def test_the_first_stage_shows_its_code_whole(book):
    page = text_of(book, 'q1_l03_jim')
    assert '## Its code' in page and '## What the lesson changes' not in page
    server = (ROOT / 'lessons/q1_l03_jim/server.py').read_text(encoding='utf-8')
    assert f'```python\n{server}' in page


def test_a_readme_diff_cannot_close_its_fence(book):
    # READMEs hold ``` blocks: the diff of one is fenced with more backticks.
    page = text_of(book, 'q1_l04_unittest')
    readme_diff = page[page.index('<summary><code>README.md</code>'):]
    assert readme_diff.split('\n')[2].startswith('````diff')
    assert fence('a\n```\nb\n', 'diff') == '````diff\na\n```\nb\n````\n'


def test_screenshots_are_copied_and_shown(book):
    for stage in load_stages():
        pictures = sorted(p.name for p in (stage.directory / 'screenshots').glob('*.png'))
        page = text_of(book, stage.name)
        assert ('## Screenshots' in page) == bool(pictures), stage.name
        for name in pictures:
            assert f'](screenshots/{name})' in page
            assert (book[0] / stage.name / 'screenshots' / name).read_bytes() == \
                (stage.directory / 'screenshots' / name).read_bytes()


def test_tests_are_listed_with_the_features(book):
    page = text_of(book, 'q2_l06_auth')
    module = ROOT / 'lessons/q2_l06_auth/tests/test_passwords.py'
    names = names_of_tests(module)
    assert names and all(f'- `{name}`' in page for name in names)
    assert re.search(r'\| `auth` \| [^|]+ \| new \|', page)
    assert re.search(r'\| `chat` \| [^|]+ \|  \|', page)


def test_relative_links_of_a_readme_point_at_the_source(tmp_path):
    stage = load_stages()[0]
    folder = tmp_path / stage.name
    folder.mkdir()
    (folder / 'README.md').write_text('See [the server](server.py), ![pic](screenshots/a.png), '
                                      '[a page](https://example.org/) and [here](#run-it).\n')
    text = readme(type(stage)(**{**stage.__dict__, 'directory': folder}), '../../../../../')
    assert '<a href="../../../../../lessons/q1_l03_jim/server.py">the server</a>' in text
    assert '![pic](screenshots/a.png)' in text
    assert '[a page](https://example.org/)' in text and '[here](#run-it)' in text


def test_a_stage_that_is_gone_loses_its_page(tmp_path):
    (tmp_path / 'q0_l00_gone').mkdir()
    write_book('../../../', tmp_path)
    assert not (tmp_path / 'q0_l00_gone').exists()
