"""``jim-client-gui``: the messenger's window (PyQt5).

A ``QThread`` does all the socket work: it connects, logs in, publishes the end-to-end key
and then hands each thing that arrives to the window through a Qt signal, which Qt delivers
in the window's thread. Sending from the window is a short ``sendall``.
"""
# PyQt5's type stubs name enum members by their enum (Qt.ItemDataRole.UserRole), as mypy
# wants; pylint's introspection of the C extension does not see them there.
# pylint: disable=no-member
from __future__ import annotations

import argparse
import datetime
import secrets
import sys
import time
from typing import Any

from PyQt5.QtCore import QObject, QPoint, QThread, QTimer, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QIcon
from PyQt5.QtWidgets import (QAction, QApplication, QCheckBox, QDialog, QDialogButtonBox,
                             QFormLayout, QHBoxLayout, QInputDialog, QLabel, QLineEdit,
                             QListWidget, QListWidgetItem, QMainWindow, QMenu, QMenuBar,
                             QMessageBox, QPushButton, QScrollBar, QSpinBox, QStatusBar,
                             QStyle, QSystemTrayIcon, QVBoxLayout, QWidget)

from jim.constants import ALL, Action
from jim.errors import ProtocolError
from jim.messages import msg, request
from jim.scram import ScramError

from jim_client.connection import LoginError
from jim_client.console import add_options, came_or_went, options_of
from jim_client.conversation import Conversation, Entry, State, entry_of, peer_of
from jim_client.session import Client, Options, Session, make_session
from jim_client.settings import ClientSettings

NAME_ROLE = Qt.ItemDataRole.UserRole        # a conversation's name; 'mine'/'theirs' on a message
ID_ROLE = NAME_ROLE + 1                     # a message's id, or its position


class ClientSignals(QObject):
    """What the network thread tells the window."""

    logged_in = pyqtSignal()
    failed = pyqtSignal(str)
    arrived = pyqtSignal(object)         # a readable message, or a response
    notice = pyqtSignal(str)             # something the user should know, e.g. sent unencrypted
    state = pyqtSignal(str)              # 'lost', 'back' or 'refused: ...' (see Client)


class NetworkThread(QThread):
    """Connects to ``address`` (host, port), logs in, then receives until the window closes;
    when the server is lost it reconnects and sends again what was not acknowledged.

    ``options`` say how (TLS, end-to-end encryption) and where the user's files are.
    """

    def __init__(self, name: str, password: str, address: tuple[str, int],
                 options: Options | None = None) -> None:
        super().__init__()
        self.signals = ClientSignals()
        self.name, self.password, self.address = name, password, address
        self.options = options or Options()
        self.session: Session | None = None
        self.client: Client | None = None

    def run(self) -> None:
        """Runs in the new thread."""
        try:
            session = make_session(self.name, self.options, self.signals.notice.emit)
        except (OSError, ValueError) as err:
            self.signals.failed.emit(f'Cannot read the key: {err}')
            return
        client = Client(session, self.address, self.password, tls=self.options.tls,
                        on_items=self.emit_items, on_state=self.signals.state.emit)
        try:
            client.open()
        except (LoginError, ScramError, ProtocolError) as err:
            self.signals.failed.emit(str(err))
            return
        except OSError as err:
            self.signals.failed.emit(f'Cannot reach {self.address[0]}:{self.address[1]}: {err}')
            return
        self.session, self.client = session, client
        self.signals.logged_in.emit()
        session.send(request(Action.GET_CONTACTS))
        client.serve()

    def emit_items(self, items: list[dict[str, Any]]) -> None:
        """Hand what arrived to the window, one signal each (Qt queues them in order)."""
        for item in items:
            self.signals.arrived.emit(item)

    def stop(self) -> None:
        """Say quit and end the thread (from the window's thread)."""
        if self.client is not None:
            self.client.stop()


