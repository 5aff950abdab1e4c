"""saferstreets: hear where and why women and girls feel unsafe, assess, act, show what was done."""

__version__ = "0.1.0"
