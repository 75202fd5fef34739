"""The package version as one literal, which the build reads: looking it up in the installed
metadata would cost every helper 50 ms at start-up."""

__version__ = "0.1.0"
