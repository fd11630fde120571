"""The mailbox side: the IMAP connection, fetching and archiving, IDLE, the lease, moving handled mail."""
