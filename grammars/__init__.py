"""The grammars of the `.arch` language, installed as `archdsl.grammars`:
the Lark grammar the compiler parses with. Editor grammars live in `editors/`
beside it and stay out of the wheel."""
