/// A Python-like value as a template sees it: the data passed to `render` and everything expressions compute.
public enum TemplateValue: Sendable, Equatable {
    /// A missing value (Jinja's `Undefined`); the payload is the message raised if it is used in a way that needs a value.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A list is a reference, as in Python: `append` inside a template is seen through every name bound to it.
    case list(TemplateList)
    case tuple([TemplateValue])
    /// A dict keeps its keys in insertion order, as Python's does.
    case dict(TemplateDict)
    /// Functions, bound methods, `loop` and namespaces: made only while rendering.
    case object(TemplateObject)

    /// A list value from Swift elements.
    public static func array(_ items: [TemplateValue]) -> TemplateValue { .list(TemplateList(items)) }

    /// A dict value from ordered string-keyed pairs.
    public static func mapping(_ pairs: [(String, TemplateValue)]) -> TemplateValue {
        .dict(TemplateDict(pairs.map { (TemplateValue.string($0.0), $0.1) }))
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's truth value.
    public var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .tuple(let t): return !t.isEmpty
        case .dict(let d): return !d.keys.isEmpty
        case .object: return true
        }
    }

    /// The Python type name used in error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .object(let o): return o.typeName
        }
    }
}

extension TemplateValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .none }
    public init(arrayLiteral elements: TemplateValue...) { self = .list(TemplateList(elements)) }
    public init(dictionaryLiteral elements: (String, TemplateValue)...) {
        self = .dict(TemplateDict(elements.map { (TemplateValue.string($0.0), $0.1) }))
    }
}

/// A Python list shared by reference.
///
/// Lists built by the caller are never mutated: a template that mutates one works on a copy private to
/// that render, so the same input can be rendered from several threads at once.
public final class TemplateList: @unchecked Sendable, Equatable, ExpressibleByArrayLiteral {
    public internal(set) var items: [TemplateValue]
    /// Made by the caller (immutable) rather than by the render that owns it.
    let shared: Bool

    public init(_ items: [TemplateValue]) {
        self.items = items
        shared = true
    }

    public convenience init(arrayLiteral elements: TemplateValue...) { self.init(elements) }

    init(owned items: [TemplateValue]) {
        self.items = items
        shared = false
    }

    public static func == (lhs: TemplateList, rhs: TemplateList) -> Bool { lhs === rhs || lhs.items == rhs.items }
}

/// A key of a dict, normalized as Python hashes: `1`, `1.0` and `True` are the same key.
enum DictKey: Hashable {
    case none
    case int(Int)
    case double(Double)
    case string(StringKey)
    case tuple([DictKey])

    /// Unhashable values (lists, dicts) have no key.
    init?(_ value: TemplateValue) {
        switch value {
        case .none: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .double(let d):
            if d == d.rounded(), abs(d) < 9.2e18 { self = .int(Int(d)) } else { self = .double(d) }
        case .string(let s): self = .string(StringKey(s))
        case .tuple(let items):
            var keys: [DictKey] = []
            keys.reserveCapacity(items.count)
            for item in items {
                guard let k = DictKey(item) else { return nil }
                keys.append(k)
            }
            self = .tuple(keys)
        case .undefined, .list, .dict, .object: return nil
        }
    }
}

/// A string compared and hashed by code points, as Python does (Swift's `String` equality is canonical equivalence).
struct StringKey: Hashable {
    let string: String
    init(_ string: String) { self.string = string }
    static func == (lhs: StringKey, rhs: StringKey) -> Bool { lhs.string.utf8.elementsEqual(rhs.string.utf8) }
    func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// A Python dict shared by reference, keys in insertion order; caller-made dicts are copied before mutation, as lists are.
public final class TemplateDict: @unchecked Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public internal(set) var keys: [TemplateValue] = []
    public internal(set) var values: [TemplateValue] = []
    var index: [DictKey: Int] = [:]
    let shared: Bool

    /// Later duplicates of a key replace the earlier value in its first position, as in a Python dict display.
    public init(_ pairs: [(TemplateValue, TemplateValue)]) {
        shared = true
        for (k, v) in pairs { insertUnchecked(k, v) }
    }

    public convenience init(dictionaryLiteral elements: (TemplateValue, TemplateValue)...) { self.init(elements) }

    init(owned pairs: [(TemplateValue, TemplateValue)] = []) {
        shared = false
        for (k, v) in pairs { insertUnchecked(k, v) }
    }