class LoginDialog(QDialog):
    """Name, password and server."""

    def __init__(self, name: str = '', host: str = '127.0.0.1', port: int = 7777,
                 parent: QWidget | None = None, tls: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle('Log in')
        self.name = QLineEdit(name)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.Password)
        self.host = QLineEdit(host)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(port)
        self.tls = QCheckBox('TLS (verify the server)')
        self.tls.setChecked(tls)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept_if_named)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        for label, widget in (('Name', self.name), ('Password', self.password),
                              ('Server', self.host), ('Port', self.port), ('', self.tls)):
            form.addRow(label, widget)
        form.addRow(self.buttons)

    def accept_if_named(self) -> None:
        """Close once a name is typed."""
        if self.name.text().strip():
            self.accept()


# A window's state is its attributes, and each of its actions a slot.
# pylint: disable-next=too-many-instance-attributes,too-many-public-methods
class ClientWindow(QMainWindow):
    """Conversations on the left (#all, contacts, rooms, whoever wrote), with who is online
    and how many messages are unread; the chosen one on the right, loaded from the server's
    history a page at a time as the user scrolls to the top.

    It knows only what the network thread's signals deliver, and asks the Session (whose
    methods take its lock) to send.
    """

    PAGE = 50                  # messages asked for at a time
    CONFIRM_MS = 20_000        # a message not answered by then is shown as failed

    def __init__(self, network: NetworkThread, settings: ClientSettings | None = None) -> None:
        super().__init__()
        self.network = network
        self.me = network.name
        self.settings = settings or ClientSettings.load(network.options.data_dir)
        self.conversations: dict[str, Conversation] = {}
        self.outbox: dict[str, dict[str, Any]] = {}       # what the user sent, by id
        self.online: set[str] = set()
        self.dialogs: dict[str, QMessageBox] = {}         # open ones, by user or purpose
        self.setWindowTitle(f'JIM messenger: {self.me}')
        self.resize(760, 500)
        self.status = QStatusBar()
        self.setStatusBar(self.status)
        self.peers = QListWidget()
        self.peers.currentItemChanged.connect(self.show_conversation)
        self.view = QListWidget()
        self.view.setWordWrap(True)
        self.view.setSpacing(2)
        self.view.setSelectionMode(QListWidget.NoSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self.context_menu)
        self.view.itemActivated.connect(self.activated)
        self.scrollbar = QScrollBar()
        self.view.setVerticalScrollBar(self.scrollbar)
        self.scrollbar.valueChanged.connect(self.scrolled)
        self.text = QLineEdit()
        self.text.setPlaceholderText('Message (Enter sends it)')
        self.text.returnPressed.connect(self.send)
        self.send_button = QPushButton('Send')
        self.send_button.clicked.connect(self.send)
        self.setCentralWidget(self.layout_widgets())
        self.tray = self.make_tray()
        self.notifications = self.make_menus()
        for name in (ALL, *self.settings.conversations.get(self.me, [])):
            self.add_peer(name)
        self.peers.setCurrentRow(0)
        signals = network.signals
        signals.logged_in.connect(self.logged_in)
        signals.arrived.connect(self.arrived)
        signals.state.connect(self.connection_changed)
        signals.notice.connect(self.status.showMessage)

    def layout_widgets(self) -> QWidget:
        """Return the window's body: conversations, the one shown, the line to write in."""
        add, join = QPushButton('Add contact'), QPushButton('Join room')
        add.clicked.connect(self.ask_contact)
        join.clicked.connect(self.ask_room)
        left = QVBoxLayout()
        left.addWidget(QLabel('Conversations'))
        left.addWidget(self.peers)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(join)
        left.addLayout(buttons)
        right = QVBoxLayout()
        right.addWidget(self.view)
        writing = QHBoxLayout()
        writing.addWidget(self.text)
        writing.addWidget(self.send_button)
        right.addLayout(writing)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(right, 3)
        central = QWidget()
        central.setLayout(body)
        return central

    def make_menus(self) -> QAction:
        """Add the Keys and Settings menus; return the notifications switch."""
        menus = QMenuBar(self)
        self.setMenuBar(menus)
        keys, options = QMenu('&Keys', self), QMenu('&Settings', self)
        menus.addMenu(keys)
        menus.addMenu(options)
        keys.addAction('My key fingerprint...', self.show_own_fingerprint)
        keys.addAction("This contact's fingerprint...", self.ask_fingerprint)
        switch = QAction('Desktop notifications', self)
        options.addAction(switch)
        switch.setCheckable(True)
        switch.setChecked(self.settings.notifications)
        switch.toggled.connect(self.set_notifications)
        return switch

    def make_tray(self) -> QSystemTrayIcon | None:
        """Return a tray icon for notifications, where the desktop has a tray."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        style = self.style()
        icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation) \
            if style is not None else QIcon()
        tray = QSystemTrayIcon(icon, self)
        tray.setToolTip(self.windowTitle())
        tray.show()
        return tray

    # The list of conversations.
    def peer(self) -> str:
        """Return the conversation on screen."""
        item = self.peers.currentItem()
        return str(item.data(NAME_ROLE)) if item else ALL

    def peer_item(self, name: str) -> QListWidgetItem | None:
        """Return the list's item of a conversation."""
        for row in range(self.peers.count()):
            item = self.peers.item(row)
            if item is not None and item.data(NAME_ROLE) == name:
                return item
        return None

    def add_peer(self, name: str, remember: bool = False) -> Conversation:
        """Return a conversation, added to the list if it is not there (and kept for the
        next run if ``remember``)."""
        if name not in self.conversations:
            self.conversations[name] = Conversation()
            item = QListWidgetItem()
            item.setData(NAME_ROLE, name)
            self.peers.addItem(item)
            self.label_peer(name)
        kept = self.settings.conversations.setdefault(self.me, [])
        if remember and name != ALL and name not in kept:
            kept.append(name)
            self.settings.save()
        return self.conversations[name]

    def label_peer(self, name: str) -> None:
        """Write a conversation's line: online mark, name, unread count."""
        item = self.peer_item(name)
        if item is None:
            return
        unread = self.conversations[name].unread
        mark = '' if name.startswith('#') else '● ' if name in self.online else '○ '
        item.setText(f'{mark}{name}' + (f'  ({unread})' if unread else ''))
        font = item.font()
        font.setBold(bool(unread))
        item.setFont(font)
        if not name.startswith('#'):
            item.setForeground(QColor('#1b7f3b' if name in self.online else '#555555'))
            item.setToolTip(f'{name} is {"online" if name in self.online else "offline"}')

    def set_online(self, name: str, online: bool) -> None:
        """Mark a user online or offline."""
        if online:
            self.online.add(name)
        else:
            self.online.discard(name)
        if name in self.conversations:
            self.label_peer(name)

    # The conversation on screen.
    def show_conversation(self, *_: Any) -> None:
        """Show the chosen conversation: its unread messages are read now; load its last
        page of history the first time."""
        name = self.peer()
        conversation = self.add_peer(name)
        conversation.unread = 0
        self.label_peer(name)
        self.redraw(name, keep='bottom')
        if not conversation.requested:
            self.load(name)

    def load(self, name: str, before: int | None = None) -> None:
        """Ask for a page of ``name``'s history, before position ``before`` (None: the
        last page)."""
        conversation, session = self.conversations[name], self.network.session
        if session is None or conversation.loading or before is not None and \
                conversation.complete:
            return
        conversation.requested = conversation.loading = True
        fields: dict[str, Any] = {'with': name, 'limit': self.PAGE}
        if before is not None:
            fields['before'] = before
        session.send(request(Action.HISTORY, **fields))

    def scrolled(self, value: int) -> None:
        """At the top of a conversation, load the page before it."""
        scroll = self.scrollbar
        conversation = self.conversations.get(self.peer())
        if value == scroll.minimum() < scroll.maximum() and conversation is not None \
                and conversation.oldest:
            self.load(self.peer(), conversation.oldest)

    def redraw(self, name: str, keep: str = 'place') -> None:
        """Draw conversation ``name`` if it is on screen; ``keep`` says where the view
        stays: at the ``bottom``, on the message at the top (``top``, as older ones are
        added above it), or in its ``place`` (at the bottom if it was there)."""
        if name != self.peer():
            return
        view, scroll = self.view, self.scrollbar
        at_bottom = scroll.value() >= scroll.maximum() - 4
        first = top_id(view) if keep == 'top' else None
        value = scroll.value()
        view.blockSignals(True)
        scroll.blockSignals(True)
        view.clear()
        day = ''
        anchor: QListWidgetItem | None = None
        for entry in self.conversations[name].entries():
            when = datetime.datetime.fromtimestamp(entry.time)
            if day_name(when) != day:
                day = day_name(when)
                view.addItem(separator(day))
            item = message_item(entry, self.me)
            view.addItem(item)
            if first is not None and item.data(ID_ROLE) == first and anchor is None:
                anchor = item
        view.doItemsLayout()
        scroll.blockSignals(False)
        view.blockSignals(False)
        if anchor is not None:
            view.scrollToItem(anchor, QListWidget.PositionAtTop)
        elif keep == 'bottom' or at_bottom:
            view.scrollToBottom()
        else:
            scroll.setValue(value)

    def entries(self, name: str | None = None) -> list[Entry]:
        """Return the messages of a conversation (the one on screen by default)."""
        return self.conversations[name or self.peer()].entries()

    # What arrives.
    def logged_in(self) -> None:
        """Logged in: ask who is online, and load the conversation on screen."""
        session = self.network.session
        if session is not None:
            session.send(request(Action.GET_USERS))
        self.show_conversation()

    def arrived(self, item: dict[str, Any]) -> None:
        """Show a message, who came or went, a key event, or act on a response."""
        if item.get('action') == Action.PRESENCE:
            user = item.get('user') or {}
            self.set_online(str(user.get('account_name')), user.get('status') != 'offline')
            self.status.showMessage(came_or_went(item))
        elif 'event' in item:
            self.key_event(item)
        elif 'response' in item:
            self.answered(item)
        else:
            self.message(item)

    def message(self, item: dict[str, Any]) -> None:
        """A message pushed by the server: add it; count it unread, and notify, if its
        conversation is not on screen."""
        name = peer_of(item, self.me)
        conversation = self.add_peer(name, remember=True)
        if not conversation.add(entry_of(item, self.me)):
            return
        if name == self.peer() and self.isActiveWindow():
            self.redraw(name)
            return
        if name != self.peer():
            conversation.unread += 1
            self.label_peer(name)
        else:
            self.redraw(name)
        if self.settings.notifications:
            where = '' if name == item.get('from') else f' in {name}'
            self.notify(f'{item.get("from")}{where}', str(item.get('message', '')))

    def notify(self, title: str, text: str) -> None:
        """Show a desktop notification (where the desktop has a tray)."""
        if self.tray is not None:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 5000)

    def answered(self, item: dict[str, Any]) -> None:
        """Act on the response to one of the window's requests."""
        code, asked = item['response'], item.get('request', {})
        action = asked.get('action')
        if action == Action.MSG and asked.get('id') in self.outbox:
            self.confirmed(asked['to'], asked['id'], item)
            return
        if code >= 400:
            self.status.showMessage(f'{code}: {item.get("error", "")}')
        if action == Action.HISTORY:
            self.page_arrived(asked, item)
        for name in item.get('contacts', []):
            self.add_peer(name)
        if 'online' in item:                    # get_users: everyone's mark afresh
            self.online = set(item['online'])
            for name in self.conversations:
                self.label_peer(name)
        if action == Action.ADD_CONTACT and code == 200:
            self.add_peer(asked['user_id'])
        if action == Action.JOIN and code == 200:
            self.add_peer(asked['room'], remember=True)

    def page_arrived(self, asked: dict[str, Any], item: dict[str, Any]) -> None:
        """Merge a page of history into its conversation."""
        conversation = self.add_peer(asked['with'])
        if item['response'] != 202:
            conversation.loading, conversation.complete = False, True
            return
        page = [entry_of(message, self.me) for message in item.get('messages', [])]
        conversation.merge(page, asked.get('limit', self.PAGE))
        self.redraw(asked['with'], keep='top' if 'before' in asked else 'bottom')

    def confirmed(self, to: str, message_id: str, item: dict[str, Any]) -> None:
        """The server answered a message the user sent: stored, or failed."""
        conversation = self.add_peer(to)
        if item['response'] == 200:
            conversation.stored_as(message_id, item.get('position'))
        else:
            conversation.failed(message_id, f'{item["response"]}: {item.get("error", "")}')
        self.redraw(to)

    def unconfirmed(self, to: str, message_id: str) -> None:
        """A message still unanswered after ``CONFIRM_MS`` is shown as failed (it is still
        sent again on reconnection, and its 200 makes it sent)."""
        conversation = self.conversations.get(to)
        if conversation is not None and message_id in conversation.unstored and \
                conversation.unstored[message_id].state is State.WAITING:
            conversation.failed(message_id, 'not confirmed by the server')
            self.redraw(to)

    # Sending.
    def send(self) -> None:
        """Send what is typed to the conversation on screen (it waits if the server is away)."""
        text, session = self.text.text().strip(), self.network.session
        if not text or session is None:
            return
        message = msg(self.peer(), text, message_id=secrets.token_hex(8))
        self.outbox[message['id']] = message
        self.conversations[self.peer()].add(Entry(self.me, text, time.time(), id=message['id'],
                                                  state=State.WAITING))
        self.text.clear()
        self.redraw(self.peer(), keep='bottom')
        session.send(message)
        self.wait_for_answer(self.peer(), message['id'])

    def wait_for_answer(self, to: str, message_id: str) -> None:
        """Mark the message failed if it is not answered in time."""
        QTimer.singleShot(self.CONFIRM_MS, lambda: self.unconfirmed(to, message_id))

    def resend(self, message_id: str) -> None:
        """Send a failed message again, with its id (the server stores it once)."""
        message, session = self.outbox.get(message_id), self.network.session
        if message is None or session is None:
            return
        self.conversations[message['to']].waiting(message_id)
        self.redraw(message['to'])
        session.send(dict(message))
        self.wait_for_answer(message['to'], message_id)

    def failed_id(self, item: QListWidgetItem | None) -> str | None:
        """Return the id of the failed message ``item`` shows (None: it shows another)."""
        if item is None:
            return None
        message_id = item.data(ID_ROLE)
        entry = self.conversations[self.peer()].unstored.get(str(message_id))
        return str(message_id) if entry is not None and entry.state is State.FAILED else None

    def message_menu(self, item: QListWidgetItem | None) -> QMenu | None:
        """Return the context menu of a message (None if it has none): a failed one can be
        sent again."""
        message_id = self.failed_id(item)
        if message_id is None:
            return None
        menu = QMenu(self)
        menu.addAction('Send again', lambda: self.resend(message_id))
        return menu

    def context_menu(self, point: QPoint) -> None:
        """Show the menu of the message under the mouse."""
        menu = self.message_menu(self.view.itemAt(point))
        if menu is not None:
            menu.exec_(self.view.mapToGlobal(point))

    def activated(self, item: QListWidgetItem) -> None:
        """A failed message double-clicked (or Enter on it) is sent again."""
        message_id = self.failed_id(item)
        if message_id is not None:
            self.resend(message_id)

    # Keys.
    def key_event(self, item: dict[str, Any]) -> None:
        """Say that a key changed (and ask whether to accept it), or show a fingerprint."""
        user = item['user']
        if item['event'] == 'fingerprint':
            trusted = 'you have accepted it' if item.get('trusted') else \
                'you have NOT accepted it'
            text = (f"{user}'s key fingerprint:\n\n{item.get('fingerprint')}\n\n({trusted})"
                    if item.get('fingerprint') else f'{user} has published no key.')
            self.open_dialog('fingerprint', QMessageBox.Information, f"{user}'s key", text)
            return
        self.status.showMessage(f"{user}'s key has changed: nothing sealed goes to "
                                f'{user} until you accept it')
        box = self.open_dialog(user, QMessageBox.Warning, f"{user}'s key has changed",
                               key_change_text(item))
        box.setStandardButtons(QMessageBox.NoButton)
        trust = QPushButton('Trust the new key')
        box.addButton(trust, QMessageBox.AcceptRole)
        box.addButton('Not now', QMessageBox.RejectRole)
        trust.clicked.connect(lambda: self.trust(user))
        box.show()

    def open_dialog(self, key: str, icon: QMessageBox.Icon, title: str,
                    text: str) -> QMessageBox:
        """Show a message box that does not block the window (kept in ``dialogs``)."""
        old = self.dialogs.pop(key, None)
        if old is not None:
            old.close()
        box = QMessageBox(icon, title, text, QMessageBox.Ok, self)
        box.setWindowModality(Qt.WindowModality.NonModal)
        self.dialogs[key] = box
        box.show()
        return box

    def trust(self, user: str) -> None:
        """Accept ``user``'s new key: what was held back for them goes out."""
        session = self.network.session
        if session is not None and session.trust(user):
            self.status.showMessage(f"You accepted {user}'s new key")

    def show_own_fingerprint(self) -> None:
        """Show the fingerprint of the user's own key, to compare with a contact's view."""
        session = self.network.session
        own = session.fingerprint if session is not None else None
        text = f'Your key fingerprint:\n\n{own}' if own else \
            'No end-to-end key (--no-e2e).'
        self.open_dialog('fingerprint', QMessageBox.Information, 'Your key', text)

    def ask_fingerprint(self) -> None:
        """Ask the server for the key of the contact on screen; it is shown when it comes."""
        session, name = self.network.session, self.peer()
        if name.startswith('#'):
            self.status.showMessage('A room has no key: choose a person')
        elif session is not None:
            session.ask_fingerprint(name)

    def set_notifications(self, on: bool) -> None:
        """Turn desktop notifications on or off (kept between runs)."""
        self.settings.notifications = on
        self.settings.save()

    # Contacts and rooms.
    def ask_contact(self) -> None:
        """Ask for a name and add it to the contacts."""
        name, ok = QInputDialog.getText(self, 'Add contact', 'Name')
        if ok and name.strip() and self.network.session:
            self.network.session.send(request(Action.ADD_CONTACT, user_id=name.strip()))

    def ask_room(self) -> None:
        """Ask for a room and join it."""
        room, ok = QInputDialog.getText(self, 'Join room', 'Room (#name)')
        if ok and room.strip() and self.network.session:
            self.network.session.send(request(Action.JOIN, room=room.strip()))

    def connection_changed(self, state: str) -> None:
        """Say that the server is lost (what is typed waits), back, or refuses us (what
        waits has failed then)."""
        texts = {'lost': 'The connection to the server is lost: reconnecting...',
                 'back': 'Reconnected'}
        self.status.showMessage(texts.get(state, f'Cannot log in again: {state}'))
        session = self.network.session
        if state == 'back' and session is not None:
            session.send(request(Action.GET_USERS))     # who came and went meanwhile
        if state not in texts:
            for name, conversation in self.conversations.items():
                for message_id in list(conversation.unstored):
                    self.unconfirmed(name, message_id)

    def closeEvent(self, event: Any) -> None:  # pylint: disable=invalid-name  # Qt's name
        """Say quit on the way out."""
        self.network.stop()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)


