"""The office's papers: the outbox, the archive, the consolidado, approvals in bulk, and the acuse
the hoja's QR code leads to."""
