"""Syntax tree -> IR: `use` resolution, block expansion, attribute binding,
shape inference as the graph is built, and the diagnostics of every mistake."""