def top_id(view: QListWidget) -> Any:
    """Return the id (or position) of the first message a conversation shows."""
    for row in range(view.count()):
        item = view.item(row)
        if item is not None and item.data(ID_ROLE) is not None:
            return item.data(ID_ROLE)
    return None


def day_name(when: datetime.datetime) -> str:
    """Return the day separator's text: Today, Yesterday, or the date."""
    days = (datetime.date.today() - when.date()).days
    return {0: 'Today', 1: 'Yesterday'}.get(days, when.strftime('%A, %d %B %Y'))


def separator(text: str) -> QListWidgetItem:
    """Return the line between two days."""
    item = QListWidgetItem(f'— {text} —')
    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    item.setForeground(QColor('#777777'))
    item.setFlags(Qt.ItemFlag.NoItemFlags)
    return item


MARKS = {State.SENT: '✓ sent', State.WAITING: '… waiting', State.FAILED: '✗ failed'}
COLOURS = {'mine': '#dcf8c6', 'theirs': '#eeeeee', 'failed': '#ffd6d6', 'warning': '#fff0b3'}


def message_item(entry: Entry, me: str) -> QListWidgetItem:
    """Return a message as the conversation shows it: the user's own on the right, in green,
    with its state; others' on the left, in grey, with the sender; both with their time."""
    clock = datetime.datetime.fromtimestamp(entry.time).strftime('%H:%M')
    warning = f'⚠ {entry.warning}\n' if entry.warning else ''
    if entry.sender == me:
        state = MARKS[entry.state or State.SENT]
        if entry.state is State.FAILED:
            state += f': {entry.error}\n(right-click to send it again)'
        item = QListWidgetItem(f'{warning}{entry.text}\n{clock}  {state}')
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        colour = 'failed' if entry.state is State.FAILED else 'mine'
    else:
        item = QListWidgetItem(f'{warning}{entry.sender}  {clock}\n{entry.text}')
        colour = 'theirs'
    item.setBackground(QColor(COLOURS['warning' if entry.warning else colour]))
    item.setData(NAME_ROLE, 'mine' if entry.sender == me else 'theirs')
    item.setData(ID_ROLE, entry.id or entry.position)
    if entry.warning:
        item.setToolTip(entry.warning)
    return item


