"""onionwatch: darknet-marketplace monitoring for criminal-intelligence analysts."""
__version__ = "0.1.0"
