"""Command-line helpers shared by the server and the client."""
import argparse


def port_number(text):
    """Parse a TCP port number for argparse; reject what is not one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number') from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f'{port} is not a port number (1-65535)')
    return port
