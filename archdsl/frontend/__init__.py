"""Text -> syntax tree: the grammar, the parser and syntax-error wording."""
