"""Reading a message: the MIME walk to its PDFs, robot classification and bounce parsing.

A leaf above the kernel: intake (which records messages) and processors (which act on them) both
read messages with it; it talks to no server.
"""
