/// Arithmetic operators with Python semantics.
enum BinaryOp: Sendable {
    case add, sub, mul, div, floorDiv, mod, pow
}

/// Comparison operators; a chain `a < b < c` keeps them in order.
enum CompareOp: Sendable {
    case eq, ne, lt, le, gt, ge, isIn, notIn
}

/// A filter or test application; `builtin` is nil for an unknown name allowed at parse time inside `if`
/// (Jinja then raises only if it runs).
struct Application<Kind: Sendable>: Sendable {
    let name: String
    let builtin: Kind?
    let args: [Expr]
    let kwargs: [(String, Expr)]
    let loc: SourceLoc
}

indirect enum Expr: Sendable {
    case const(TemplateValue)
    case name(String, SourceLoc)
    case getattr(Expr, String, SourceLoc)
    case getitem(Expr, Expr, SourceLoc)
    case slice(Expr?, Expr?, Expr?, SourceLoc)
    case call(Expr, [Expr], [(String, Expr)], SourceLoc)
    case filter(Expr, Application<FilterKind>)
    case test(Expr, Application<TestKind>)
    case neg(Expr, SourceLoc)
    case pos(Expr, SourceLoc)
    case binary(BinaryOp, Expr, Expr, SourceLoc)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case not(Expr)
    case compare(Expr, [(CompareOp, Expr, SourceLoc)])
    case concat([Expr], SourceLoc)
    case conditional(test: Expr, then: Expr, otherwise: Expr?)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
}

/// The left side of `set`, `for` and `with`.
indirect enum Target: Sendable {
    case name(String)
    case tuple([Target], SourceLoc)
    case namespaceAttribute(String, String, SourceLoc)
}

struct ForLoop: Sendable {
    let target: Target
    let iterable: Expr
    let condition: Expr?
    let body: [Node]
    let otherwise: [Node]
    let loc: SourceLoc
}

indirect enum Node: Sendable {
    case text(String)
    case output(Expr, SourceLoc)
    case conditional([(Expr, [Node])], otherwise: [Node])
    case forLoop(ForLoop)
    case assign(Target, Expr, SourceLoc)
    /// `{% set x %}…{% endset %}`; the optional filter chain reads the body from `Parser.blockBodyName`.
    case assignBlock(Target, [Node], Expr?, SourceLoc)
    case with([(Target, Expr)], [Node], SourceLoc)
    case filterBlock([Node], Expr, SourceLoc)
}
