import OPTSupport

/// Shared immutable objects for the global functions, so looking them up allocates nothing.
enum Globals {
    static let range = TemplateObject(.builtin(.range))
    static let zip = TemplateObject(.builtin(.zip))
    static let dict = TemplateObject(.builtin(.dict))
    static let namespace = TemplateObject(.builtin(.namespace))
    static let lipsum = TemplateObject(.builtin(.lipsum))

    static func lookup(_ name: String) -> TemplateValue? {
        switch name {
        case "range": return .object(range)
        case "zip": return .object(zip)
        case "dict": return .object(dict)
        case "namespace": return .object(namespace)
        case "lipsum": return .object(lipsum)
        default: return nil
        }
    }
}

/// One render: the scopes, the random source and the private copies of caller containers a template mutated.
final class Renderer {
    let templateName: String
    let variables: [String: TemplateValue]
    /// scopes[0] holds top-level `set`s; each loop iteration, `with` and block body pushes one.
    var scopes: [[String: TemplateValue]] = [[:]]
    var rng: SplitMix64
    var shadowLists: [ObjectIdentifier: (original: TemplateList, copy: TemplateList)] = [:]
    var shadowDicts: [ObjectIdentifier: (original: TemplateDict, copy: TemplateDict)] = [:]

    /// Jinja's `StrictUndefined`: printing a missing value is an error, not empty text.
    var strictUndefined = false

    init(templateName: String, variables: [String: TemplateValue], seed: UInt64) {
        self.templateName = templateName
        self.variables = variables
        rng = SplitMix64(state: seed)
    }

    func located(_ failure: Failure, _ loc: SourceLoc) -> TemplateError {
        TemplateError(kind: failure.kind, reason: failure.reason, templateName: templateName,
                      line: Int(loc.line), column: Int(loc.column))
    }

    // MARK: Caller containers are copied on first mutation

    /// Replaces a caller-made container by this render's mutated copy, if there is one.
    @inline(__always)
    func fresh(_ v: TemplateValue) -> TemplateValue {
        if shadowLists.isEmpty && shadowDicts.isEmpty { return v }
        switch v {
        case .list(let l) where l.shared:
            if let s = shadowLists[ObjectIdentifier(l)] { return .list(s.copy) }
        case .dict(let d) where d.shared:
            if let s = shadowDicts[ObjectIdentifier(d)] { return .dict(s.copy) }
        default: break
        }
        return v
    }

    func mutable(_ l: TemplateList) -> TemplateList {
        guard l.shared else { return l }
        if let s = shadowLists[ObjectIdentifier(l)] { return s.copy }
        let copy = TemplateList(owned: l.items)
        shadowLists[ObjectIdentifier(l)] = (l, copy)
        return copy
    }

    func mutable(_ d: TemplateDict) -> TemplateDict {
        guard d.shared else { return d }
        if let s = shadowDicts[ObjectIdentifier(d)] { return s.copy }
        let copy = d.copy()
        shadowDicts[ObjectIdentifier(d)] = (d, copy)
        return copy
    }

    /// Python's `str()`, seeing this render's copies of mutated caller containers.
    func str(_ v: TemplateValue) -> String {
        switch v {
        case .string(let s): return s
        case .undefined: return ""
        default:
            if shadowLists.isEmpty && shadowDicts.isEmpty { return v.pyStr }
            var out = ""
            v.appendRepr(to: &out, depth: 0, resolve: { self.fresh($0) })
            return out
        }
    }

    // MARK: Names

    func lookup(_ name: String) -> TemplateValue {
        var i = scopes.count - 1
        while i >= 0 {
            if let v = scopes[i][name] { return fresh(v) }
            i -= 1
        }
        if let v = variables[name] { return fresh(v) }
        if let g = Globals.lookup(name) { return g }
        return .undefined("'\(name)' is undefined")
    }

    func assign(_ target: Target, _ value: TemplateValue, _ loc: SourceLoc) throws(TemplateError) {
        switch target {
        case .name(let n):
            scopes[scopes.count - 1][n] = value
        case .tuple(let targets, let tloc):
            let items: [TemplateValue]
            do throws(Failure) {
                switch value {
                case .int, .double, .bool, .none, .object:
                    throw Failure(.type, "cannot unpack non-iterable \(value.typeName) object")
                default: items = try pyIterate(value)
                }
                if items.count < targets.count {
                    throw Failure(.value, "not enough values to unpack (expected \(targets.count), got \(items.count))")
                }
                if items.count > targets.count {
                    throw Failure(.value, "too many values to unpack (expected \(targets.count))")
                }
            } catch {
                throw located(error, tloc)
            }
            for (t, v) in zip(targets, items) { try assign(t, v, loc) }
        case .namespaceAttribute(let ns, let attr, let nloc):
            guard case .object(let o) = lookup(ns), case .namespace(let d) = o.kind else {
                throw located(Failure(.runtime, "cannot assign attribute on non-namespace object"), nloc)
            }
            do { try d.set(.string(attr), value) } catch { throw located(error, nloc) }
        }
    }

