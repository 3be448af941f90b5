"""A Pygments lexer for `.arch`, registered as the `pygments.lexers` entry
point `arch`: Sphinx, MkDocs, Jupyter and `pygmentize` highlight ```arch
blocks with it. Its token classes follow the TextMate grammar
(grammars/editors/arch.tmLanguage.json): the same words, the same order."""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from archdsl.core.ops import MERGES, REGISTRY

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
BUILTINS = ("min", "max", "abs", "round", "floor", "ceil", "int", "make_divisible")
KINDS = tuple(sorted((set(REGISTRY) | set(MERGES) | {"output", "expect"}) - {"input"}, key=lambda k: (-len(k), k)))


class ArchLexer(RegexLexer):
    """The `.arch` language of archdsl (networks, blocks, layers, named tensors)."""

    name = "archdsl"
    aliases = ["arch", "archdsl"]
    filenames = ["*.arch"]
    mimetypes = ["text/x-arch"]
    url = "https://pypi.org/project/archdsl/"

    tokens = {
        "root": [
            # Labels first: at a line's start or after `;` / `{`, before the spaces are eaten.
            (rf"(?:(?<=[;{{])|^)(\s*)({IDENT}(?:\s*,\s*{IDENT})*)(\s*)(:)",
             bygroups(Whitespace, Name.Label, Whitespace, Punctuation)),
            (r"[ \t\f]+", Whitespace),
            (r"\n", Whitespace),
            (r"(#)(\s*)(archdsl:)(\s*)(allow)(\s+)([A-Za-z-]+)(.*)$",
             bygroups(Comment.Single, Comment.Single, Comment.Special, Comment.Single, Comment.Special,
                      Comment.Single, Comment.Preproc, Comment.Single)),
            (r"#.*$", Comment.Single),
            (r'"[^"\n]*"?', String.Double),
            (rf"\b(network)(\s+)({IDENT})", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (rf"\b(block)(\s+)({IDENT})", bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (words(("use", "train", "defaults", "layout"), suffix=r"\b"), Keyword.Namespace),
            (words(("repeat", "branch", "residual", "shortcut", "always", "optional", "if", "else", "from"),
                   suffix=r"\b"), Keyword),
            (words(("and", "or", "not"), suffix=r"\b"), Operator.Word),
            (words(BUILTINS, suffix=r"(?=\()"), Name.Builtin),
            (rf"{IDENT}(?=\()", Name.Function),
            (r"\binput\b", Keyword.Pseudo),
            (words(KINDS, prefix=r"\b", suffix=r"\b(?!\s*=[^=])"), Name.Builtin),
            (rf"({IDENT})(\s*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),
            (rf"@{IDENT}", Name.Variable),
            (r"@", Name.Variable.Magic),
            (r"\bin(?=\.)", Name.Builtin.Pseudo),
            (r"\b[0-9]+(?:x[0-9]+)+\b", Number),
            (r"(?:\b[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|\b[0-9]+[eE][-+]?[0-9]+", Number.Float),
            (r"\b[0-9]+\b", Number.Integer),
            (words(("true", "false", "same", "valid", "half"), prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            (r"==|!=|<=|>=|<|>|//|[-+*/%]", Operator),
            (r"\\[ \t]*(?=\n)", Punctuation),
            (r"[{}(),;.]", Punctuation),
            (IDENT, Name),
            (r".", Text),
        ],
    }
