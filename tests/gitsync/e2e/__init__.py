"""git-sync v4's end-to-end behaviours, each written as our own test against real servers."""
