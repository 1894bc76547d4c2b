/// A Jinja2 template parsed once into an AST and rendered many times with Jinja2 3.1's default semantics.
public struct Template: Sendable {
    public let name: String
    let body: [Node]
    let strictUndefined: Bool

    /// Parses `source`; syntax errors and unknown filters or tests (outside `if`) are thrown here. By default the
    /// environment is Jinja's (and PromptSource's); lm-evaluation-harness's keeps a trailing newline and makes
    /// printing a missing value an error (`keep_trailing_newline=True`, `StrictUndefined`).
    public init(_ source: String, name: String, keepTrailingNewline: Bool = false, strictUndefined: Bool = false) throws(TemplateError) {
        self.name = name
        self.strictUndefined = strictUndefined
        var lexer = Lexer(source: source, name: name, keepTrailingNewline: keepTrailingNewline)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, name: name)
        body = try parser.parseTemplate()
    }

    /// Renders with `variables` as the top-level names; `seed` drives `choice` and `random` reproducibly.
    public func render(_ variables: [String: TemplateValue], seed: UInt64 = 0) throws(TemplateError) -> String {
        let renderer = Renderer(templateName: name, variables: variables, seed: seed)
        renderer.strictUndefined = strictUndefined
        var out = ""
        try renderer.render(body, into: &out)
        return out
    }
}

/// One Jinja2 expression parsed once and evaluated to a value (not text), as lm-evaluation-harness's task
/// configurations and Python's `ast.literal_eval` of a rendered list need.
public struct TemplateExpression: Sendable {
    public let name: String
    let expression: Expr

    /// Parses `source` as the inside of `{{ … }}`; anything else there (a second expression, a tag) is a syntax error.
    public init(_ source: String, name: String) throws(TemplateError) {
        self.name = name
        var lexer = Lexer(source: "{{ " + source + " }}", name: name)
        var parser = Parser(tokens: try lexer.tokenize(), name: name)
        let body = try parser.parseTemplate()
        guard body.count == 1, case let .output(expression, _) = body[0] else {
            throw TemplateError(kind: .syntax, reason: "expected one expression", templateName: name, line: 1, column: 1)
        }
        self.expression = expression
    }

    /// The expression's value with `variables` as the top-level names.
    public func evaluate(_ variables: [String: TemplateValue]) throws(TemplateError) -> TemplateValue {
        try Renderer(templateName: name, variables: variables, seed: 0).eval(expression)
    }
}