def key_change_text(item: dict[str, Any]) -> str:
    """Return what the key-change dialog says."""
    user, new = item['user'], item.get('fingerprint')
    accepted = '\n'.join(item.get('accepted', [])) or 'none'
    given = f'The server now gives a key with the fingerprint:\n{new}' if new else \
        f'The server now says that {user} has no key: what you write would go readable.'
    return (f'The key you accepted for {user}:\n{accepted}\n\n{given}\n\n'
            f'This happens when {user} has a new device or key file, and also when someone '
            f'is trying to read your messages. Compare fingerprints with {user} in person or '
            f'by phone (Keys menu). Until you trust the new key, nothing sealed is sent to '
            f'{user}.')


def read_options(argv: list[str] | None) -> tuple[argparse.Namespace, ClientSettings]:
    """Read the command line, and the settings kept in its data folder: what the command line
    does not say comes from the last run."""
    parser = argparse.ArgumentParser(prog='jim-client-gui', description='The messenger window.')
    add_options(parser)
    parser.add_argument('-n', '--name', default='', help='account name (asked for if not given)')
    settings = ClientSettings.load(parser.parse_args(argv).data_dir)
    parser.set_defaults(host=settings.host, port=settings.port, name=settings.name)
    return parser.parse_args(argv), settings


def main(argv: list[str] | None = None) -> int:
    """Ask for the login, then show the window until it is closed."""
    args, settings = read_options(argv)
    app = QApplication(sys.argv[:1])
    login = LoginDialog(args.name, args.host, args.port, tls=settings.tls)
    if not login.exec_():
        return 0
    network = NetworkThread(login.name.text().strip(), login.password.text(),
                            (login.host.text(), login.port.value()),
                            options_of(args, login.tls.isChecked()))
    window = ClientWindow(network, settings)

    def refuse(text: str) -> None:
        QMessageBox.critical(None, 'Cannot log in', text)
        app.quit()

    def remember() -> None:
        settings.host, settings.port = login.host.text(), login.port.value()
        settings.name, settings.tls = network.name, login.tls.isChecked()
        settings.save()
        window.show()

    network.signals.logged_in.connect(remember)
    network.signals.failed.connect(refuse)
    network.start()
    app.exec_()
    network.wait(3000)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
