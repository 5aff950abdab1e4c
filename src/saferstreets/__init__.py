"""saferstreets: hear where and why women and girls feel unsafe, assess it, act on it, show what was done."""

__version__ = "0.1.0"
