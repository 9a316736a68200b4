"""capacity: school-place capacity planning simulator."""

__version__ = "0.1.0"
