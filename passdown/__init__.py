"""passdown: push a struct address_space *mapping argument up the kernel call graph."""

__version__ = "0.1.0"
