"""What editors show as the user types: problems, shapes at the end of lines,
hover, completion, definitions and symbols, in editor coordinates (0-based).
The language server (archdsl.lsp) and the live page (archdsl.serve) are
adapters over this package; neither does position arithmetic of its own."""
