"""The server's console: ``users``, ``connected``, ``loghist [NAME]``, ``help``, ``exit``."""
from tabulate import tabulate

HELP = '''Commands:
  users            every user who has ever logged in
  connected        the users connected now
  loghist [NAME]   the login history, of everyone or of NAME
  help             show this help
  exit             stop the server'''

TIME_FORMAT = '%Y-%m-%d %H:%M:%S'


def run_command(storage, line):
    """Return the text to print for one console command, or None for ``exit``."""
    command, _, argument = line.strip().partition(' ')
    if command == 'exit':
        return None
    if command == 'users':
        rows = [(name, when.strftime(TIME_FORMAT) if when else 'never')
                for name, when in storage.users_list()]
        return tabulate(rows, headers=('user', 'last login')) if rows else 'No users yet'
    if command == 'connected':
        rows = [(name, f'{ip}:{port}', when.strftime(TIME_FORMAT))
                for name, ip, port, when in storage.active_users_list()]
        return tabulate(rows, headers=('user', 'address', 'since')) if rows else 'Nobody'
    if command == 'loghist':
        rows = [(name, when.strftime(TIME_FORMAT), f'{ip}:{port}')
                for name, when, ip, port in storage.login_history(argument.strip() or None)]
        return tabulate(rows, headers=('user', 'time', 'address')) if rows else 'No logins'
    return HELP


def console_loop(storage, lines, stop):
    """Run the commands in ``lines`` (stdin); call ``stop()`` on ``exit``, not at end of input."""
    print(HELP, flush=True)
    for line in lines:
        if not line.strip():
            continue
        text = run_command(storage, line)
        if text is None:
            stop()
            return
        print(text, flush=True)
