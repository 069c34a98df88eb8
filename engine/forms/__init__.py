"""Task forms: their JSON Schemas, the catalogues their choices come from, and saved drafts."""
