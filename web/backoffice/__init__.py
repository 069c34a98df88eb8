"""The office's running of itself, beside the daily desk: people and catalogues (``admin``), the
business calendar (``calendario``), the procedures and their editor (``procedimientos``), the
steps that failed (``incidencias``) and the auditor's pages (``auditoria``)."""
