"""The officer console: web pages over the same functions the command line uses."""
