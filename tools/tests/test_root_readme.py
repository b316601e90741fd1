"""The root README's account of the course (newcomer item 8): Q1 L1-L2, and where they show up.

Lessons 1-2 of the first quarter change no messenger and have no stage; the README says what
they cover and points at the code where their topics are at work. Each pointer must hold.
"""
import re

from stages import LESSONS, ROOT

# What the README points at for lessons 1-2: a name, and the file where it must be.
POINTERS = {
    'encode_message': LESSONS / 'q1_l03_jim' / 'protocol.py',
    'decode_message': LESSONS / 'q1_l03_jim' / 'protocol.py',
    'UnicodeDecodeError': LESSONS / 'q1_l03_jim' / 'protocol.py',
    'ENCODING': LESSONS / 'q1_l03_jim' / 'constants.py',
    'MessageReader': LESSONS / 'q1_l07_select' / 'protocol.py',
    'test_multibyte_character_split_between_writes': ROOT / 'tests' / 'test_framing.py',
    'ensure_ascii=False': LESSONS / 'q1_l03_jim' / 'protocol.py',
    'configparser': LESSONS / 'q2_l04_contacts_gui' / 'server_settings.py',
}


def course_section():
    """Return the README's section on the course."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    return readme[readme.index('## The course'):]


def test_lessons_1_and_2_are_said_to_have_no_stage_and_what_they_cover():
    section = course_section()
    assert re.search(r'lessons 1.2 review how data is stored', section)
    for topic in ('encodings', '`bytes`', 'CSV', 'JSON', 'YAML'):
        assert topic in section, topic


def test_every_pointer_of_lessons_1_and_2_holds():
    section = course_section()
    for name, path in POINTERS.items():
        assert name in section, name
        assert name in path.read_text(encoding='utf-8'), (name, path)
