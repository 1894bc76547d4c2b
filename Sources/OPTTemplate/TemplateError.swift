/// A failure to parse or render a template, located in the template's source.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The class of failure, named after the Python exception Jinja2 would raise.
    public enum Kind: String, Sendable, Equatable {
        case syntax = "TemplateSyntaxError"
        case undefined = "UndefinedError"
        case runtime = "TemplateRuntimeError"
        case type = "TypeError"
        case value = "ValueError"
        case zeroDivision = "ZeroDivisionError"
        case index = "IndexError"
        case key = "KeyError"
        case overflow = "OverflowError"
        case recursion = "RecursionError"
        case assertion = "AssertionError"
    }

    public let kind: Kind
    public let reason: String
    public let templateName: String
    /// 1-based line of the failing construct.
    public let line: Int
    /// 1-based column (in Unicode scalars) of the failing construct.
    public let column: Int

    public init(kind: Kind, reason: String, templateName: String, line: Int, column: Int) {
        self.kind = kind
        self.reason = reason
        self.templateName = templateName
        self.line = line
        self.column = column
    }

    public var description: String {
        "\(kind.rawValue): \(reason) (template '\(templateName)', line \(line), column \(column))"
    }
}

/// A position in the template source; 32-bit fields keep AST nodes small.
struct SourceLoc: Sendable, Equatable {
    var line: Int32
    var column: Int32
    static let unknown = SourceLoc(line: 1, column: 1)
}

/// A failure raised by value operations before it is located; the evaluator attaches the position.
struct Failure: Error {
    let kind: TemplateError.Kind
    let reason: String
    init(_ kind: TemplateError.Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }
}