    /// Keys that cannot be hashed are dropped: the public initializer cannot throw.
    private func insertUnchecked(_ key: TemplateValue, _ value: TemplateValue) {
        guard let k = DictKey(key) else { return }
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    public var count: Int { keys.count }

    /// The value for a string key.
    public subscript(key: String) -> TemplateValue? {
        guard let i = index[.string(StringKey(key))] else { return nil }
        return values[i]
    }

    func lookup(_ key: TemplateValue) throws(Failure) -> TemplateValue? {
        guard let k = DictKey(key) else { throw Failure(.type, "unhashable type: '\(key.typeName)'") }
        guard let i = index[k] else { return nil }
        return values[i]
    }

    func set(_ key: TemplateValue, _ value: TemplateValue) throws(Failure) {
        guard let k = DictKey(key) else { throw Failure(.type, "unhashable type: '\(key.typeName)'") }
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    func remove(_ key: TemplateValue) throws(Failure) -> TemplateValue? {
        guard let k = DictKey(key) else { throw Failure(.type, "unhashable type: '\(key.typeName)'") }
        guard let i = index.removeValue(forKey: k) else { return nil }
        let value = values.remove(at: i)
        keys.remove(at: i)
        for j in i..<keys.count {
            if let kj = DictKey(keys[j]) { index[kj] = j }
        }
        return value
    }

    func copy() -> TemplateDict {
        let d = TemplateDict(owned: [])
        d.keys = keys
        d.values = values
        d.index = index
        return d
    }

    var pairs: [(TemplateValue, TemplateValue)] { Array(zip(keys, values)) }

    public static func == (lhs: TemplateDict, rhs: TemplateDict) -> Bool {
        if lhs === rhs { return true }
        guard lhs.keys.count == rhs.keys.count else { return false }
        for (k, i) in lhs.index {
            guard let j = rhs.index[k], lhs.values[i] == rhs.values[j] else { return false }
        }
        return true
    }
}

/// Callables, bound methods, loop state and namespaces, which only exist while a template renders.
public final class TemplateObject: Sendable, Equatable {
    let kind: ObjectKind

    init(_ kind: ObjectKind) { self.kind = kind }

    var typeName: String {
        switch kind {
        case .builtin: return "builtin_function_or_method"
        case .method: return "builtin_function_or_method"
        case .loop: return "LoopContext"
        case .namespace: return "Namespace"
        }
    }

    public static func == (lhs: TemplateObject, rhs: TemplateObject) -> Bool { lhs === rhs }
}

enum Builtin: String, Sendable {
    case range, zip, dict, namespace, lipsum
}

/// A running `for` loop, as Jinja's LoopContext: with an inline `if`, items are filtered lazily, so a body
/// that mutates what the condition reads (`if x not in seen` … `seen.append(x)`) behaves as in Jinja.
final class LoopState: @unchecked Sendable {
    let items: [TemplateValue]
    let target: Target
    let condition: Expr?
    let loc: SourceLoc
    /// Next source item to examine.
    var position = 0
    /// Filtered items examined ahead of the current one (by `loop.last`, `loop.nextitem`, `loop.length`).
    var ahead: [TemplateValue] = []
    var aheadStart = 0
    var index0 = -1
    var previous: TemplateValue = .undefined("there is no previous item")

    init(items: [TemplateValue], target: Target, condition: Expr?, loc: SourceLoc) {
        self.items = items
        self.target = target
        self.condition = condition
        self.loc = loc
    }

    var exhausted: Bool { position >= items.count }
    var pendingAhead: Int { ahead.count - aheadStart }
}

enum ObjectKind: Sendable {
    case builtin(Builtin)
    /// A method looked up on a value, called later: `x.split`.
    case method(TemplateValue, String)
    case loop(LoopState)
    case namespace(TemplateDict)
}

extension TemplateValue {
    /// Python's `str(value)`: what `{{ value }}` prints.
    public var text: String { pyStr }

    /// The items of a list or tuple; nil for anything else.
    public var items: [TemplateValue]? {
        switch self {
        case .list(let list): list.items
        case .tuple(let items): items
        default: nil
        }
    }

    /// The value of an int (a bool is not one here); nil for anything else.
    public var int: Int? {
        if case .int(let number) = self { return number }
        return nil
    }

    /// A dict's string-keyed entries (as template variables); nil for anything else.
    public var entries: [String: TemplateValue]? {
        guard case .dict(let dict) = self else { return nil }
        var entries: [String: TemplateValue] = [:]
        for (key, value) in zip(dict.keys, dict.values) { if case .string(let name) = key { entries[name] = value } }
        return entries
    }
}
