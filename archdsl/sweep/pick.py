"""`archdsl sweep --pick ID`: one candidate written out as a concrete spec --
the main file's text with each choice point replaced by the option taken
(as written: `choice(c, 2 * c)` becomes `2 * c`), or its first option where
the candidate never reaches it. A choice inside a chosen option is replaced
in turn."""
from __future__ import annotations

from archdsl.errors import UsageError
from archdsl.sweep.space import Site, Space


def _inside(a, b) -> bool:
    """Whether span a lies within span b (one line each)."""
    return a.line == b.line and b.col <= a.col and a.end_col <= b.end_col and (a.col, a.end_col) != (b.col, b.end_col)


def concrete_spec(space: Space, cid: int) -> str:
    indices = space.decode(cid)
    main = str(space.path)
    sites = []
    for site in space.sites:
        span = site.expr.span
        if span.file != main:
            if indices[site.index]:
                raise UsageError(f"candidate {cid} decides the choice {site.label} in {span.file}; --pick writes "
                                 "only the spec itself: copy that block into it, or pick by hand")
            continue
        if span.line != span.end_line:
            raise UsageError(f"the choice at {span} spans several lines; write it on one line to --pick")
        sites.append(site)

    def chosen(site: Site) -> str:
        """The option taken, as written, with the choices inside it replaced."""
        k = indices[site.index]
        if site.expr.name == "range":
            return site.options[k]
        arg = site.expr.args[k].span
        return replaced(arg, [s for s in sites if _inside(s.expr.span, arg)])

    def replaced(region, inner: list[Site]) -> str:
        line = space.text.split("\n")[region.line - 1]
        text, pos = [], region.col
        outer = [s for s in inner if not any(_inside(s.expr.span, o.expr.span) for o in inner if o is not s)]
        for s in sorted(outer, key=lambda s: s.expr.span.col):
            text.append(line[pos - 1:s.expr.span.col - 1])
            text.append(chosen(s))
            pos = s.expr.span.end_col
        text.append(line[pos - 1:region.end_col - 1])
        return "".join(text)

    lines = space.text.split("\n")
    top = [s for s in sites if not any(_inside(s.expr.span, o.expr.span) for o in sites if o is not s)]
    for site in sorted(top, key=lambda s: (s.expr.span.line, -s.expr.span.col)):
        span = site.expr.span
        current = lines[span.line - 1]
        lines[span.line - 1] = current[:span.col - 1] + chosen(site) + current[span.end_col - 1:]
    header = f"# candidate {cid} of the search space {space.path.name} (archdsl sweep --pick {cid})\n"
    return header + "\n".join(lines)
