"""``Port``: a descriptor that lets only an unprivileged TCP port number into an attribute."""

MIN_PORT = 1024
MAX_PORT = 65535


class Port:
    """A data descriptor: assigning anything but an int in 1024-65535 raises at once."""

    def __set_name__(self, owner, name):
        # The descriptor protocol names the attribute here, once the owner class exists.
        self.name = '_' + name  # pylint: disable=attribute-defined-outside-init

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return getattr(instance, self.name)

    def __set__(self, instance, value):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f'a port is a whole number, not {value!r}')
        if not MIN_PORT <= value <= MAX_PORT:
            raise ValueError(f'port {value} is out of range: use {MIN_PORT}-{MAX_PORT}')
        setattr(instance, self.name, value)
