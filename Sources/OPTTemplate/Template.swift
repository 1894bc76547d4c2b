/// A Jinja2 template parsed once into an AST and rendered many times with Jinja2 3.1's default semantics.
public struct Template: Sendable {
    public let name: String
    let body: [Node]

    /// Parses `source`; syntax errors and unknown filters or tests (outside `if`) are thrown here.
    public init(_ source: String, name: String) throws(TemplateError) {
        self.name = name
        var lexer = Lexer(source: source, name: name)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, name: name)
        body = try parser.parseTemplate()
    }

    /// Renders with `variables` as the top-level names; `seed` drives `choice` and `random` reproducibly.
    public func render(_ variables: [String: TemplateValue], seed: UInt64 = 0) throws(TemplateError) -> String {
        let renderer = Renderer(templateName: name, variables: variables, seed: seed)
        var out = ""
        try renderer.render(body, into: &out)
        return out
    }
}
