"""Which hosts answer a ping? ``host_ping``, ``host_range_ping`` and ``host_range_ping_tab``.

Run: ``python host_ping.py 127.0.0.1 localhost`` or ``python host_ping.py --range 127.0.0.1 5``
(add ``--table`` for a table of reachable and unreachable addresses).
"""
import argparse
import ipaddress
import platform
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tabulate import tabulate

PING_TIMEOUT = 1          # seconds to wait for one answer
PARALLEL_PINGS = 16


def ping_command(host, timeout=PING_TIMEOUT):
    """Return the argv of one ping of ``host`` on this operating system."""
    if platform.system() == 'Windows':
        return ['ping', '-n', '1', '-w', str(timeout * 1000), str(host)]
    return ['ping', '-c', '1', '-W', str(timeout), str(host)]


def is_reachable(host, timeout=PING_TIMEOUT):
    """Ping ``host`` once; tell whether it answered."""
    done = subprocess.run(ping_command(host, timeout), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=timeout + 5, check=False)
    return done.returncode == 0


def host_ping(hosts, timeout=PING_TIMEOUT, verbose=True):
    """Ping every host (addresses or names); return ``[(host, reachable), ...]`` in order."""
    if shutil.which('ping') is None:
        raise RuntimeError('the ping command is not installed')
    hosts = [normalise(host) for host in hosts]
    with ThreadPoolExecutor(PARALLEL_PINGS) as pool:
        answers = list(pool.map(lambda host: is_reachable(host, timeout), hosts))
    results = list(zip(hosts, answers))
    if verbose:
        for host, reachable in results:
            print(f'{host}: {"reachable" if reachable else "unreachable"}')
    return results


def normalise(host):
    """Return an IP address object for an address, or the host name itself."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return host


def address_range(start, count):
    """Return ``count`` IPv4 addresses from ``start``; only the last octet may change."""
    first = ipaddress.IPv4Address(start)
    if count < 1 or int(first) % 256 + count > 256:
        raise ValueError(f'{count} addresses from {first} would change more than the last octet')
    return [first + offset for offset in range(count)]


def host_range_ping(start, count, timeout=PING_TIMEOUT, verbose=True):
    """Ping ``count`` consecutive addresses from ``start``; return ``[(address, reachable)]``."""
    return host_ping(address_range(start, count), timeout, verbose)


def host_range_ping_tab(start, count, timeout=PING_TIMEOUT):
    """Ping a range of addresses and print, and return, a table: Reachable | Unreachable."""
    results = host_range_ping(start, count, timeout, verbose=False)
    columns = {
        'Reachable': [str(host) for host, reachable in results if reachable],
        'Unreachable': [str(host) for host, reachable in results if not reachable],
    }
    table = tabulate(columns, headers='keys')
    print(table)
    return table


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description='Tell which hosts answer a ping.')
    parser.add_argument('hosts', nargs='*', help='addresses or host names to ping')
    parser.add_argument('--range', nargs=2, metavar=('START', 'COUNT'),
                        help='ping COUNT consecutive IPv4 addresses from START')
    parser.add_argument('--table', action='store_true',
                        help='with --range: print a table of reachable and unreachable ones')
    parser.add_argument('--timeout', type=int, default=PING_TIMEOUT,
                        help=f'seconds to wait for each answer (default: {PING_TIMEOUT})')
    args = parser.parse_args(argv)
    if not args.hosts and not args.range:
        parser.error('name hosts to ping, or a --range')
    return args


def main(argv=None):
    """Ping what the command line names; exit 1 on a bad range or a missing ping."""
    args = parse_args(argv)
    try:
        if args.range:
            start, count = args.range[0], int(args.range[1])
            if args.table:
                host_range_ping_tab(start, count, args.timeout)
            else:
                host_range_ping(start, count, args.timeout)
        if args.hosts:
            host_ping(args.hosts, args.timeout)
    except (RuntimeError, ValueError) as err:
        print(f'Error: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
