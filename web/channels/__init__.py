"""The channels cases come in by: the mailbox inbox, quick captures, the public report and status
pages, the Open311 API, and the links between possible duplicates."""
