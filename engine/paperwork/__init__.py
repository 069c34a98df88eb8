"""The office's papers: hoja de trámite, acuse, archive, consolidado, and how steps make them."""
