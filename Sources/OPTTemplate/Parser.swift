/// A recursive-descent parser following jinja2/parser.py, so precedence and quirks match
/// (`-x|abs` filters the negation; `**` is left-associative).
struct Parser {
    /// The variable a block `set`/`filter` body is bound to while its filter chain runs.
    static let blockBodyName = "\u{0}body"
    static let maxDepth = 200

    let name: String
    let tokens: [Token]
    var pos = 0
    var depth = 0

    init(tokens: [Token], name: String) {
        self.tokens = tokens
        self.name = name
    }

    var current: Token { tokens[pos] }
    func look(_ k: Int = 1) -> Token { tokens[min(pos + k, tokens.count - 1)] }
    mutating func advance() { if pos < tokens.count - 1 { pos += 1 } }

    func fail(_ reason: String, _ loc: SourceLoc) -> TemplateError {
        TemplateError(kind: .syntax, reason: reason, templateName: name, line: Int(loc.line), column: Int(loc.column))
    }

    func isOp(_ op: String) -> Bool { current.kind == .op(op) }
    func isName(_ n: String) -> Bool { current.kind == .name(n) }

    mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) { advance(); return true }
        return false
    }

    mutating func skipName(_ n: String) -> Bool {
        if isName(n) { advance(); return true }
        return false
    }

    mutating func expectOp(_ op: String) throws(TemplateError) {
        guard skipOp(op) else { throw fail("expected token '\(op)', got '\(current.described)'", current.loc) }
    }

    mutating func expectName() throws(TemplateError) -> String {
        guard case .name(let n) = current.kind else {
            throw fail("expected token 'name', got '\(current.described)'", current.loc)
        }
        advance()
        return n
    }

    mutating func expectBlockEnd() throws(TemplateError) {
        guard current.kind == .blockEnd else {
            throw fail("expected token 'end of statement block', got '\(current.described)'", current.loc)
        }
        advance()
    }

    mutating func enter() throws(TemplateError) {
        depth += 1
        if depth > Parser.maxDepth { throw fail("template is nested too deeply", current.loc) }
    }

    /// One more node of a chain built in a loop (`a + b + c`, `x.y.z`, `v|f|g`): each wraps the one before, so a
    /// long chain is as deep as nesting (the evaluator recurses through it) and is held to the same bound. The
    /// caller gives the levels back when its chain is done (`defer { depth -= levels }`).
    mutating func deepen(_ levels: inout Int) throws(TemplateError) {
        try enter()
        levels += 1
    }

    // MARK: Statements

    mutating func parseTemplate() throws(TemplateError) -> [Node] {
        let body = try subparse(endTokens: [])
        try checkNames(body, soft: false)
        return body
    }

    /// Parses until a block whose first name is in `endTokens` (left unconsumed) or the end of the template.
    mutating func subparse(endTokens: Set<String>) throws(TemplateError) -> [Node] {
        var body: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .data(let text):
                body.append(.text(text))
                advance()
            case .variableBegin:
                advance()
                let expr = try parseTuple()
                guard current.kind == .variableEnd else {
                    throw fail("expected token 'end of print statement', got '\(current.described)'", current.loc)
                }
                advance()
                body.append(.output(expr, token.loc))
            case .blockBegin:
                advance()
                if case .name(let n) = current.kind, endTokens.contains(n) { return body }
                body.append(contentsOf: try parseStatement())
                try expectBlockEnd()
            case .eof:
                if !endTokens.isEmpty {
                    let wanted = endTokens.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw fail("Unexpected end of template. Jinja was looking for the following tags: \(wanted).", token.loc)
                }
                return body
            default:
                throw fail("unexpected '\(token.described)'", token.loc)
            }
        }
    }

    /// Consumes the block end of the opening tag, parses the body, and leaves the matched end name current.
    mutating func parseStatements(_ endTokens: Set<String>, dropNeedle: Bool) throws(TemplateError) -> [Node] {
        _ = skipOp(":")
        try expectBlockEnd()
        let body = try subparse(endTokens: endTokens)
        if dropNeedle { advance() }
        return body
    }

    mutating func parseStatement() throws(TemplateError) -> [Node] {
        let token = current
        guard case .name(let tag) = token.kind else { throw fail("tag name expected", token.loc) }
        try enter()
        defer { depth -= 1 }
        switch tag {
        case "if": return [try parseIf()]
        case "for": return [try parseFor()]
        case "set": return [try parseSet()]
        case "with": return [try parseWith()]
        case "filter": return [try parseFilterBlock()]
        case "print":
            advance()
            var nodes: [Node] = []
            while current.kind != .blockEnd {
                if !nodes.isEmpty { try expectOp(",") }
                let loc = current.loc
                nodes.append(.output(try parseExpression(), loc))
            }
            return nodes
        case "macro", "call", "block", "extends", "include", "import", "from", "autoescape":
            throw fail("the '\(tag)' tag is not supported by this template engine", token.loc)
        default:
            throw fail("Encountered unknown tag '\(tag)'.", token.loc)
        }
    }

    mutating func parseIf() throws(TemplateError) -> Node {
        advance()
        var branches: [(Expr, [Node])] = []
        var otherwise: [Node] = []
        while true {
            let test = try parseTuple(withCondexpr: false)
            let body = try parseStatements(["elif", "else", "endif"], dropNeedle: false)
            branches.append((test, body))
            let n = try expectName()
            if n == "elif" { continue }
            if n == "else" { otherwise = try parseStatements(["endif"], dropNeedle: true) }
            break
        }
        return .conditional(branches, otherwise: otherwise)
    }

    mutating func parseFor() throws(TemplateError) -> Node {
        let loc = current.loc
        advance()
        let target = try parseAssignTarget(extraEnd: ["in"], withNamespace: false)
        guard skipName("in") else { throw fail("expected token 'in', got '\(current.described)'", current.loc) }
        let iterable = try parseTuple(withCondexpr: false, extraEnd: ["recursive"])
        var condition: Expr? = nil
        if skipName("if") { condition = try parseExpression() }
        if isName("recursive") { throw fail("recursive loops are not supported by this template engine", current.loc) }
        let body = try parseStatements(["endfor", "else"], dropNeedle: false)
        var otherwise: [Node] = []
        if try expectName() == "else" { otherwise = try parseStatements(["endfor"], dropNeedle: true) }
        return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise, loc: loc))
    }

    mutating func parseSet() throws(TemplateError) -> Node {
        let loc = current.loc
        advance()
        let target = try parseAssignTarget(extraEnd: [], withNamespace: true)
        if skipOp("=") { return .assign(target, try parseTuple(), loc) }
        let filter = try parseFilter(.name(Parser.blockBodyName, loc), startInline: false)
        let body = try parseStatements(["endset"], dropNeedle: true)
        if case .name = filter { return .assignBlock(target, body, nil, loc) }
        return .assignBlock(target, body, filter, loc)
    }

    mutating func parseWith() throws(TemplateError) -> Node {
        let loc = current.loc
        advance()
        var pairs: [(Target, Expr)] = []
        while current.kind != .blockEnd {
            if !pairs.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget(extraEnd: [], withNamespace: false)
            try expectOp("=")
            pairs.append((target, try parseExpression()))
        }
        let body = try parseStatements(["endwith"], dropNeedle: true)
        return .with(pairs, body, loc)
    }

    mutating func parseFilterBlock() throws(TemplateError) -> Node {
        let loc = current.loc
        advance()
        let filter = try parseFilter(.name(Parser.blockBodyName, loc), startInline: true)
        let body = try parseStatements(["endfilter"], dropNeedle: true)
        return .filterBlock(body, filter, loc)
    }

    mutating func parseAssignTarget(extraEnd: Set<String>, withNamespace: Bool) throws(TemplateError) -> Target {
        let loc = current.loc
        if withNamespace, case .name(let ns) = current.kind, look().kind == .op(".") {
            advance()
            advance()
            let attr = try expectName()
            return .namespaceAttribute(ns, attr, loc)
        }
        let expr = try parseTuple(simplified: true, extraEnd: extraEnd)
        return try target(from: expr, loc)
    }

    func target(from expr: Expr, _ loc: SourceLoc) throws(TemplateError) -> Target {
        switch expr {
        case .name(let n, _): return .name(n)
        case .tuple(let items):
            var targets: [Target] = []
            for item in items { targets.append(try target(from: item, loc)) }
            return .tuple(targets, loc)
        case .const: throw fail("can't assign to 'const'", loc)
        default: throw fail("can't assign to this expression", loc)
        }
    }

    // MARK: Expressions

    func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .op(")"): return true
        case .name(let n): return extraEnd.contains(n)
        default: return false
        }
    }

    mutating func parseTuple(simplified: Bool = false, withCondexpr: Bool = true, extraEnd: Set<String> = [],
                             explicitParentheses: Bool = false) throws(TemplateError) -> Expr {
        var args: [Expr] = []
        var isTuple = false
        while true {
            if !args.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            if simplified {
                args.append(try parsePrimary())
            } else {
                args.append(try parseExpression(withCondexpr: withCondexpr))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let first = args.first { return first }
            if !explicitParentheses { throw fail("Expected an expression, got '\(current.described)'", current.loc) }
        }
        return .tuple(args)
    }

    mutating func parseExpression(withCondexpr: Bool = true) throws(TemplateError) -> Expr {
        try enter()
        defer { depth -= 1 }
        if withCondexpr { return try parseCondexpr() }
        return try parseOr()
    }

    mutating func parseCondexpr() throws(TemplateError) -> Expr {
        var expr1 = try parseOr()
        var levels = 0
        defer { depth -= levels }
        while isName("if") {
            advance()
            try deepen(&levels)
            let test = try parseOr()
            var otherwise: Expr? = nil
            if skipName("else") { otherwise = try parseCondexpr() }
            expr1 = .conditional(test: test, then: expr1, otherwise: otherwise)
        }
        return expr1
    }

    mutating func parseOr() throws(TemplateError) -> Expr {
        var left = try parseAnd()
        var levels = 0
        defer { depth -= levels }
        while skipName("or") {
            try deepen(&levels)
            left = .or(left, try parseAnd())
        }
        return left
    }

    mutating func parseAnd() throws(TemplateError) -> Expr {
        var left = try parseNot()
        var levels = 0
        defer { depth -= levels }
        while skipName("and") {
            try deepen(&levels)
            left = .and(left, try parseNot())
        }
        return left
    }

    mutating func parseNot() throws(TemplateError) -> Expr {
        if isName("not") {
            advance()
            try enter()
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws(TemplateError) -> Expr {
        let expr = try parseMath1()
        var ops: [(CompareOp, Expr, SourceLoc)] = []
        while true {
            let loc = current.loc
            let op: CompareOp
            switch current.kind {
            case .op("=="): op = .eq
            case .op("!="): op = .ne
            case .op("<"): op = .lt
            case .op("<="): op = .le
            case .op(">"): op = .gt
            case .op(">="): op = .ge
            case .name("in"): op = .isIn
            case .name("not") where look().kind == .name("in"):
                advance()
                op = .notIn
            default:
                return ops.isEmpty ? expr : .compare(expr, ops)
            }
            advance()
            ops.append((op, try parseMath1(), loc))
        }
    }

    mutating func parseMath1() throws(TemplateError) -> Expr {
        var left = try parseConcat()
        var levels = 0
        defer { depth -= levels }
        while true {
            let loc = current.loc
            if isOp("+") || isOp("-") { try deepen(&levels) }
            if skipOp("+") {
                left = .binary(.add, left, try parseConcat(), loc)
            } else if skipOp("-") {
                left = .binary(.sub, left, try parseConcat(), loc)
            } else {
                return left
            }
        }
    }

    mutating func parseConcat() throws(TemplateError) -> Expr {
        let loc = current.loc
        var args = [try parseMath2()]
        while skipOp("~") { args.append(try parseMath2()) }
        return args.count == 1 ? args[0] : .concat(args, loc)
    }

    mutating func parseMath2() throws(TemplateError) -> Expr {
        var left = try parsePow()
        var levels = 0
        defer { depth -= levels }
        while true {
            let loc = current.loc
            let op: BinaryOp
            switch current.kind {
            case .op("*"): op = .mul
            case .op("/"): op = .div
            case .op("//"): op = .floorDiv
            case .op("%"): op = .mod
            default: return left
            }
            advance()
            try deepen(&levels)
            left = .binary(op, left, try parsePow(), loc)
        }
    }

    mutating func parsePow() throws(TemplateError) -> Expr {
        var left = try parseUnary()
        var levels = 0
        defer { depth -= levels }
        while true {
            let loc = current.loc
            guard skipOp("**") else { return left }
            try deepen(&levels)
            left = .binary(.pow, left, try parseUnary(), loc)
        }
    }

    mutating func parseUnary(withFilter: Bool = true) throws(TemplateError) -> Expr {
        try enter()
        defer { depth -= 1 }
        let loc = current.loc
        var node: Expr
        if skipOp("-") {
            node = .neg(try parseUnary(withFilter: false), loc)
        } else if skipOp("+") {
            node = .pos(try parseUnary(withFilter: false), loc)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    mutating func parsePrimary() throws(TemplateError) -> Expr {
        let token = current
        switch token.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return .const(.bool(true))
            case "false", "False": return .const(.bool(false))
            case "none", "None": return .const(.none)
            default: return .name(n, token.loc)
            }
        case .string(let s):
            advance()
            var buffer = s
            while case .string(let more) = current.kind {
                buffer += more
                advance()
            }
            return .const(.string(buffer))
        case .int(let i):
            advance()
            return .const(.int(i))
        case .float(let d):
            advance()
            return .const(.double(d))
        case .op("("):
            advance()
            try enter()
            defer { depth -= 1 }
            let node = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return node
        case .op("["):
            advance()
            try enter()
            defer { depth -= 1 }
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            advance()
            try enter()
            defer { depth -= 1 }
            var items: [(Expr, Expr)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                items.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(items)
        default:
            throw fail("unexpected '\(token.described)'", token.loc)
        }
    }

    mutating func parsePostfix(_ start: Expr) throws(TemplateError) -> Expr {
        var node = start
        var levels = 0
        defer { depth -= levels }
        while true {
            if isOp(".") || isOp("[") || isOp("(") { try deepen(&levels) }
            if isOp(".") || isOp("[") {
                node = try parseSubscript(node)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    mutating func parseFilterExpr(_ start: Expr) throws(TemplateError) -> Expr {
        var node = start
        var levels = 0
        defer { depth -= levels }
        while true {
            if isName("is") || isOp("(") { try deepen(&levels) }
            if isOp("|") {
                node = try parseFilter(node, startInline: false)
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    mutating func parseSubscript(_ node: Expr) throws(TemplateError) -> Expr {
        let token = current
        advance()
        if token.kind == .op(".") {
            let attr = current
            advance()
            switch attr.kind {
            case .name(let n): return .getattr(node, n, token.loc)
            case .int(let i): return .getitem(node, .const(.int(i)), token.loc)
            default: throw fail("expected name or number", attr.loc)
            }
        }
        var args: [Expr] = []
        while !isOp("]") {
            if !args.isEmpty {
                try expectOp(",")
                if isOp("]") { break }
            }
            args.append(try parseSubscribed())
        }
        try expectOp("]")
        if args.count == 1 { return .getitem(node, args[0], token.loc) }
        return .getitem(node, .tuple(args), token.loc)
    }

    mutating func parseSubscribed() throws(TemplateError) -> Expr {
        let loc = current.loc
        var start: Expr? = nil
        if isOp(":") {
            advance()
        } else {
            let node = try parseExpression()
            if !isOp(":") { return node }
            advance()
            start = node
        }
        var stop: Expr? = nil
        var step: Expr? = nil
        if !isOp("]") && !isOp(",") && !isOp(":") { stop = try parseExpression() }
        if skipOp(":") {
            if !isOp("]") && !isOp(",") { step = try parseExpression() }
        }
        return .slice(start, stop, step, loc)
    }

    mutating func parseCallArgs() throws(TemplateError) -> ([Expr], [(String, Expr)]) {
        let open = current
        try expectOp("(")
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        var requireComma = false
        while !isOp(")") {
            if requireComma {
                try expectOp(",")
                if isOp(")") { break }
            }
            if isOp("*") || isOp("**") {
                throw fail("*args and **kwargs in calls are not supported by this template engine", current.loc)
            }
            if case .name(let key) = current.kind, look().kind == .op("=") {
                advance()
                advance()
                kwargs.append((key, try parseExpression()))
            } else {
                if !kwargs.isEmpty { throw fail("invalid syntax for function call expression", open.loc) }
                args.append(try parseExpression())
            }
            requireComma = true
        }
        try expectOp(")")
        return (args, kwargs)
    }

    mutating func parseCall(_ node: Expr) throws(TemplateError) -> Expr {
        let loc = current.loc
        let (args, kwargs) = try parseCallArgs()
        return .call(node, args, kwargs, loc)
    }

    mutating func dottedName() throws(TemplateError) -> String {
        var n = try expectName()
        while isOp(".") {
            advance()
            n += "." + (try expectName())
        }
        return n
    }

    mutating func parseFilter(_ start: Expr, startInline: Bool) throws(TemplateError) -> Expr {
        var node = start
        var inline = startInline
        var levels = 0
        defer { depth -= levels }
        while isOp("|") || inline {
            if !inline { advance() }
            inline = false
            try deepen(&levels)
            let loc = current.loc
            let filterName = try dottedName()
            var args: [Expr] = []
            var kwargs: [(String, Expr)] = []
            if isOp("(") { (args, kwargs) = try parseCallArgs() }
            node = .filter(node, Application(name: filterName, builtin: FilterKind(name: filterName), args: args, kwargs: kwargs, loc: loc))
        }
        return node
    }

    static let testArgumentStarts: Set<String> = ["else", "or", "and"]

    mutating func parseTest(_ node: Expr) throws(TemplateError) -> Expr {
        advance()
        let negated = skipName("not")
        let loc = current.loc
        let testName = try dottedName()
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        switch current.kind {
        case .op("("):
            (args, kwargs) = try parseCallArgs()
        case .name(let n) where !Parser.testArgumentStarts.contains(n):
            if n == "is" { throw fail("You cannot chain multiple tests with is", current.loc) }
            args = [try parsePostfix(try parsePrimary())]
        case .string, .int, .float, .op("["), .op("{"):
            args = [try parsePostfix(try parsePrimary())]
        default:
            break
        }
        let test = Expr.test(node, Application(name: testName, builtin: TestKind(name: testName), args: args, kwargs: kwargs, loc: loc))
        return negated ? .not(test) : test
    }

    // MARK: Unknown filters and tests

    /// Jinja rejects unknown filters and tests when it compiles, except inside `if` tests and bodies and
    /// conditional expressions (its "soft" frames), where they fail only if they run; loop bodies are never soft.
    func checkNames(_ nodes: [Node], soft: Bool) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text: break
            case .output(let e, _): try checkNames(e, soft: soft)
            case .conditional(let branches, let otherwise):
                for (test, body) in branches {
                    try checkNames(test, soft: true)
                    try checkNames(body, soft: true)
                }
                try checkNames(otherwise, soft: true)
            case .forLoop(let loop):
                try checkNames(loop.iterable, soft: soft)
                if let c = loop.condition { try checkNames(c, soft: false) }
                try checkNames(loop.body, soft: false)
                try checkNames(loop.otherwise, soft: false)
            case .assign(_, let e, _): try checkNames(e, soft: soft)
            case .assignBlock(_, let body, let filter, _):
                try checkNames(body, soft: soft)
                if let filter { try checkNames(filter, soft: soft) }
            case .with(let pairs, let body, _):
                for (_, e) in pairs { try checkNames(e, soft: soft) }
                try checkNames(body, soft: false)
            case .filterBlock(let body, let filter, _):
                try checkNames(filter, soft: soft)
                try checkNames(body, soft: false)
            }
        }
    }

    func checkNames(_ expr: Expr, soft: Bool) throws(TemplateError) {
        switch expr {
        case .const, .name: break
        case .getattr(let e, _, _), .neg(let e, _), .pos(let e, _), .not(let e): try checkNames(e, soft: soft)
        case .getitem(let a, let b, _):
            try checkNames(a, soft: soft)
            try checkNames(b, soft: soft)
        case .slice(let a, let b, let c, _):
            for e in [a, b, c] { if let e { try checkNames(e, soft: soft) } }
        case .call(let f, let args, let kwargs, _):
            try checkNames(f, soft: soft)
            for a in args { try checkNames(a, soft: soft) }
            for (_, a) in kwargs { try checkNames(a, soft: soft) }
        case .filter(let e, let app):
            try checkNames(e, soft: soft)
            if app.builtin == nil && !soft { throw fail("No filter named '\(app.name)'.", app.loc) }
            for a in app.args { try checkNames(a, soft: soft) }
            for (_, a) in app.kwargs { try checkNames(a, soft: soft) }
        case .test(let e, let app):
            try checkNames(e, soft: soft)
            if app.builtin == nil && !soft { throw fail("No test named '\(app.name)'.", app.loc) }
            for a in app.args { try checkNames(a, soft: soft) }
            for (_, a) in app.kwargs { try checkNames(a, soft: soft) }
        case .binary(_, let a, let b, _), .and(let a, let b), .or(let a, let b):
            try checkNames(a, soft: soft)
            try checkNames(b, soft: soft)
        case .compare(let first, let ops):
            try checkNames(first, soft: soft)
            for (_, e, _) in ops { try checkNames(e, soft: soft) }
        case .concat(let items, _):
            for e in items { try checkNames(e, soft: soft) }
        case .list(let items), .tuple(let items):
            for e in items { try checkNames(e, soft: soft) }
        case .conditional(let test, let then, let otherwise):
            try checkNames(test, soft: true)
            try checkNames(then, soft: true)
            if let otherwise { try checkNames(otherwise, soft: true) }
        case .dict(let pairs):
            for (k, v) in pairs {
                try checkNames(k, soft: soft)
                try checkNames(v, soft: soft)
            }
        }
    }
}
