"""The composition root: the command line, the daemon as a list of stages, the worker processes.

The only package that imports every stage; nothing imports it.
"""
