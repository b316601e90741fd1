"""Start a server and N clients of this stage with ``subprocess``, and stop them all on command.

The clients log in as user1..userN; their accounts get the password ``demo`` first.

Run: ``python launcher.py -n 3`` then type ``s`` (start), ``say 1 hello`` (type ``hello`` into
client 1), ``x`` (stop all), ``q`` (stop all and quit) or ``help``. Each process writes its
output to a file in the working directory: ``server.out``, ``client1.out``, ...
"""
import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

from cli import port_number
from constants import DEFAULT_PORT

HERE = Path(__file__).resolve().parent
STOP_TIMEOUT = 5          # seconds a process gets to stop before it is killed
DEMO_PASSWORD = 'demo'    # the accounts user1..userN get this password
START_TIMEOUT = 10        # seconds the server gets to start listening

HELP = '''Commands:
  s             start the server and the clients
  say K TEXT    type TEXT into client K
  x             stop every process
  q             stop every process and quit (so does end of input)
  help          show this help'''


class Launcher:
    """The processes started so far, and how to start and stop them."""

    def __init__(self, address, port, clients):
        self.address = address
        self.port = port
        self.client_count = clients
        self.server = None
        self.clients = []

    def start(self):
        """Start the server, wait until it listens, then start the clients."""
        if self.server is not None:
            print('Already running: x stops them first')
            return
        names = [f'user{number}' for number in range(1, self.client_count + 1)]
        subprocess.run([sys.executable, HERE / 'server.py', '--add-user', *names],
                       input=f'{DEMO_PASSWORD}\n' * len(names), text=True, check=True,
                       stdout=subprocess.DEVNULL)
        self.server = spawn('server', [HERE / 'server.py', '-a', self.address,
                                       '-p', str(self.port)])
        if not wait_for_port(self.address, self.port, self.server):
            print('The server did not start: see server.out')
            self.stop()
            return
        for number, name in enumerate(names, 1):
            client = spawn(f'client{number}', [HERE / 'client.py', self.address, str(self.port),
                                               '-n', name])
            self.clients.append(client)
            self.say(number, DEMO_PASSWORD)     # its stdin is a pipe: the first line is read
        print(f'Started a server on {self.address}:{self.port} and '
              f'{self.client_count} clients')

    def say(self, number, text):
        """Type ``text`` into the stdin of client ``number`` (counted from 1)."""
        if not 1 <= number <= len(self.clients):
            print(f'No client {number}: there are {len(self.clients)}')
            return
        client = self.clients[number - 1]
        try:
            client.stdin.write(text + '\n')
            client.stdin.flush()
        except OSError as err:
            print(f'Client {number} does not listen any more: {err}')

    def stop(self):
        """Stop the clients, then the server."""
        for client in self.clients:
            client.stdin.close()           # a client says quit and leaves at end of input
        for client in self.clients:
            try:
                client.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                terminate(client)
        if self.server is not None:
            terminate(self.server)
        count = len(self.clients) + (self.server is not None)
        self.server, self.clients = None, []
        print(f'Stopped {count} processes')


def terminate(process):
    """Ask ``process`` to stop (SIGTERM); kill it if it has not within the timeout."""
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def spawn(name, argv):
    """Start this stage's script with our Python; its output goes to ``name.out``."""
    with open(f'{name}.out', 'w', encoding='utf-8') as output:
        return subprocess.Popen([sys.executable, *map(str, argv)], stdin=subprocess.PIPE,
                                stdout=output, stderr=subprocess.STDOUT, text=True)


def wait_for_port(address, port, process):
    """Poll until something listens on ``address:port``; False if ``process`` died first."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def run_commands(launcher, lines):
    """Carry out the commands in ``lines`` until ``q`` or the end of input."""
    for line in lines:
        command, _, rest = line.strip().partition(' ')
        if command == 's':
            launcher.start()
        elif command == 'x':
            launcher.stop()
        elif command == 'q':
            break
        elif command == 'say' and rest.partition(' ')[0].isdigit():
            number, _, text = rest.partition(' ')
            launcher.say(int(number), text)
        elif command:
            print(HELP)
        sys.stdout.flush()
    launcher.stop()


def parse_args(argv=None):
    """Read the command line: ``-a ADDRESS``, ``-p PORT``, ``-n CLIENTS``."""
    parser = argparse.ArgumentParser(description='Start a server and N clients; stop them all.')
    parser.add_argument('-a', '--address', default='127.0.0.1',
                        help='address for the server (default: 127.0.0.1)')
    parser.add_argument('-p', '--port', type=port_number, default=DEFAULT_PORT,
                        help=f'port for the server (default: {DEFAULT_PORT})')
    parser.add_argument('-n', '--clients', type=int, default=2,
                        help='how many clients to start (default: 2)')
    return parser.parse_args(argv)


def main(argv=None):
    """Read commands from stdin until ``q``."""
    args = parse_args(argv)
    print(HELP, flush=True)
    try:
        run_commands(Launcher(args.address, args.port, args.clients), sys.stdin)
    except KeyboardInterrupt:
        print('Bye')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
