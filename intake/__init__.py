"""The mailbox side: IMAP connection, fetching, archiving, MIME walk and classification."""