    // MARK: Statements

    func render(_ nodes: [Node], into out: inout String) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let t):
                out += t
            case .output(let expr, let loc):
                let v = try eval(expr)
                switch v {
                case .string(let s): out += s
                case .undefined(let message):
                    if strictUndefined { throw located(Failure(.undefined, message), loc) }
                default: out += str(v)
                }
            case .conditional(let branches, let otherwise):
                var taken = false
                for (test, body) in branches where try eval(test).isTruthy {
                    try render(body, into: &out)
                    taken = true
                    break
                }
                if !taken { try render(otherwise, into: &out) }
            case .forLoop(let loop):
                try renderFor(loop, into: &out)
            case .assign(let target, let expr, let loc):
                try assign(target, try eval(expr), loc)
            case .assignBlock(let target, let body, let filter, let loc):
                var value = TemplateValue.string(try renderScoped(body))
                if let filter { value = try evalWithBody(filter, value) }
                try assign(target, value, loc)
            case .with(let pairs, let body, let loc):
                var values: [TemplateValue] = []
                for (_, e) in pairs { values.append(try eval(e)) }
                scopes.append([:])
                defer { scopes.removeLast() }
                for ((t, _), v) in zip(pairs, values) { try assign(t, v, loc) }
                try render(body, into: &out)
            case .filterBlock(let body, let filter, _):
                out += try evalWithBody(filter, .string(try renderScoped(body))).pyStr
            }
        }
    }

    /// A block's text rendered in a scope of its own (`set` and `filter` blocks), so its assignments stay inside it.
    func renderScoped(_ body: [Node]) throws(TemplateError) -> String {
        var text = ""
        scopes.append([:])
        defer { scopes.removeLast() }
        try render(body, into: &text)
        return text
    }

    func evalWithBody(_ filter: Expr, _ body: TemplateValue) throws(TemplateError) -> TemplateValue {
        scopes.append([Parser.blockBodyName: body])
        defer { scopes.removeLast() }
        return try eval(filter)
    }

    func renderFor(_ loop: ForLoop, into out: inout String) throws(TemplateError) {
        let iterable = try eval(loop.iterable)
        let items: [TemplateValue]
        do { items = try pyIterate(iterable) } catch { throw located(error, loop.loc) }
        let state = LoopState(items: items, target: loop.target, condition: loop.condition, loc: loop.loc)
        guard var current = try nextLoopItem(state) else {
            scopes.append([:])
            defer { scopes.removeLast() }
            try render(loop.otherwise, into: &out)
            return
        }
        let loopObject = TemplateValue.object(TemplateObject(.loop(state)))
        while true {
            state.index0 += 1
            scopes.append([:])
            do {
                try assign(loop.target, current, loop.loc)
                scopes[scopes.count - 1]["loop"] = loopObject
                try render(loop.body, into: &out)
            } catch {
                scopes.removeLast()
                throw error
            }
            scopes.removeLast()
            state.previous = current
            guard let next = try nextLoopItem(state) else { break }
            current = next
        }
    }

    /// The next item that passes the loop's inline `if`, evaluated only now, as Jinja's generator does.
    func pullFiltered(_ state: LoopState) throws(TemplateError) -> TemplateValue? {
        while state.position < state.items.count {
            let item = state.items[state.position]
            state.position += 1
            guard let condition = state.condition else { return item }
            scopes.append([:])
            let keep: Bool
            do {
                try assign(state.target, item, state.loc)
                keep = try eval(condition).isTruthy
            } catch {
                scopes.removeLast()
                throw error
            }
            scopes.removeLast()
            if keep { return item }
        }
        return nil
    }

    func nextLoopItem(_ state: LoopState) throws(TemplateError) -> TemplateValue? {
        if state.aheadStart < state.ahead.count {
            let item = state.ahead[state.aheadStart]
            state.aheadStart += 1
            return item
        }
        return try pullFiltered(state)
    }

    func peekLoopItem(_ state: LoopState) throws(TemplateError) -> TemplateValue? {
        if state.aheadStart < state.ahead.count { return state.ahead[state.aheadStart] }
        guard let item = try pullFiltered(state) else { return nil }
        state.ahead.append(item)
        return item
    }

    func loopLength(_ state: LoopState) throws(TemplateError) -> Int {
        if state.condition == nil { return state.items.count }
        while let item = try pullFiltered(state) { state.ahead.append(item) }
        return state.index0 + 1 + state.pendingAhead
    }

    func loopAttribute(_ state: LoopState, _ name: String) throws(TemplateError) -> TemplateValue? {
        switch name {
        case "index": return .int(state.index0 + 1)
        case "index0": return .int(state.index0)
        case "revindex": return .int(try loopLength(state) - state.index0)
        case "revindex0": return .int(try loopLength(state) - state.index0 - 1)
        case "first": return .bool(state.index0 == 0)
        case "last": return .bool(try peekLoopItem(state) == nil)
        case "length": return .int(try loopLength(state))
        case "previtem": return state.previous
        case "nextitem": return try peekLoopItem(state) ?? .undefined("there is no next item")
        // loop.depth counts recursive loop calls only, which this engine has not: every loop is depth 1.
        case "depth": return .int(1)
        case "depth0": return .int(0)
        default: return nil
        }
    }

    // MARK: Expressions

    func eval(_ expr: Expr) throws(TemplateError) -> TemplateValue {
        switch expr {
        case .const(let v):
            return v
        case .name(let n, _):
            return lookup(n)
        case .getattr(let objExpr, let name, let loc):
            let obj = try eval(objExpr)
            if case .object(let o) = obj, case .loop(let state) = o.kind, let v = try loopAttribute(state, name) { return v }
            do { return try getattr(obj, name) } catch { throw located(error, loc) }
        case .getitem(let objExpr, let keyExpr, let loc):
            let obj = try eval(objExpr)
            if case .slice(let a, let b, let c, _) = keyExpr {
                let start = try a.map { (e: Expr) throws(TemplateError) in try eval(e) }
                let stop = try b.map { (e: Expr) throws(TemplateError) in try eval(e) }
                let step = try c.map { (e: Expr) throws(TemplateError) in try eval(e) }
                do { return try getslice(obj, start, stop, step) } catch { throw located(error, loc) }
            }
            let key = try eval(keyExpr)
            do { return try getitem(obj, key) } catch { throw located(error, loc) }
        case .slice(_, _, _, let loc):
            throw located(Failure(.syntax, "slice outside of a subscript"), loc)
        case .call(let fnExpr, let argExprs, let kwargExprs, let loc):
            var args: [TemplateValue] = []
            args.reserveCapacity(argExprs.count)
            var kwargs: [(String, TemplateValue)] = []
            if case .getattr(let objExpr, let name, _) = fnExpr {
                // Calling a method directly avoids allocating a bound-method object.
                let obj = try eval(objExpr)
                for a in argExprs { args.append(try eval(a)) }
                for (k, e) in kwargExprs { kwargs.append((k, try eval(e))) }
                do {
                    if hasMethod(obj, name) { return try callMethod(obj, name, args, kwargs) }
                    return try call(try getattr(obj, name), args, kwargs)
                } catch {
                    throw located(error, loc)
                }
            }
            let fn = try eval(fnExpr)
            for a in argExprs { args.append(try eval(a)) }
            for (k, e) in kwargExprs { kwargs.append((k, try eval(e))) }
            do { return try call(fn, args, kwargs) } catch { throw located(error, loc) }
        case .filter(let valueExpr, let app):
            let value = try eval(valueExpr)
            var args: [TemplateValue] = []
            args.reserveCapacity(app.args.count)
            for a in app.args { args.append(try eval(a)) }
            var kwargs: [(String, TemplateValue)] = []
            for (k, e) in app.kwargs { kwargs.append((k, try eval(e))) }
            guard let kind = app.builtin else {
                throw located(Failure(.runtime, "No filter named '\(app.name)' found."), app.loc)
            }
            do { return try applyFilter(kind, value, args, kwargs) } catch { throw located(error, app.loc) }
        case .test(let valueExpr, let app):
            let value = try eval(valueExpr)
            var args: [TemplateValue] = []
            for a in app.args { args.append(try eval(a)) }
            var kwargs: [(String, TemplateValue)] = []
            for (k, e) in app.kwargs { kwargs.append((k, try eval(e))) }
            guard let kind = app.builtin else {
                throw located(Failure(.runtime, "No test named '\(app.name)' found."), app.loc)
            }
            do { return .bool(try applyTest(kind, value, args, kwargs)) } catch { throw located(error, app.loc) }
        case .neg(let e, let loc):
            let v = try eval(e)
            do throws(Failure) {
                switch v {
                case .int(let i):
                    if i == Int.min { throw Failure(.overflow, "integer result too large for this engine") }
                    return .int(-i)
                case .bool(let b): return .int(b ? -1 : 0)
                case .double(let d): return .double(-d)
                case .undefined(let m): throw Failure(.undefined, m)
                default: throw Failure(.type, "bad operand type for unary -: '\(v.typeName)'")
                }
            } catch {
                throw located(error, loc)
            }
        case .pos(let e, let loc):
            let v = try eval(e)
            switch v {
            case .int, .double: return v
            case .bool(let b): return .int(b ? 1 : 0)
            case .undefined(let m): throw located(Failure(.undefined, m), loc)
            default: throw located(Failure(.type, "bad operand type for unary +: '\(v.typeName)'"), loc)
            }
        case .binary(let op, let a, let b, let loc):
            let x = try eval(a)
            let y = try eval(b)
            do { return try binaryOperation(op, x, y) } catch { throw located(error, loc) }
        case .and(let a, let b):
            let x = try eval(a)
            return x.isTruthy ? try eval(b) : x
        case .or(let a, let b):
            let x = try eval(a)
            return x.isTruthy ? x : try eval(b)
        case .not(let e):
            return .bool(!(try eval(e).isTruthy))
        case .compare(let first, let ops):
            var left = try eval(first)
            for (op, e, loc) in ops {
                let right = try eval(e)
                let ok: Bool
                do { ok = try compare(op, left, right) } catch { throw located(error, loc) }
                if !ok { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let parts, _):
            var s = ""
            for p in parts { s += str(try eval(p)) }
            return .string(s)
        case .conditional(let test, let then, let otherwise):
            if try eval(test).isTruthy { return try eval(then) }
            if let otherwise { return try eval(otherwise) }
            return .undefined("the inline if-expression on line evaluated to false and no else section was defined.")
        case .list(let items):
            var values: [TemplateValue] = []
            values.reserveCapacity(items.count)
            for e in items { values.append(try eval(e)) }
            return .list(TemplateList(owned: values))
        case .tuple(let items):
            var values: [TemplateValue] = []
            values.reserveCapacity(items.count)
            for e in items { values.append(try eval(e)) }
            return .tuple(values)
        case .dict(let pairs):
            let d = TemplateDict(owned: [])
            for (k, v) in pairs {
                let key = try eval(k)
                let value = try eval(v)
                do { try d.set(key, value) } catch { throw located(error, SourceLoc.unknown) }
            }
            return .dict(d)
        }
    }

    // MARK: Attribute and item access (Jinja's Environment.getattr / getitem)

    /// `obj.name`: a Python attribute (method) first, then the item `obj["name"]`, else undefined.
    func getattr(_ obj: TemplateValue, _ name: String) throws(Failure) -> TemplateValue {
        if let attribute = try pythonAttribute(obj, name) { return attribute }
        switch obj {
        case .dict(let d):
            if let v = d[name] { return fresh(v) }
            return .undefined("'dict object' has no attribute '\(name)'")
        case .none:
            return .undefined("'None' has no attribute '\(name)'")
        default:
            return .undefined("'\(obj.typeName) object' has no attribute '\(name)'")
        }
    }

    /// Python's `getattr(obj, name)` for the attributes this engine models; nil when there is none.
    func pythonAttribute(_ obj: TemplateValue, _ name: String) throws(Failure) -> TemplateValue? {
        switch obj {
        case .undefined(let m):
            throw Failure(.undefined, m)
        case .object(let o):
            switch o.kind {
            case .namespace(let d):
                if let v = d[name] { return fresh(v) }
                return nil
            case .loop(let state):
                if name == "cycle" { return .object(TemplateObject(.method(obj, name))) }
                do { return try loopAttribute(state, name) } catch { throw Failure(error.kind, error.reason) }
            default:
                return nil
            }
        default:
            return hasMethod(obj, name) ? .object(TemplateObject(.method(obj, name))) : nil
        }
    }

    /// `obj[key]`: the item first, then (for string keys) the Python attribute, else undefined.
    func getitem(_ obj: TemplateValue, _ key: TemplateValue) throws(Failure) -> TemplateValue {
        switch obj {
        case .undefined(let m):
            throw Failure(.undefined, m)
        case .list, .tuple, .string:
            if case .int(let i)? = Number(key) {
                switch obj {
                case .list(let l):
                    let j = i < 0 ? i + l.items.count : i
                    if j >= 0 && j < l.items.count { return fresh(l.items[j]) }
                case .tuple(let t):
                    let j = i < 0 ? i + t.count : i
                    if j >= 0 && j < t.count { return fresh(t[j]) }
                case .string(let s):
                    let scalars = s.unicodeScalars
                    if i >= 0 {
                        // Walking from the front avoids materializing the scalars for the common small index.
                        if let idx = scalars.index(scalars.startIndex, offsetBy: i, limitedBy: scalars.endIndex), idx != scalars.endIndex {
                            return .string(String(Character(scalars[idx])))
                        }
                    } else {
                        let n = scalars.count
                        if i + n >= 0 {
                            return .string(String(Character(scalars[scalars.index(scalars.startIndex, offsetBy: i + n)])))
                        }
                    }
                default: break
                }
                return .undefined("\(obj.typeName) object has no element \(i)")
            }
        case .dict(let d):
            if let k = DictKey(key), let i = d.index[k] { return fresh(d.values[i]) }
        default:
            break
        }
        if case .string(let name) = key, let attribute = try pythonAttribute(obj, name) { return attribute }
        if case .string(let name) = key {
            if case .none = obj { return .undefined("'None' has no attribute '\(name)'") }
            return .undefined("'\(obj.typeName) object' has no attribute '\(name)'")
        }
        return .undefined("\(obj.typeName) object has no element \(key.pyRepr)")
    }

    func getslice(_ obj: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ step: TemplateValue?) throws(Failure) -> TemplateValue {
        if case .undefined(let m) = obj { throw Failure(.undefined, m) }
        func bound(_ v: TemplateValue?) -> Int?? {
            guard let v else { return .some(nil) }
            if case .none = v { return .some(nil) }
            if case .int(let i)? = Number(v) { return .some(i) }
            return nil
        }
        // Jinja compiles slices to a plain Python subscript, so unlike items, failures raise.
        guard let a = bound(start), let b = bound(stop), let c = bound(step) else {
            throw Failure(.type, "slice indices must be integers or None or have an __index__ method")
        }
        switch obj {
        case .list(let l):
            return .list(TemplateList(owned: try sliceIndices(l.items.count, a, b, c).map { l.items[$0] }))
        case .tuple(let t):
            return .tuple(try sliceIndices(t.count, a, b, c).map { t[$0] })
        case .string(let s):
            if (c ?? 1) == 1, (a ?? 0) >= 0, (b ?? 0) >= 0 {
                let a0 = a ?? 0
                // Forward slices of a prefix walk the scalars without copying them all.
                let scalars = s.unicodeScalars
                let lo = scalars.index(scalars.startIndex, offsetBy: a0, limitedBy: scalars.endIndex) ?? scalars.endIndex
                let hi = b.map { scalars.index(scalars.startIndex, offsetBy: $0, limitedBy: scalars.endIndex) ?? scalars.endIndex } ?? scalars.endIndex
                return .string(lo < hi ? String(scalars[lo..<hi]) : "")
            }
            let scalars = Array(s.unicodeScalars)
            return .string(stringFromScalars(try sliceIndices(scalars.count, a, b, c).map { scalars[$0] }))
        case .dict:
            throw Failure(.type, "unhashable type: 'slice'")
        default:
            throw Failure(.type, "'\(obj.typeName)' object is not subscriptable")
        }
    }

    // MARK: Calls

    func call(_ fn: TemplateValue, _ args: [TemplateValue], _ kwargs: [(String, TemplateValue)]) throws(Failure) -> TemplateValue {
        switch fn {
        case .undefined(let m):
            throw Failure(.undefined, m)
        case .object(let o):
            switch o.kind {
            case .builtin(let b): return try callBuiltin(b, args, kwargs)
            case .method(let receiver, let name): return try callMethod(receiver, name, args, kwargs)
            case .loop: throw Failure(.type, "recursive loops are not supported")
            case .namespace: throw Failure(.type, "'Namespace' object is not callable")
            }
        default:
            throw Failure(.type, "'\(fn.typeName)' object is not callable")
        }
    }
}
